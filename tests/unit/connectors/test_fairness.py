"""Fairness: a trickling outlet and a Crawl-delayed outlet delay only their own articles.

Three local outlets (devstack Outlet): a trickling one and a polite one (``Crawl-delay: 3``) on
127.0.0.1, a healthy one on 127.0.0.2. The bad outlets' candidates are queued first; the healthy
source's articles must still be produced within a second of its listing being read. The runner
is the real one; only the Kafka producer is a recorder (no Kafka needed).
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from connectors.registry import Source
from connectors.runner import ConnectorRunner
from devstack.outlet import Outlet, Route, allow_hosts, article_html, rss_feed
from pipeline.core.settings import load_settings

N_BAD = 12  # articles on each bad outlet
N_GOOD = 4


class RecordingProducer:
    """Stands in for the Kafka producer: remembers (time, topic, key) of every record."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str, bytes | None]] = []

    async def send_and_wait(self, topic: str, key: bytes | None = None, value: bytes | None = None) -> None:
        self.sent.append((time.monotonic(), topic, value))

    def produced(self, topic: str, source: str) -> list[float]:
        return [t for t, tp, v in self.sent if tp == topic and v and json.loads(v).get("source") == source]


def _trickle():
    for _ in range(200):  # a byte every 0.3 s: every read is "in time", the page never ends
        time.sleep(0.3)
        yield b" "


def _site(o: Outlet, slug: str, n: int, *, trickle: bool = False, robots: str = "User-agent: *\nAllow: /\n") -> str:
    items = []
    for i in range(n):
        path = f"/{slug}/2024/12/0{1 + i % 9}/article-{slug}-{i}.html"
        if trickle:
            o.add(path, Route(body=_trickle, conditional=False))
        else:
            o.add(path, article_html(f"خبر {slug} {i}", 3))
        items.append((path, f"خبر {slug} {i}"))
    o.add("/robots.txt", Route(body=robots.encode(), content_type="text/plain"))
    o.add("/rss.xml", Route(body=rss_feed(o.base, items, title=slug), content_type="application/rss+xml"))
    return o.url("/rss.xml")


async def healthy_delay(trickling: Outlet | None, polite: Outlet | None, healthy: Outlet) -> tuple[float, int]:
    """Seconds between the healthy listing being read and its last article produced (and how many)."""
    sources = []
    if trickling is not None:
        sources.append(Source(id="trickle", name="بطيء", homepage=trickling.base + "/",
                              feeds=[_site(trickling, "t", N_BAD, trickle=True)]))
    if polite is not None:
        sources.append(Source(id="polite", name="مهذب", homepage=polite.base + "/",
                              feeds=[_site(polite, "p", N_BAD, robots="User-agent: *\nCrawl-delay: 3\n")]))
    sources.append(Source(id="healthy", name="سليم", homepage=healthy.base + "/", feeds=[_site(healthy, "h", N_GOOD)]))
    outlets = [o for o in (trickling, polite, healthy) if o is not None]
    settings = load_settings(per_host_delay_s=0, per_host_concurrency=2, fetch_concurrency=4, http_retries=0,
                             http_connect_timeout_s=0.5, http_read_timeout_s=1.0,
                             fetch_allow_hosts=allow_hosts(*outlets))
    runner = ConnectorRunner(settings, sources, asyncio.Event(), once=True, coordinate=False)
    runner.producer = producer = RecordingProducer()
    try:
        bad = [asyncio.create_task(runner.poll_endpoint(s, "feed", s.feeds[0])) for s in sources[:-1]]
        await asyncio.sleep(1.0)  # their articles are queued (and the polite host's Crawl-delay known)
        await runner.poll_endpoint(sources[-1], "feed", sources[-1].feeds[0])
        listing_read = healthy.hits("/rss.xml")[0].ended
        good = producer.produced(settings.raw_topic, "healthy")
        for t in bad:
            t.cancel()
        await asyncio.gather(*bad, return_exceptions=True)
        return (max(good) - listing_read if good else float("inf")), len(good)
    finally:
        await runner.client.aclose()
        runner.parse_pool.shutdown(wait=False)


@pytest.mark.parametrize("bad", ["trickling", "crawl-delay", "both"])
async def test_a_trickling_or_crawl_delayed_host_delays_only_its_own_articles(bad):
    with Outlet("127.0.0.1") as trickling, Outlet("127.0.0.1") as polite, Outlet("127.0.0.2") as healthy:
        delay, n = await healthy_delay(trickling if bad != "crawl-delay" else None,
                                       polite if bad != "trickling" else None, healthy)
        print(f"\n{bad}: healthy source's {n} articles produced at most {delay:.2f}s after its listing was read")
        assert n == N_GOOD
        assert delay < 1.0
