"""What a page says about itself: JSON-LD, OpenGraph and <meta> fields, the title and the site name."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import islice
from pipeline.core.arabic import normalize
from pipeline.core.arabic import squash_ws


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
        return squash_ws(v) or None
    if isinstance(v, dict):
        return _ld_name(v.get("name"))
    if isinstance(v, list):
        names = [n for n in (_ld_name(x) for x in v) if n]
        return "، ".join(dict.fromkeys(names)) if names else None
    return None


_SEP_RE = re.compile(r"\s+(?:[|\-–—»«•·]{1,2}|::)\s+|\s*\|\s*")


def strip_site_name(title: str | None, site_names: list[str] | tuple[str, ...] = ()) -> str | None:
    """Drop a ``| عنب بلدي`` / ``- أورينت نت`` style prefix or suffix naming the site."""
    if not title:
        return title
    title = squash_ws(title)
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


def read_meta(tree) -> _Meta:
    m = _Meta()
    og_title = tw_title = None
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if not key:
            continue
        val = squash_ws(el.get("content"))
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
        if isinstance(h, str) and squash_ws(h) and ("Article" in kind or "BlogPosting" in kind or "Report" in kind):
            m.title_candidates.append(squash_ws(h))
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
            m.description = squash_ws(obj["description"])
        if not m.url and isinstance(obj.get("url"), str) and obj["url"].startswith("http"):
            m.url = obj["url"]
    for c in (og_title, tw_title):
        if c:
            m.title_candidates.append(c)
    for img in tree.iter("img"):
        where = " ".join((img.get("src") or "", img.get("class") or "", img.get("id") or "")).lower()
        alt = squash_ws(img.get("alt"))
        if "logo" in where and alt and len(alt.split()) <= 5:
            m.site_names.append(alt)
            break
    t = tree.find(".//title")
    if t is not None:
        m.html_title = squash_ws(t.text_content()) or None
    m.h1 = [squash_ws(h.text_content()) for h in tree.iter("h1")][:5]
    m.h1 = [h for h in m.h1 if h]
    if not m.h1 and not m.title_candidates:
        # legacy layouts: the headline is a bold/large text equal to a segment of <title>
        m.bold = [t for t in (squash_ws(e.text_content()) for e in islice(tree.iter("h2", "b", "strong", "font"), 1500))
                  if 2 <= len(t.split()) <= 40][:200]
    for link in tree.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href", "").startswith("http"):
            m.url = link.get("href").strip()
            break
    html_lang = tree.get("lang") or tree.get("xml:lang")
    if html_lang:
        m.lang = html_lang
    return m


def choose_title(m: _Meta, site_names: list[str]) -> str | None:
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
