"""A process pool for CPU-heavy stage work that outlives its processes.

HTML extraction must not run on the faust event loop (it would stall
heartbeats and every other agent), so the stream hands batches to this pool
through ``loop.run_in_executor``. What plain ``ProcessPoolExecutor`` lacks and
this adds:

- a result per item (:class:`Outcome`), never an exception: the agent turns a
  failed item into a dead letter and goes on;
- a stuck task (no result for ``timeout_s`` while nothing else finishes)
  kills the pool's processes — a running task cannot be cancelled otherwise;
- a crashed process (``BrokenProcessPool``: segfault in a parser, OOM kill)
  or a timeout replaces the pool, and the items that were in flight are
  retried once, *one at a time*, so only the culprit fails the second time
  (reason ``worker_crashed`` or ``timeout``) and innocent neighbours succeed;
- pool processes exit on their own when the process that owns the pool dies
  (even by SIGKILL), instead of lingering forever;
- processes are recycled after ``max_tasks_per_child`` tasks each (bounding leaks in C parsers) by
  this class, not by the executor's own parameter: on Python 3.11-3.13 that parameter deadlocks the
  executor once a process reaches its limit with tasks queued (CPython gh-115634), which stalled the
  stream for ``timeout_s`` every few thousand pages. Here the executor is retired whole: new tasks go
  to a fresh one while the old one finishes what it holds and its processes exit.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from pipeline.core.settings import Settings

log = logging.getLogger("rasid.pool")


def _watch_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Exit this pool process when the process that created the pool is gone.

    Pool processes block reading their call queue, whose write end they hold
    themselves, so they never see EOF: after a SIGKILL of the worker they would
    live forever (and keep the forkserver and resource tracker alive with them).
    """
    import threading

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - pid reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child_init(parent_pid: int, initializer: Callable[..., Any] | None, initargs: tuple) -> None:
    _watch_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: Any = None
    reason: str | None = None  # "timeout" | "worker_crashed" | "internal_error" when not ok
    detail: str = ""


def default_size(requested: int = 0) -> int:
    """``requested`` processes, or one per core available to us (0 = auto)."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def pool_size_per_worker(settings: Settings, workers: int, cores: int | None = None) -> int:
    """The process pool of each worker: as set, or (0 = auto) the machine's cores shared out among
    the workers, so several workers on one machine don't run more extraction processes than cores."""
    if settings.process_pool_size:
        return settings.process_pool_size
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


class StagePool:
    def __init__(
        self,
        size: int = 0,
        *,
        timeout_s: float = 30.0,
        context: str = "forkserver",
        initializer: Callable[..., Any] | None = None,
        initargs: tuple = (),
        max_tasks_per_child: int | None = None,
    ) -> None:
        self.size = default_size(size)
        self.timeout_s = timeout_s
        self._ctx = multiprocessing.get_context(context)
        self._initializer = initializer
        self._initargs = initargs
        # bounds leaks in C parsers: after this many tasks per process the executor is retired
        self._max_tasks = max_tasks_per_child
        self._pool: ProcessPoolExecutor | None = None
        self._submitted = 0  # tasks given to the current executor
        self.restarts = 0
        self.recycled = 0
        # Several maps may share the pool (the agent keeps a second batch queued
        # so the processes never wait for the event loop): stall detection looks
        # at the pool's progress, not one map's, and retries run alone.
        self._inflight: set[asyncio.Future] = set()
        self._progress = time.monotonic()
        self._gate: asyncio.Lock | None = None

    # -- lifecycle -------------------------------------------------------------
    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is not None and self._max_tasks and self._submitted >= self._max_tasks * self.size:
            # retired, not killed: it finishes the tasks it holds, then its processes exit
            old, self._pool = self._pool, None
            old.shutdown(wait=False)
            self.recycled += 1
        if self._pool is None:
            self._submitted = 0
            self._pool = ProcessPoolExecutor(
                max_workers=self.size,
                mp_context=self._ctx,
                initializer=_child_init,
                initargs=(os.getpid(), self._initializer, self._initargs),
            )
        return self._pool

    def pids(self) -> list[int]:
        """Pids of the live pool processes (for memory reports)."""
        pool = self._pool
        procs = getattr(pool, "_processes", None) or {}
        return [p.pid for p in list(procs.values()) if p.is_alive()]

    def _kill(self, pool: ProcessPoolExecutor | None = None) -> None:
        """Replace the pool: kill its processes (a stuck task cannot be cancelled).

        ``pool`` is the executor a map saw fail; when another map already
        replaced it, the new pool is left alone.
        """
        pool = pool or self._pool
        if pool is None:
            return
        if pool is self._pool:
            self._pool = None
            self.restarts += 1
        killer = getattr(pool, "kill_workers", None)  # Python >= 3.14
        if killer is not None:
            killer()
        else:
            for p in list((getattr(pool, "_processes", None) or {}).values()):
                try:
                    p.kill()
                except Exception:  # noqa: BLE001 - already gone
                    pass
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop now without waiting for tasks in flight (their batch is not acked: it is re-read)."""
        if self._pool is not None:
            self._kill()
            self.restarts -= 1

    def shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- work -------------------------------------------------------------------
    def _submit(self, loop: asyncio.AbstractEventLoop, pool: ProcessPoolExecutor, fn: Callable[[Any], Any],
                item: Any) -> asyncio.Future:
        if not self._inflight:
            self._progress = time.monotonic()  # an idle pool is not a stalled one
        fut = loop.run_in_executor(pool, fn, item)
        if pool is self._pool:
            self._submitted += 1
        self._inflight.add(fut)
        fut.add_done_callback(self._on_done)
        return fut

    def _on_done(self, fut: asyncio.Future) -> None:
        self._inflight.discard(fut)
        self._progress = time.monotonic()

    async def _drain(self) -> None:
        """Wait (at most ``timeout_s``) until no other map has items in the pool."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=self.timeout_s)

    async def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Outcome]:
        """``fn(item)`` for each item in the pool; one :class:`Outcome` per item, in order.

        Several maps may run at once; their items queue in submission order.
        """
        if not items:
            return []
        loop = asyncio.get_running_loop()
        if self._gate is None:
            self._gate = asyncio.Lock()
        gate = self._gate
        results: list[Outcome | None] = [None] * len(items)
        async with gate:  # not while another map retries its items alone
            pool = self._executor()
            futs = {self._submit(loop, pool, fn, item): i for i, item in enumerate(items)}
        retry = await self._collect(futs, results, pool)
        if retry:
            async with gate:
                for i, reason in sorted(retry.items()):
                    # once more, alone, in a fresh pool: only the culprit fails again
                    await self._drain()
                    pool = self._executor()
                    fut = self._submit(loop, pool, fn, items[i])
                    again = await self._collect({fut: i}, results, pool)
                    if i in again:
                        results[i] = Outcome(False, reason=again[i],
                                             detail=f"failed twice in the process pool ({reason}, {again[i]})")
                        log.warning("pool item failed twice: %s", again[i], extra={"stage": "extract"})
        return [r if r is not None else Outcome(False, reason="internal_error", detail="no result") for r in results]

    async def _collect(self, futs: dict[asyncio.Future, int], results: list[Outcome | None],
                       pool: ProcessPoolExecutor | None = None) -> dict[int, str]:
        """Fill ``results``; return {index: reason} of items to retry (pool broke or stalled)."""
        retry: dict[int, str] = {}
        remaining = set(futs)
        broken = False
        while remaining:
            wait_s = max(0.05, self._progress + self.timeout_s - time.monotonic())
            done, remaining = await asyncio.wait(remaining, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                if time.monotonic() - self._progress < self.timeout_s:
                    continue  # the pool finishes other maps' items: ours are queued, not stuck
                # nothing finished in the pool for timeout_s: a task is stuck; everything in flight is retried
                log.warning("process pool stalled for %.0fs; replacing it", self.timeout_s)
                for f in remaining:
                    retry[futs[f]] = "timeout"
                    f.cancel()
                self._kill(pool)
                return retry
            for f in done:
                i = futs[f]
                if f.cancelled():  # another map replaced the pool before this item ran
                    retry[i] = "worker_crashed"
                    continue
                exc = f.exception()
                if exc is None:
                    results[i] = Outcome(True, f.result())
                elif isinstance(exc, BrokenProcessPool):
                    broken = True
                    retry[i] = "worker_crashed"
                else:
                    results[i] = Outcome(False, reason="internal_error", detail=f"{type(exc).__name__}: {exc}"[:1000])
        if broken:
            log.warning("a process of the pool died; replacing the pool")
            self._kill(pool)
        return retry
