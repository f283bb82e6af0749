"""Endpoint discovery (connectors/discovery.py) against local outlets (devstack Outlet on 127.0.0.1).

Each outlet serves a homepage, robots.txt, feeds and sitemaps of its own; the finder goes through the
real PoliteClient (robots.txt, per-host delay, netguard with the outlet admitted by
RASID_FETCH_ALLOW_HOSTS), so what is checked is what the connectors do."""

from __future__ import annotations

import logging

import pytest
import yaml

from connectors.discovery import EndpointFinder, feed_links, slug_for, source_yaml, usual_urls
from connectors.http import PoliteClient
from connectors.registry import Source, parse_registry
from devstack.outlet import Outlet, Route, article_html, rss_feed
from pipeline.core.settings import load_settings

FEED_ITEMS = [(f"/2026/10/0{i}/feed-article-{i}", f"خبر من الخلاصة {i}") for i in range(1, 4)]
MAP_ITEMS = [f"/news/2026/10/map-article-{i}" for i in range(1, 4)]


def settings_for(o: Outlet, **kw):
    base = dict(per_host_delay_s=0, http_retries=0, http_connect_timeout_s=2, http_read_timeout_s=5,
                fetch_allow_hosts=o.allow)
    base.update(kw)
    return load_settings(**base)


def homepage(links: str = "", body: str = "", name: str = "منفذ الاختبار") -> bytes:
    return (f'<!DOCTYPE html><html lang="ar"><head><meta charset="utf-8"><title>{name} | الرئيسية</title>'
            f'<meta property="og:site_name" content="{name}">{links}</head><body>{body}</body></html>').encode()


def news_sitemap(base: str, paths: list[str]) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{p}</loc><news:news><news:publication><news:name>x</news:name><news:language>ar"
        f"</news:language></news:publication><news:publication_date>2026-10-0{i + 1}T10:00:00+03:00"
        f"</news:publication_date><news:title>عنوان {i}</news:title></news:news></url>" for i, p in enumerate(paths))
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>').encode()


def sitemap_index(base: str, children: list[str]) -> bytes:
    items = "".join(f"<sitemap><loc>{base}{c}</loc><lastmod>2026-10-0{i + 1}</lastmod></sitemap>"
                    for i, c in enumerate(children))
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{items}</sitemapindex>").encode()


def add_articles(o: Outlet) -> None:
    for p, t in FEED_ITEMS:
        o.add(p, Route(body=article_html(t)))
    for p in MAP_ITEMS:
        o.add(p, Route(body=article_html(p)))


def serve_moved_outlet(o: Outlet) -> None:
    """The outlet whose configured feed is gone: its homepage links its real feed and its robots.txt
    names its news sitemap, each listing different articles."""
    add_articles(o)
    o.add("/", Route(body=homepage('<link rel="alternate" type="application/rss+xml" href="/feeds/main.xml">')))
    o.add("/robots.txt", Route(body=f"User-agent: *\nSitemap: {o.base}/maps/news.xml\n".encode(),
                               content_type="text/plain"))
    o.add("/feeds/main.xml", Route(body=rss_feed(o.base, FEED_ITEMS), content_type="application/rss+xml"))
    o.add("/maps/news.xml", Route(body=news_sitemap(o.base, MAP_ITEMS), content_type="application/xml"))


def source_of(o: Outlet, **kw) -> Source:
    return Source(id="local", name="محلي", homepage=o.base + "/", discovery=True, **kw)


async def find(o: Outlet, **kw):
    async with PoliteClient(settings_for(o)) as client:
        return await EndpointFinder(client, source_of(o), **kw).find()


@pytest.fixture
def outlet():
    with Outlet("127.0.0.1") as o:
        add_articles(o)
        yield o


def test_feed_links_reads_the_head_and_skips_comment_feeds():
    page = homepage(
        '<link rel="alternate" type="application/rss+xml" title="main" href="/feed/">'
        '<link rel="alternate" type="application/rss+xml" title="comments" href="/comments/feed/">'
        '<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="https://cdn.example/atom.xml">'
        '<link rel="alternate" type="text/html" hreflang="en" href="/en/">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        '<link rel="sitemap" type="application/xml" href="/sitemap.xml">', name="زمان الوصل")
    feeds, sitemaps, name = feed_links(page, "https://outlet.example/ar/")
    assert feeds == ["https://outlet.example/feed/", "https://cdn.example/atom.xml"]
    assert sitemaps == ["https://outlet.example/sitemap.xml"]
    assert name == "زمان الوصل"


def test_usual_urls_under_the_homepage_directory_then_the_root():
    assert usual_urls("https://snhr.org/arabic/", ("feed",)) == ["https://snhr.org/arabic/feed",
                                                                 "https://snhr.org/feed"]
    assert usual_urls("https://a.example/", ("feed", "rss")) == ["https://a.example/feed", "https://a.example/rss"]
    assert usual_urls("https://www.kurdistan24.net/ar", ("rss.xml",)) == ["https://www.kurdistan24.net/ar/rss.xml",
                                                                         "https://www.kurdistan24.net/rss.xml"]
    assert usual_urls("https://a.example/ar/index.html", ("feed",)) == ["https://a.example/ar/feed",
                                                                        "https://a.example/feed"]
    assert slug_for("https://www.zamanalwsl.net/") == "zamanalwsl"
    assert slug_for("https://ar.le360.ma/") == "le360"


async def test_link_alternate_and_robots_sitemap_are_found_without_probing(outlet):
    o = outlet
    o.add("/", Route(body=homepage('<link rel="alternate" type="application/rss+xml" href="/feeds/main.xml">')))
    o.add("/robots.txt", Route(body=f"User-agent: *\nDisallow: /private/\nSitemap: {o.base}/maps/news.xml\n".encode(),
                               content_type="text/plain"))
    o.add("/feeds/main.xml", Route(body=rss_feed(o.base, FEED_ITEMS), content_type="application/rss+xml"))
    o.add("/maps/news.xml", Route(body=news_sitemap(o.base, MAP_ITEMS), content_type="application/xml"))
    out = await find(o)
    got = {(f.kind, f.url, f.via) for f in out.found}
    assert got == {("feed", o.url("/feeds/main.xml"), "link_alternate"),
                   ("sitemap", o.url("/maps/news.xml"), "robots_sitemap")}
    assert out.name == "منفذ الاختبار" and not out.error
    feed = next(f for f in out.found if f.kind == "feed")
    assert feed.articles == 3 and feed.status == 200 and feed.last_published
    # nothing guessed: the outlet said where its endpoints are
    assert not [h.path for h in o.hits() if h.path in ("/feed", "/rss", "/rss.xml", "/news-sitemap.xml")]
    # a ready registry entry, evidence comments included
    text = source_yaml(out, source_id="local-outlet")
    entry = yaml.safe_load("sources:\n" + text)["sources"][0]
    reg = parse_registry({"sources": [entry]})
    assert [f.url for f in reg.sources[0].feeds] == [o.url("/feeds/main.xml")]
    assert [s.url for s in reg.sources[0].sitemaps] == [o.url("/maps/news.xml")]
    assert text.count("# seen: found by rasid sources discover") == 2
    assert "Sitemap: line of " + o.url("/robots.txt") in text


async def test_a_sitemap_index_yields_its_news_sitemap(outlet):
    o = outlet
    o.add("/", Route(body=homepage()))
    o.add("/robots.txt", Route(body=f"User-agent: *\nSitemap: {o.base}/sitemap_index.xml\n".encode(),
                               content_type="text/plain"))
    o.add("/sitemap_index.xml", Route(body=sitemap_index(o.base, ["/post-sitemap.xml", "/news-sitemap-ar.xml"]),
                                      content_type="application/xml"))
    o.add("/news-sitemap-ar.xml", Route(body=news_sitemap(o.base, MAP_ITEMS), content_type="application/xml"))
    o.add("/post-sitemap.xml", Route(body=news_sitemap(o.base, MAP_ITEMS[:1]), content_type="application/xml"))
    o.add("/rss", Route(body=rss_feed(o.base, FEED_ITEMS), content_type="application/rss+xml"))
    out = await find(o)
    got = {(f.kind, f.url, f.via, f.seen_on) for f in out.found}
    assert ("sitemap", o.url("/news-sitemap-ar.xml"), "sitemap_index", o.url("/sitemap_index.xml")) in got
    assert ("feed", o.url("/rss"), "usual_path", o.url("/")) in got  # no feed advertised: the usual paths
    assert [h.path for h in o.hits("/feed")] and not o.hits("/rss.xml")  # probing stops at the first that works


async def test_candidates_that_are_not_feeds_are_not_used(outlet):
    o = outlet
    o.add("/", Route(body=homepage('<link rel="alternate" type="application/rss+xml" href="/fake-feed">')))
    o.add("/fake-feed", Route(body=b"<html><body>not a feed</body></html>"))
    o.add("/feed", Route(body=b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
                         content_type="application/rss+xml"))  # a feed, but it lists nothing
    out = await find(o)
    assert out.found == []
    tried = dict(out.tried)
    assert tried[o.url("/fake-feed")] == "not_a_feed" and tried[o.url("/feed")] == "no_article_links"
    # robots.txt 404 (this outlet has none): everything allowed, and nothing logged as disallowed
    assert o.hits("/robots.txt")[0].status == 404 and o.hits("/sitemap.xml")


async def test_a_homepage_listing_articles_is_the_last_resort(outlet):
    o = outlet
    links = "".join(f'<li><a href="/news/2026/10/story-number-{i}">خبر رقم {i}</a></li>' for i in range(6))
    o.add("/", Route(body=homepage(body=f"<ul>{links}</ul><a href='/tag/syria'>سوريا</a>")))
    out = await find(o)
    assert [(f.kind, f.url, f.via) for f in out.found] == [("section", o.url("/"), "homepage_links")]
    assert out.found[0].articles == 6


async def test_a_blocked_homepage_stops_discovery(outlet, caplog):
    o = outlet
    o.add("/", Route(status=403, body=b"<html><head><title>Just a moment...</title></head></html>"))
    with caplog.at_level(logging.DEBUG):
        out = await find(o)
    assert out.blocked and out.error == "waf_challenge" and out.found == []
    assert [h.path for h in o.hits()] == ["/robots.txt", "/"]  # nothing probed behind a refusal
    assert not [r for r in caplog.records if "disallowed" in r.getMessage()]  # robots.txt 404 is no refusal
    assert "no endpoint found" in source_yaml(out)


async def test_excluded_urls_are_not_proposed(outlet):
    o = outlet
    o.add("/", Route(body=homepage('<link rel="alternate" type="application/rss+xml" href="/feeds/main.xml">')))
    o.add("/feeds/main.xml", Route(body=rss_feed(o.base, FEED_ITEMS), content_type="application/rss+xml"))
    out = await find(o, exclude={o.url("/feeds/main.xml")})
    assert all(f.url != o.url("/feeds/main.xml") for f in out.found)
    assert not o.hits("/feeds/main.xml")


async def test_a_moved_outlet_is_followed_to_its_new_site():
    """nedaa-sy.com → nedaa-post.com: the old homepage redirects; robots.txt and the usual paths are
    asked of the new site."""
    with Outlet("127.0.0.1") as old, Outlet("127.0.0.2") as new:
        old.add("/", Route(redirect=new.url("/")))
        new.add("/", Route(body=homepage()))
        new.add("/robots.txt", Route(body=f"User-agent: *\nSitemap: {new.base}/maps/news.xml\n".encode(),
                                     content_type="text/plain"))
        new.add("/maps/news.xml", Route(body=news_sitemap(new.base, MAP_ITEMS), content_type="application/xml"))
        new.add("/feed", Route(body=rss_feed(new.base, FEED_ITEMS), content_type="application/rss+xml"))
        async with PoliteClient(settings_for(old, fetch_allow_hosts=f"{old.allow},{new.allow}")) as client:
            out = await EndpointFinder(client, source_of(old)).find()
    assert {(f.kind, f.url, f.via) for f in out.found} == {("sitemap", new.url("/maps/news.xml"), "robots_sitemap"),
                                                           ("feed", new.url("/feed"), "usual_path")}
    assert not old.hits("/feed") and not old.hits("/sitemap.xml")
