"""Connectors against a local outlet (tests/outlet.py) and the devstack's real Kafka.

Each test gets a fresh namespace (``make_settings``), so raw/seen/deadletter topics start empty.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaConsumer
from prometheus_client import REGISTRY

from connectors.runner import ConnectorRunner, run_connectors
from connectors.registry import load_registry
from pipeline.core.schema import DeadLetter, RawPage
from devstack.outlet import (ARTICLES, Outlet, Route, allow_hosts_of, article_html, big_body, junk, rss_feed,
                             seed_site)

UA = "RasidBot/0.1 (+https://github.com/rasid-news/rasid; news monitoring)"


# --- helpers -------------------------------------------------------------------------------------

def write_sources(path: Path, sources: list[dict]) -> Path:
    f = path / "sources.yaml"
    f.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
    return f


def connector_settings(make_settings, tmp_path: Path, sources: list[dict], **kw):
    base = dict(
        sources_file=write_sources(tmp_path, sources),
        fetch_allow_hosts=allow_hosts_of(sources),  # the local outlets: loopback is refused otherwise
        state_dir=tmp_path / "state",
        user_agent=UA,
        per_host_delay_s=0.02,
        per_host_concurrency=2,
        http_connect_timeout_s=0.5,
        http_read_timeout_s=0.5,
        http_retries=1,
        http_backoff_s=0.01,
        http_backoff_max_s=0.1,
        http_max_bytes=2_000_000,
    )
    base.update(kw)
    return make_settings(**base)


async def read_all(settings, topic: str) -> list:
    """Every record currently in ``topic`` (reads to the end offsets as of now)."""
    c = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False, max_partition_fetch_bytes=settings.kafka_max_message_bytes + 1_000_000)
    await c.start()
    try:
        c.subscribe([topic])
        for _ in range(200):
            if c.assignment():
                break
            await asyncio.sleep(0.05)
        parts = list(c.assignment())
        await c.seek_to_beginning(*parts)
        ends = await c.end_offsets(parts)
        out = []
        while [tp for tp in parts if await c.position(tp) < ends[tp]]:
            for recs in (await c.getmany(timeout_ms=500)).values():
                out.extend(recs)
        return out
    finally:
        await c.stop()


async def raw_pages(settings) -> list[RawPage]:
    return [RawPage.model_validate_json(r.value) for r in await read_all(settings, settings.raw_topic)]


def recovered(source: str, reason: str, kind: str = "feed") -> float:
    return REGISTRY.get_sample_value("rasid_listings_recovered_total",
                                     {"source": source, "kind": kind, "reason": reason}) or 0.0


def errors(source: str, reason: str) -> float:
    return REGISTRY.get_sample_value("rasid_connector_errors_total", {"source": source, "reason": reason}) or 0.0


@pytest.fixture
def outlet():
    with Outlet() as o:
        seed_site(o)
        yield o


def seed_sources(o: Outlet) -> list[dict]:
    return [
        {"id": "feeds-src", "name": "خلاصات", "homepage": o.base + "/", "poll_interval": 0.3,
         "feeds": [o.url("/rss.xml"), o.url("/atom.xml")]},
        {"id": "maps-src", "name": "خرائط", "homepage": o.base + "/", "poll_interval": 0.3,
         "sitemaps": [o.url("/sitemap-index.xml")], "sections": [{"url": o.url("/section/syria")}]},
    ]


LISTINGS = ("/rss.xml", "/atom.xml", "/sitemap-index.xml", "/news-sitemap.xml", "/section/syria",
            "/sitemap-2019-a.xml", "/sitemap-2018.xml")


# --- tests ---------------------------------------------------------------------------------------

async def test_every_article_once_across_restart_and_politely(outlet, make_settings, tmp_path):
    for path in ARTICLES.values():
        outlet.routes[path].delay = 0.3  # slow articles: without the per-host limit all 5 would overlap
    settings = connector_settings(make_settings, tmp_path, seed_sources(outlet))
    stats = await run_connectors(settings, asyncio.Event(), once=True)
    assert stats.produced == 5

    pages = await raw_pages(settings)
    assert len(pages) == 5 and len({p.id for p in pages}) == 5
    by_path = {p.url.split(outlet.base, 1)[1]: p for p in pages}
    from pipeline.core.urls import canonicalize

    assert set(by_path) == {canonicalize(outlet.url(p)).split(outlet.base, 1)[1] for p in ARTICLES.values()}
    a5 = by_path["/news/syria/losses-regime-west-aleppo-chemical-attack"]
    assert a5.charset == "cp1256" and a5.headers["content-type"] == "text/html; charset=iso-8859-1"
    assert "خسائر للنظام غرب حلب" in a5.html_bytes().decode(a5.charset)
    assert a5.listing.title.startswith("خسائر للنظام") and a5.listing.published_at is not None
    assert a5.status == 200 and a5.headers.get("etag") and a5.content_hash
    assert {p.source for p in pages} <= {"feeds-src", "maps-src"}

    # restart: nothing new, every listing answered 304 to a conditional request
    first_run = len(outlet.hits())
    stats2 = await run_connectors(settings, asyncio.Event(), once=True)
    assert stats2.produced == 0 and stats2.fetched == 0
    assert len(await raw_pages(settings)) == 5
    rerun = outlet.hits()[first_run:]
    relisted = [h for h in rerun if h.path in LISTINGS]
    assert relisted and all(h.status == 304 and h.if_none_match for h in relisted), relisted

    hits = outlet.hits()
    assert all(h.user_agent == UA for h in hits)
    assert [h.path for h in hits].count("/robots.txt") == 2  # once per process (cached)
    assert not outlet.hits("/private/report-2019-internal")  # robots.txt obeyed
    for path in ARTICLES.values():
        assert len(outlet.hits(path)) == 1, path  # each article fetched once, ever
    assert outlet.max_concurrent == 2  # per_host_concurrency, reached and never exceeded

    seen = {r.key.decode(): json.loads(r.value) for r in await read_all(settings, settings.seen_topic)}
    assert {p.id for p in pages} <= set(seen)
    assert all(seen[p.id]["status"] == "produced" for p in pages)


async def test_continuous_polling_is_conditional_and_picks_up_new_items(outlet, make_settings, tmp_path):
    outlet.add("/live.xml", Route(body=rss_feed(outlet.base, [("/live/2020/01/01/first-live-story", "أول")]),
                                  content_type="application/rss+xml"))
    outlet.fallback = lambda p: Route(body=article_html(p)) if p.startswith("/live/") else None
    sources = [{"id": "live", "name": "مباشر", "homepage": outlet.base + "/", "poll_interval": 0.2,
                "min_interval": 0.1, "max_interval": 0.4, "feeds": [outlet.url("/live.xml")]}]
    settings = connector_settings(make_settings, tmp_path, sources)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    unhandled: list[dict] = []
    loop.set_exception_handler(lambda _loop, ctx: unhandled.append(ctx))
    task = asyncio.create_task(run_connectors(settings, stop))
    try:
        for _ in range(100):
            if len(outlet.hits("/live.xml")) >= 3:
                break
            await asyncio.sleep(0.1)
        outlet.add("/live.xml", Route(body=rss_feed(outlet.base, [
            ("/live/2020/01/01/first-live-story", "أول"), ("/live/2020/01/02/second-live-story", "ثاني")]),
            content_type="application/rss+xml"))
        for _ in range(100):
            if outlet.hits("/live/2020/01/02/second-live-story"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
    finally:
        t0 = time.monotonic()
        stop.set()
        stats = await asyncio.wait_for(task, 20)
        assert time.monotonic() - t0 < 5  # clean, quick shutdown
        gc.collect()  # a dropped future's unretrieved exception is reported when it is collected
        await asyncio.sleep(0)
        loop.set_exception_handler(None)
        assert not unhandled, [c.get("message") for c in unhandled]  # no ERROR line at a normal stop
    feed_hits = outlet.hits("/live.xml")
    assert len(feed_hits) >= 4
    assert feed_hits[0].if_none_match is None
    assert all(h.if_none_match for h in feed_hits[1:])
    assert sum(h.status == 304 for h in feed_hits) >= 2
    assert stats.produced == 2
    assert len(outlet.hits("/live/2020/01/01/first-live-story")) == 1
    assert len(await raw_pages(settings)) == 2


async def test_a_stop_drops_a_fetch_under_way_and_the_next_run_fetches_it_once(outlet, make_settings, tmp_path):
    """An outlet that does not answer must not hold a stop for the whole grace: the fetch under way is dropped,
    nothing is remembered as seen, and the next run fetches the article and produces it once."""
    slow = "/slow/2020/01/01/a-story-that-takes-long"
    outlet.add("/slow.xml", Route(body=rss_feed(outlet.base, [(slow, "بطيء")]), content_type="application/rss+xml"))
    outlet.add(slow, Route(body=article_html(slow), delay=30))
    sources = [{"id": "slow", "name": "بطيء", "homepage": outlet.base + "/", "poll_interval": 0.2,
                "feeds": [outlet.url("/slow.xml")]}]
    settings = connector_settings(make_settings, tmp_path, sources, http_read_timeout_s=60)
    stop = asyncio.Event()
    task = asyncio.create_task(run_connectors(settings, stop))
    for _ in range(200):
        if outlet.hits(slow) or task.done():
            break
        await asyncio.sleep(0.05)
    assert outlet.hits(slow), "the article was never requested"
    t0 = time.monotonic()
    stop.set()
    stats = await asyncio.wait_for(task, 20)
    assert time.monotonic() - t0 < 3  # not the 10-s grace (connectors.runner.STOP_GRACE_S)
    assert stats.produced == 0
    outlet.add(slow, Route(body=article_html(slow)))
    again = await asyncio.wait_for(run_connectors(settings, asyncio.Event(), once=True), 40)
    assert again.produced == 1
    assert [p.url for p in await raw_pages(settings)] == [outlet.url(slow)]


def _ids_covering_partitions(n_partitions: int, per_partition: int = 2) -> list[str]:
    from connectors.kafka import partition_for

    chosen: dict[int, list[str]] = {p: [] for p in range(n_partitions)}
    i = 0
    while any(len(v) < per_partition for v in chosen.values()):
        sid = f"outlet-{i}"
        p = partition_for(sid, n_partitions)
        if len(chosen[p]) < per_partition:
            chosen[p].append(sid)
        i += 1
    return [s for v in chosen.values() for s in v]


async def test_two_instances_at_once_produce_each_article_once(outlet, make_settings, tmp_path):
    ids = _ids_covering_partitions(4)
    per_source = 4
    outlet.fallback = lambda p: Route(body=article_html(p)) if p.startswith("/gen/") else None
    for sid in ids:
        outlet.add(f"/feeds/{sid}.xml", Route(body=rss_feed(outlet.base, []), content_type="application/rss+xml"))
    sources = [{"id": sid, "name": sid, "homepage": outlet.base + "/", "poll_interval": 0.2, "min_interval": 0.1,
                "max_interval": 0.4, "feeds": [outlet.url(f"/feeds/{sid}.xml")]} for sid in ids]
    settings = connector_settings(make_settings, tmp_path, sources)
    srcs = load_registry(settings.sources_file).sources
    stop = asyncio.Event()
    a = ConnectorRunner(settings, srcs, stop)
    b = ConnectorRunner(settings, srcs, stop)
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    try:
        # both members of the group own part of the work before any article exists
        for _ in range(300):
            if a.own.owned and b.own.owned and not (a.own.owned & b.own.owned):
                break
            await asyncio.sleep(0.05)
        assert a.own.owned and b.own.owned and not (a.own.owned & b.own.owned)
        for sid in ids:
            items = [(f"/gen/{sid}/2020/01/0{k + 1}/story-number-{k}", f"خبر {sid} {k}") for k in range(per_source)]
            outlet.add(f"/feeds/{sid}.xml", Route(body=rss_feed(outlet.base, items), content_type="application/rss+xml"))
        expected = len(ids) * per_source
        for _ in range(300):
            if a.stats.produced + b.stats.produced >= expected:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # a few more poll rounds on both: nothing may be produced twice
    finally:
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 30)
    pages = await raw_pages(settings)
    assert len(pages) == expected
    assert len({p.id for p in pages}) == expected
    assert results[0].produced > 0 and results[1].produced > 0  # the work was really shared
    assert results[0].produced + results[1].produced == expected
    gen_hits = [h for h in outlet.hits() if h.path.startswith("/gen/")]
    assert len(gen_hits) == expected  # each article fetched once across both instances


async def test_poison_endpoints_do_not_stop_the_good_ones(outlet, make_settings, tmp_path):
    o = outlet
    o.add("/bad/binary.xml", Route(body=junk(), content_type="application/rss+xml"))
    o.add_fixture("/bad/truncated.xml", "bad/truncated.xml", "application/rss+xml")
    o.add_fixture("/bad/html.xml", "bad/html-as-feed.html", "application/rss+xml")
    o.add_fixture("/bad/empty.xml", "bad/empty-rss.xml", "application/rss+xml")
    o.add("/bad/down.xml", Route(body=b"", fail_times=10**6, fail_status=500))
    o.add("/bad/stall.xml", Route(body=rss_feed(o.base, [("/stalled/2020/01/01/never-listed", "x")]), stall=5,
                                  content_type="application/rss+xml"))
    o.add("/bad/huge.xml", Route(body=big_body(30_000_000), length=30_000_000, content_type="application/rss+xml"))
    # a section page whose links are poison articles, plus good ones
    links = {
        "/junk/2020/01/01/binary-article-page": Route(body=junk(), content_type="text/html"),
        "/junk/2020/01/02/huge-article-page": Route(body=big_body(30_000_000), length=30_000_000),
        "/junk/2020/01/03/stalled-article-page": Route(body=article_html("بطيء"), stall=5),
        "/junk/2020/01/04/missing-article-page": None,  # 404
        "/junk/2020/01/05/flaky-article-page": Route(body=article_html("متقطع"), fail_times=1, retry_after="0"),
        "/junk/2020/01/06/redirected-article-page": Route(redirect="/junk/2020/01/07/redirect-target-page"),
        "/junk/2020/01/07/redirect-target-page": Route(body=article_html("وجهة التحويل")),
        "/junk/2020/01/08/too-big-for-kafka-page": Route(
            body=b"<html><body><p>" + junk(400_000).hex().encode() + b"</p></body></html>"),
        "/junk/2020/01/09/pdf-not-html-page": Route(body=b"%PDF-1.4 " + bytes(300), content_type="application/pdf"),
    }
    for p, r in links.items():
        if r is not None:
            o.add(p, r)
    anchors = "".join(f'<a href="{p}">{p}</a>' for p in links)
    anchors += '<a href="file:///etc/passwd">x</a><a href="javascript:alert(1)">y</a><a href="ftp://h/2020/01/01/f-a-b-c">z</a>'
    o.add("/junk-section", f"<html><body>{anchors}</body></html>")
    sources = [
        {"id": "poison", "name": "سام", "homepage": o.base + "/", "poll_interval": 60,
         "feeds": [o.url(p) for p in ("/bad/binary.xml", "/bad/truncated.xml", "/bad/html.xml", "/bad/empty.xml",
                                      "/bad/down.xml", "/bad/stall.xml", "/bad/huge.xml")],
         "sections": [{"url": o.url("/junk-section")}]},
        {"id": "good", "name": "سليم", "homepage": o.base + "/", "poll_interval": 60,
         "feeds": [o.url("/rss.xml")], "sitemaps": [o.url("/news-sitemap.xml")]},
    ]
    settings = connector_settings(make_settings, tmp_path, sources, kafka_max_message_bytes=300_000)
    before = {r: errors("poison", r) for r in ("binary_body", "not_a_feed", "http_500", "timeout", "too_large",
                                               "unsafe_link", "http_404", "not_html")}
    recovered_before = recovered("poison", "recovered_malformed_feed")
    t0 = time.monotonic()
    stats = await asyncio.wait_for(run_connectors(settings, asyncio.Event(), once=True), 40)
    elapsed = time.monotonic() - t0
    assert elapsed < 20

    pages = await raw_pages(settings)
    got = {p.url.split(o.base, 1)[1] for p in pages}
    from pipeline.core.urls import canonicalize

    good = {canonicalize(o.url(ARTICLES[n])).split(o.base, 1)[1] for n in ("a1.html", "a2.html", "a3.html", "a4.html", "a5.html")}
    assert good <= got  # every good article produced (a1 also came through the truncated feed)
    assert "/junk/2020/01/05/flaky-article-page" in got  # retried after a 503
    assert "/junk/2020/01/07/redirect-target-page" in got  # final URL after the redirect
    assert not any(g.startswith(("/junk/2020/01/01", "/junk/2020/01/02", "/junk/2020/01/03", "/junk/2020/01/08",
                                 "/junk/2020/01/09", "/stalled")) for g in got)
    assert len(pages) == len({p.id for p in pages}) == len(good) + 2
    assert stats.produced == len(pages)

    dls = [DeadLetter.model_validate_json(r.value) for r in await read_all(settings, settings.deadletter_topic)]
    by_url = {d.url.split(o.base, 1)[1]: d for d in dls}
    assert by_url["/junk/2020/01/02/huge-article-page"].reason == "too_large"  # byte cap while streaming
    assert by_url["/junk/2020/01/08/too-big-for-kafka-page"].reason == "too_large"  # over the Kafka limit
    assert by_url["/junk/2020/01/01/binary-article-page"].reason == "binary_body"
    assert by_url["/junk/2020/01/09/pdf-not-html-page"].reason == "not_html"
    assert all(d.payload is None and d.stage == "fetch" and d.source == "poison" for d in dls)

    for reason in before:
        assert errors("poison", reason) > before[reason], reason
    # the truncated feed is read leniently: counted apart, not an error of the source
    assert recovered("poison", "recovered_malformed_feed") > recovered_before
    assert errors("poison", "recovered_malformed_feed") == 0
    assert len(o.hits("/bad/down.xml")) == 2  # 1 + http_retries, then left for the next round


async def test_changed_article_reproduced_as_update_only_when_configured(outlet, make_settings, tmp_path):
    o = outlet
    for sid in ("tracked", "untracked"):
        o.add(f"/{sid}/story/2020/01/01/changing-story", Route(body=article_html(f"نسخة أولى {sid}")))
        o.add(f"/{sid}.xml", Route(body=rss_feed(o.base, [(f"/{sid}/story/2020/01/01/changing-story", "أولى")]),
                                   content_type="application/rss+xml"))
    sources = [
        {"id": "tracked", "name": "م", "homepage": o.base + "/", "poll_interval": 60, "track_updates": True,
         "update_recheck_s": 0, "feeds": [o.url("/tracked.xml")]},
        {"id": "untracked", "name": "غ", "homepage": o.base + "/", "poll_interval": 60,
         "feeds": [o.url("/untracked.xml")]},
    ]
    settings = connector_settings(make_settings, tmp_path, sources)
    assert (await run_connectors(settings, asyncio.Event(), once=True)).produced == 2

    # unchanged page: the re-check is a conditional GET answered 304, nothing produced
    o.add("/tracked.xml", Route(body=rss_feed(o.base, [("/tracked/story/2020/01/01/changing-story", "أولى!")]),
                                content_type="application/rss+xml"))
    assert (await run_connectors(settings, asyncio.Event(), once=True)).produced == 0
    last = o.hits("/tracked/story/2020/01/01/changing-story")[-1]
    assert last.if_none_match and last.status == 304

    # both pages and both feeds change; only the tracked source re-produces, flagged as an update
    for sid in ("tracked", "untracked"):
        o.add(f"/{sid}/story/2020/01/01/changing-story", Route(body=article_html(f"نسخة ثانية {sid}")))
        o.add(f"/{sid}.xml", Route(body=rss_feed(o.base, [(f"/{sid}/story/2020/01/01/changing-story", "ثانية")]),
                                   content_type="application/rss+xml"))
    stats = await run_connectors(settings, asyncio.Event(), once=True)
    assert stats.produced == 1 and stats.updates == 1
    pages = await raw_pages(settings)
    assert len(pages) == 3
    updates = [p for p in pages if p.update]
    assert len(updates) == 1 and updates[0].source == "tracked"
    assert "نسخة ثانية" in updates[0].html_bytes().decode("utf-8")
    assert updates[0].id == next(p.id for p in pages if not p.update and p.source == "tracked")
    assert len(o.hits("/untracked/story/2020/01/01/changing-story")) == 1
