"""Where a connector may connect: globally routable addresses only, checked at the connection itself.

The check lives in httpcore's network backend, the one place every TCP connection is opened
(first request, every redirect hop, robots.txt): the host is resolved once, every address it
resolves to must be globally routable (``pipeline.core.urls.is_global_address``), and the socket
is opened to one of exactly those addresses, so a second DNS answer (rebinding) is never asked
for. TLS still verifies the certificate and sends SNI for the URL's host name, and httpx sets the
Host header from the URL: only the address the TCP connection goes to is pinned.

A name that does not resolve is refused too. The one exception is a host (or host:port)
listed in ``RASID_FETCH_ALLOW_HOSTS`` (local outlets, tests): that exact host, as written in the
URL, connects wherever it resolves.
"""

from __future__ import annotations

import socket
from typing import Any, Awaitable, Callable, Iterable

import anyio
import httpcore
import httpx

from pipeline.core.urls import host_allowed, is_global_address

# (host, port) -> the addresses to connect to, in order. Tests pass a fake one (rebinding).
Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(Exception):
    """A connection refused before it was made; ``reason`` is a metric-safe slug."""

    def __init__(self, reason: str, host: str, port: int, address: str | None = None) -> None:
        where = f"{host}:{port}" + (f" ({address})" if address and address != host else "")
        super().__init__(f"{reason}: {where}")
        self.reason = reason
        self.host = host
        self.port = port
        self.address = address


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address of ``host`` (the system resolver, off the event loop), in the resolver's order."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        if addr not in seen:
            seen.append(addr)
    return seen


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks and connects to the checked address."""

    def __init__(self, allow: frozenset[tuple[str, int | None]], resolver: Resolver | None = None,
                 backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allow = allow
        self.resolver = resolver or system_resolver
        self.backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        if host_allowed(host, port, self.allow):
            return await self.backend.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                                  socket_options=socket_options)
        try:
            with anyio.fail_after(timeout):
                addresses = await self.resolver(host.strip("[]"), port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout}s") from None
        except (OSError, UnicodeError):
            raise AddressRefused("unresolvable_host", host, port) from None
        if not addresses:
            raise AddressRefused("unresolvable_host", host, port)
        for address in addresses:  # one bad answer refuses the name: no "try the next one" around a check
            if not is_global_address(address):
                raise AddressRefused("not_global_address", host, port, address)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.backend.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                      socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        assert error is not None
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix_socket", path, 0)

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


class OriginPools:
    """One small connection pool per origin (scheme, host, port), each over the guarded backend.

    httpcore's pool walks every connection it holds, asking each whether it expired, for every
    request and every response closed; with fifty outlets in one pool that walk was a fifth of the
    connectors' CPU and delayed the event loop. Per origin, it walks one or two. Pools left without
    connections are forgotten once there are many, so months of one-off hosts stay small."""

    MAX_IDLE_POOLS = 256

    def __init__(self, make: Callable[[], httpcore.AsyncConnectionPool]) -> None:
        self._make = make
        self._pools: dict[tuple[bytes, bytes, int | None], httpcore.AsyncConnectionPool] = {}

    def pool_for(self, url: httpcore.URL) -> httpcore.AsyncConnectionPool:
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= self.MAX_IDLE_POOLS:
                for k in [k for k, p in self._pools.items() if not p.connections]:
                    del self._pools[k]
            pool = self._pools[key] = self._make()
        return pool

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        return await self.pool_for(request.url).handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    async def __aenter__(self) -> "OriginPools":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request/response mapping, errors, pooling) over a ``GuardedBackend``.

    httpx does not take a network backend as an argument, so the connection pool it builds is
    replaced by one built with the same settings and the guarded backend; a version of httpx
    without that pool refuses to start instead of silently fetching unguarded."""

    def __init__(self, *, allow: frozenset[tuple[str, int | None]], resolver: Resolver | None = None,
                 limits: httpx.Limits, verify: bool = True) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(limits=limits, verify=ssl_context, trust_env=False, retries=0)
        pool = getattr(self, "_pool", None)
        if not isinstance(pool, httpcore.AsyncConnectionPool):
            raise RuntimeError(f"httpx {httpx.__version__}: unexpected transport internals, cannot guard connections")
        self.backend = GuardedBackend(allow, resolver)
        self._pool = OriginPools(lambda: httpcore.AsyncConnectionPool(  # type: ignore[assignment]
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=self.backend,
        ))
