"""A TCP proxy the fault tests can cut: it stands between one process and a shared server.

Cutting it (``cut()``) resets every open connection and makes new ones hang
(accepted, never forwarded) — what a client sees when a server freezes or a
network path drops — without touching the shared devstack server other test
runs use. ``restore()`` forwards again; ``slow(s)`` delays every request.
"""

from __future__ import annotations

import asyncio
import socket
import threading


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int, listen_port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._listen_port = listen_port
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self._cut = False
        self.delay = 0.0  # seconds each client→server chunk waits: a slow server
        self.connections = 0
        self.bytes_up = 0

    # -- control (from the test thread)

    def start(self) -> "CuttableProxy":
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", self._listen_port, reuse_address=True)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="cuttable-proxy", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def cut(self) -> None:
        self._call(self._do_cut)

    def restore(self) -> None:
        self._call(self._do_restore)

    def slow(self, seconds: float) -> None:
        """Delay every request by ``seconds`` before it reaches the server (0 = full speed again)."""
        self.delay = seconds

    def stop(self) -> None:
        if self._loop is None:
            return

        async def close() -> None:
            self._do_cut()
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, fn) -> None:
        assert self._loop is not None

        async def run() -> None:
            fn()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(5)

    # -- inside the loop

    def _do_cut(self) -> None:
        self._cut = True
        for w in list(self._open):
            _reset(w)
        self._open.clear()

    def _do_restore(self) -> None:
        self._cut = False
        for w in list(self._held):  # held connections never got an answer; drop them so clients retry
            _reset(w)
        self._held.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._cut:
            self._held.add(writer)  # accept and say nothing: the client times out
            return
        try:
            ur, uw = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        self._open.update((writer, uw))
        # a new request = the first client chunk after the server answered (HTTP/1.1 keep-alive)
        state = {"new_request": True}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            try:
                while not self._cut:
                    data = await src.read(65536)
                    if not data:
                        break
                    if up:
                        self.bytes_up += len(data)
                        if self.delay and state["new_request"]:
                            await asyncio.sleep(self.delay)
                        state["new_request"] = False
                    else:
                        state["new_request"] = True
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    dst.close()
                except Exception:
                    pass

        await asyncio.gather(pump(reader, uw, True), pump(ur, writer, False))
        self._open.discard(writer)
        self._open.discard(uw)


def _reset(w: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a dropped path looks to the peer."""
    sock = w.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        w.close()
    except Exception:
        pass
