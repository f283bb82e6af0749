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

import codecs
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from itertools import islice

import lxml.html
from lxml import etree

from pipeline.core.arabic import arabic_ratio, normalize
from pipeline.core.errors import BadRecord

log = logging.getLogger(__name__)

# Pages above this are refused (connectors cap downloads lower; this guards replays and files).
MAX_PAGE_BYTES = 16_000_000
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


# --------------------------------------------------------------------------- decoding

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET_RE = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]{2,40})""", re.I)
_XML_ENC_RE = re.compile(rb"""^\s*<\?xml[^>]{0,100}encoding\s*=\s*["']([A-Za-z0-9_.:\-]{2,40})""", re.I)
_WESTERN = {"iso8859-1", "cp1252", "ascii", "iso8859-15"}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    if name in ("x-user-defined", "unicode"):
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(data: bytes | str, declared_charset: str | None = None) -> str:
    """Bytes → text. Valid UTF-8 wins (Arabic legacy bytes are never valid UTF-8), then
    the declared charset (HTTP), then ``<meta charset>`` (preferred over a Western
    HTTP default, the usual mislabelling of windows-1256 sites), then detection,
    then windows-1256 — the most likely legacy charset of an Arabic page."""
    if isinstance(data, str):
        return data
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # a page cut inside a multi-byte character, or a stray bad byte, is still UTF-8;
        # legacy Arabic bytes fail on nearly every letter
        text = data.decode("utf-8", errors="replace")
        if text.count("\ufffd") <= max(3, len(data) // 5000):
            return text
    head = data[:4096]
    m = _META_CHARSET_RE.search(head) or _XML_ENC_RE.search(head)
    meta = _codec(m.group(1).decode("ascii", "ignore")) if m else None
    http = _codec(declared_charset)
    order = []
    if http and meta and http in _WESTERN and meta not in _WESTERN:
        order = [meta, http]
    else:
        order = [c for c in (http, meta) if c]
    for enc in order:
        if enc == "utf-8":
            continue  # already failed strictly
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000], cp_isolation=["cp1256", "iso8859_6", "utf_8", "cp1252", "utf_16"]).best()
        if best is not None and best.encoding:
            return data.decode(best.encoding, errors="replace")
    except Exception:  # noqa: BLE001 - detection is best effort
        pass
    return data.decode(order[0] if order else "cp1256", errors="replace")


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


def _check_payload(html: bytes | str) -> None:
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


def _check_text(text: str) -> str:
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


_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=True)
# Every element as a plain HtmlElement, chosen in C: lxml.html's own lookup is a Python call for
# each element proxy created (ours and trafilatura's, on its copies of the tree too) and only
# differs for form controls (FormElement, InputElement...), whose form APIs nothing here uses.
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity))


def _parse(text: str) -> lxml.html.HtmlElement:
    try:
        tree = lxml.html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as e:
        raise BadRecord("not_html", f"unparseable: {e}") from None
    if tree is None or len(tree) == 0:
        raise BadRecord("not_html", "empty document")
    return tree


# --------------------------------------------------------------------------- metadata


def _clean_ws(s: str | None) -> str:
    return " ".join(s.split()) if s else ""


def _iter_jsonld(tree) -> list[dict]:
    """Article-like JSON-LD objects (through @graph and lists), most specific first."""
    found: list[dict] = []

    def walk(obj, depth=0):
        if depth > 6:
            return
        if isinstance(obj, list):
            for o in obj:
                walk(o, depth + 1)
        elif isinstance(obj, dict):
            t = obj.get("@type")
            types = t if isinstance(t, list) else [t]
            if any(isinstance(x, str) and ("Article" in x or x in ("BlogPosting", "Report", "LiveBlogPosting", "WebPage"))
                   for x in types):
                found.append(obj)
            for k in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
                if k in obj and isinstance(obj[k], (list, dict)):
                    walk(obj[k], depth + 1)

    for s in tree.xpath('//script[@type="application/ld+json"]'):
        raw = s.text or ""
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            try:  # common breakage: raw newlines/tabs inside strings
                data = json.loads(re.sub(r"[\r\n\t]+", " ", raw))
            except ValueError:
                continue
        walk(data)
    found.sort(key=lambda o: 0 if "Article" in str(o.get("@type")) or o.get("@type") == "BlogPosting" else 1)
    return found


def _ld_name(v) -> str | None:
    if isinstance(v, str):
        return _clean_ws(v) or None
    if isinstance(v, dict):
        return _ld_name(v.get("name"))
    if isinstance(v, list):
        names = [n for n in (_ld_name(x) for x in v) if n]
        return "، ".join(dict.fromkeys(names)) if names else None
    return None


_ARABIC_MONTHS = {
    "يناير": 1, "كانون الثاني": 1, "فبراير": 2, "شباط": 2, "مارس": 3, "آذار": 3, "اذار": 3, "أبريل": 4, "ابريل": 4,
    "إبريل": 4, "نيسان": 4, "مايو": 5, "أيار": 5, "ايار": 5, "يونيو": 6, "يونيه": 6, "حزيران": 6, "يوليو": 7,
    "يوليه": 7, "تموز": 7, "أغسطس": 8, "اغسطس": 8, "آب": 8, "اب": 8, "سبتمبر": 9, "أيلول": 9, "ايلول": 9,
    "أكتوبر": 10, "اكتوبر": 10, "تشرين الأول": 10, "تشرين الاول": 10, "نوفمبر": 11, "تشرين الثاني": 11,
    "ديسمبر": 12, "كانون الأول": 12, "كانون الاول": 12,
}
_AR_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_MONTHS_ALT = "|".join(sorted(map(re.escape, _ARABIC_MONTHS), key=len, reverse=True))
# "12 كانون الأول 2019", "25 سبتمبر 2020 - 09:06 م", "8 فبراير/ شباط 2023"
_AR_DATE_RE = re.compile(
    rf"(?P<d>\d{{1,2}})\s*(?:من\s+)?(?P<m>{_MONTHS_ALT})(?:\s*[/،-]\s*(?:{_MONTHS_ALT}))?[\s،,/-]*(?P<y>\d{{4}})"
    r"(?:[^\d]{0,20}?(?P<H>\d{1,2}):(?P<M>\d{2})\s*(?P<ampm>ص|م|am|pm)?)?",
    re.I,
)
_NUM_DATE_RE = re.compile(
    r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2}))?(?!\d)|(?<!\d)(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?!\d)")


_GMT_OFFSET_RE = re.compile(r"(?:GMT|UTC|غرينتش|جرينتش)\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?", re.I)


def find_first_date(text: str | None) -> datetime | None:
    """The earliest date written in a stretch of page text (Arabic month names or numeric)."""
    if not text:
        return None
    s = text.translate(_AR_DIGITS)
    found = []
    for rx in (_AR_DATE_RE, _NUM_DATE_RE):
        for m in rx.finditer(s):
            d = parse_date(s[m.start(): m.end() + 24])  # with a trailing "(GMT+0400)" if written
            if d:
                found.append((m.start(), d))
                break
    return min(found, key=lambda x: x[0])[1] if found else None


def parse_date(value: str | None) -> datetime | None:
    """ISO/RFC/Arabic-text dates → tz-aware datetime (naive ones are taken as UTC)."""
    if not value:
        return None
    s = _clean_ws(str(value)).translate(_AR_DIGITS)
    if not s:
        return None
    dt = None
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        m = _AR_DATE_RE.search(s)
        if m:
            day, month, year = int(m["d"]), _ARABIC_MONTHS[m["m"]], int(m["y"])
            hour = int(m["H"]) if m["H"] else 0
            minute = int(m["M"]) if m["M"] else 0
            if (m["ampm"] or "").lower() in ("م", "pm") and hour < 12:
                hour += 12
            try:
                dt = datetime(year, month, day, hour, minute)
            except ValueError:
                dt = None
        if dt is None and re.search(r"\d{4}", s) and re.search(r"[A-Za-z]{3}|\d{4}-\d", s):
            try:
                from dateutil import parser as dparser

                dt = dparser.parse(s, fuzzy=False)
            except (ValueError, OverflowError, TypeError):
                dt = None
        if dt is None:
            m2 = _NUM_DATE_RE.search(s)
            if m2:
                try:
                    if m2.group(1):
                        dt = datetime(int(m2.group(1)), int(m2.group(2)), int(m2.group(3)),
                                      int(m2.group(4) or 0), int(m2.group(5) or 0))
                    else:
                        dt = datetime(int(m2.group(8)), int(m2.group(7)), int(m2.group(6)))
                except ValueError:
                    dt = None
    if dt is None:
        return None
    if dt.tzinfo is None:
        # "آخر تحديث 14:00 (GMT+0400)": a written offset beats the UTC default
        off = _GMT_OFFSET_RE.search(s)
        tz = timezone.utc
        if off:
            delta = timedelta(hours=int(off["h"]), minutes=int(off["m"] or 0))
            if delta <= timedelta(hours=14):
                tz = timezone(delta if off["sign"] == "+" else -delta)
        dt = dt.replace(tzinfo=tz)
    now = datetime.now(timezone.utc)
    if dt.year < 1990 or dt > now + timedelta(days=2):
        return None
    return dt


_SEP_RE = re.compile(r"\s+(?:[|\-–—»«•·]{1,2}|::)\s+|\s*\|\s*")


def strip_site_name(title: str | None, site_names: list[str] | tuple[str, ...] = ()) -> str | None:
    """Drop a ``| عنب بلدي`` / ``- أورينت نت`` style prefix or suffix naming the site."""
    if not title:
        return title
    title = _clean_ws(title)
    keys = [k for k in (normalize(n) for n in site_names if n) if k]
    if not keys:
        return title

    def is_site(segment: str) -> bool:
        k = normalize(segment)
        return bool(k) and any(k == s or (len(k) >= 3 and (k in s or s in k)) for s in keys)

    while True:
        seps = list(_SEP_RE.finditer(title))
        if not seps:
            return title
        last, first = seps[-1], seps[0]
        if is_site(title[last.end():]) and title[:last.start()].strip():
            title = title[:last.start()].strip()
        elif is_site(title[:first.start()]) and title[first.end():].strip():
            title = title[first.end():].strip()
        else:
            return title


@dataclass
class _Meta:
    title_candidates: list[str] = field(default_factory=list)
    h1: list[str] = field(default_factory=list)
    bold: list[str] = field(default_factory=list)  # legacy layouts: bold/large texts (headline candidates)
    html_title: str | None = None
    site_names: list[str] = field(default_factory=list)
    description: str | None = None
    author: str | None = None
    dates: list[str] = field(default_factory=list)
    url: str | None = None
    lang: str | None = None
    article_body: str | None = None


_DATE_META = {
    "article:published_time", "og:published_time", "article:published", "pubdate", "publishdate", "publish-date",
    "publish_date", "date", "dc.date", "dc.date.issued", "dcterms.created", "dcterms.issued", "sailthru.date",
    "parsely-pub-date", "og:pubdate", "article.published", "datepublished", "originalpublicationdate",
    "cxenseparse:recs:publishtime", "release_date", "created", "published_time", "article_date_original",
}


def _read_meta(tree) -> _Meta:
    m = _Meta()
    og_title = tw_title = None
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if not key:
            continue
        val = _clean_ws(el.get("content"))
        if not val:
            continue
        if key == "og:title":
            og_title = og_title or val
        elif key == "twitter:title":
            tw_title = tw_title or val
        elif key in ("og:site_name", "application-name", "al:android:app_name", "twitter:site:name"):
            m.site_names.append(val)
        elif key in ("og:description", "description", "twitter:description") and not m.description:
            m.description = val
        elif key in ("author", "article:author", "byl", "dc.creator", "sailthru.author", "parsely-author"):
            if not m.author and not re.match(r"https?://", val):
                m.author = re.sub(r"^(by|بقلم|بواسطة)\s*:?\s*", "", val, flags=re.I)
        elif key in _DATE_META:
            m.dates.append(val)
        elif key in ("og:url",) and not m.url:
            m.url = val
        elif key in ("og:locale", "content-language", "language", "dc.language") and not m.lang:
            m.lang = val
    for obj in _iter_jsonld(tree):
        h = obj.get("headline") or obj.get("name")
        kind = str(obj.get("@type"))
        if isinstance(h, str) and _clean_ws(h) and ("Article" in kind or "BlogPosting" in kind or "Report" in kind):
            m.title_candidates.append(_clean_ws(h))
        d = obj.get("datePublished") or obj.get("dateCreated")
        if isinstance(d, str):
            m.dates.insert(0, d)
        a = _ld_name(obj.get("author"))
        if a and not m.author and not a.startswith("http"):
            m.author = a
        pub = _ld_name(obj.get("publisher"))
        if pub:
            m.site_names.append(pub)
        body = obj.get("articleBody")
        if isinstance(body, str) and len(body) > len(m.article_body or ""):
            m.article_body = body
        if not m.description and isinstance(obj.get("description"), str):
            m.description = _clean_ws(obj["description"])
        if not m.url and isinstance(obj.get("url"), str) and obj["url"].startswith("http"):
            m.url = obj["url"]
    for c in (og_title, tw_title):
        if c:
            m.title_candidates.append(c)
    for img in tree.iter("img"):
        where = " ".join((img.get("src") or "", img.get("class") or "", img.get("id") or "")).lower()
        alt = _clean_ws(img.get("alt"))
        if "logo" in where and alt and len(alt.split()) <= 5:
            m.site_names.append(alt)
            break
    t = tree.find(".//title")
    if t is not None:
        m.html_title = _clean_ws(t.text_content()) or None
    m.h1 = [_clean_ws(h.text_content()) for h in tree.iter("h1")][:5]
    m.h1 = [h for h in m.h1 if h]
    if not m.h1 and not m.title_candidates:
        # legacy layouts: the headline is a bold/large text equal to a segment of <title>
        m.bold = [t for t in (_clean_ws(e.text_content()) for e in islice(tree.iter("h2", "b", "strong", "font"), 1500))
                  if 2 <= len(t.split()) <= 40][:200]
    for link in tree.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href", "").startswith("http"):
            m.url = link.get("href").strip()
            break
    html_lang = tree.get("lang") or tree.get("xml:lang")
    if html_lang:
        m.lang = html_lang
    return m


def _choose_title(m: _Meta, site_names: list[str]) -> str | None:
    """JSON-LD headline / og:title / h1 / <title>, without the site name, preferring the h1 as displayed."""
    site_keys = {normalize(n) for n in site_names}
    cands = [strip_site_name(c, site_names) for c in m.title_candidates]
    segments = [p for p in _SEP_RE.split(m.html_title)] if m.html_title else []
    keys = {normalize(c) for c in cands + segments if c}
    for h in m.h1 + m.bold:
        k = normalize(h)
        if len(k.split()) >= 2 and k not in site_keys and k in keys:
            cands.insert(0, h)
            break
    if m.html_title:
        cands.append(strip_site_name(m.html_title, site_names))
    cands += [h for h in m.h1 if len(h.split()) >= 3 and normalize(h) not in site_keys]
    cands = [c for c in cands if c]
    if not cands:
        return None
    truncated = cands[0].endswith(("…", "...")) or len(cands[0]) >= 60
    full = [c for c in cands if not c.endswith(("…", "..."))]
    best = (full or cands)[0]
    if truncated:
        # a headline cut at a length limit loses to a longer candidate that continues it
        stem = best.rstrip(".… ")
        for c in cands:
            rest = c[len(stem):] if c.startswith(stem) else ""
            if len(c) > len(best) and rest and not re.match(r"\s*[|\-–—:»«•·]", rest) and len(c) < 3 * len(best):
                best = c
    return best


# --------------------------------------------------------------------------- pruning

_DROP_TAGS = {
    "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas", "button", "input",
    "select", "textarea", "label", "nav", "aside", "footer", "header", "marquee", "dialog", "menu", "link", "meta",
    "figure", "figcaption", "amp-sidebar", "amp-ad", "amp-analytics", "amp-social-share", "amp-user-notification",
    "video", "audio", "source", "map", "form",
}
_NOISE_PARTS = {
    "related", "share", "shares", "sharing", "sharer", "social", "follow", "newsletter", "subscribe",
    "subscription", "cookie", "cookies", "consent", "gdpr", "comment", "comments", "respond", "reply",
    "breadcrumb", "breadcrumbs", "crumbs", "crumb", "ticker", "breaking", "marquee", "urgent", "trending",
    "popular", "mostread", "sidebar", "widget", "widgets", "menu", "nav", "navbar", "navigation", "header",
    "footer", "ad", "ads", "advert", "adverts", "advertisement", "advertising", "sponsor", "sponsored", "promo",
    "banner", "dfp", "gpt", "taboola", "outbrain", "mgid", "tags", "tagcloud", "keywords", "author", "authors",
    "byline", "bio", "pagination", "pager", "print", "toolbar", "tools", "modal", "popup", "overlay", "caption",
    "credit", "credits", "meta", "date", "time", "views", "counter", "rating", "fontsize", "zoom",
    "login", "search", "logo", "skip", "rss", "signup", "register", "notice", "whatsapp",
    "telegram", "facebook", "twitter", "instagram", "youtube", "slider", "carousel", "swiper", "category",
    "categories", "cat", "recommended", "recommendations", "readmore", "also", "latest", "offscreen", "most",
    "feed", "feeds", "archive", "attribution", "popular", "labels",
}
_NOISE_TOKEN_RE = re.compile(
    r"relatedposts|jp-relatedposts|yarpp|crp_related|rp4wp|sharedaddy|addtoany|a2a|heateor|ssba|shareaholic"
    r"|adsbygoogle|googlead|go-?to-?top|back-?to-?top|scroll-?top|top-?bar|top-?nav|read-?more|more-?news"
    r"|more-?stories|more-?articles|also-?read|read-?also|post-?tags|entry-?meta|post-?meta|sr-only"
    r"|screen-reader|visually-hidden|td-a-rec|td-post-sharing|jeg_share|post-?share|entry-?share|tie-?share"
    r"|comment-?list|comment-?respond|wp-?caption|photo-?caption|image-?caption|img-?caption|post-?views"
    r"|^(?:hidden|d-none|is-hidden|invisible)$|font-?size|next-?prev|prev-?next|nav-?(?:next|previous)|(?:next|prev)-?post",
    re.I,
)
_CONTENT_TOKEN_RE = re.compile(
    r"^(?:[a-z]{1,4}[-_])?(?:entry|post|article|story|news|single|node|main|details?|text|body|content|field--name-body"
    r"|article__body|amp|td-post|itemprop|page)[-_]{0,2}(?:content|body|text|details|inner|main)(?:[-_][a-z0-9]+)?$"
    r"|^(?:articlebody|article-?body|story-?body|entry-?content|post-?content|post-?body|news-?body|news-?text|details-?body"
    r"|article-?text|article-?content|td-post-content|field--name-body|text-formatted|node__content|the-content)$",
    re.I,
)
_BUILDER_PREFIXES = ("elementor-", "et_pb_", "wpb_", "vc_")
_BUILDER_NOISE_RE = re.compile(
    r"(share|social|posts|nav|menu|sidebar|comment|navigation|author-box|post-info|breadcrumb|location-(header|footer)"
    r"|icon-list|related|tags|newsletter|subscribe|search|logo|form)", re.I)
_SPLIT_PARTS_RE = re.compile(r"[-_]+|(?<=[a-z])(?=[A-Z])")
_ROLE_NOISE = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alert", "menu", "menubar"}


def _tokens_of(el) -> list[str]:
    c = el.get("class")
    i = el.get("id")
    toks = c.split() if c else []
    if i:
        toks.append(i)
    return toks


@lru_cache(maxsize=20_000)
def _attr_kind(attrs: str) -> int:
    """0 neutral, 1 noise, 2 content marker — for a class + id string (cached: pages repeat them)."""
    content = noise = False
    for t in attrs.split():
        if t.startswith(_BUILDER_PREFIXES):
            # page builders wrap every block (the story's text included) in "widget"/"column" classes
            noise = noise or bool(_BUILDER_NOISE_RE.search(t))
            continue
        parts = [p.lower() for p in _SPLIT_PARTS_RE.split(t) if p]
        noisy = bool(_NOISE_TOKEN_RE.search(t)) or any(p in _NOISE_PARTS for p in parts)
        if _CONTENT_TOKEN_RE.match(t) and not any(p in _NOISE_PARTS for p in parts):
            content = True
        noise = noise or noisy
    return 2 if content else (1 if noise else 0)


def _attrs(el) -> str:
    c = el.get("class")
    i = el.get("id")
    return f"{c} {i}" if c and i else (c or i or "")


def _marked_body(el) -> bool:
    """``itemprop=articleBody`` / ``data-testid=article-body``: a story container whatever its classes."""
    ip = el.get("itemprop")
    return (ip is not None and "articleBody" in ip.split()) or el.get("data-testid") in ("article-body", "articleBody")


def _is_content_marker(el) -> bool:
    if _marked_body(el):
        return True
    a = _attrs(el)
    return bool(a) and _attr_kind(a) == 2


def _text_len(el) -> int:
    return len((el.text_content() or "").strip())


_INLINE = {"span", "b", "strong", "font", "a", "em", "i", "u", "small", "big", "sup", "sub", "abbr", "mark", "q",
           "cite", "bdi", "bdo", "br"}
_BLOCKS = {"p", "div", "ul", "ol", "table", "section", "article", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
           "figure", "header", "footer", "aside", "nav", "form", "dl", "pre"}


def _inline_len(el) -> int:
    """Length of the text an element shows inline: its own text, inline children, tails.

    An inline child that holds ``<br>``-separated text itself is scored on its own, not here."""
    n = len((el.text or "").strip())
    for c in el:
        if c.tag in _INLINE and (c.tag == "br" or c.find(".//br") is None):
            n += len(c.text_content().strip())
        n += len((c.tail or "").strip())
    return n


def _densest_block(tree):
    """The element holding the most paragraph text directly: ``<p>`` children, ``<br>``-separated
    inline text (legacy and Blogger pages), or one ``<div>`` per paragraph."""
    score: dict = {}
    for p in tree.iter("p"):
        parent = p.getparent()
        if parent is not None:
            score[parent] = score.get(parent, 0) + _text_len(p)
    for parent in {br.getparent() for br in tree.iter("br")}:
        if parent is not None:
            n = _inline_len(parent)
            if n > 100:
                score[parent] = score.get(parent, 0) + n
    for div in tree.iter("div"):  # sites that write one <div> per paragraph
        if (div.text and len(div.text.strip()) > 80) or (len(div) and not any(c.tag in _BLOCKS for c in div)):
            n = _inline_len(div)
            parent = div.getparent()
            if n > 80 and parent is not None:
                score[parent] = score.get(parent, 0) + n
    if not score:
        return None, 0
    # the most text, unless it sits in a comments/related/sidebar region (long reader comments
    # can outweigh a short story)
    for best in sorted(score, key=score.get, reverse=True)[:8]:
        if not _in_chrome_region(best):
            return best, score[best]
    best = max(score, key=score.get)
    return best, score[best]


_REGION_NOISE_PARTS = {"comment", "comments", "respond", "reply", "related", "sidebar", "widget", "footer", "popular",
                       "mostread", "newsletter", "recommended", "disqus", "discussion"}
_REGION_TAGS = {"aside", "footer", "nav", "header"}


def _in_chrome_region(el) -> bool:
    node = el
    while node is not None and node.tag not in ("body", "html"):
        if node.tag in _REGION_TAGS:
            return True
        a = _attrs(node)
        if a and not _is_content_marker(node):
            for t in a.split():
                if t.startswith(_BUILDER_PREFIXES):
                    if _BUILDER_NOISE_RE.search(t):
                        return True
                elif any(p.lower() in _REGION_NOISE_PARTS for p in _SPLIT_PARTS_RE.split(t) if p):
                    return True
        node = node.getparent()
    return False


def _link_texts(tree) -> list[str]:
    """Anchor texts of headline length: a body line equal to one is a related-story link,
    even where the extractor lost the link itself."""
    out = set()
    for a in tree.iter("a"):
        # a childless anchor's text is its .text: no XPath string() evaluation needed
        t = a.text_content() if len(a) else (a.text or "")
        if 15 <= len(t) <= 300:
            t = _clean_ws(t)
            if 3 <= t.count(" ") + 1 <= 30:
                out.add(t)
    return sorted(out)


def _classed(elements) -> list[tuple]:
    """(element, class attribute) of the elements that have one, in document order: read once
    per page for the class-based walks, instead of once per walk and element."""
    out = []
    for el in elements:
        if isinstance(el.tag, str):
            cls = el.get("class")
            if cls is not None:
                out.append((el, cls))
    return out


def _with_class(classed, *needles: str) -> list:
    """Elements (document order) whose class attribute contains one of ``needles`` — the
    XPath ``//*[contains(@class, ...)]`` over the :func:`_classed` pairs the caller already
    holds, which costs a fraction of an XPath walk of the page."""
    out = []
    for el, cls in classed:
        if cls:
            for n in needles:  # (a plain loop: a generator per element costs more than the tests)
                if n in cls:
                    out.append(el)
                    break
    return out


def _collect_captions(tree, classed=None) -> tuple[list[str], list[str]]:
    caps, alts = [], []
    for el in tree.iter("figcaption"):
        t = _clean_ws(el.text_content())
        if t:
            caps.append(t)
    if classed is None:
        classed = _classed(tree.iter())
    for el in _with_class(classed, "caption", "Caption", "credit"):
        t = _clean_ws(el.text_content())
        if t and len(t) < 400:
            caps.append(t)
    for el in tree.iter("img", "amp-img"):
        a = _clean_ws(el.get("alt") or el.get("title"))
        if a and len(a.split()) >= 2:
            alts.append(a)
    return list(dict.fromkeys(caps)), list(dict.fromkeys(alts))


_SUBTITLE_RE = re.compile(r"(^|[-_])(sub-?title|subtitle|sub-?headline|subheadline|standfirst|strapline|dek|sub|lead|excerpt|summary|intro)($|[-_])", re.I)


def _find_subtitle(tree, title: str | None, classed=None) -> str | None:
    tkey = normalize(title or "")
    for h1 in tree.iter("h1"):
        if tkey and normalize(h1.text_content()) != tkey:
            continue
        sib = h1.getnext()
        steps = 0
        while sib is not None and steps < 3:
            if isinstance(sib.tag, str):
                cls = " ".join(_tokens_of(sib))
                if sib.tag == "h2" or _SUBTITLE_RE.search(cls):
                    t = _clean_ws(sib.text_content())
                    if t and len(t.split()) <= 60:
                        return t
            sib = sib.getnext()
            steps += 1
        break
    # the first 3000 class-bearing elements, of which only "...title..." classes can qualify
    if classed is None:
        classed = _classed(tree.iter())
    n = 0
    for el, cls in classed:
        if el.tag in ("body", "html"):
            continue
        n += 1
        if n > 3000:
            break
        if "itle" in cls and _SUBTITLE_RE.search(cls):
            t = _clean_ws(el.text_content())
            if t and 2 <= len(t.split()) <= 60 and normalize(t) != tkey:
                return t
    return None


_CONTAINERS = ("div", "li", "ul", "ol", "td", "tr", "table", "section", "article", "dl", "center")
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")


def _is_link_block(el) -> bool:
    """A menu, link list or teaser card: short text mostly made of links, or a linked headline with an excerpt."""
    text = el.text_content()
    n = len(text.strip())
    if n == 0:
        return el.find(".//a") is not None or el.find(".//p") is None and el.tag in ("li", "td", "tr")
    if n > 1200:
        return False
    links = [a.text_content().strip() for a in el.iter("a")]
    link_chars = sum(len(t) for t in links)
    if link_chars >= 0.5 * n and (len(links) >= 2 or n < 200):
        # ... unless it holds a real paragraph (a link-free block of sentence length)
        for child in el.iter("p", "div"):
            if child is not el and child.find(".//a") is None and len(child.text_content().strip()) >= 150:
                return False
        return True
    if n <= 500 and link_chars >= 0.2 * n:
        for h in el.iter(*_HEADINGS):
            a = h.find(".//a")
            if a is not None and len(a.text_content().split()) >= 3:
                return True  # teaser card: linked headline (+ excerpt)
    return False


def _card_like(el) -> bool:
    if el.find(".//img") is None:
        return False
    text = el.text_content().strip()
    if not text or len(text) > 400:
        return False
    best = max((a.text_content().strip() for a in el.iter("a")), key=len, default="")
    return len(best.split()) >= 2 and len(best) >= 0.15 * len(text)


def _ancestors_of(elements) -> set:
    out: set = set()
    for el in elements:
        node = el.getparent()
        while node is not None and node not in out:
            out.add(node)
            node = node.getparent()
    return out


def _teasers(containers, with_img: set) -> list:
    """Cards (thumbnail + linked headline + excerpt) that come with at least two similar siblings."""
    cards = {el for el in containers if el in with_img and _card_like(el)}
    out = []
    for el in cards:
        parent = el.getparent()
        if parent is not None and sum(1 for sib in parent if sib is not el and sib.tag == el.tag and sib in cards) >= 2:
            out.append(el)
    return out


_AUTHOR_HREF_RE = re.compile(r"/(author|authors|writer|writers|columnist|kuttab|kottab|profile)s?/|/كتاب/|\?author=", re.I)


def _author_boxes(tree, author_keys: set[str], protected: set) -> list:
    """Author blurbs: a small container around a link to the author's page (or the author's
    name/photo) with a line of bio — the largest such container up to three levels up."""
    anchors = []
    for a in tree.iter("a"):
        if _AUTHOR_HREF_RE.search(a.get("href") or "") or (author_keys and normalize(a.text_content()) in author_keys):
            anchors.append(a)
    if author_keys:
        anchors += [img for img in tree.iter("img") if normalize(img.get("alt") or "") in author_keys]
    out = []
    for a in anchors:
        best = None
        node = a.getparent()
        for _ in range(3):
            if node is None or node in protected:
                break
            if node.tag in _CONTAINERS:
                text = node.text_content().strip()
                if len(text) > 400:
                    break
                if any(c is not node and c.find(".//a") is None and len(c.text_content().strip()) >= 200
                       for c in node.iter("p", "div")):
                    break
                best = node
            node = node.getparent()
        if best is not None:
            out.append(best)
    return out


def _prune(tree, keep, author: str | None = None, elements=None) -> int:
    """Remove chrome (by tag/role/class/id), teaser cards, author boxes and link blocks,
    except ``keep`` and its ancestors. Returns the number of elements left."""
    protected = set()
    # One walk classifies every element (content marker / noise candidate); the list also keeps
    # the element proxies alive, so the later walks below do not rebuild them (lxml.html's
    # Python class lookup runs for every proxy it creates).
    if elements is None:
        elements = list(tree.iter())
    count = len(elements)
    # the densest block, and any story container the CMS marks as such (entry-content,
    # itemprop=articleBody...), keep their ancestors: a "date-outer" wrapper must not take the story along
    keeps = [keep]
    noisy = []
    get_kind = _attr_kind
    body_ids = ("article-body", "articleBody")
    for el in elements:
        tag = el.tag
        if not isinstance(tag, str):
            continue
        # _attrs and _marked_body, inlined, reading only the attributes the element has: this
        # loop runs for every element of the page, most of which have none or one
        names = el.keys()
        if not names:
            if tag in _DROP_TAGS:
                noisy.append(el)
            continue
        get = el.get
        c = get("class") if "class" in names else None
        i = get("id") if "id" in names else None
        a = f"{c} {i}" if c and i else (c or i or "")
        kind = get_kind(a) if a else 0
        if kind == 2:
            marker = True
        else:
            ip = get("itemprop") if "itemprop" in names else None
            marker = (ip is not None and "articleBody" in ip.split()) or (
                "data-testid" in names and get("data-testid") in body_ids)
        if marker:
            if _text_len(el) >= 300:
                keeps.append(el)
            continue  # a content marker is never noise
        if tag in _DROP_TAGS or kind == 1:
            noisy.append(el)
            continue
        role = get("role") if "role" in names else None
        if (role and role.lower() in _ROLE_NOISE) or "hidden" in names or (
                "aria-hidden" in names and get("aria-hidden") == "true"):
            noisy.append(el)
    for node in keeps:
        while node is not None and node not in protected:
            protected.add(node)
            node = node.getparent()
    doomed = []
    for el in noisy:
        if el in protected:
            continue
        if el.tag == "figure" and el.find(".//table") is not None:
            continue  # WordPress wraps tables in <figure>
        doomed.append(el)
    _drop(doomed)
    containers = [el for el in tree.iter(*_CONTAINERS) if el not in protected]
    author_keys = {normalize(a) for a in re.split(r"[،,]", author or "") if len(normalize(a).split()) >= 2}
    with_links = _ancestors_of(tree.iter("a"))  # only these can be link blocks or cards
    # teaser cards and author boxes first (their links would otherwise go one by one)
    _drop(_teasers([el for el in containers if el in with_links], _ancestors_of(tree.iter("img")))
          + _author_boxes(tree, author_keys, protected))
    # link blocks bottom-up (descendants first), so a container is judged after its menus are gone
    for el in reversed(containers):
        if el in with_links and el.getparent() is not None and _is_link_block(el):
            _drop([el])
    return count - len(doomed)


def _drop(elements) -> None:
    for el in elements:
        parent = el.getparent()
        if parent is None:
            continue
        try:
            el.drop_tree()
        except (AssertionError, ValueError):
            parent.remove(el)


# --------------------------------------------------------------------------- trafilatura output → paragraphs


def _node_text(el) -> tuple[str, list[str]]:
    for lb in el.iter("lb"):
        lb.tail = "\n" + (lb.tail or "")
    text = el.xpath("string()")
    refs = [r.xpath("string()").strip() for r in el.iter("ref")]
    return text, [r for r in refs if r]


def _emit(text: str, refs: list[str], kind: str, out: list[tuple[str, float, str]]) -> None:
    for line in text.split("\n"):
        line = _clean_ws(line)
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
                cells = [_clean_ws(c.xpath("string()")) for c in row.iter("cell")]
                refs = [r.xpath("string()").strip() for r in row.iter("ref")]
                _emit(" ".join(c for c in cells if c), refs, "td", out)
        elif tag == "quote":
            ps = [p for p in child if p.tag == "p"]
            for p in ps or [child]:
                t, r = _node_text(p)
                _emit(t, r, "quote", out)
        else:
            t, r = _node_text(child)
            _emit(t, r, "h" if tag == "head" else "p", out)
    return out


def _lead_lines(block, limit: int = 4) -> list[str]:
    """Short text lines at the top of the story block, before its first paragraph.

    Extractors drop them (a bold dateline in its own <div>), but the dateline lives there."""
    out: list[str] = []
    for child in block:
        if not isinstance(child.tag, str):
            continue
        t = _clean_ws(child.text_content())
        if not t:
            continue
        if len(t) > 100 or len(out) >= limit:
            break
        out.append(t)
    return out


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


# --------------------------------------------------------------------------- language

# Persian shares the script; its function words tell it apart (ی/ک alone do not: Arabic
# typed on a Persian keyboard uses them too)
_FA_WORDS = {"است", "این", "را", "که", "می", "های", "برای", "از", "با", "شد", "بود", "در", "آن", "یک", "نیز", "شده"}
_AR_WORDS = {"في", "من", "على", "إلى", "الى", "عن", "التي", "الذي", "أن", "إن", "ان", "مع", "هذا", "هذه", "قال"}
_STOPWORDS = {
    "en": {"the", "and", "of", "to", "in", "is", "that", "for", "was", "with", "on", "said"},
    "fr": {"le", "la", "les", "des", "et", "est", "dans", "une", "pour", "que", "du", "sur"},
    "es": {"el", "la", "los", "las", "y", "es", "en", "que", "del", "por", "una", "con"},
    "de": {"der", "die", "das", "und", "ist", "nicht", "mit", "den", "von", "zu", "ein", "auf"},
    "tr": {"ve", "bir", "bu", "da", "de", "için", "ile", "olarak", "olan", "çok", "gibi", "ama"},
}
_LATIN_WORD_RE = re.compile(r"[a-zçğıöşüéèàâêîôûäß]+")


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ar / fa / en / fr / es / de / tr / ru — enough to keep non-Arabic pages labelled, not dropped."""
    sample = text[:5000]
    if not sample.strip():
        return (hint or "").split("-")[0].split("_")[0].lower() or None
    ratio = arabic_ratio(sample)
    if ratio >= 0.5:
        words = sample.split()
        fa = sum(1 for w in words if w in _FA_WORDS)
        ar = sum(1 for w in words if w in _AR_WORDS)
        return "fa" if fa >= 3 and fa > 1.5 * ar else "ar"
    if len(re.findall("[\u0400-\u04ff]", sample)) > 0.3 * max(1, len(sample.replace(" ", ""))):
        return "ru"
    words = _LATIN_WORD_RE.findall(sample.lower())
    if words:
        scores = {lang: sum(1 for w in words if w in sw) for lang, sw in _STOPWORDS.items()}
        lang, best = max(scores.items(), key=lambda kv: kv[1])
        if best >= 2:
            return lang
    h = (hint or "").split("-")[0].split("_")[0].lower()
    if h and h != "ar":
        return h
    return "en" if words else None


# --------------------------------------------------------------------------- main


def extract(html: bytes | str, url: str | None = None, charset: str | None = None) -> Extracted:
    """Extract the article of one page; raises BadRecord for unusable input, nothing else."""
    try:
        return _extract(html, url, charset)
    except BadRecord:
        raise
    except RecursionError:
        raise BadRecord("not_html", "nesting too deep") from None
    except MemoryError:
        raise BadRecord("too_large", "out of memory while parsing") from None
    except Exception as e:  # noqa: BLE001 - an extractor bug on a hostile page must not kill a worker
        log.warning("extract failed", extra={"stage": "extract", "url": url, "error": repr(e)})
        raise BadRecord("extract_error", f"{type(e).__name__}: {e}"[:300]) from None


def _extract(html: bytes | str, url: str | None, charset: str | None) -> Extracted:
    _check_payload(html)
    text = _check_text(decode_html(html, charset))
    tree = _parse(text)
    # Every element once, in document order, for the walks below; holding the list also keeps
    # the element proxies alive, so later walks (and trafilatura's) do not rebuild them
    # (lxml.html runs a Python class lookup for every proxy it creates).
    elements = list(tree.iter())
    classed = _classed(elements)
    meta = _read_meta(tree)
    site_names = list(dict.fromkeys(meta.site_names))
    title = _choose_title(meta, site_names)
    subtitle = _find_subtitle(tree, title, classed)
    captions, alts = _collect_captions(tree, classed)
    link_texts = _link_texts(tree)
    published = None
    for d in meta.dates:
        published = parse_date(d)
        if published:
            break
    if published is None:
        for t in tree.iter("time"):
            published = parse_date(t.get("datetime") or t.text_content())
            if published:
                break

    header_text = _header_text(tree, title, elements)
    visible_dates = [_clean_ws(el.text_content())[:200] for el in _with_class(classed, "date", "time", "publish")
                     if el.tag not in ("html", "body")][:12]

    block, block_score = _densest_block(tree)
    n_left = _prune(tree, block, meta.author, elements)
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
        published = _date_fallback(tree, url, [p[0] for p in paras[:6]], header_text, visible_dates)
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


def _date_fallback(tree, url: str | None, top_lines: list[str], header: str, visible: list[str]) -> datetime | None:
    """No structured date: a date line at the top of the article, a date near the headline,
    a date-classed element, then htmldate."""
    for line in top_lines:
        if len(line) < 120:
            d = parse_date(line)
            if d:
                return d
    d = find_first_date(header)
    if d:
        return d
    for text in visible:
        d = parse_date(text)
        if d:
            return d
    try:
        from htmldate import find_date

        found = find_date(tree, url=url, original_date=True, extensive_search=False, outputformat="%Y-%m-%d %H:%M:%S")
    except Exception:  # noqa: BLE001 - best effort
        found = None
    return parse_date(found) if found else None
