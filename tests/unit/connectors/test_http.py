"""The polite client against an in-process httpx transport (no sockets)."""

import asyncio
import time

import httpx
import pytest

from connectors.http import FetchError, PoliteClient, parse_retry_after
from pipeline.core.retry import backoff_delay
from pipeline.core.settings import load_settings

UA = "RasidBot/0.1 (+https://example.org/rasid; news monitoring)"


def settings(**kw):
    base = dict(user_agent=UA, per_host_delay_s=0.0, per_host_concurrency=2, http_backoff_s=0.01,
                http_backoff_max_s=0.05, http_retries=2, http_max_bytes=100_000, http_max_redirects=3,
                http_read_timeout_s=0.3, http_connect_timeout_s=0.3)
    base.update(kw)
    return load_settings(**base)


class Site:
    """Routes path -> handler(request) -> httpx.Response, with a log of requests."""

    def __init__(self, routes, robots="User-agent: *\nDisallow: /private/\n"):
        self.routes = dict(routes)
        self.routes.setdefault("/robots.txt", lambda r: httpx.Response(200, text=robots))
        self.requests: list[httpx.Request] = []
        self.active = 0
        self.max_active = 0
        self.starts: list[float] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.starts.append(time.monotonic())
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            h = self.routes.get(request.url.path)
            if h is None:
                return httpx.Response(404)
            res = h(request)
            if asyncio.iscoroutine(res):
                res = await res
            return res
        finally:
            self.active -= 1

    def paths(self):
        return [r.url.path for r in self.requests]


def client(site, **kw):
    return PoliteClient(settings(**kw), transport=httpx.MockTransport(site))


async def test_user_agent_robots_and_conditional_headers():
    site = Site({"/feed": lambda r: httpx.Response(200, content=b"<rss/>", headers={"ETag": '"v1"'})})
    async with client(site) as c:
        resp = await c.get("https://o.example/feed", source="t", kind="feed", etag='"v0"',
                           last_modified="Wed, 01 Jan 2020 00:00:00 GMT")
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/private/x", source="t", kind="article")
    assert resp.status == 200 and resp.headers["etag"] == '"v1"'
    assert ei.value.reason == "robots_disallowed" and not ei.value.transient
    assert site.paths() == ["/robots.txt", "/feed"]  # robots fetched once, disallowed path never requested
    feed_req = site.requests[1]
    assert feed_req.headers["user-agent"] == UA
    assert feed_req.headers["if-none-match"] == '"v0"'
    assert feed_req.headers["if-modified-since"] == "Wed, 01 Jan 2020 00:00:00 GMT"


async def test_304_is_returned_not_raised():
    site = Site({"/feed": lambda r: httpx.Response(304)})
    async with client(site) as c:
        resp = await c.get("https://o.example/feed", source="t", kind="feed", etag='"v1"')
    assert resp.not_modified


async def test_redirects_followed_and_checked_per_hop():
    site = Site({
        "/a": lambda r: httpx.Response(301, headers={"Location": "/b"}),
        "/b": lambda r: httpx.Response(302, headers={"Location": "https://o.example/c?x=1"}),
        "/c": lambda r: httpx.Response(200, text="<html>ok</html>"),
        "/loop": lambda r: httpx.Response(302, headers={"Location": "/loop"}),
        "/to-file": lambda r: httpx.Response(302, headers={"Location": "file:///etc/passwd"}),
        "/to-private": lambda r: httpx.Response(302, headers={"Location": "/private/secret"}),
    })
    async with client(site) as c:
        resp = await c.get("https://o.example/a", source="t", kind="article")
        assert resp.final_url == "https://o.example/c?x=1" and resp.redirects == ["https://o.example/a", "https://o.example/b"]
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/loop", source="t", kind="article")
        assert ei.value.reason == "too_many_redirects"
        assert site.paths().count("/loop") == 4  # 1 + http_max_redirects
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/to-file", source="t", kind="article")
        assert ei.value.reason == "unsafe_redirect"
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/to-private", source="t", kind="article")
        assert ei.value.reason == "robots_disallowed"
    assert "/private/secret" not in site.paths()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://o.example/x", "https://u:p@o.example/x",
                                 "javascript:alert(1)"])
async def test_unsafe_urls_never_requested(url):
    site = Site({})
    async with client(site) as c:
        with pytest.raises(FetchError) as ei:
            await c.get(url, source="t", kind="article")
    assert ei.value.reason == "unsafe_url"
    assert site.requests == []


async def test_byte_cap_streamed():
    chunks_sent = 0

    async def stream():
        nonlocal chunks_sent
        for _ in range(1000):
            chunks_sent += 1
            yield b"x" * 10_000

    site = Site({
        "/huge": lambda r: httpx.Response(200, content=stream()),
        "/declared": lambda r: httpx.Response(200, content=b"y" * 10, headers={"Content-Length": "50000000"}),
    })
    async with client(site) as c:
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/huge", source="t", kind="article")
        assert ei.value.reason == "too_large" and not ei.value.transient
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/declared", source="t", kind="article")
        assert ei.value.reason == "too_large"
    assert chunks_sent < 20  # stopped reading right past the cap


async def test_retries_transient_errors_then_succeeds():
    calls = {"n": 0}

    def flaky(r):
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(503, headers={"Retry-After": "0"})
        if calls["n"] == 2:
            raise httpx.ReadTimeout("slow", request=r)
        return httpx.Response(200, text="ok")

    site = Site({"/flaky": flaky, "/down": lambda r: httpx.Response(500), "/gone": lambda r: httpx.Response(404)})
    async with client(site) as c:
        assert (await c.get("https://o.example/flaky", source="t", kind="feed")).status == 200
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/down", source="t", kind="feed")
        assert ei.value.reason == "http_500" and ei.value.transient
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/gone", source="t", kind="feed")
        assert ei.value.reason == "http_404" and not ei.value.transient
    assert calls["n"] == 3
    assert site.paths().count("/down") == 3  # 1 + http_retries
    assert site.paths().count("/gone") == 1  # 4xx is not retried


async def test_overall_deadline_against_trickling_server():
    async def trickle():
        for _ in range(100):
            await asyncio.sleep(0.1)  # each read well inside the read timeout
            yield b"."

    site = Site({"/trickle": lambda r: httpx.Response(200, content=trickle())})
    t0 = time.monotonic()
    async with client(site, http_retries=0, http_read_timeout_s=0.2, http_connect_timeout_s=0.2) as c:
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/trickle", source="t", kind="article")
    assert ei.value.reason == "timeout"
    assert time.monotonic() - t0 < 2


async def test_per_host_concurrency_and_delay():
    async def slow(r):
        await asyncio.sleep(0.05)
        return httpx.Response(200, text="ok")

    site = Site({f"/a{i}": slow for i in range(8)})
    async with client(site, per_host_concurrency=2, per_host_delay_s=0.02) as c:
        await asyncio.gather(*(c.get(f"https://o.example/a{i}", source="t", kind="article") for i in range(8)))
        assert c.max_active("o.example") == 2
    assert site.max_active == 2
    starts = sorted(site.starts[1:])  # skip robots.txt
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.015


async def test_other_hosts_are_not_held_up():
    async def slow(r):
        await asyncio.sleep(0.3)
        return httpx.Response(200, text="ok")

    site = Site({"/slow": slow, "/fast": lambda r: httpx.Response(200, text="ok")})
    async with client(site, per_host_concurrency=1) as c:
        t_slow = asyncio.create_task(c.get("https://slow.example/slow", source="t", kind="article"))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        await c.get("https://fast.example/fast", source="t", kind="article")
        assert time.monotonic() - t0 < 0.2
        await t_slow


async def test_robots_5xx_means_disallow_and_crawl_delay_applies():
    site = Site({"/robots.txt": lambda r: httpx.Response(503), "/x": lambda r: httpx.Response(200)})
    async with client(site, http_retries=0) as c:
        with pytest.raises(FetchError) as ei:
            await c.get("https://o.example/x", source="t", kind="article")
        assert ei.value.reason == "robots_unavailable"
    assert "/x" not in site.paths()
    site2 = Site({"/x": lambda r: httpx.Response(200)}, robots="User-agent: *\nCrawl-delay: 1\n")
    async with client(site2) as c:
        await c.get("https://o.example/x", source="t", kind="article")
        assert c.host_delay("o.example") == 1


def test_retry_after_and_backoff_math():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("soon") is None
    for attempt in range(6):
        d = backoff_delay(attempt, 1.0, 30.0)
        exp = min(30.0, 2**attempt)
        assert exp / 2 <= d <= exp
    assert backoff_delay(0, 1.0, 30.0, retry_after=10) == 10
    assert backoff_delay(0, 1.0, 30.0, retry_after=1000) == 30
