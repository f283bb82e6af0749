"""The one HTTP client every connector goes through: polite, bounded and suspicious.

What it guarantees, per request:
- only http(s) URLs without credentials; each redirect hop re-checked (followed by
  hand, at most ``http_max_redirects``);
- only globally routable addresses, checked where the connection is made, on every hop, and
  the socket opened to the very address checked (``connectors.netguard``); a host listed in
  ``RASID_FETCH_ALLOW_HOSTS`` is the one exception;
- robots.txt obeyed for every hop (cached per host, ``robots_ttl_s``), Crawl-delay honoured;
- fairness: a request first waits for its host (at most ``per_host_concurrency`` in flight per
  host, starts spaced by ``per_host_delay_s`` or Crawl-delay) and only then takes one of the
  ``fetch_concurrency`` global slots, so a slow or Crawl-delayed host queues only its own requests;
- connect/read timeouts plus an overall deadline (a trickling server cannot hold a slot);
- the body streamed and abandoned past ``http_max_bytes``; at most one Content-Encoding layer
  (gzip or deflate), inflated in bounded steps against the same cap (a gzip bomb never grows);
- retries with exponential backoff and jitter on timeouts, 429 and 5xx, honouring Retry-After;
- a refusal of the client (401/403/451, a WAF challenge page whatever its status, a refused or
  reset connection) raises a ``FetchError`` with ``blocked`` set (``connectors.blocking``) and is
  not retried within the request: the caller backs off for hours, not seconds.

Every refusal (address, URL, encoding, size) is a log line with its reason and a count in
``rasid_fetch_refused_total{reason}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx

from connectors.blocking import BLOCKED_STATUSES, challenge_marker, is_blocked_reason, network_refusal
from connectors.netguard import AddressRefused, GuardedTransport, Resolver
from connectors.robots import RobotsRules, parse_robots, rules_for_status
from pipeline.core.urls import UnsafeURL, check_url_syntax, host_of, redact
from pipeline.core.log import get_logger
from pipeline.core.retry import backoff_delay
from pipeline.core.metrics import FETCH_LATENCY, FETCH_REFUSED, FETCH_STATUS
from pipeline.core.settings import Settings

log = get_logger("rasid.connectors.http")

KEEP_HEADERS = (
    "etag", "last-modified", "content-type", "content-length", "content-encoding", "content-language",
    "date", "expires", "cache-control", "retry-after", "x-robots-tag", "cf-mitigated",
)
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "sitemap": "application/xml, text/xml;q=0.9, */*;q=0.5",
    "section": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "article": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "robots": "text/plain, */*;q=0.5",
}
ROBOTS_MAX_BYTES = 512_000
ACCEPT_ENCODING = "gzip, deflate"  # what _Inflater decodes; anything else a server sends is refused
# Refusals of the host itself (connectors.netguard, URL syntax): robots.txt cannot be asked for either.
ADDRESS_REFUSALS = frozenset({"not_global_address", "unresolvable_host", "unix_socket", "unsafe_url"})
# A host that refuses our client already at robots.txt: the request itself reports it as blocked (a 401/403
# robots.txt is only "no rules", RFC 9309; the page itself then says whether we are refused).
ROBOTS_REFUSALS = frozenset({"waf_challenge", "connection_refused", "connection_reset"})


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
        refused: bool = False,
    ) -> None:
        super().__init__(f"{reason} {url[:300]}" + (f": {detail}" if detail else ""))
        self.reason = reason
        self.url = url
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
        self.detail = detail
        self.refused = refused  # refused on purpose (address, URL, encoding, size), already logged and counted

    @property
    def blocked(self) -> bool:
        """The server refused our client (403, WAF challenge, refused connection...), not the URL."""
        return is_blocked_reason(self.reason)


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


def refuse(reason: str, url: str, source: str, *, detail: str = "", status: int | None = None,
           transient: bool = False) -> FetchError:
    """A fetch refused on purpose: one log line with the reason, one count; returns the error to raise."""
    FETCH_REFUSED.labels(reason).inc()
    # A name that does not resolve is the network's doing (a machine offline, a lapsed domain), not a
    # steered request: the source's failure summary says it; the refusal itself is a DEBUG line.
    (log.debug if reason == "unresolvable_host" else log.warning)("fetch refused", extra={"stage": "fetch", "source": source, "url": redact(url[:300]),
                                        "reason": reason, "detail": redact(detail[:300])})
    return FetchError(reason, url, status=status, detail=detail, refused=True, transient=transient)


class _Inflater:
    """At most one Content-Encoding layer, inflated in bounded steps: never more than ``cap`` bytes out.

    ``gzip, gzip`` (1.8 KB that would grow to 2 GB) is refused from the header; a single gzip
    bomb stops at the cap, and no step inflates more than the room left under it."""

    def __init__(self, header: str | None, cap: int) -> None:
        codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise ValueError("stacked_encoding")
        coding = codings[0] if codings else ""
        if coding not in ("", "gzip", "x-gzip", "deflate"):
            raise ValueError("unsupported_encoding")
        self.coding = coding
        self.cap = cap
        self.size = 0
        self._first = True
        self._d = None
        if coding in ("gzip", "x-gzip"):
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._d = zlib.decompressobj()  # zlib-wrapped, as HTTP says; raw deflate tried on failure

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes out, over the cap?); at most the room left under the cap is ever produced."""
        room = self.cap - self.size
        if self._d is None:
            out = data
        else:
            try:
                out = self._d.decompress(data, room + 1)
            except zlib.error:
                if not (self._first and self.coding == "deflate"):
                    raise
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._d.decompress(data, room + 1)
        self._first = False
        over = len(out) > room
        out = out[:room] if over else out
        self.size += len(out)
        return out, over

    def finish(self) -> tuple[bytes, bool]:
        if self._d is None:
            return b"", False
        room = self.cap - self.size
        out = self._d.flush(room + 1)
        over = len(out) > room
        out = out[:room] if over else out
        self.size += len(out)
        return out, over


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class _Host:
    __slots__ = ("sem", "next_at", "active", "max_active")

    def __init__(self, concurrency: int) -> None:
        self.sem = asyncio.Semaphore(concurrency)
        self.next_at = 0.0  # the earliest start of the host's next request
        self.active = 0
        self.max_active = 0


class PoliteClient:
    """``transport``: tests only (an in-process httpx transport replaces the network, so there is no
    address to check); ``resolver``: tests only (a fake DNS for the guarded transport)."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None,
                 resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.user_agent = settings.user_agent
        timeout = httpx.Timeout(
            connect=settings.http_connect_timeout_s,
            read=settings.http_read_timeout_s,
            write=settings.http_read_timeout_s,
            pool=settings.http_connect_timeout_s + settings.http_read_timeout_s,
        )
        # per origin (connectors.netguard.OriginPools): politeness keeps a host to a few at a time;
        # the client's own limits are unused, a transport is always given
        per_origin = httpx.Limits(max_connections=16, max_keepalive_connections=4, keepalive_expiry=30)
        if transport is None:
            transport = GuardedTransport(allow=settings.fetch_allow, resolver=resolver, limits=per_origin)
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            headers={"User-Agent": settings.user_agent, "Accept-Language": "ar, en;q=0.5",
                     "Accept-Encoding": ACCEPT_ENCODING},
        )
        # A trickling server answers every read just inside the read timeout; cap the whole exchange.
        self._deadline = settings.http_connect_timeout_s + 3 * settings.http_read_timeout_s
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, RobotsRules] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._robots_down: set[str] = set()  # robots.txt URLs whose host did not answer (warned once)
        # Global slots, taken only once the host's own turn has come (see _slot).
        self._gate = asyncio.Semaphore(settings.fetch_concurrency)
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
        """The host's turn first (one of its concurrency slots, no sooner than its delay allows), then
        one global slot: waiting for a slow or Crawl-delayed host never holds a global slot."""
        h = self._host(host)
        loop = asyncio.get_running_loop()
        async with h.sem:
            while True:
                wait = h.next_at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # the host's spacing, holding no global slot
                await self._gate.acquire()
                now = loop.time()
                if now >= h.next_at:  # still this request's turn once a global slot was free
                    h.next_at = now + self.host_delay(host)
                    break
                self._gate.release()  # another request of the host started meanwhile: space again
            h.active += 1
            h.max_active = max(h.max_active, h.active)
            try:
                yield
            finally:
                h.active -= 1
                self._gate.release()

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
            if e.reason in ADDRESS_REFUSALS or e.reason in ROBOTS_REFUSALS:
                # the host itself is refused, or refuses us: nothing to cache, the request fails with that reason
                raise
            rules = rules_for_status(e.status, ttl=ttl)
            if rules.disallow_all:  # 5xx, unreachable: RFC 9309 says assume disallowed, for a while
                # said once per host until it answers again; the source's failures are summarised elsewhere
                (log.debug if robots_url in self._robots_down else log.warning)(
                    "robots.txt unavailable, host treated as disallowed for now",
                    extra={"stage": "fetch", "url": robots_url, "reason": e.reason})
                self._robots_down.add(robots_url)
            else:  # 4xx (404 above all): no rules, everything allowed; nothing to warn about
                self._robots_down.discard(robots_url)
                log.debug("no robots.txt, everything allowed", extra={
                    "stage": "fetch", "url": robots_url, "reason": e.reason})
            return rules
        self._robots_down.discard(robots_url)
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
                if not e.transient or e.blocked or attempt >= retries:
                    raise
                delay = backoff_delay(attempt, self.settings.http_backoff_s, self.settings.http_backoff_max_s,
                                      e.retry_after)
                log.debug("transient fetch error, retrying", extra={
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
                raise refuse("unsafe_url", current, source, detail=e.reason) from None
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
                    raise refuse("unsafe_redirect", nxt, source, detail=e.reason) from None
                current = nxt
                continue
            elapsed = time.monotonic() - started
            if status >= 400 and challenge_marker(status, resp_headers, body):
                raise FetchError("waf_challenge", current, status=status, detail=f"challenge page with {status}")
            if status in BLOCKED_STATUSES:
                raise FetchError(f"http_{status}", current, status=status)
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
                        try:
                            inflater = _Inflater(r.headers.get("content-encoding"), cap)
                        except ValueError as e:
                            raise refuse(str(e), url, source, status=status,
                                         detail=f"content-encoding {r.headers.get('content-encoding', '')[:100]}") from None
                        if clen and clen.isdigit() and int(clen) > cap and not truncate and not inflater.coding:
                            raise refuse("too_large", url, source, status=status, detail=f"content-length {clen}")
                        chunks: list[bytes] = []
                        over = False
                        if r.is_stream_consumed:
                            # only an in-process transport (tests) hands over a body it already read and decoded
                            inflater = _Inflater(None, cap)
                            raws: Any = _once(r.content)
                        else:
                            raws = r.aiter_raw()
                        try:
                            async for raw in raws:
                                out, over = inflater.feed(raw)
                                chunks.append(out)
                                if over:
                                    break
                            if not over:
                                out, over = inflater.finish()
                                chunks.append(out)
                        except zlib.error as e:
                            FETCH_STATUS.labels(source, "decoding_error").inc()
                            raise refuse("decoding_error", url, source, status=status, detail=str(e)[:200]) from None
                        if over and not truncate:
                            raise refuse("too_large", url, source, status=status,
                                         detail=f"over {cap} bytes" + (f" once inflated ({inflater.coding})"
                                                                       if inflater.coding else ""))
                        return status, kept, b"".join(chunks), None
            except FetchError:
                raise
            except (TimeoutError, httpx.TimeoutException) as e:
                FETCH_STATUS.labels(source, "timeout").inc()
                raise FetchError("timeout", url, transient=True, detail=type(e).__name__) from None
            except AddressRefused as e:
                FETCH_STATUS.labels(source, "refused").inc()
                # a name that does not resolve may be a passing DNS failure: retried like a timeout
                raise refuse(e.reason, url, source, detail=str(e), transient=e.reason == "unresolvable_host") from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
                raise refuse("unsafe_url", url, source, detail=str(e)[:200]) from None
            except (httpx.TransportError, httpx.StreamError) as e:
                refusal = network_refusal(e)
                FETCH_STATUS.labels(source, refusal or "network_error").inc()
                raise FetchError(refusal or "network_error", url, transient=True,
                                 detail=f"{type(e).__name__}: {e}"[:200]) from None
            finally:
                FETCH_LATENCY.labels(source, kind).observe(time.monotonic() - t0)
