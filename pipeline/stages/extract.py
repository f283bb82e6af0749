"""Extract stage: HTML bytes → title, paragraphs, author, date, language, canonical URL.

Why it is more than ``trafilatura.extract``: Arabic outlets run on CMSs whose
noise trafilatura does not know (Jannah/Newspaper themes, in-house CMSs,
windows-1256 table layouts), and we need metadata it does not give reliably.
So the page is decoded once (windows-1256 safe), parsed once with lxml, its
metadata read from the head (JSON-LD, Open Graph, ``<time>``), then obvious
chrome — scripts, menus, share bars, related/comment blocks recognised by tag,
role, class or id — is pruned before trafilatura sees the tree. Pruning makes
trafilatura faster (its slow readability/justext fallbacks are switched off)
and leaves less to clean. When trafilatura still finds nothing on an article
page, the densest paragraph block or the JSON-LD ``articleBody`` stands in.

Line-level Arabic cleaning (read-also lines, captions, signatures, ...) is the
clean stage's job (:mod:`pipeline.stages.clean`); extraction keeps structure and link
density per paragraph so that stage can judge lines by shape.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
import lxml.html
from lxml import etree
from pipeline.core.arabic import normalize
from pipeline.core.errors import BadRecord
from pipeline.core.charset import decode_html
from pipeline.core.dates import find_first_date, parse_date
from pipeline.stages.language import detect_language
from pipeline.stages.meta import choose_title, read_meta
from pipeline.core.arabic import squash_ws
from pipeline.stages.page import PARSER, check_payload, check_text, parse_html
from pipeline.stages.prune import classed_elements, collect_captions, densest_block, find_subtitle, anchor_texts, prune, with_class


log = logging.getLogger(__name__)
# Above this many elements after pruning, only the densest block's neighbourhood is extracted,
# so that a pathological page costs bounded time.
MAX_ELEMENTS = 40_000
MIN_ARTICLE_CHARS = 40
HUGE_BLOCK_CHARS = 150_000
# Text kept per article: news stories are far shorter; the cap bounds every later stage.
MAX_TEXT_CHARS = 300_000


@dataclass
class Extracted:
    title: str | None
    paragraphs: list[str]
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    url: str | None = None
    site_name: str | None = None
    description: str | None = None
    # extras for the clean stage (parallel to ``paragraphs`` where lists)
    subtitle: str | None = None
    link_density: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # p, h, li, quote, td, br
    captions: list[str] = field(default_factory=list)  # figcaption / caption-class texts
    image_alts: list[str] = field(default_factory=list)
    lead_lines: list[str] = field(default_factory=list)  # short lines opening the story block (datelines)
    link_texts: list[str] = field(default_factory=list)  # headline-length anchor texts seen on the page
    method: str = "trafilatura"  # or "block", "jsonld"
# Every element as a plain HtmlElement, chosen in C: lxml.html's own lookup is a Python call for
# each element proxy created (ours and trafilatura's, on its copies of the tree too) and only
# differs for form controls (FormElement, InputElement...), whose form APIs nothing here uses.
PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity))


# --------------------------------------------------------------------------- trafilatura output → paragraphs


def _node_text(el) -> tuple[str, list[str]]:
    for lb in el.iter("lb"):
        lb.tail = "\n" + (lb.tail or "")
    text = el.xpath("string()")
    refs = [r.xpath("string()").strip() for r in el.iter("ref")]
    return text, [r for r in refs if r]


def _emit(text: str, refs: list[str], kind: str, out: list[tuple[str, float, str]]) -> None:
    for line in text.split("\n"):
        line = squash_ws(line)
        if not line:
            continue
        link = sum(len(r) for r in refs if r in line)
        out.append((line, min(1.0, link / max(1, len(line))), kind))


def _body_paragraphs(body) -> list[tuple[str, float, str]]:
    out: list[tuple[str, float, str]] = []
    for child in body:
        tag = child.tag
        if tag == "list":
            for item in child.iter("item"):
                t, r = _node_text(item)
                _emit(t, r, "li", out)
        elif tag == "table":
            for row in child.iter("row"):
                cells = [squash_ws(c.xpath("string()")) for c in row.iter("cell")]
                refs = [r.xpath("string()").strip() for r in row.iter("ref")]
                _emit(" ".join(c for c in cells if c), refs, "td", out)
        elif tag == "quote":
            _quote_paragraphs(child, out)
        else:
            t, r = _node_text(child)
            _emit(t, r, "h" if tag == "head" else "p", out)
    return out


def _quote_paragraphs(quote, out: list[tuple[str, float, str]]) -> None:
    """A quote's <p>s, and the text around them in document order: an embedded tweet's
    attribution ("— name (@handle) date") is loose text after its <p>, and belongs to the quote."""
    if not any(c.tag == "p" for c in quote):
        t, r = _node_text(quote)
        _emit(t, r, "quote", out)
        return
    loose: list[str] = [quote.text or ""]
    refs: list[str] = []

    def flush() -> None:
        if "".join(loose).strip():  # (trafilatura trims the space before a link: put one back)
            _emit(" ".join(loose), refs[:], "quote", out)
        loose.clear()
        refs.clear()

    for c in quote:
        if c.tag == "p":
            flush()
            t, r = _node_text(c)
            _emit(t, r, "quote", out)
        else:
            t, r = _node_text(c)
            loose.append(t)
            refs.extend(r)
        loose.append(c.tail or "")
    flush()


def _lead_lines(block, limit: int = 4) -> list[str]:
    """Short text lines at the top of the story block, before its first paragraph.

    Extractors drop them (a bold dateline in its own <div>), but the dateline lives there."""
    out: list[str] = []
    for child in block:
        if not isinstance(child.tag, str):
            continue
        t = squash_ws(child.text_content())
        if not t:
            continue
        if len(t) > 100 or len(out) >= limit:
            break
        out.append(t)
    return out


# a container whose class or id names the story's lead ("b-article__lead", "article__summary", "standfirst")
_LEAD_PART_RE = re.compile(r"(?:^|[-_])(lead|leadin|summary|intro|standfirst|strapline|sapo|chapo|dek|excerpt|abstract)(?:$|[-_])", re.I)
_LEAD_SIBLINGS = 3  # element siblings looked at before the story block, at its level and its parent's


def _lead_container(block, description: str | None) -> str | None:
    """The story's lead when it sits in its own container just before the body: a preceding sibling
    (of the story block or of its parent) named as a lead, or whose text is the page's description,
    holding one or two sentences of plain text. Extractors take only the body block and drop it."""
    desc_key = normalize(description or "")
    node = block
    for _ in range(2):
        if node is None:
            return None
        sib, seen = node.getprevious(), 0
        while sib is not None and seen < _LEAD_SIBLINGS:
            if isinstance(sib.tag, str) and sib.tag not in ("script", "style", "h1"):
                text = squash_ws(sib.text_content())
                if text:
                    seen += 1
                    named = any(_LEAD_PART_RE.search(t) for t in f"{sib.get('class') or ''} {sib.get('id') or ''}".split())
                    links = sum(len(a.text_content().strip()) for a in sib.iter("a"))
                    if (named or (desc_key and normalize(text) == desc_key)) and 8 <= len(text.split()) <= 120 \
                            and links < 0.3 * len(text):
                        return text
            sib = sib.getprevious()
        node = node.getparent()
    return None


def _block_paragraphs(block) -> list[tuple[str, float, str]]:
    """Fallback: the densest block's paragraphs (its <p>/heading/list children, or <br>-separated text)."""
    out: list[tuple[str, float, str]] = []
    for br in block.iter("br"):
        br.tail = "\n" + (br.tail or "")
    chunks: list[str] = []

    def flush():
        if chunks:
            _emit("".join(chunks), [], "br", out)
            chunks.clear()

    if block.text:
        chunks.append(block.text)
    for child in block:
        if not isinstance(child.tag, str):
            continue
        if child.tag in ("p", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote", "div", "table"):
            flush()
            refs = [a.text_content().strip() for a in child.iter("a")]
            _emit(child.text_content(), [r for r in refs if r], "p", out)
        else:
            chunks.append(child.text_content())
        if child.tail:
            chunks.append(child.tail)
    flush()
    return out


# --------------------------------------------------------------------------- main


def extract(html: bytes | str, url: str | None = None, charset: str | None = None,
            local_tz: tzinfo | None = None) -> Extracted:
    """Extract the article of one page; raises BadRecord for unusable input, nothing else. A date the
    page writes without an offset is read in ``local_tz`` (its outlet's zone), else as UTC."""
    try:
        return _extract(html, url, charset, local_tz)
    except BadRecord:
        raise
    except RecursionError:
        raise BadRecord("not_html", "nesting too deep") from None
    except MemoryError:
        raise BadRecord("too_large", "out of memory while parsing") from None
    except Exception as e:  # noqa: BLE001 - an extractor bug on a hostile page must not kill a worker
        log.warning("extract failed", extra={"stage": "extract", "url": url, "error": repr(e)})
        raise BadRecord("extract_error", f"{type(e).__name__}: {e}"[:300]) from None


def _extract(html: bytes | str, url: str | None, charset: str | None, local_tz: tzinfo | None) -> Extracted:
    check_payload(html)
    text = check_text(decode_html(html, charset).text)
    tree = parse_html(text)
    # Every element once, in document order, for the walks below; holding the list also keeps
    # the element proxies alive, so later walks (and trafilatura's) do not rebuild them
    # (lxml.html runs a Python class lookup for every proxy it creates).
    elements = list(tree.iter())
    classed = classed_elements(elements)
    meta = read_meta(tree)
    site_names = list(dict.fromkeys(meta.site_names))
    title = choose_title(meta, site_names)
    subtitle = find_subtitle(tree, title, classed)
    captions, alts = collect_captions(tree, classed)
    link_texts = anchor_texts(tree)
    published = None
    for d in meta.dates:
        published = parse_date(d, local_tz)
        if published:
            break
    if published is None:
        for t in tree.iter("time"):
            published = parse_date(t.get("datetime") or t.text_content(), local_tz)
            if published:
                break

    header_text = _header_text(tree, title, elements)
    visible_dates = [squash_ws(el.text_content())[:200] for el in with_class(classed, "date", "time", "publish")
                     if el.tag not in ("html", "body")][:12]

    block, block_score = densest_block(tree)
    n_left = prune(tree, block, meta.author, elements)
    root = tree
    if n_left > MAX_ELEMENTS and block is not None:
        # bounded work on pathological pages: keep the densest block's neighbourhood only
        root = block.getparent() if block.getparent() is not None else block
        log.info("page too large, extracting around densest block", extra={"stage": "extract", "url": url})

    lead = _lead_lines(block) if block is not None else []
    # a gigantic story block: trafilatura's passes over it cost seconds and add nothing
    paras = _run_trafilatura(root, url) if block_score < HUGE_BLOCK_CHARS else []
    method = "trafilatura"
    traf_len = sum(len(p[0]) for p in paras)
    if block is not None and (block_score > 200 or not paras):
        alt = _block_paragraphs(block)
        alt_len = sum(len(p[0]) for p in alt)
        # trafilatura found too little, or glued a <br>-separated block into a few lines
        if alt_len > 2 * traf_len or (alt_len >= 0.7 * traf_len and len(alt) >= 2 * max(1, len(paras)) and len(alt) >= 4):
            paras, method = alt, "block"
    if meta.article_body and len(meta.article_body) > max(2 * sum(len(p[0]) for p in paras), 200):
        body = meta.article_body
        if "<" in body:
            try:
                body = lxml.html.fromstring(body).text_content()
            except (etree.ParserError, ValueError):
                pass
        paras = []
        _emit(body.replace("\r", "\n"), [], "p", paras)
        method = "jsonld"

    if block is not None and method != "jsonld":
        lead_text = _lead_container(block, meta.description)
        if lead_text:
            key = normalize(lead_text)
            if not any(key in normalize(p[0]) or normalize(p[0]) in key for p in paras[:3] if p[0]):
                paras.insert(0, (lead_text, 0.0, "p"))

    total = 0
    for i, p in enumerate(paras):
        total += len(p[0])
        if total > MAX_TEXT_CHARS:
            log.info("article text capped", extra={"stage": "extract", "url": url})
            paras = paras[: i + 1]
            break
    if total < MIN_ARTICLE_CHARS:
        raise BadRecord("no_article", f"{total} characters of text")
    linked = sum(len(p[0]) * p[1] for p in paras)
    if len(paras) >= 5 and linked > 0.7 * total:
        raise BadRecord("no_article", "page is a list of links")

    if published is None:
        published = _date_fallback(tree, url, [p[0] for p in paras[:6]], header_text, visible_dates, local_tz)
    sample = " ".join([title or ""] + [p[0] for p in paras[:20]])
    language = detect_language(sample, meta.lang)
    return Extracted(
        title=title,
        paragraphs=[p[0] for p in paras],
        author=meta.author,
        published_at=published,
        language=language,
        url=meta.url or url,
        site_name=site_names[0] if site_names else None,
        description=meta.description,
        subtitle=subtitle,
        link_density=[round(p[1], 3) for p in paras],
        kinds=[p[2] for p in paras],
        captions=captions,
        image_alts=alts,
        lead_lines=lead,
        link_texts=link_texts,
        method=method,
    )


def _run_trafilatura(root, url: str | None) -> list[tuple[str, float, str]]:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            root,
            url=url,
            fast=True,  # our pruning and fallbacks replace its slow readability/justext comparison
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=True,
            include_formatting=False,
            deduplicate=False,
            with_metadata=False,
        )
    except (ValueError, TypeError, etree.LxmlError) as e:
        log.debug("trafilatura failed: %r", e)
        return []
    if doc is None or getattr(doc, "body", None) is None:
        return []
    return _body_paragraphs(doc.body)


def _header_text(tree, title: str | None, elements=None) -> str:
    """Text around the displayed headline (before pruning): where a page shows its publication date."""
    if not title:
        return ""
    key = normalize(title)
    n = len(title)
    for el in (elements if elements is not None else tree.iter()):
        t = el.text
        if not t or not isinstance(el.tag, str) or abs(len(t.strip()) - n) > 12:
            continue
        if normalize(t) == key:
            parts = []
            node = el
            for _ in range(2):
                node = node.getparent()
                if node is None:
                    break
                parts.append(node.text_content()[:2500])
            return "\n".join(parts)
    return ""


def _date_fallback(tree, url: str | None, top_lines: list[str], header: str, visible: list[str],
                   local_tz: tzinfo | None = None) -> datetime | None:
    """No structured date: a date line at the top of the article, a date near the headline,
    a date-classed element, then htmldate."""
    for line in top_lines:
        if len(line) < 120:
            d = parse_date(line, local_tz)
            if d:
                return d
    d = find_first_date(header, local_tz)
    if d:
        return d
    for text in visible:
        d = parse_date(text, local_tz)
        if d:
            return d
    try:
        from htmldate import find_date

        found = find_date(tree, url=url, original_date=True, extensive_search=False, outputformat="%Y-%m-%d %H:%M:%S")
    except Exception:  # noqa: BLE001 - best effort
        found = None
    return parse_date(found, local_tz) if found else None
