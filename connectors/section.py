"""HTML section (listing) pages: article links by a configured CSS selector, else by heuristic.

With ``selector`` the outlet's own markup decides (selected elements are links,
or containers holding one). Without it, every link on the page is a candidate
and ``pattern`` (a regex on path+query) or ``looks_like_article`` keeps the ones
that look like articles on the same site. Relative links are resolved against
the page (honouring <base href>); hostile ones are refused.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import regex

from selectolax.lexbor import LexborNode as Node

from connectors.base import Discovered, Discovery, ParseError
from connectors.htmlsafe import TooDeep, parse_html
from connectors.registry import PATTERN_BUDGET_S, compile_pattern
from pipeline.core.dates import parse_date
from pipeline.core.charset import decode_html, looks_binary
from pipeline.core.metrics import FETCH_REFUSED
from pipeline.core.urls import UnsafeURL, looks_like_article, resolve, same_site
from pipeline.core.schema import Listing


def _text(node: Node | None) -> str | None:
    if node is None:
        return None
    t = re.sub(r"\s+", " ", node.text(separator=" ") or "").strip()
    return t or None


def _container_meta(node: Node, a: Node) -> tuple[str | None, str | None, str | None]:
    """Title, image and time from a link and the element around it."""
    title = _text(a) or a.attributes.get("title") or None
    if node is not a:
        heading = node.css_first("h1, h2, h3, h4")
        if heading is not None and (not title or len(_text(heading) or "") > len(title)):
            title = _text(heading)
    img = a.css_first("img") or (node.css_first("img") if node is not a else None)
    image = None
    if img is not None:
        image = img.attributes.get("data-src") or img.attributes.get("src")
        if not title:
            title = img.attributes.get("alt") or None
    when = None
    t = node.css_first("time") if node is not a else None
    if t is not None:
        when = t.attributes.get("datetime") or _text(t)
    return title, image, when


def _container(a: Node) -> Node:
    """The listing item around a link (an <article> or <li> a few levels up), else the link itself."""
    node = a.parent
    for _ in range(4):
        if node is None or node.tag in ("body", "main", "ul", "ol", "nav", "section"):
            break
        if node.tag in ("article", "li"):
            return node
        node = node.parent
    return a


def _search(rx: regex.Pattern[str], target: str, out: Discovered) -> bool:
    """``rx`` on one link, within ``PATTERN_BUDGET_S`` (a link it cannot decide in time is skipped)."""
    try:
        return rx.search(target, timeout=PATTERN_BUDGET_S) is not None
    except TimeoutError:
        FETCH_REFUSED.labels("pattern_timeout").inc()
        if "pattern_timeout" not in out.warnings:
            out.warnings.append("pattern_timeout")
        return False


class SectionDiscovery(Discovery):
    kind = "section"

    def parse(self, body: bytes, base_url: str, content_type: str | None = None) -> Discovered:
        if not body.strip():
            raise ParseError("empty_body")
        if looks_binary(body):
            raise ParseError("binary_body")
        ctype = (content_type or "").lower()
        if ctype and not any(x in ctype for x in ("html", "xml", "text/plain")):
            raise ParseError("not_html", ctype[:100])
        try:
            tree = parse_html(decode_html(body, content_type).text)
        except TooDeep as e:
            raise ParseError("too_deep", str(e)) from None
        base = base_url
        base_el = tree.css_first("base[href]")
        if base_el is not None:
            try:
                base = resolve(base_el.attributes.get("href") or "", base_url)
            except UnsafeURL:
                base = base_url
        selector = getattr(self.endpoint, "selector", None)
        pattern = getattr(self.endpoint, "pattern", None)
        rx = compile_pattern(pattern) if pattern else None
        out = Discovered()
        seen: dict[str, int] = {}
        pairs: list[tuple[Node, Node]] = []
        if selector:
            for node in tree.css(selector):
                a = node if node.tag == "a" else node.css_first("a[href]")
                if a is not None:
                    pairs.append((node, a))
        else:
            pairs = [(_container(a), a) for a in tree.css("a[href]")]
        site = self.source.homepage
        for node, a in pairs:
            href = (a.attributes.get("href") or "").strip()
            if not href or href.startswith("#"):
                continue
            out.entries += 1
            try:
                url = resolve(href, base)
            except UnsafeURL as e:
                out.rejected.append((href[:300], e.reason))
                continue
            parts = urlsplit(url)
            target = parts.path + ("?" + parts.query if parts.query else "")
            if rx is not None:
                if not _search(rx, target, out):
                    continue
                if not selector and not (same_site(url, site) or same_site(url, base_url)):
                    continue
            elif not selector:
                if not (looks_like_article(url, site) or looks_like_article(url, base_url)):
                    continue
            title, image, when = _container_meta(node, a)
            self._add(out, seen, url, base, Listing(title=title, image=image, published_at=parse_date(when, self.local_tz)))
        return self._newest(out)
