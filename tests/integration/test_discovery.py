"""Endpoint discovery end to end on the devstack: an outlet that moved its feed is still read whole.

A local outlet (devstack Outlet on 127.0.0.1) whose configured feed answers 404; its homepage links
its real feed with ``<link rel="alternate">`` and its robots.txt names its news sitemap, each listing
different articles (realistic CMS pages of corpus articles). Checked, as an operator runs it:

- ``rasid sources discover URL`` prints a registry entry with both endpoints (and evidence comments);
- ``rasid run`` (connectors + one worker, subprocesses) indexes every article of both into
  Elasticsearch, the connectors logging the discovery once;
- ``rasid sources check`` and ``rasid sources list`` show the discovered endpoints with their YAML,
  and the configured feed as broken and never answered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from connectors.registry import parse_registry
from devstack.outlet import Outlet, Route, rss_feed
from devstack.pages import SHAPES, load_articles, render
from tests.faults.harness import free_port
from tests.faults.harness import wait_until as wait_for

ROOT = Path(__file__).resolve().parents[2]
RASID = [sys.executable, "-m", "pipeline.cli"]




def news_sitemap(base: str, items: list[tuple[str, str]]) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{p}</loc><news:news><news:publication><news:name>منفذ</news:name>"
        f"<news:language>ar</news:language></news:publication><news:publication_date>2024-12-0{i + 1}T10:00:00+02:00"
        f"</news:publication_date><news:title>{t}</news:title></news:news></url>" for i, (p, t) in enumerate(items))
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>').encode()


class MovedOutlet:
    """The outlet: /rss.php is gone (404), the real feed and the news sitemap are where the site says."""

    def __init__(self) -> None:
        arts = [a for a in load_articles() if not a["id"].startswith("neg-")][:6]
        assert len(arts) == 6, "the quality corpus should hold at least six articles"
        self.o = Outlet().start()
        shapes = [s for s in SHAPES if s != "legacy_1256"]
        self.feed_items: list[tuple[str, str]] = []
        self.map_items: list[tuple[str, str]] = []
        for i, art in enumerate(arts):
            path = f"/news/2024/12/{i + 1:02d}/{art['id']}"
            self.o.add(path, Route(body=render(art, shapes[i % len(shapes)], seed=i)))
            (self.feed_items if i < 3 else self.map_items).append((path, art["title"]))
        base = self.o.base
        self.o.add("/", Route(body=(
            '<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>منفذ منتقل | الرئيسية</title>'
            '<meta property="og:site_name" content="منفذ منتقل">'
            '<link rel="alternate" type="application/rss+xml" title="الأخبار" href="/feeds/akhbar.xml">'
            '<link rel="alternate" type="application/rss+xml" title="التعليقات" href="/comments/feed/">'
            "</head><body><h1>منفذ منتقل</h1></body></html>").encode()))
        self.o.add("/robots.txt", Route(body=f"User-agent: *\nDisallow: /admin/\nSitemap: {base}/maps/news-ar.xml\n"
                                        .encode(), content_type="text/plain"))
        self.o.add("/feeds/akhbar.xml", Route(body=rss_feed(base, self.feed_items),
                                              content_type="application/rss+xml; charset=utf-8"))
        self.o.add("/maps/news-ar.xml", Route(body=news_sitemap(base, self.map_items), content_type="application/xml"))

    @property
    def urls(self) -> set[str]:
        return {self.o.url(p) for p, _ in self.feed_items + self.map_items}


@pytest.fixture
def moved():
    site = MovedOutlet()
    yield site
    site.o.stop()


def test_discovered_endpoints_are_printed_indexed_and_checked(make_settings, moved, tmp_path):
    o = moved.o
    s = make_settings()
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(yaml.safe_dump({"sources": [{
        "id": "moved-outlet", "name": "منفذ منتقل", "homepage": o.base + "/", "discovery": True,
        "poll_interval": 2, "min_interval": 0.5, "max_interval": 4,
        "feeds": [{"url": o.url("/rss.php")}]}]}, allow_unicode=True), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        RASID_NAMESPACE=s.namespace, RASID_KAFKA_BOOTSTRAP=s.kafka_bootstrap, RASID_ES_URL=s.es_url,
        RASID_KAFKA_PARTITIONS=str(s.kafka_partitions), RASID_SOURCES_FILE=str(sources_file),
        RASID_FETCH_ALLOW_HOSTS=o.allow, RASID_STATE_DIR=str(tmp_path / "state"), RASID_DATA_DIR=str(tmp_path / "data"),
        RASID_WORKER_WEB_PORT=str(free_port()), RASID_PER_HOST_DELAY_S="0", RASID_BULK_MAX_WAIT_S="0.2",
        RASID_BATCH_TIMEOUT_S="0.2", RASID_LOG_LEVEL="INFO", RASID_LOG_FORMAT="json", RASID_HTTP_RETRIES="0",
        RASID_KAFKA_SESSION_TIMEOUT_S="8", PYTHONUNBUFFERED="1")

    # 1. a new outlet: its entry, ready to paste
    r = subprocess.run(RASID + ["sources", "discover", o.base + "/"], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    entry = yaml.safe_load("sources:\n" + r.stdout)["sources"][0]
    reg = parse_registry({"sources": [entry]})
    src = reg.sources[0]
    assert [f.url for f in src.feeds] == [o.url("/feeds/akhbar.xml")]  # the comments feed is not an endpoint
    assert [m.url for m in src.sitemaps] == [o.url("/maps/news-ar.xml")]
    assert src.name == "منفذ منتقل" and src.discovery
    assert r.stdout.count("# seen: found by rasid sources discover") == 2
    assert not o.hits("/feed") and not o.hits("/news-sitemap.xml")  # advertised: nothing guessed

    # 2. rasid run: the configured feed is gone; discovery finds the others; every article indexed
    log = tmp_path / "run.log"
    proc = subprocess.Popen(RASID + ["run", "--workers", "1", "--skip-init", "--grace", "20"], env=env, cwd=ROOT,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    es = Elasticsearch(**s.es_client_kwargs())
    try:
        def indexed() -> set[str]:
            es.indices.refresh(index=f"{s.es_alias}*", allow_no_indices=True, ignore_unavailable=True)
            hits = es.search(index=s.es_alias, size=100, source=["url"], allow_no_indices=True,
                             ignore_unavailable=True)["hits"]["hits"]
            return {h["_source"]["url"] for h in hits}

        wait_for(lambda: indexed() >= moved.urls, 240, what="every article of the feed and the sitemap indexed")
        assert indexed() == moved.urls
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        es.close()
    lines = [json.loads(x) for x in log.read_text(errors="replace").splitlines() if x.startswith("{")]
    found = [x for x in lines if x.get("msg") == "endpoints discovered"]
    assert len(found) == 1, [x.get("msg") for x in lines if "discover" in str(x.get("msg"))]
    assert found[0]["source"] == "moved-outlet" and found[0]["trigger"] == "http_404 " + o.url("/rss.php")
    assert o.url("/feeds/akhbar.xml") in found[0]["yaml"] and o.url("/maps/news-ar.xml") in found[0]["yaml"]

    # 3. what the operator sees afterwards
    r = subprocess.run(RASID + ["sources", "check", "moved-outlet", "--json"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    results = {x["url"]: x for x in map(json.loads, r.stdout.splitlines())}
    assert r.returncode == 1  # the configured feed is still gone
    old = results[o.url("/rss.php")]
    assert (old["state"], old["error"], old["never_answered"], old["discovered"]) == ("broken", "http_404", True,
                                                                                      False)
    for url, via in ((o.url("/feeds/akhbar.xml"), "link_alternate"), (o.url("/maps/news-ar.xml"), "robots_sitemap")):
        assert results[url]["ok"] and results[url]["discovered"] and results[url]["via"] == via, results[url]
        assert results[url]["articles"] == 3 and url in results[url]["yaml"]
    r = subprocess.run(RASID + ["sources", "list", "--json"], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    [listed] = [json.loads(x) for x in r.stdout.splitlines()]
    assert {(d["kind"], d["url"]) for d in listed["discovered"]} == {("feed", o.url("/feeds/akhbar.xml")),
                                                                     ("sitemap", o.url("/maps/news-ar.xml"))}
    pasted = yaml.safe_load("sources:\n  - id: moved-outlet\n    name: x\n    homepage: https://x.example/\n"
                            + listed["yaml"])
    assert parse_registry(pasted).sources[0].feeds[0].url == o.url("/feeds/akhbar.xml")
    r = subprocess.run(RASID + ["sources", "check", "moved-outlet"], env={**env, "COLUMNS": "250"}, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert "feed (discovered: link_alternate)" in r.stdout and "sitemap (discovered: robots_sitemap)" in r.stdout
    assert "broken: http_404 (never answered)" in r.stdout
    assert "- url: " + o.url("/feeds/akhbar.xml") in r.stdout and "- url: " + o.url("/maps/news-ar.xml") in r.stdout
