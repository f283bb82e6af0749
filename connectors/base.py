"""Discovery connectors share one shape: bytes of a listing in, candidate article URLs out.

A discovery class parses; it never fetches. Fetching, politeness, conditional
GET and scheduling live in ``connectors.http`` and ``connectors.runner``, so each
kind (RSS/Atom, sitemap, section page) stays a small pure module that unit
tests feed fixtures to. The one required method is ``parse``.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from connectors.htmlsafe import parse_fragment
from connectors.registry import Endpoint, Kind, Source
from pipeline.core.dates import zone
from pipeline.core.urls import UnsafeURL, canonicalize, resolve
from pipeline.core.schema import Listing


class ParseError(Exception):
    """The listing could not be read at all; ``reason`` is a metric-safe slug."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Candidate:
    url: str  # absolute, checked, as listed (canonicalised later)
    listing: Listing


@dataclass
class Discovered:
    candidates: list[Candidate] = field(default_factory=list)
    children: list[str] = field(default_factory=list)  # further listings to fetch (sitemap index)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (link, reason): hostile or malformed
    entries: int = 0  # entries in the document before filtering
    warnings: list[str] = field(default_factory=list)  # e.g. "recovered_malformed_xml"

    def last_published(self) -> datetime | None:
        dates = [c.listing.published_at for c in self.candidates if c.listing.published_at]
        return max(dates) if dates else None


class Discovery(abc.ABC):
    kind: ClassVar[Kind]

    def __init__(self, source: Source, endpoint: Endpoint) -> None:
        self.source = source
        self.endpoint = endpoint
        # a listing date written without an offset is the outlet's clock, as on its pages
        self.local_tz = zone(source.local_timezone())

    @abc.abstractmethod
    def parse(self, body: bytes, base_url: str, content_type: str | None = None) -> Discovered:
        """Read one listing document fetched from ``base_url``; raise ``ParseError`` if unreadable."""

    # helpers for subclasses ---------------------------------------------------------------------

    def _add(self, out: Discovered, seen: dict[str, int], href: str | None, base: str, listing: Listing) -> None:
        """Resolve and check ``href``; keep the first occurrence (merging missing metadata from later ones)."""
        if not href:
            out.rejected.append(("", "empty_url"))
            return
        try:
            url = resolve(href, base)
            key = canonicalize(url)
        except UnsafeURL as e:
            out.rejected.append((href[:300], e.reason))
            return
        if listing.image:
            try:
                listing = listing.model_copy(update={"image": resolve(listing.image, base)})
            except UnsafeURL:
                listing = listing.model_copy(update={"image": None})
        if key in seen:
            prev = out.candidates[seen[key]]
            merged = prev.listing.model_copy(update={
                k: v for k, v in listing.model_dump().items()
                if v and (not getattr(prev.listing, k) or (k == "title" and len(v) > len(prev.listing.title or "")))
            })
            out.candidates[seen[key]] = Candidate(prev.url, merged)
            return
        seen[key] = len(out.candidates)
        out.candidates.append(Candidate(url, listing.model_copy(update={"via": base})))

    def _newest(self, out: Discovered) -> Discovered:
        """Keep the ``max_items`` newest candidates (undated ones keep document order after dated)."""
        limit = self.source.max_items
        if len(out.candidates) > limit:
            dated = [c for c in out.candidates if c.listing.published_at]
            undated = [c for c in out.candidates if not c.listing.published_at]
            dated.sort(key=lambda c: c.listing.published_at, reverse=True)  # type: ignore[arg-type,return-value]
            out.candidates = (dated + undated)[:limit]
        return out


def html_to_text(fragment: str | None, limit: int = 1000) -> str | None:
    """Plain text of a summary that may hold HTML; None when empty."""
    if not fragment:
        return None
    if "<" in fragment:
        tree = parse_fragment(fragment)
        if tree is None:
            return None
        for node in tree.css("script, style"):
            node.decompose()
        text = tree.text(separator=" ") if tree.body is None else tree.body.text(separator=" ")
    else:
        text = fragment
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit] or None


def first_image(fragment: str | None) -> str | None:
    if not fragment or "<img" not in fragment:
        return None
    tree = parse_fragment(fragment)
    node = tree.css_first("img[src]") if tree is not None else None
    return node.attributes.get("src") if node is not None else None
