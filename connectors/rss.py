"""RSS 0.9x/1.0/2.0 and Atom feeds, read by feedparser (which also copes with broken XML).

Outlets' feeds are often malformed (SANA's: undefined entities, duplicate attributes, stray control
bytes, unclosed tags and comments). Such a feed is read, not failed: control bytes XML forbids are
dropped first (they made feedparser raise), feedparser's "bozo" results are used when they hold
entries, and when feedparser gets no link at all libxml2's recovering parser reads the items, the
whole document first and then item by item (one broken item then costs only itself). A feed read
that way carries the warning ``recovered_malformed_feed``: the runner counts it and logs it once per
poll; it is not a failure.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

import feedparser
from lxml import etree

from pipeline.core.charset import looks_binary, to_utf8_xml
from connectors.base import Candidate, Discovered, Discovery, ParseError, first_image, html_to_text
from pipeline.core.dates import parse_date, struct_to_dt, written_zone
from pipeline.core.schema import Listing

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html)", re.I | re.S)
# Entries read from one feed: feedparser builds the whole document in memory and takes ~0.1 ms an
# entry, so a feed is cut after this many <item>/<entry> before it parses (a warning says so).
MAX_FEED_ENTRIES = 2_000
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_CLOSERS = ((b"<rss", b"</channel></rss>"), (b"<rdf:RDF", b"</rdf:RDF>"), (b"<feed", b"</feed>"))


def cap_entries(body: bytes, limit: int = MAX_FEED_ENTRIES) -> tuple[bytes, bool]:
    """``body`` cut before its ``limit + 1``-th entry (the document closed again); (body, was cut)."""
    for n, m in enumerate(_ENTRY_START.finditer(body)):
        if n == limit:
            head = body[: m.start()]
            closer = next((c for opener, c in _CLOSERS if opener in head[:4096]), b"")
            return head + closer, True
    return body, False


def looks_like_html(body: bytes) -> bool:
    return bool(_HTML_START.match(body[:2048]))


# Characters XML 1.0 forbids (C0 controls but tab, LF, CR): stray bytes in a text feed, not content.
_XML_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def strip_stray_controls(body: bytes) -> tuple[bytes, bool]:
    """``body`` without the control bytes XML forbids, when it is 8-bit text markup (a UTF-16 feed,
    whose NUL bytes are part of its characters, is left alone); (body, anything removed)."""
    head = body[:4].lstrip(b"\xef\xbb\xbf \t\r\n")
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or not head.startswith(b"<") or body[1:2] == b"\x00":
        return body, False
    cleaned = _XML_CONTROLS.sub(b"", body)
    return cleaned, len(cleaned) != len(body)


_ROOT_START = re.compile(rb"<(?:rss|feed|rdf:RDF|channel)[\s>]", re.I)
_ENTRY_TAGS = ("item", "entry")


def _recover_parser() -> etree.XMLParser:
    return etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           remove_pis=True)


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _entry_fields(el: etree._Element, local_tz: tzinfo | None = None) -> dict:
    """Title, link, date and summary of one <item>/<entry> element recovered by libxml2."""
    out: dict = {"title": None, "link": None, "published": None, "summary": None}
    guid = None
    for c in el:
        name = _local(c.tag)
        text = "".join(c.itertext()).strip() if name else ""
        if name == "title" and out["title"] is None:
            out["title"] = text or None
        elif name == "link" and out["link"] is None:
            href = c.get("href")
            if href and c.get("rel", "alternate") == "alternate":
                out["link"] = href.strip()
            elif text:
                out["link"] = text
        elif name in ("guid", "id") and text.startswith(("http://", "https://")):
            guid = text
        elif name in ("pubdate", "published", "updated", "date", "issued") and out["published"] is None:
            out["published"] = parse_date(text, local_tz)
        elif name in ("description", "summary", "encoded", "content") and out["summary"] is None:
            out["summary"] = text or None
    out["link"] = out["link"] or guid
    return out


def recover_entries(body: bytes, local_tz: tzinfo | None = None) -> list[dict]:
    """The items of a feed feedparser could not read, by libxml2's recovering parser: the whole
    document (from its root element on: a PHP warning before it is skipped), and, when that loses
    items, each item on its own. Empty when there is nothing item-like at all. Dates without an offset
    are read in ``local_tz``."""
    m = _ROOT_START.search(body)
    doc = body[m.start():] if m else body
    whole: list[dict] = []
    try:
        root = etree.fromstring(doc, _recover_parser())
    except etree.XMLSyntaxError:
        root = None
    if root is not None:
        whole = [_entry_fields(el, local_tz) for el in root.iter() if _local(el.tag) in _ENTRY_TAGS]
    starts = [m.start() for m in _ENTRY_START.finditer(doc)]
    if len(whole) >= len(starts):
        return whole
    one_by_one: list[dict] = []
    for i, start in enumerate(starts):
        chunk = doc[start: starts[i + 1] if i + 1 < len(starts) else len(doc)]
        try:
            el = etree.fromstring(chunk, _recover_parser())
        except etree.XMLSyntaxError:
            continue
        if el is not None and _local(el.tag) in _ENTRY_TAGS:
            one_by_one.append(_entry_fields(el, local_tz))
    return one_by_one if len(one_by_one) > len(whole) else whole


def entry_date(entry, local_tz: tzinfo | None = None) -> datetime | None:  # noqa: ANN001 - feedparser's dict
    """When a feed entry was published. feedparser reads a date written without an offset
    («2026-12-06 14:00:00», an RFC 822 date missing its zone) as UTC; such a date is the outlet's clock,
    so it is read in ``local_tz`` instead. A date with a numeric offset keeps feedparser's reading; a zone
    written by name or as a GMT offset is read as Arabic outlets mean it (:func:`pipeline.core.dates.written_zone`)."""
    parsed = struct_to_dt(entry.get("published_parsed") or entry.get("updated_parsed"))
    if entry.get("published_parsed") or not entry.get("updated_parsed"):
        raw = entry.get("published") or entry.get("updated")
    else:
        raw = entry.get("updated")
    if not isinstance(raw, str) or not raw:
        return parsed
    as_local = parse_date(raw, local_tz)
    if as_local is not None and written_zone(raw) is not None:
        return as_local  # a zone written by name or as «GMT+3»: feedparser reads «AST» as Atlantic, «GMT+3» as -3
    if parsed is None:  # feedparser could not read it at all («Sun, 06 Dec 2026 14:00:00», no zone)
        return as_local
    # only a naive date reads differently in two zones; and only when both parsers saw the same clock
    if local_tz is not None and as_local is not None and as_local != parsed and parse_date(raw) == parsed:
        return as_local
    return parsed


def _image(entry) -> str | None:  # noqa: ANN001 - feedparser's dict
    for key in ("media_content", "media_thumbnail"):
        for m in entry.get(key) or []:
            url = m.get("url")
            if url and (m.get("medium") in (None, "image") or (m.get("type") or "").startswith("image/")):
                return url
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/") and link.get("href"):
            return link["href"]
    img = entry.get("image")
    if isinstance(img, dict) and img.get("href"):
        return img["href"]
    for c in entry.get("content") or []:
        found = first_image(c.get("value"))
        if found:
            return found
    return first_image(entry.get("summary"))


class FeedDiscovery(Discovery):
    kind = "feed"

    def parse(self, body: bytes, base_url: str, content_type: str | None = None) -> Discovered:
        if not body.strip():
            raise ParseError("empty_body")
        body, stray = strip_stray_controls(body)
        if looks_binary(body):
            raise ParseError("binary_body")
        body, cut = cap_entries(body)
        # Our charset detection first (mislabelled cp1256, truncated UTF-8), then feedparser on clean UTF-8.
        body, _ = to_utf8_xml(body, content_type)
        headers = {"content-location": base_url, "content-type": "application/xml; charset=utf-8"}
        try:
            # Bytes, never a URL string: feedparser would otherwise fetch it itself.
            parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False,
                                      resolve_relative_uris=True)
        except (ValueError, TypeError, LookupError, RecursionError) as e:  # its decoders raise on some junk
            parsed = feedparser.FeedParserDict(bozo=True, bozo_exception=e, entries=[], feed={})
        entries = parsed.get("entries") or []
        out = Discovered(entries=len(entries), warnings=["truncated_listing"] if cut else [])
        malformed = bool(parsed.get("bozo")) or stray
        seen: dict[str, int] = {}
        for e in entries:
            self._add_entry(out, seen, e, base_url)
        if not out.candidates:
            if looks_like_html(body) or (not parsed.get("version") and b"<html" in body[:4096].lower()):
                raise ParseError("not_a_feed", "HTML served where a feed was expected")
            recovered = recover_entries(body, self.local_tz) if (malformed or entries) else []
            for r in recovered:
                listing = Listing(title=html_to_text(r["title"], 500), published_at=r["published"],
                                  summary=html_to_text(r["summary"]))
                self._add(out, seen, r["link"], base_url, listing)
            out.entries = max(out.entries, len(recovered))
            out.rejected = [x for x in out.rejected if x[1] != "empty_url"] if out.candidates else out.rejected
            if not out.candidates:
                if malformed and not (parsed.get("version") and parsed.get("feed")):
                    exc = parsed.get("bozo_exception")
                    raise ParseError("malformed_feed", str(exc)[:200] if exc else "")
                if malformed and entries:
                    raise ParseError("malformed_feed", str(parsed.get("bozo_exception"))[:200])
                return out  # a well-formed, empty feed (or one whose entries have no links)
        if malformed and not cut:
            out.warnings.append("recovered_malformed_feed")
        return self._newest(out)

    def _add_entry(self, out: Discovered, seen: dict[str, int], e: dict, base_url: str) -> None:
        href = e.get("link")
        if not href:
            for link in e.get("links") or []:
                if link.get("rel") in (None, "alternate") and link.get("href"):
                    href = link["href"]
                    break
        if not href and isinstance(e.get("id"), str) and e["id"].startswith(("http://", "https://")):
            href = e["id"]
        listing = Listing(
            title=html_to_text(e.get("title"), 500),
            published_at=entry_date(e, self.local_tz),
            summary=html_to_text(e.get("summary")),
            author=((e.get("author_detail") or {}).get("name") or e.get("author") or None),
            image=_image(e),
        )
        self._add(out, seen, href, base_url, listing)


__all__ = ["FeedDiscovery", "Candidate", "looks_like_html"]
