"""Article fetching: turn one fetched page into one ``RawPage`` (or a reason why not).

Pure functions over a ``connectors.http.Response`` so they can be unit-tested
without a network; ``connectors.runner`` does the I/O around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from pipeline.core.charset import Decoded, decode_html, looks_binary
from connectors.htmlsafe import TooDeep, parse_html
from connectors.http import Response
from pipeline.core.urls import UnsafeURL, canonicalize, resolve, same_site
from pipeline.core.errors import BadRecord
from pipeline.core.ids import article_id, content_hash
from pipeline.core.schema import Listing, RawPage, compress_html

RAW_HEADERS = ("etag", "last-modified", "content-type", "content-language", "date", "cache-control", "expires")
# Room for the key, headers and record framing below the broker's message limit.
KAFKA_OVERHEAD = 2_048


def canonical_link(tree: HTMLParser, page_url: str) -> str | None:
    """The page's rel=canonical when it is a safe URL on the same site, else None."""
    for link in tree.css("link[rel][href]"):
        rels = (link.attributes.get("rel") or "").lower().split()
        if "canonical" not in rels:
            continue
        try:
            url = resolve(link.attributes.get("href") or "", page_url)
        except UnsafeURL:
            return None
        return url if same_site(url, page_url) else None
    return None


def visible_text_hash(tree: HTMLParser) -> str:
    """Hash of the page's visible text: ad scripts and cache-busters don't count as a change."""
    body = tree.body or tree.root
    if body is None:
        return content_hash(b"")
    clone = HTMLParser(body.html or "")
    for node in clone.css("script, style, noscript, iframe, template"):
        node.decompose()
    text = clone.text(separator=" ") if clone.body is None else clone.body.text(separator=" ")
    return content_hash(re.sub(r"\s+", " ", text).strip())


def check_article_response(resp: Response) -> None:
    """Raise ``BadRecord`` for bodies that are not an HTML page at all."""
    body = resp.body
    if not body.strip():
        raise BadRecord("empty_body", resp.final_url)
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and not (ctype in ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
                      or ctype.endswith("+xml") or ctype.startswith("text/")):
        raise BadRecord("not_html", f"content-type {ctype}")
    if looks_binary(body):
        raise BadRecord("binary_body", f"{len(body)} bytes")


@dataclass
class Prepared:
    canonical_url: str
    id: str
    decoded: Decoded
    content_hash: str


def prepare(resp: Response) -> Prepared:
    """Decode, find the canonical URL and hash the visible text of an article response.

    Raises ``BadRecord`` for a body that is no HTML page or is nested deeper than
    ``MAX_HTML_DEPTH`` (parsed through ``connectors.htmlsafe``, so hostile markup costs linear time)."""
    check_article_response(resp)
    decoded = decode_html(resp.body, resp.headers.get("content-type"))
    try:
        tree = parse_html(decoded.text)
    except TooDeep as e:
        raise BadRecord("too_deep", str(e)) from None
    canon = canonical_link(tree, resp.final_url) or resp.final_url
    try:
        canonical_url = canonicalize(canon)
    except UnsafeURL:
        canonical_url = canonicalize(resp.final_url)
    return Prepared(canonical_url, article_id(canonical_url), decoded, visible_text_hash(tree))


def build_raw_page(
    resp: Response,
    prepared: Prepared,
    *,
    source: str,
    listing: Listing,
    update: bool = False,
    timezone: str | None = None,
) -> RawPage:
    return RawPage(
        id=prepared.id,
        url=prepared.canonical_url,
        source=source,
        final_url=resp.final_url,
        status=resp.status,
        headers={k: v for k, v in resp.headers.items() if k in RAW_HEADERS},
        charset=prepared.decoded.charset,
        content_hash=prepared.content_hash,
        update=update,
        listing=listing,
        timezone=timezone,
        html_z=compress_html(resp.body),
    )


def encode_within_limit(page: RawPage, max_message_bytes: int) -> bytes:
    """The Kafka value for ``page``; ``BadRecord('too_large')`` when it would not fit even compressed."""
    data = page.to_json()
    if len(data) + len(page.id) + KAFKA_OVERHEAD > max_message_bytes:
        raise BadRecord("too_large", f"{len(data)} bytes of JSON (html_z already compressed)")
    return data
