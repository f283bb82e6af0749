"""Sitemaps: Google News ``<urlset>`` (news:, image: extensions), plain urlsets and sitemap indexes.

Read as a stream by lxml's pull parser, entities and network access off (no XXE): each
``<url>`` is read and dropped at once, only the ``max_items`` newest are kept while reading,
and no more than ``MAX_ENTRIES`` entries (the sitemap protocol's 50,000 per file) are read at
all, so a 400,000-URL sitemap costs the same bounded memory and time as a 50,000-URL one (a
warning says it was cut). A ``.gz`` sitemap is inflated in bounded steps as it is read, at most
``MAX_INFLATED`` bytes. Truncated XML is recovered when lxml can salvage entries, and reported as
a warning. A sitemap index yields child sitemaps (the most recently modified few), not articles;
the runner fetches those children with their own conditional GET.
"""

from __future__ import annotations

import heapq
import zlib
from itertools import chain
from typing import Iterable, Iterator

from lxml import etree

from pipeline.core.charset import looks_binary, to_utf8_xml
from connectors.base import Discovered, Discovery, ParseError, html_to_text
from pipeline.core.dates import parse_date
from connectors.rss import FeedDiscovery, looks_like_html
from pipeline.core.schema import Listing
from pipeline.core.urls import UnsafeURL, resolve

MAX_CHILDREN = 3  # child sitemaps of an index polled per round (newest first)
MAX_INFLATED = 50_000_000  # the sitemap protocol's limit for one uncompressed file
MAX_ENTRIES = 50_000  # <url>/<sitemap> entries read from one file (the protocol's limit)
CHUNK = 1 << 16  # bytes fed to the parser (and inflated) per step
MAX_REJECTED = 200  # refused links of one file reported (each is a log line)


def _pull_parser(recover: bool) -> etree.XMLPullParser:
    return etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False,
                               remove_comments=True, remove_pis=True, load_dtd=False, recover=recover)


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


def gunzip_chunks(body: bytes, cap: int = MAX_INFLATED) -> Iterator[bytes]:
    """Inflate a gzip body in steps of at most ``CHUNK`` bytes; ``ParseError`` past ``cap``."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    produced = 0
    view = memoryview(body)
    for i in range(0, len(body), CHUNK):
        data = bytes(view[i:i + CHUNK])
        while data and not d.eof:
            try:
                out = d.decompress(data, CHUNK)
            except zlib.error as e:
                raise ParseError("bad_gzip", str(e)) from None
            data = d.unconsumed_tail
            produced += len(out)
            if produced > cap:
                raise ParseError("too_large", f"sitemap over {cap} bytes once inflated")
            if out:
                yield out
        if d.eof:
            break
    if not produced and not d.eof:
        raise ParseError("bad_gzip", "truncated or corrupt gzip stream")


def gunzip_capped(body: bytes, cap: int = MAX_INFLATED) -> bytes:
    return b"".join(gunzip_chunks(body, cap))


def _slices(body: bytes) -> Iterator[bytes]:
    view = memoryview(body)
    for i in range(0, len(body), CHUNK):
        yield bytes(view[i:i + CHUNK])


class _IsFeed(Exception):
    """The document is an RSS/Atom feed in a sitemap slot."""


class SitemapDiscovery(Discovery):
    kind = "sitemap"

    def parse(self, body: bytes, base_url: str, content_type: str | None = None) -> Discovered:
        gz = body[:2] == b"\x1f\x8b"
        rest: Iterator[bytes] = iter(())
        if gz:
            inflated = gunzip_chunks(body)
            head = next(inflated, b"")
            rest = inflated
        else:
            head = body
        if not head.strip():
            raise ParseError("empty_body")
        if looks_like_html(head):
            raise ParseError("not_a_sitemap", "HTML served where a sitemap was expected")
        if looks_binary(head):
            raise ParseError("binary_body")
        if not gz:  # our charset detection (mislabelled Arabic); a large .gz is read as it declares itself
            head, _ = to_utf8_xml(head, content_type)
        try:
            try:
                return self._read(chain(_slices(head), rest), base_url, recover=False)
            except etree.XMLSyntaxError as e:
                # Truncated or broken XML: read it again, letting lxml salvage what it can.
                again = gunzip_chunks(body) if gz else _slices(head)
                out = self._read(again, base_url, recover=True, error=str(e))
                out.warnings.append("recovered_malformed_xml")
                return out
        except _IsFeed:
            # Some outlets list an RSS feed as their "news sitemap".
            doc = gunzip_capped(body) if gz else head
            out = FeedDiscovery(self.source, self.endpoint).parse(doc, base_url, content_type)
            out.warnings.append("feed_in_sitemap_slot")
            return out

    def _read(self, chunks: Iterable[bytes], base_url: str, *, recover: bool, error: str = "") -> Discovered:
        """Stream ``chunks`` through lxml; strict mode raises ``XMLSyntaxError`` for broken XML."""
        parser = _pull_parser(recover)
        root: etree._Element | None = None
        kind = ""
        out = Discovered()
        # (rank, document index, entry): the `limit` best ranks (newest; undated by document order)
        keep: list[tuple[tuple[int, float, int], int, dict]] = []
        limit = self.source.max_items
        truncated = False
        for chunk in chunks:
            parser.feed(chunk)
            for event, el in parser.read_events():
                if root is None and event == "start":
                    root = el
                    kind = _local(el.tag)
                    if kind in ("rss", "feed", "RDF"):
                        raise _IsFeed()
                    if kind not in ("urlset", "sitemapindex"):
                        raise ParseError("not_a_sitemap", f"root element <{kind}>")
                    limit = MAX_CHILDREN if kind == "sitemapindex" else self.source.max_items
                    continue
                if event != "end" or el.getparent() is not root:
                    continue
                name = _local(el.tag)
                if name == ("url" if kind == "urlset" else "sitemap"):
                    entry = self._entry(el, kind)
                    index = out.entries
                    out.entries += 1
                    if kind == "sitemapindex":
                        try:
                            entry["loc"] = resolve(entry["loc"] or "", base_url)
                        except UnsafeURL as err:
                            if len(out.rejected) < MAX_REJECTED:
                                out.rejected.append(((entry["loc"] or "")[:300], err.reason))
                            entry = {}
                    when = entry.get("published") if kind == "urlset" else entry.get("lastmod")
                    rank = (1, when.timestamp(), -index) if when is not None else (0, 0.0, -index)
                    if entry and len(keep) < limit:
                        heapq.heappush(keep, (rank, index, entry))
                    elif entry and rank > keep[0][0]:
                        heapq.heapreplace(keep, (rank, index, entry))
                el.clear()
                while el.getprevious() is not None:  # drop what was read: memory stays flat
                    del root[0]
                if out.entries >= MAX_ENTRIES:
                    truncated = True
                    break
            if truncated:
                break
        if not truncated:
            try:
                parser.close()
            except etree.XMLSyntaxError as e:
                if recover or root is None:
                    raise ParseError("malformed_xml", str(e)[:200]) from None
                raise
        if root is None:
            raise ParseError("malformed_xml", error[:200] or "no XML element found")
        if truncated:
            out.warnings.append("truncated_listing")
        if kind == "sitemapindex":
            if any(k[0][0] for k in keep):  # the most recently modified first
                keep.sort(key=lambda k: k[0], reverse=True)
            else:
                keep.sort(key=lambda k: k[1])
            out.children = [k[2]["loc"] for k in keep]
            return out
        if out.entries > self.source.max_items:
            keep.sort(key=lambda k: k[0], reverse=True)  # the newest first, undated after in document order
        else:
            keep.sort(key=lambda k: k[1])  # all of them: document order
        seen: dict[str, int] = {}
        for _, _, e in keep:
            self._add(out, seen, e["loc"], base_url,
                      Listing(title=e["title"], published_at=e["published"], image=e["image"]))
        return self._newest(out)

    def _entry(self, el: etree._Element, kind: str) -> dict:
        loc = _child_text(el, "loc")
        if kind == "sitemapindex":
            return {"loc": loc, "lastmod": parse_date(_child_text(el, "lastmod"), self.local_tz)}
        published = title = None
        news = _child(el, "news")
        if news is not None:
            title = html_to_text(_child_text(news, "title"), 500)
            published = parse_date(_child_text(news, "publication_date"), self.local_tz)
        if published is None:  # lastmod only when the news date is missing: each entry's date parsed once
            published = parse_date(_child_text(el, "lastmod"), self.local_tz)
        image = None
        img = _child(el, "image")
        if img is not None:
            image = _child_text(img, "loc")
        return {"loc": loc, "published": published, "title": title, "image": image}
