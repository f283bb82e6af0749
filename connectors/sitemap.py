"""Sitemaps: Google News ``<urlset>`` (news:, image: extensions), plain urlsets and sitemap indexes.

Parsed with lxml with entities and network access off (no XXE). Truncated XML is
recovered when lxml can salvage entries, and reported as a warning. A sitemap
index yields child sitemaps (the most recently modified few), not articles;
the runner fetches those children with their own conditional GET.
"""

from __future__ import annotations

import zlib

from lxml import etree

from pipeline.core.charset import looks_binary, to_utf8_xml
from connectors.base import Discovered, Discovery, ParseError, html_to_text
from pipeline.core.dates import parse_date
from connectors.rss import FeedDiscovery, looks_like_html
from pipeline.core.schema import Listing

MAX_CHILDREN = 3  # child sitemaps of an index polled per round (newest first)
MAX_INFLATED = 50_000_000


def _strict_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
                           remove_pis=True, load_dtd=False)


def _recover_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
                           remove_pis=True, load_dtd=False, recover=True)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(el: etree._Element, name: str) -> str | None:
    for c in el:
        if _local(c.tag) == name:
            return (c.text or "").strip() or None
    return None


def _child(el: etree._Element, name: str) -> etree._Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def gunzip_capped(body: bytes, cap: int = MAX_INFLATED) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, cap + 1)
    except zlib.error as e:
        raise ParseError("bad_gzip", str(e)) from None
    if not out and not d.eof:
        raise ParseError("bad_gzip", "truncated or corrupt gzip stream")
    if len(out) > cap:
        raise ParseError("too_large", f"sitemap over {cap} bytes once inflated")
    return out


class SitemapDiscovery(Discovery):
    kind = "sitemap"

    def parse(self, body: bytes, base_url: str, content_type: str | None = None) -> Discovered:
        if body[:2] == b"\x1f\x8b":
            body = gunzip_capped(body)
        if not body.strip():
            raise ParseError("empty_body")
        if looks_like_html(body):
            raise ParseError("not_a_sitemap", "HTML served where a sitemap was expected")
        if looks_binary(body):
            raise ParseError("binary_body")
        body, _ = to_utf8_xml(body, content_type)
        warnings: list[str] = []
        try:
            root = etree.fromstring(body, _strict_parser())
        except etree.XMLSyntaxError as e:
            try:
                root = etree.fromstring(body, _recover_parser())
            except etree.XMLSyntaxError:
                root = None
            if root is None:
                raise ParseError("malformed_xml", str(e)[:200]) from None
            warnings.append("recovered_malformed_xml")
        name = _local(root.tag)
        if name in ("rss", "feed", "RDF"):
            # Some outlets list an RSS feed as their "news sitemap".
            out = FeedDiscovery(self.source, self.endpoint).parse(body, base_url, content_type)
            out.warnings += warnings + ["feed_in_sitemap_slot"]
            return out
        if name == "sitemapindex":
            return self._index(root, base_url, warnings)
        if name != "urlset":
            raise ParseError("not_a_sitemap", f"root element <{name}>")
        out = Discovered(warnings=warnings)
        seen: dict[str, int] = {}
        for url_el in root:
            if _local(url_el.tag) != "url":
                continue
            out.entries += 1
            loc = _child_text(url_el, "loc")
            published = parse_date(_child_text(url_el, "lastmod"))
            title = None
            news = _child(url_el, "news")
            if news is not None:
                title = html_to_text(_child_text(news, "title"), 500)
                published = parse_date(_child_text(news, "publication_date")) or published
            image = None
            img = _child(url_el, "image")
            if img is not None:
                image = _child_text(img, "loc")
            self._add(out, seen, loc, base_url, Listing(title=title, published_at=published, image=image))
        return self._newest(out)

    def _index(self, root: etree._Element, base_url: str, warnings: list[str]) -> Discovered:
        from pipeline.core.urls import UnsafeURL, resolve

        out = Discovered(warnings=warnings)
        children: list[tuple[object, int, str]] = []
        for i, sm in enumerate(root):
            if _local(sm.tag) != "sitemap":
                continue
            out.entries += 1
            loc = _child_text(sm, "loc")
            try:
                url = resolve(loc or "", base_url)
            except UnsafeURL as e:
                out.rejected.append(((loc or "")[:300], e.reason))
                continue
            lastmod = parse_date(_child_text(sm, "lastmod"))
            children.append((lastmod, i, url))
        if any(c[0] for c in children):
            children.sort(key=lambda c: (c[0] is not None, c[0] or 0, -c[1]), reverse=True)  # type: ignore[return-value]
        out.children = [c[2] for c in children[:MAX_CHILDREN]]
        return out
