"""Bounded work on hostile input, measured: memory stays within 200 MB of the process's baseline
(psutil RSS, sampled on a thread) and no event-loop stall exceeds 1 s (a 10 ms ticker).

Each case goes through the real client and runner against a local outlet (devstack Outlet on
127.0.0.1, allowed by RASID_FETCH_ALLOW_HOSTS); only the Kafka producer is a recorder. What a
case refuses is counted, logged, and dead-lettered when it reached the point of becoming a record.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import threading
import time
import zlib

import psutil
import pytest
from prometheus_client import REGISTRY

from connectors.http import FetchError, PoliteClient
from connectors.registry import Source
from connectors.runner import ConnectorRunner
from connectors.base import Candidate
from devstack.outlet import Outlet, Route
from pipeline.core.errors import BadRecord
from pipeline.core.schema import Listing
from pipeline.core.settings import load_settings
from pipeline.stages.page import parse_html

MEMORY_BUDGET = 200 * 2**20
STALL_BUDGET = 1.0


class Watch:
    """Peak RSS above the baseline and the longest event-loop stall while the block runs."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.peak = 0
        self.stall = 0.0

    async def __aenter__(self) -> "Watch":
        gc.collect()
        self._proc = psutil.Process()
        self.baseline = self._proc.memory_info().rss
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        self._ticker = asyncio.create_task(self._tick())
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss - self.baseline)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.01)
            self.stall = max(self.stall, loop.time() - t - 0.01)

    async def __aexit__(self, *exc: object) -> None:
        self._ticker.cancel()
        self._done.set()
        self._sampler.join()
        self.peak = max(self.peak, self._proc.memory_info().rss - self.baseline)
        print(f"\n{self.label}: memory +{self.peak / 2**20:.0f} MB over baseline, longest loop stall {self.stall:.3f}s")

    def check(self) -> None:
        assert self.peak < MEMORY_BUDGET, f"{self.label}: {self.peak / 2**20:.0f} MB over baseline"
        assert self.stall < STALL_BUDGET, f"{self.label}: event loop stalled {self.stall:.2f}s"


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None]] = []

    async def send_and_wait(self, topic: str, key: bytes | None = None, value: bytes | None = None) -> None:
        self.sent.append((topic, value))


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("rasid_fetch_refused_total", {"reason": reason}) or 0.0


def zeros_gzip(total: int) -> bytes:
    """gzip of ``total`` zero bytes, made without holding them (about 1 KB per MB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 24)
    parts = [c.compress(block) for _ in range(total // len(block))]
    parts.append(c.compress(bytes(total % len(block))))
    parts.append(c.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def bomb_inner() -> bytes:
    return zeros_gzip(2_100_000_000)  # 2.1 GB of zeros in ~2 MB


@pytest.fixture
def outlet():
    with Outlet("127.0.0.1") as o:
        o.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        yield o


def client_settings(o: Outlet, **kw):
    base = dict(per_host_delay_s=0, http_retries=0, http_connect_timeout_s=2, http_read_timeout_s=5,
                fetch_allow_hosts=o.allow)
    base.update(kw)
    return load_settings(**base)


# --- Content-Encoding --------------------------------------------------------------------------


async def test_stacked_gzip_is_refused_from_the_header(outlet, bomb_inner):
    bomb = gzip.compress(bomb_inner, 9)  # "gzip, gzip": ~2 KB on the wire, 2.1 GB once inflated twice
    assert len(bomb) < 10_000
    outlet.add("/bomb.html", Route(body=bomb, headers={"Content-Encoding": "gzip, gzip"}))
    before = refused("stacked_encoding")
    async with Watch("gzip, gzip (2.1 GB)") as w:
        async with PoliteClient(client_settings(outlet)) as c:
            with pytest.raises(FetchError) as e:
                await c.get(outlet.url("/bomb.html"), source="t", kind="article")
    w.check()
    assert e.value.reason == "stacked_encoding" and e.value.refused
    assert refused("stacked_encoding") == before + 1


async def test_one_gzip_layer_is_inflated_only_up_to_the_byte_cap(outlet, bomb_inner):
    outlet.add("/bomb.html", Route(body=bomb_inner, headers={"Content-Encoding": "gzip"}))
    outlet.add("/ok.html", Route(body=gzip.compress(b"<html><body><p>" + "نص ".encode() * 1000 + b"</p></body></html>"),
                                 headers={"Content-Encoding": "gzip"}))
    outlet.add("/br.html", Route(body=b"xx", headers={"Content-Encoding": "br"}))
    page = "<html><body><p>صفحة مضغوطة</p></body></html>".encode()
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    outlet.add("/deflate.html", Route(body=zlib.compress(page), headers={"Content-Encoding": "deflate"}))
    outlet.add("/raw-deflate.html", Route(body=raw.compress(page) + raw.flush(), headers={"Content-Encoding": "deflate"}))
    async with Watch("gzip bomb, one layer (2.1 GB)") as w:
        async with PoliteClient(client_settings(outlet)) as c:
            with pytest.raises(FetchError) as e:
                await c.get(outlet.url("/bomb.html"), source="t", kind="article")
            ok = await c.get(outlet.url("/ok.html"), source="t", kind="article")
            with pytest.raises(FetchError) as e2:
                await c.get(outlet.url("/br.html"), source="t", kind="article")
            for path in ("/deflate.html", "/raw-deflate.html"):
                assert (await c.get(outlet.url(path), source="t", kind="article")).body == page
    w.check()
    assert e.value.reason == "too_large" and "inflated" in e.value.detail
    assert "نص".encode() in ok.body
    assert e2.value.reason == "unsupported_encoding"


# --- deep nesting ------------------------------------------------------------------------------

DEEP = {
    "100,000 nested divs": "<html><body>" + "<div>" * 100_000 + "x" + "</div>" * 100_000 + "</body></html>",
    "300,000 <div/>": "<html><body>" + "<div/>" * 300_000 + "x</body></html>",
    # HTML5 re-opens misnested formatting elements: 130 KB made lexbor build 5 GB in 11 s
    "re-opened formatting elements": "<html><body>" + "".join(f"<div><b c={i}>y</div>" for i in range(6000))
                                     + "</body></html>",
}


@pytest.mark.parametrize("name", list(DEEP))
async def test_deeply_nested_pages_are_refused_and_dead_lettered(outlet, name):
    outlet.add("/2024/12/01/deep-article-page.html", DEEP[name])
    src = Source(id="deep", name="عميق", homepage=outlet.base + "/", feeds=[outlet.url("/rss.xml")])
    runner = ConnectorRunner(client_settings(outlet), [src], asyncio.Event(), once=True, coordinate=False)
    runner.producer = producer = RecordingProducer()
    try:
        async with Watch(f"article: {name}") as w:
            result = await runner.handle_candidate(src, Candidate(outlet.url("/2024/12/01/deep-article-page.html"),
                                                                  Listing()))
    finally:
        await runner.client.aclose()
        runner.parse_pool.shutdown(wait=False)
    w.check()
    raw = [v for t, v in producer.sent if t == runner.settings.raw_topic]
    dead = [json.loads(v) for t, v in producer.sent if t == runner.settings.deadletter_topic]
    if name != "100,000 nested divs":  # libxml2 reads these as shallow, ordinary pages (and so does lexbor after it)
        assert result == "done" and len(raw) == 1 and not dead
    else:
        assert result == "done" and raw == []
        assert [d["reason"] for d in dead] == ["too_deep"] and dead[0]["stage"] == "fetch"


async def test_a_deep_section_page_fails_the_poll(outlet):
    outlet.add("/section", DEEP["100,000 nested divs"])
    src = Source(id="deep", name="عميق", homepage=outlet.base + "/", sections=[{"url": outlet.url("/section")}])
    runner = ConnectorRunner(client_settings(outlet), [src], asyncio.Event(), once=True, coordinate=False)
    runner.producer = RecordingProducer()
    try:
        async with Watch("section: 100,000 nested divs") as w:
            from connectors.base import ParseError

            with pytest.raises(ParseError) as e:
                await runner.poll_endpoint(src, "section", src.sections[0])
    finally:
        await runner.client.aclose()
        runner.parse_pool.shutdown(wait=False)
    w.check()
    assert e.value.reason == "too_deep"


def test_the_page_stage_refuses_deep_trees_quickly():
    for name, html in DEEP.items():
        t = time.perf_counter()
        try:
            parse_html(html)
        except BadRecord as e:
            assert e.reason == "too_deep"
        assert time.perf_counter() - t < 1.0, name


# --- large listings ----------------------------------------------------------------------------


def big_sitemap(o: Outlet, n: int) -> bytes:
    head = b'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [c.compress(head)]
    for start in range(0, n, 10_000):
        parts.append(c.compress("".join(
            f"<url><loc>{o.base}/2024/01/{i}/article-{i}</loc><lastmod>2024-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"
            f"</lastmod></url>" for i in range(start, min(n, start + 10_000))).encode()))
    parts.append(c.compress(b"</urlset>"))
    parts.append(c.flush())
    return b"".join(parts)


async def test_a_400k_url_sitemap_is_read_as_a_bounded_stream(outlet):
    body = big_sitemap(outlet, 400_000)
    outlet.add("/sitemap.xml.gz", Route(body=body, content_type="application/x-gzip"))
    src = Source(id="bigmap", name="كبير", homepage=outlet.base + "/", sitemaps=[outlet.url("/sitemap.xml.gz")],
                 max_items=5)
    runner = ConnectorRunner(client_settings(outlet), [src], asyncio.Event(), once=True, coordinate=False)
    runner.producer = RecordingProducer()
    before = REGISTRY.get_sample_value("rasid_connector_errors_total",
                                       {"source": "bigmap", "reason": "truncated_listing"}) or 0.0
    try:
        async with Watch("sitemap: 400,000 URLs (.gz)") as w:
            t = time.monotonic()
            await runner.poll_endpoint(src, "sitemap", src.sitemaps[0])
            took = time.monotonic() - t
    finally:
        await runner.client.aclose()
        runner.parse_pool.shutdown(wait=False)
    w.check()
    print(f"  polled in {took:.1f}s")
    assert runner.stats.discovered == 5  # max_items, kept while reading
    assert REGISTRY.get_sample_value("rasid_connector_errors_total",
                                     {"source": "bigmap", "reason": "truncated_listing"}) == before + 1
    # the newest five: 28th of the month, minute 59..55 (entries past 50,000 were never read)
    articles = sorted(h.path for h in outlet.hits() if h.path.startswith("/2024/"))
    assert len(articles) == 5


async def test_a_feed_of_100k_items_is_cut_before_parsing(outlet):
    from devstack.outlet import rss_feed

    items = [(f"/2024/01/{i}/article-{i}", f"خبر {i}") for i in range(100_000)]
    outlet.add("/rss.xml", Route(body=rss_feed(outlet.base, items), content_type="application/rss+xml"))
    src = Source(id="bigfeed", name="كبير", homepage=outlet.base + "/", feeds=[outlet.url("/rss.xml")], max_items=5)
    runner = ConnectorRunner(client_settings(outlet, http_max_bytes=30_000_000), [src], asyncio.Event(), once=True,
                             coordinate=False)
    runner.producer = RecordingProducer()
    try:
        async with Watch("feed: 100,000 items") as w:
            await runner.poll_endpoint(src, "feed", src.feeds[0])
    finally:
        await runner.client.aclose()
        runner.parse_pool.shutdown(wait=False)
    w.check()
    assert runner.stats.discovered == 5
