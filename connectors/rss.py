"""RSS 0.9x/1.0/2.0 and Atom feeds, read by feedparser (which also copes with broken XML)."""

from __future__ import annotations

import re

import feedparser

from pipeline.core.charset import looks_binary, to_utf8_xml
from connectors.base import Candidate, Discovered, Discovery, ParseError, first_image, html_to_text
from pipeline.core.dates import struct_to_dt
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
        if looks_binary(body):
            raise ParseError("binary_body")
        body, cut = cap_entries(body)
        # Our charset detection first (mislabelled cp1256, truncated UTF-8), then feedparser on clean UTF-8.
        body, _ = to_utf8_xml(body, content_type)
        headers = {"content-location": base_url, "content-type": "application/xml; charset=utf-8"}
        # Bytes, never a URL string: feedparser would otherwise fetch it itself.
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
        entries = parsed.get("entries") or []
        out = Discovered(entries=len(entries), warnings=["truncated_listing"] if cut else [])
        if not entries:
            if looks_like_html(body) or (not parsed.get("version") and b"<html" in body[:4096].lower()):
                raise ParseError("not_a_feed", "HTML served where a feed was expected")
            if parsed.get("bozo") and not parsed.get("version"):
                exc = parsed.get("bozo_exception")
                raise ParseError("malformed_feed", str(exc)[:200] if exc else "")
            if parsed.get("bozo") and not parsed.get("feed"):
                raise ParseError("malformed_feed", str(parsed.get("bozo_exception"))[:200])
            return out  # a well-formed, empty feed
        if parsed.get("bozo") and not cut:
            out.warnings.append("recovered_malformed_feed")
        seen: dict[str, int] = {}
        for e in entries:
            href = e.get("link")
            if not href:
                for link in e.get("links") or []:
                    if link.get("rel") in (None, "alternate") and link.get("href"):
                        href = link["href"]
                        break
            if not href and isinstance(e.get("id"), str) and e["id"].startswith(("http://", "https://")):
                href = e["id"]
            summary_html = e.get("summary")
            listing = Listing(
                title=html_to_text(e.get("title"), 500),
                published_at=struct_to_dt(e.get("published_parsed") or e.get("updated_parsed")),
                summary=html_to_text(summary_html),
                author=((e.get("author_detail") or {}).get("name") or e.get("author") or None),
                image=_image(e),
            )
            self._add(out, seen, href, base_url, listing)
        if parsed.get("bozo") and not out.candidates:
            raise ParseError("malformed_feed", str(parsed.get("bozo_exception"))[:200])
        return self._newest(out)


__all__ = ["FeedDiscovery", "Candidate", "looks_like_html"]
