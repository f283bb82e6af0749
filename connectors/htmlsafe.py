"""Untrusted HTML made safe to hand to lexbor (selectolax), the connectors' HTML parser.

An HTML5 tree builder fed hostile markup does work out of proportion to its size: 100,000
nested ``<div>`` (or ``<div/>``, which HTML5 does not close) cost time quadratic in the depth,
and misnested formatting elements are re-opened again and again (130 KB of
``<div><b c=1>y</div>...`` made lexbor build 5 GB of elements in 11 s). So a page is first
parsed by libxml2 (lxml: linear, no re-opening, nesting capped), refused when deeper than
``MAX_HTML_DEPTH``, and lexbor parses libxml2's well-formed serialisation of it. Well-formed
pages come out the same (same visible text, same links); malformed ones as libxml2 reads them.
"""

from __future__ import annotations

import threading

import lxml.html
from lxml import etree
from selectolax.lexbor import LexborHTMLParser

from pipeline.core.charset import MAX_HTML_DEPTH
from pipeline.core.metrics import FETCH_REFUSED

# Matches any element deeper than the limit (each step one level down from the root): linear,
# evaluated by libxml2.
_TOO_DEEP = etree.XPath("/*" * (MAX_HTML_DEPTH + 1))
_local = threading.local()


class TooDeep(ValueError):
    """HTML nested deeper than ``MAX_HTML_DEPTH``."""

    reason = "too_deep"


def _parser() -> lxml.html.HTMLParser:
    p = getattr(_local, "parser", None)
    if p is None:  # lxml parsers are not shared between threads
        p = _local.parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True,
                                                 collect_ids=False, huge_tree=False, no_network=True)
    return p


def well_formed(text: str) -> str:
    """``text`` re-serialised by libxml2 (with an HTML5 doctype); ``TooDeep`` when nested too deep."""
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8", errors="replace"), parser=_parser())
    except (etree.ParserError, ValueError):
        return ""  # nothing but whitespace or comments
    if root is None:
        return ""
    if _TOO_DEEP(root):
        FETCH_REFUSED.labels("too_deep").inc()
        raise TooDeep(f"elements nested deeper than {MAX_HTML_DEPTH}")
    return lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")


def parse_html(text: str) -> LexborHTMLParser:
    """A lexbor tree of untrusted ``text`` (see the module doc); raises ``TooDeep``."""
    return LexborHTMLParser(well_formed(text))


def parse_fragment(fragment: str) -> LexborHTMLParser | None:
    """``parse_html`` for a snippet (a feed summary); None when it is nested too deep."""
    try:
        return parse_html(fragment)
    except TooDeep:
        return None
