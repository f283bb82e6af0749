"""The one HTTP client every connector goes through: polite, bounded and suspicious.

What it guarantees, per request:
- only http(s) URLs without credentials; each redirect hop re-checked (followed by
  hand, at most ``http_max_redirects``), optionally no private/loopback addresses;
- robots.txt obeyed for every hop (cached per host, ``robots_ttl_s``), Crawl-delay honoured;
- at most ``per_host_concurrency`` requests in flight per host and request starts
  spaced by ``per_host_delay_s``; an identifying User-Agent;
- connect/read timeouts plus an overall deadline (a trickling server cannot hold a slot);
- the body streamed and abandoned past ``http_max_bytes`` (after content decoding,
  so a gzip bomb is capped too);
- retries with exponential backoff and jitter on timeouts, 429 and 5xx, honouring Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx

from connectors.robots import RobotsRules, parse_robots, rules_for_status
from pipeline.core.urls import UnsafeURL, check_url_syntax, host_of, is_private_address
from pipeline.core.log import get_logger
from pipeline.core.retry import backoff_delay
from pipeline.core.metrics import FETCH_LATENCY, FETCH_STATUS
from pipeline.core.settings import Settings

log = get_logger("rasid.connectors.http")

KEEP_HEADERS = (
    "etag", "last-modified", "content-type", "content-length", "content-encoding", "content-language",
    "date", "expires", "cache-control", "retry-after", "x-robots-tag",
)
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "sitemap": "application/xml, text/xml;q=0.9, */*;q=0.5",
    "section": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "article": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "robots": "text/plain, */*;q=0.5",
}
ROBOTS_MAX_BYTES = 512_000


class FetchError(Exception):
    """A fetch that did not give a usable response. ``reason`` is a short metric-safe slug."""

    def __init__(
        self,
        reason: str,
        url: str,
        *,
        transient: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(f"{reason} {url[:300]}" + (f": {detail}" if detail else ""))
        self.reason = reason
        self.url = url
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
        self.detail = detail


@dataclass
class Response:
    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float
    redirects: list[str] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _Host:
    __slots__ = ("sem", "lock", "next_at", "active", "max_active")

    def __init__(self, concurrency: int) -> None:
        self.sem = asyncio.Semaphore(concurrency)
        self.lock = asyncio.Lock()
        self.next_at = 0.0
        self.active = 0
        self.max_active = 0


class PoliteClient:
    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.user_agent = settings.user_agent
        timeout = httpx.Timeout(
            connect=settings.http_connect_timeout_s,
            read=settings.http_read_timeout_s,
            write=settings.http_read_timeout_s,
            pool=settings.http_connect_timeout_s + settings.http_read_timeout_s,
        )
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            headers={"User-Agent": settings.user_agent, "Accept-Language": "ar, en;q=0.5"},
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30),
        )
        # A trickling server answers every read just inside the read timeout; cap the whole exchange.
        self._deadline = settings.http_connect_timeout_s + 3 * settings.http_read_timeout_s
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, RobotsRules] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self.requests = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> "PoliteClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- politeness -------------------------------------------------------------------------

    def _host(self, host: str) -> _Host:
        h = self._hosts.get(host)
        if h is None:
            h = self._hosts[host] = _Host(self.settings.per_host_concurrency)
        return h

    def host_delay(self, host: str) -> float:
        rules = self._robots.get(host)
        delay = self.settings.per_host_delay_s
        if rules is not None and rules.crawl_delay:
            delay = max(delay, rules.crawl_delay)
        return delay

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's concurrency slots, starting no sooner than the host's delay allows."""
        h = self._host(host)
        async with h.sem:
            loop = asyncio.get_running_loop()
            async with h.lock:
                now = loop.time()
                wait = max(0.0, h.next_at - now)
                h.next_at = max(now, h.next_at) + self.host_delay(host)
            if wait:
                await asyncio.sleep(wait)
            h.active += 1
            h.max_active = max(h.max_active, h.active)
            try:
                yield
            finally:
                h.active -= 1

    def max_active(self, host: str) -> int:
        return self._host(host).max_active

    async def robots_for(self, url: str) -> RobotsRules:
        parts = urlsplit(url)
        key = f"{parts.scheme.lower()}://{host_of(url)}"
        rules = self._robots.get(key)
        if rules is not None and not rules.expired():
            return rules
        lock = self._robots_locks.setdefault(key, asyncio.Lock())
        async with lock:
            rules = self._robots.get(key)
            if rules is not None and not rules.expired():
                return rules
            rules = await self._fetch_robots(key + "/robots.txt")
            self._robots[key] = rules
            # Crawl-delay is keyed by host for the slot scheduler.
            self._robots[host_of(url)] = rules
            return rules

    async def _fetch_robots(self, robots_url: str) -> RobotsRules:
        ttl = self.settings.robots_ttl_s
        try:
            resp = await self._exchange(robots_url, kind="robots", source="robots", check_robots=False,
                                        max_bytes=ROBOTS_MAX_BYTES, redirects=5, truncate=True)
        except FetchError as e:
            log.warning("robots.txt unavailable, host treated as disallowed for now",
                        extra={"stage": "fetch", "url": robots_url, "reason": e.reason})
            return rules_for_status(e.status, ttl=ttl)
        if resp.status >= 300:
            return rules_for_status(resp.status, ttl=ttl)
        text = resp.body.decode("utf-8", errors="replace")
        return parse_robots(text, self.user_agent, ttl=ttl, status=resp.status)

    # --- requests ---------------------------------------------------------------------------

    async def get(
        self,
        url: str,
        *,
        source: str,
        kind: str,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        retries: int | None = None,
    ) -> Response:
        """GET with politeness and retries; raises ``FetchError`` for anything not 2xx/304."""
        retries = self.settings.http_retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return await self._exchange(url, kind=kind, source=source, etag=etag, last_modified=last_modified,
                                            max_bytes=max_bytes)
            except FetchError as e:
                if not e.transient or attempt >= retries:
                    raise
                delay = backoff_delay(attempt, self.settings.http_backoff_s, self.settings.http_backoff_max_s,
                                      e.retry_after)
                log.info("transient fetch error, retrying", extra={
                    "stage": "fetch", "source": source, "url": url, "reason": e.reason,
                    "attempt": attempt + 1, "delay_s": round(delay, 3)})
                attempt += 1
                await asyncio.sleep(delay)

    async def _exchange(
        self,
        url: str,
        *,
        kind: str,
        source: str,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        check_robots: bool = True,
        redirects: int | None = None,
        truncate: bool = False,
    ) -> Response:
        cap = max_bytes or self.settings.http_max_bytes
        max_hops = self.settings.http_max_redirects if redirects is None else redirects
        current = url
        hops: list[str] = []
        started = time.monotonic()
        headers = {"Accept": ACCEPT.get(kind, "*/*")}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        while True:
            try:
                check_url_syntax(current)
            except UnsafeURL as e:
                raise FetchError("unsafe_url", current, detail=e.reason) from None
            host = host_of(current)
            if self.settings.deny_private_networks:
                hostname = urlsplit(current).hostname or ""
                if await asyncio.to_thread(is_private_address, hostname):
                    raise FetchError("private_address", current)
            if check_robots:
                rules = await self.robots_for(current)
                if not rules.allowed(current, self.user_agent):
                    reason = "robots_unavailable" if rules.disallow_all else "robots_disallowed"
                    raise FetchError(reason, current)
            status, resp_headers, body, location = await self._one_hop(current, headers, cap, kind, source, truncate)
            if location is not None:
                if len(hops) >= max_hops:
                    raise FetchError("too_many_redirects", url, detail=f"{len(hops) + 1} hops")
                hops.append(current)
                nxt = urljoin(current, location)
                try:
                    check_url_syntax(nxt)
                except UnsafeURL as e:
                    raise FetchError("unsafe_redirect", nxt, detail=e.reason) from None
                current = nxt
                continue
            elapsed = time.monotonic() - started
            if status == 429 or status >= 500:
                raise FetchError(f"http_{status}", current, transient=True, status=status,
                                 retry_after=parse_retry_after(resp_headers.get("retry-after")))
            if status >= 400 or (status >= 300 and status != 304):
                raise FetchError(f"http_{status}", current, status=status)
            return Response(url=url, final_url=current, status=status, headers=resp_headers, body=body,
                            elapsed=elapsed, redirects=hops)

    async def _one_hop(
        self, url: str, headers: dict[str, str], cap: int, kind: str, source: str, truncate: bool,
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        """One request/response; returns (status, headers, body, redirect location or None)."""
        host = host_of(url)
        async with self._slot(host):
            t0 = time.monotonic()
            self.requests += 1
            try:
                async with asyncio.timeout(self._deadline):
                    async with self._client.stream("GET", url, headers=headers) as r:
                        status = r.status_code
                        FETCH_STATUS.labels(source, str(status)).inc()
                        kept = {k: r.headers[k] for k in KEEP_HEADERS if k in r.headers}
                        if status in (301, 302, 303, 307, 308):
                            loc = r.headers.get("location")
                            if not loc:
                                raise FetchError("redirect_without_location", url, status=status)
                            return status, kept, b"", loc
                        clen = r.headers.get("content-length")
                        if clen and clen.isdigit() and int(clen) > cap and not truncate and "content-encoding" not in r.headers:
                            raise FetchError("too_large", url, status=status, detail=f"content-length {clen}")
                        chunks: list[bytes] = []
                        size = 0
                        async for chunk in r.aiter_bytes():
                            size += len(chunk)
                            if size > cap:
                                if truncate:
                                    chunks.append(chunk[: cap - (size - len(chunk))])
                                    break
                                raise FetchError("too_large", url, status=status, detail=f"over {cap} bytes")
                            chunks.append(chunk)
                        return status, kept, b"".join(chunks), None
            except FetchError:
                raise
            except (TimeoutError, httpx.TimeoutException) as e:
                FETCH_STATUS.labels(source, "timeout").inc()
                raise FetchError("timeout", url, transient=True, detail=type(e).__name__) from None
            except httpx.DecodingError as e:
                FETCH_STATUS.labels(source, "decoding_error").inc()
                raise FetchError("decoding_error", url, detail=str(e)[:200]) from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
                raise FetchError("unsafe_url", url, detail=str(e)[:200]) from None
            except (httpx.TransportError, httpx.StreamError) as e:
                FETCH_STATUS.labels(source, "network_error").inc()
                raise FetchError("network_error", url, transient=True, detail=f"{type(e).__name__}: {e}"[:200]) from None
            finally:
                FETCH_LATENCY.labels(source, kind).observe(time.monotonic() - t0)
