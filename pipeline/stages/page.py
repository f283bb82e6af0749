"""A page's text made safe to parse: payload checks (empty, binary, too large, not HTML) and the lxml parse."""

from __future__ import annotations

import re
import lxml.html
from lxml import etree
from pipeline.core.charset import MAX_HTML_DEPTH
from pipeline.core.errors import BadRecord


# Pages above this are refused (connectors cap downloads lower; this guards replays and files).
MAX_PAGE_BYTES = 16_000_000


# --------------------------------------------------------------------------- input checks

_BINARY_MAGIC = (
    (b"%PDF", "pdf"), (b"\x89PNG", "png"), (b"GIF8", "gif"), (b"\xff\xd8\xff", "jpeg"), (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"), (b"RIFF", "riff"), (b"\x00\x00\x00", "binary"), (b"BZh", "bzip2"), (b"7z\xbc\xaf", "7z"),
    (b"OggS", "ogg"), (b"ID3", "mp3"), (b"wOF", "font"),
)
_HTML_SIGN_RE = re.compile(
    r"<\s*(!doctype\s+html|html|head|body|div|p|article|main|meta|title|table|span|section|a\s|br|h[1-6]|font|center|ul|li|img)\b",
    re.I,
)
_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CTRL_CHARS = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def check_payload(html: bytes | str) -> None:
    if html is None or len(html) == 0 or not (html.strip() if isinstance(html, (bytes, str)) else True):
        raise BadRecord("empty", "no bytes")
    if not isinstance(html, (bytes, str)):
        raise BadRecord("not_html", f"payload of type {type(html).__name__}")
    if len(html) > MAX_PAGE_BYTES:
        raise BadRecord("too_large", f"{len(html)} bytes > {MAX_PAGE_BYTES}")
    if isinstance(html, bytes):
        start = html.lstrip()[:8]
        for magic, name in _BINARY_MAGIC:
            if start.startswith(magic):
                raise BadRecord("not_html", f"{name} payload")


def check_text(text: str) -> str:
    sample = text[:4096]
    if sample and len(_CTRL_RE.findall(sample)) > 0.05 * len(sample):
        raise BadRecord("not_html", "binary-looking payload")
    if not _HTML_SIGN_RE.search(text[:65536]):
        stripped = text.lstrip()[:1]
        what = "json" if stripped in "{[" and stripped else "text"
        raise BadRecord("not_html", f"no HTML markup ({what})")
    # a substring test per control character is several times faster than a regex scan of the page
    if any(c in text for c in _CTRL_CHARS):
        text = _CTRL_RE.sub("", text)
    return _XML_DECL_RE.sub("", text, count=1)


PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=True)
# Any element deeper than MAX_HTML_DEPTH (one step per level, evaluated by libxml2: linear). libxml2
# parses deep markup in linear time, but the stages after it walk trees in time that grows with depth.
_TOO_DEEP = etree.XPath("/*" * (MAX_HTML_DEPTH + 1))


def parse_html(text: str) -> lxml.html.HtmlElement:
    try:
        tree = lxml.html.document_fromstring(text, parser=PARSER)
    except (etree.ParserError, ValueError) as e:
        raise BadRecord("not_html", f"unparseable: {e}") from None
    if tree is None or len(tree) == 0:
        raise BadRecord("not_html", "empty document")
    if _TOO_DEEP(tree):
        raise BadRecord("too_deep", f"elements nested deeper than {MAX_HTML_DEPTH}")
    return tree


# --------------------------------------------------------------------------- metadata

