"""A small world of Arabic outlets on 127.0.0.1 for ``rasid demo``: three sources with an RSS feed, a
news sitemap and an Atom feed, pages in their CMS boilerplate (devstack.pages), copies of one story
across outlets, and an article served in windows-1256 with a mislabelled header.
"""

from __future__ import annotations

from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

from devstack.outlet import Outlet, Route
from devstack.pages import load_articles, render

# source id -> (name, endpoint kind, [(labelled article id, page shape)])
SITES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "demo-sham": ("شام اليوم", "feed", [
        ("aljazeera-opcw-saraqeb-chlorine", "wordpress_jannah"),
        ("aljazeera-khan-shaykhun-sarin", "wordpress_jannah"),
        ("orient-barrels-kafranbel", "wordpress_newspaper"),
        ("enab-storm-floods-atmeh-camps", "wordpress_jannah"),
        ("aa-turkish-convoy-idlib", "wordpress_newspaper"),
        ("neg-kooora-syria-football", "wordpress_jannah"),
    ]),
    "demo-shamal": ("الشمال برس", "sitemap", [
        ("alquds-opcw-saraqeb-chlorine", "drupal"),
        ("syriatv-turkish-convoy-idlib", "drupal"),
        ("rt-zakharova-white-helmets", "custom_cms"),
        ("npa-maarat-al-numan-captured", "drupal"),
        ("enab-transitional-government-formed", "custom_cms"),
    ]),
    "demo-wasat": ("الوسط السوري", "atom", [
        ("sputnik-hts-shelling-suqaylabiyah", "aspnet_agency"),
        ("alwatan-hts-shelling-suqaylabiyah", "joomla"),
        ("syriatv-douma-anniversary", "legacy_1256"),
        ("aawsat-rukban-camp-aid", "generic_divs"),
    ]),
}


def _rss(base: str, items: list[dict[str, Any]], title: str) -> bytes:
    entries = "".join(
        f"<item><title>{escape(a['title'])}</title><link>{escape(base + a['path'])}</link>"
        f"<pubDate>{format_datetime(a['when'])}</pubDate></item>" for a in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>{escape(base)}/</link><description>{escape(title)}</description>{entries}</channel></rss>"
            ).encode("utf-8")


def _atom(base: str, items: list[dict[str, Any]], title: str) -> bytes:
    entries = "".join(
        f"<entry><title>{escape(a['title'])}</title><link href=\"{escape(base + a['path'])}\"/>"
        f"<id>{escape(base + a['path'])}</id><updated>{a['when'].isoformat()}</updated></entry>" for a in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{escape(title)}</title><id>{escape(base)}/</id>{entries}</feed>").encode("utf-8")


def _sitemap(base: str, items: list[dict[str, Any]], title: str) -> bytes:
    entries = "".join(
        f"<url><loc>{escape(base + a['path'])}</loc><news:news><news:publication><news:name>{escape(title)}"
        f"</news:name><news:language>ar</news:language></news:publication><news:publication_date>"
        f"{a['when'].isoformat()}</news:publication_date><news:title>{escape(a['title'])}</news:title>"
        f"</news:news></url>" for a in items)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}</urlset>').encode("utf-8")


def build(outlet: Outlet) -> dict[str, Any]:
    """Install the demo outlets on ``outlet``; returns {"sources": sources.yaml mapping, "articles": n}."""
    from datetime import datetime

    corpus = {a["id"]: a for a in load_articles()}
    outlet.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    sources, n = [], 0
    for sid, (name, kind, picks) in SITES.items():
        items = []
        for i, (aid, shape) in enumerate(picks):
            a = dict(corpus[aid])
            path = f"/{sid}/news/{i + 1:03d}"
            a["url"] = outlet.base + path
            ctype = "text/html; charset=iso-8859-1" if shape == "legacy_1256" else "text/html; charset=utf-8"
            outlet.add(path, Route(body=render(a, shape, noise=True, seed=i), content_type=ctype))
            when = datetime.fromisoformat(str(a["published_at"]))
            items.append({"path": path, "title": a["title"], "when": when})
            n += 1
        entry: dict[str, Any] = {"id": sid, "name": name, "homepage": f"{outlet.base}/{sid}/", "poll_interval": 3600}
        if kind == "sitemap":
            entry["sitemaps"] = [{"url": outlet.add(f"/{sid}/news-sitemap.xml", Route(
                body=_sitemap(outlet.base, items, name), content_type="application/xml"))}]
        else:
            body = (_rss if kind == "feed" else _atom)(outlet.base, items, name)
            ctype = "application/rss+xml; charset=utf-8" if kind == "feed" else "application/atom+xml"
            entry["feeds"] = [{"url": outlet.add(f"/{sid}/{kind}.xml", Route(body=body, content_type=ctype))}]
        sources.append(entry)
    return {"sources": {"defaults": {"language": "ar"}, "sources": sources}, "articles": n}


def write_sources(spec: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(spec["sources"], allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
