"""The runner with endpoint discovery, blocked endpoints, lenient feeds and closed outlets, against local
outlets (devstack Outlet) and a recording producer in place of Kafka (``ConnectorRunner.schedule``)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from prometheus_client import REGISTRY

import connectors.autodiscover as autodiscover
from connectors.autodiscover import DiscoveryState
from connectors.registry import Source
from connectors.runner import ConnectorRunner
from devstack.outlet import Outlet, Route, rss_feed
from pipeline.core.schema import RawPage
from pipeline.core.settings import load_settings

from .test_discovery import FEED_ITEMS, MAP_ITEMS, homepage, serve_moved_outlet


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None]] = []

    async def send_and_wait(self, topic: str, key: bytes | None = None, value: bytes | None = None) -> None:
        self.sent.append((topic, value))


def runner_for(o: Outlet, sources: list[Source], tmp_path, *, once: bool = True, **kw) -> ConnectorRunner:
    base = dict(per_host_delay_s=0, http_retries=0, http_connect_timeout_s=2, http_read_timeout_s=5,
                fetch_allow_hosts=o.allow, state_dir=tmp_path / "state", namespace="unitdisc")
    base.update(kw)
    r = ConnectorRunner(load_settings(**base), sources, asyncio.Event(), once=once, coordinate=False)
    r.producer = RecordingProducer()
    return r


async def run_once(r: ConnectorRunner) -> None:
    try:
        await asyncio.gather(*r.schedule())
    finally:
        await r.client.aclose()
        r.parse_pool.shutdown(wait=False)


def produced_paths(r: ConnectorRunner, o: Outlet) -> set[str]:
    pages = [RawPage.model_validate_json(v) for t, v in r.producer.sent if t == r.settings.raw_topic]
    return {p.url.split(o.base, 1)[1] for p in pages}


def metric(name: str, labels: dict) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def outlet():
    """A local outlet whose configured feed is gone (404): its homepage links its real feed and its
    robots.txt names its news sitemap, each listing different articles."""
    with Outlet("127.0.0.1") as o:
        serve_moved_outlet(o)
        yield o


ALL = {p for p, _ in FEED_ITEMS} | set(MAP_ITEMS)


async def test_a_gone_feed_makes_the_runner_discover_and_poll_the_real_endpoints(outlet, tmp_path, caplog):
    o = outlet
    src = Source(id="moved", name="منفذ", homepage=o.base + "/", feeds=[o.url("/old-rss.php")], discovery=True)
    r = runner_for(o, [src], tmp_path)
    with caplog.at_level(logging.INFO, "rasid.connectors"):
        await run_once(r)
    assert produced_paths(r, o) == ALL  # every article of both discovered endpoints
    lines = [x for x in caplog.records if x.getMessage() == "endpoints discovered"]
    assert len(lines) == 1 and lines[0].source == "moved" and lines[0].trigger.startswith("http_404 ")
    assert "# seen: found by rasid endpoint discovery" in lines[0].yaml and o.url("/feeds/main.xml") in lines[0].yaml
    saved = json.loads((tmp_path / "state" / "discovered.json").read_text())["sources"]["moved"]
    assert {(f["kind"], f["url"]) for f in saved["found"]} == {("feed", o.url("/feeds/main.xml")),
                                                               ("sitemap", o.url("/maps/news.xml"))}
    assert saved["handled"] == [o.url("/old-rss.php")]
    assert metric("rasid_endpoint_discoveries_total", {"source": "moved", "outcome": "found"}) >= 1

    # a restart uses what was found: no second look at the homepage, the same endpoints polled at once
    o.clear_log()
    r2 = runner_for(o, [src], tmp_path)
    await run_once(r2)
    assert not o.hits("/") and o.hits("/feeds/main.xml") and o.hits("/maps/news.xml")
    assert produced_paths(r2, o) == ALL  # (no seen store here: produced again)


async def test_a_homepage_only_source_is_discovered_at_start(outlet, tmp_path):
    src = Source(id="home-only", name="منفذ", homepage=outlet.base + "/", discovery=True)
    r = runner_for(outlet, [src], tmp_path)
    await run_once(r)
    assert produced_paths(r, outlet) == ALL
    assert DiscoveryState(tmp_path / "state").get("home-only")["trigger"] == "no_endpoints"


async def test_a_failing_discovered_endpoint_is_rediscovered(outlet, tmp_path, monkeypatch):
    monkeypatch.setattr(autodiscover, "MIN_GAP_S", 0.0)
    o = outlet
    src = Source(id="moving", name="منفذ", homepage=o.base + "/", discovery=True, poll_interval=0.2)
    r = runner_for(o, [src], tmp_path, once=False)
    tasks = r.schedule()
    try:
        for _ in range(100):
            if produced_paths(r, o) == ALL:
                break
            await asyncio.sleep(0.05)
        # the outlet moves its feed: the old one answers 404, the homepage links the new one
        o.add("/feeds/main.xml", Route(status=404, body=b"gone"))
        o.add("/feeds/v2.xml", Route(body=rss_feed(o.base, FEED_ITEMS), content_type="application/rss+xml"))
        o.add("/", Route(body=homepage('<link rel="alternate" type="application/rss+xml" href="/feeds/v2.xml">')))
        for _ in range(200):
            if o.hits("/feeds/v2.xml"):
                break
            await asyncio.sleep(0.05)
    finally:
        r.stop_event.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        await r.client.aclose()
        r.parse_pool.shutdown(wait=False)
    assert o.hits("/feeds/v2.xml")
    saved = DiscoveryState(tmp_path / "state").get("moving")
    assert {f["url"] for f in saved["found"]} == {o.url("/feeds/v2.xml"), o.url("/maps/news.xml")}
    assert saved["trigger"].startswith("http_404 " + o.url("/feeds/main.xml"))


async def test_closed_and_archived_sources_are_not_scheduled(outlet, tmp_path):
    live = Source(id="live", name="ح", homepage=outlet.base + "/", feeds=[outlet.url("/feeds/main.xml")])
    gone = Source(id="gone", name="م", homepage=outlet.base + "/", feeds=[outlet.url("/feeds/main.xml")],
                  status="closed", discovery=True)
    archive = Source(id="old", name="أ", homepage=outlet.base + "/", status="archive", discovery=True)
    r = runner_for(outlet, [live, gone, archive], tmp_path)
    assert [s.id for s in r.sources] == ["live"]
    tasks = r.schedule()
    assert [t.get_name().split(":")[0] for t in tasks] == ["live"]
    await asyncio.gather(*tasks)
    await r.client.aclose()
    r.parse_pool.shutdown(wait=False)


async def test_a_refusing_endpoint_is_blocked_not_broken(outlet, tmp_path, caplog):
    o = outlet
    o.add("/feed-403", Route(status=403, body=b"<h1>Forbidden</h1>"))
    src = Source(id="refuses", name="ر", homepage=o.base + "/", feeds=[o.url("/feed-403")], discovery=True)
    r = runner_for(o, [src], tmp_path, blocked_backoff_s=7200, blocked_backoff_max_s=86_400)
    with caplog.at_level(logging.INFO, "rasid.connectors"):
        await run_once(r)
    blocked = [x for x in caplog.records if x.getMessage().startswith("source blocked")]
    assert len(blocked) == 1 and blocked[0].reason == "http_403" and blocked[0].retry_in_s == 7200
    assert not [x for x in caplog.records if x.getMessage().startswith(("endpoint poll failed", "source failing"))]
    assert metric("rasid_source_blocked_endpoints", {"source": "refuses"}) == 1
    assert not o.hits("/") and len(o.hits("/feed-403")) == 1  # no retry, no discovery behind a refusal
    assert r.blocked.on_blocked("refuses", o.url("/feed-403")) == 14_400  # doubling...
    assert r.blocked.on_answer("refuses", o.url("/feed-403"))  # ...until it answers again
    assert metric("rasid_source_blocked_endpoints", {"source": "refuses"}) == 0


SANA_LIKE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" version="2.0"><channel><title>\xd8\xb3\xd8\xa7\xd9'
    b'\x86\xd8\xa7 &nbsp; news</title>\x00\x0b<link>{{BASE}}/</link>'
    b'<item><title>\xd8\xae\xd8\xa8\xd8\xb1 1 &raquo; \x1b</title><link>{{BASE}}/2026/10/01/feed-article-1</link>'
    b'<description><p class="a" class="b">text</description></item>'
    b'<item><title>\xd8\xae\xd8\xa8\xd8\xb1 2</title><link>{{BASE}}/2026/10/02/feed-article-2</link></item>'
    b'<item><title>\xd8\xae\xd8\xa8\xd8\xb1 3<link>{{BASE}}/2026/10/03/feed-article-3</link></item>'
    b'</channel></rss>'
)


async def test_a_malformed_feed_is_read_and_counted_not_failed(outlet, tmp_path, caplog):
    o = outlet
    o.add("/sana-feed", Route(body=SANA_LIKE, content_type="application/rss+xml"))
    src = Source(id="sana-like", name="س", homepage=o.base + "/", feeds=[o.url("/sana-feed")])
    r = runner_for(o, [src], tmp_path)
    with caplog.at_level(logging.INFO, "rasid.connectors"):
        await run_once(r)
    assert {"/2026/10/01/feed-article-1", "/2026/10/02/feed-article-2"} <= produced_paths(r, o)
    assert metric("rasid_listings_recovered_total",
                  {"source": "sana-like", "kind": "feed", "reason": "recovered_malformed_feed"}) == 1
    assert [x.getMessage() for x in caplog.records].count("malformed listing read leniently") == 1
    assert not [x for x in caplog.records if x.getMessage().startswith(("endpoint poll failed", "source failing", "listing read with problems"))]
    assert r.stats.poll_errors == 0


async def test_a_section_without_article_links_is_broken(outlet, tmp_path):
    o = outlet
    o.add("/section/empty", Route(body=homepage(body="<a href='/tag/x'>x</a>")))
    src = Source(id="empty-section", name="ف", homepage=o.base + "/", sections=[{"url": o.url("/section/empty")}],
                 discovery=True)
    r = runner_for(o, [src], tmp_path)
    await run_once(r)
    assert DiscoveryState(tmp_path / "state").get("empty-section")["trigger"].startswith("no_article_links ")
    assert produced_paths(r, o) == ALL
