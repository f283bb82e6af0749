"""Clean stage: extracted paragraphs → the article body as an analyst should read it.

Generic extractors leak what Arabic news pages wrap around a story: "اقرأ أيضاً"
lines and blocks, comment and related headers, share/follow/newsletter/cookie
lines, leaked ad JavaScript, headline tickers, the title and subtitle repeated
at the top of the body, photo captions, bylines, date lines, agency signatures.
Each line is judged by its SHAPE — a whole-line pattern (``config/boilerplate.yaml``),
its length, its link density, whether it is a sentence, where it sits — never by a
word it merely contains, so "قالت وكالة رويترز إن ..." stays.

Censor-broken words (``أسلـ.حتها``, zero-width characters) are repaired in the
display form; the match form follows docs/ARCHITECTURE.md (:func:`pipeline.core.arabic.normalize`).
A dateline such as «إدلب – NPA», «دمشق - سانا» or «بيروت: فلان» is captured as
place + agency (and removed when it stands on its own line).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pipeline.core.arabic import (
    ARABIC_LETTER,
    arabic_ratio,
    fold_letters,
    normalize,
    repair,
    token_candidates,
)
from pipeline.core.errors import BadRecord
from pipeline.stages.meta import strip_site_name
from pipeline.stages.boilerplate import Rules, Rule


log = logging.getLogger(__name__)



@dataclass
class Cleaned:
    title: str | None
    body: str
    paragraphs: list[str]
    match_text: str
    dateline: dict | None = None  # {"place": str|None, "agency": str|None, "raw": str}
    removed: list[str] = field(default_factory=list)  # lines removed, for debugging
    reasons: list[str] = field(default_factory=list)  # parallel to ``removed``


# --------------------------------------------------------------------------- line shapes

_SENT_END_RE = re.compile(r"[.!؟?…][\"»”'’)\]]*$")
_ARABIC_RE = re.compile(f"[{ARABIC_LETTER}]")
_URL_RE = re.compile(r"(https?://|www\.)\S+", re.I)
_TICKER_JOIN_RE = re.compile(rf"(?<=[^\s\d.])\.(?=[{ARABIC_LETTER}])|\s\.(?=[{ARABIC_LETTER}])")
_TICKER_SEP_RE = re.compile(r"\s(?:\*{2,}|•|\||◄|►|■|●|◆|»{1,2}|#)\s")
_CODE_PUNCT_RE = re.compile(r"[{}();=<>$\[\]]")
_CREDIT_TAIL_RE = re.compile(r"(?:\(([^()]{2,60})\)|\s[-–—|/]\s*([^-–—|/()]{2,40}))\s*[.]?\s*$")
_EN_CREDIT_RE = re.compile(
    r"(?:\s|^)\(?(?:AP Photo|AP|REUTERS|Reuters|AFP|AFP via Getty Images|Getty Images|EPA|EPA-EFE|Anadolu Agency|Anadolu)"
    r"(?:/[\w .'\-]{2,40})?\)?\s*$")
_PHOTO_TAIL_RE = re.compile(r"\((?:صورة|الصورة|صوره|الصوره|تصوير|photo|credit)\s*[:：][^)]*\)\s*$", re.I)
# "<description> - 14 أيار 2017 - (يوتيوب)": a photo line ending with its date and a credit in brackets
_DATED_CREDIT_RE = re.compile(
    rf"\s[-–—]\s*(?:\d{{1,2}}\s+(?:من\s+)?)?(?:[{ARABIC_LETTER}/]+\s+){{0,2}}\d{{4}}\s*[-–—]?\s*\(([^()]{{2,40}})\)\s*$")
_ELLIPSIS_END_RE = re.compile(r"(?:…|\.\.\.)[\"»”'’)\]]*$")
_INITIALS_RE = re.compile(rf"^\(?\s*[{ARABIC_LETTER}]{{1,2}}\s?\.\s?[{ARABIC_LETTER}]{{1,2}}(?:\s*[/\\\-]\s*[{ARABIC_LETTER}]{{1,2}}\s?\.\s?[{ARABIC_LETTER}]{{1,2}})*\s*\)?$")
_SPACES_RE = re.compile(r"\s+")
_LEAD_SYMBOLS_RE = re.compile(r"^[^\w©(#]+")
_DATELINE_LINE_RE = re.compile(
    rf"^(?P<place>[{ARABIC_LETTER}][^\s:–—\-،,.()«»\"/]*(?:\s+[{ARABIC_LETTER}][^\s:–—\-،,.()«»\"/]*){{0,2}})"
    r"\s*(?:(?:[-–—:/]|\|)\s*(?P<agency>[^.!؟?:\n]{2,40}?)|\((?P<agency2>[^()]{2,40})\))\s*$"
)
_DATELINE_PREFIX_RE = re.compile(
    rf"^(?P<place>[{ARABIC_LETTER}][^\s:–—\-،,.()«»\"]*(?:\s+[{ARABIC_LETTER}][^\s:–—\-،,.()«»\"]*){{0,2}})"
    rf"(?:\s*[،,]\s*[{ARABIC_LETTER}]+(?:\s+[{ARABIC_LETTER}]+)?(?=\s*\())?"  # "دمشق، سوريا (CNN) --"
    r"\s*(?:\((?P<agency2>[^()]{2,40})\)\s*[-–—:]{1,2}\s*|[-–—]\s*(?P<agency>[^.!؟?:\-–—]{2,40}?)\s*:\s*|(?P<dash>[-–—])\s+)(?=\S)"
)


@dataclass
class _Line:
    text: str
    link: float
    kind: str
    key: str = ""
    words: int = 0
    reason: str | None = None
    marker: bool = False

    @property
    def kept(self) -> bool:
        return self.reason is None


def _inline(text: str, rules: Rules) -> tuple[str, str | None]:
    """Strip pasted code fragments; cut a "read also" tail off a real sentence. Returns (kept, cut)."""
    for r in rules.inline_strip:
        if r.regex.search(text):
            text = _SPACES_RE.sub(" ", r.regex.sub(" ", text)).strip()
    for r in rules.inline_cut:
        m = r.regex.search(text)
        if m and len(text[m.start():].split()) <= 30:
            return text[: m.start()].rstrip(), text[m.start():].strip()
    return text, None


def _has_terminal(text: str) -> bool:
    return bool(_SENT_END_RE.search(text))


def _sentence_like(ln: _Line) -> bool:
    return (ln.words >= 3 and _has_terminal(ln.text)) or ln.words >= 15


def _headline_like(ln: _Line) -> bool:
    return 3 <= ln.words <= 25 and not ln.text.rstrip("\"»”'’) ").endswith((".", "…", ":"))


def _is_js(text: str, rules: Rules) -> bool:
    low = text.lower()
    arabic = len(_ARABIC_RE.findall(text))
    if arabic > 0.3 * max(1, len(text.replace(" ", ""))):
        return False
    strong = sum(1 for m in rules.js_strong if m in low)
    weak = sum(1 for m in rules.js_weak if m in low)
    punct = len(_CODE_PUNCT_RE.findall(text))
    if (strong >= 1 or weak >= 3) and punct >= 2:
        return True
    # CSS rules: "selector { prop: value; }"
    return bool(re.search(r"[\w\-.#]+\s*\{[^{}]*:[^{}]*;?[^{}]*\}", text)) and arabic == 0


def _is_ticker(ln: _Line) -> bool:
    if ln.words < 15:
        return False
    joins = _TICKER_JOIN_RE.findall(ln.text)
    segs: list[str] = []
    if len(joins) >= 2:
        segs = [s.strip() for s in _TICKER_JOIN_RE.split(ln.text) if s.strip()]
    else:
        parts = _TICKER_SEP_RE.split(ln.text)
        if len(parts) >= 3 and not _has_terminal(ln.text):
            segs = [p.strip() for p in parts if p.strip()]
    if len(segs) < 3:
        return False
    if len(joins) >= 3:
        return True  # three sentences glued without a space: headlines strung together
    # a ticker strings headlines together; a paragraph's sentences mostly continue with و/ف
    cont = sum(1 for s in segs[1:] if s[:1] in ("و", "ف"))
    return cont <= (len(segs) - 1) // 3


def _is_url_only(text: str) -> bool:
    rest = _URL_RE.sub(" ", text)
    return rest != text and not re.search(r"\w", rest.replace("_", ""))


def _chrome_only(ln: _Line, rules: Rules) -> bool:
    toks = ln.key.split()
    if not toks or len(toks) > 16:
        return False
    vocab, strong = rules.vocab.get("chrome", frozenset()), rules.vocab.get("chrome_strong", frozenset())
    return all(t in vocab or t.isdigit() for t in toks) and any(t in strong for t in toks)


# Clock notation, whatever the site's language: "a.m."/"p.m." (split by normalisation into "a m"),
# "at" before a time, time-zone abbreviations, and relative times ("منذ 3 ساعات", "2 hours ago").
# Not vocabulary to tune, so not in the rules file.
_MERIDIEM_RE = re.compile(r"\b([ap]) m\b")
_CLOCK_WORDS = frozenset({
    "at", "et", "est", "edt", "ct", "cst", "cdt", "pt", "pst", "pdt", "bst", "cet", "cest", "eet", "eest", "ast", "msk",
    "منذ", "قبل", "مضت", "ساعه", "ساعات", "دقيقه", "دقائق", "ago", "hour", "hours", "minute", "minutes", "min", "mins",
})


def _date_only(ln: _Line, rules: Rules) -> bool:
    """A bare date/time line ("Updated at 1:23 p.m.", «الثلاثاء 12 شباط 2020 - 10:45»): page chrome
    between paragraphs, never story text."""
    toks = ln.key.split()
    if not toks or len(toks) > 20:
        return False
    label_words = rules.vocab.get("date_label_words", frozenset())
    if any(t in label_words for t in toks):
        # ("10 p.m." alone stays: a live story's update heading, whose text follows it)
        toks = _MERIDIEM_RE.sub(r"\1m", ln.key).split()
    toks = [t for t in toks if t not in label_words]
    if not toks or not any(t.isdigit() for t in toks):
        return False
    words = rules.vocab.get("date_words", frozenset())
    return all(t.isdigit() or t in words or t in _CLOCK_WORDS or re.fullmatch(r"\d+(ص|م|am|pm|h|t\d+)?", t)
               for t in toks)


def _credit_tokens_ok(part: str, rules: Rules) -> bool:
    toks = normalize(part).split()
    if not toks:
        return False
    credits = rules.vocab.get("credits", frozenset())
    return all(t in credits for t in toks)


def _is_caption(ln: _Line, rules: Rules, caption_keys: set[str], alt_keys: set[str]) -> bool:
    if ln.words > 40:
        return False
    if ln.key in caption_keys and not (ln.words >= 15 and _has_terminal(ln.text)):
        return True  # (a long sentence equal to a caption is more likely the story quoted under a photo)
    verbs = rules.vocab.get("reporting_verbs", frozenset())
    if any(c in verbs for t in ln.key.split() for c in token_candidates(t)):
        return False
    if ln.key in alt_keys and not _has_terminal(ln.text):
        return True
    if ln.words > 25:
        return False
    if _PHOTO_TAIL_RE.search(ln.text):
        return True
    en = _EN_CREDIT_RE.search(ln.text)
    if en and ("/" in en.group(0) or not _has_terminal(ln.text[: en.start()].rstrip() or "x")):
        return True  # "... REUTERS/Khalil Ashawi", "... (AFP)"
    dc = _DATED_CREDIT_RE.search(ln.text)
    if dc and len(dc.group(1).split()) <= 4 and not _has_terminal(ln.text[: dc.start()].rstrip() or "x"):
        return True
    m = _CREDIT_TAIL_RE.search(ln.text)
    if not m:
        return False
    head = ln.text[: m.start()].rstrip()
    if not head or head.endswith((".", "!", "؟", "?", ":")):
        return False
    return _credit_tokens_ok(m.group(1) or m.group(2), rules)


def _is_signature(ln: _Line, rules: Rules) -> bool:
    if ln.words > 7:
        return False
    if _INITIALS_RE.match(ln.text.strip()):
        return True
    toks = ln.key.split()
    if toks and len(toks) <= 5 and all(len(t) == 1 and not t.isdigit() for t in toks):
        return True  # editor initials: "(ع ح ش)"
    agencies = rules.vocab.get("agencies", frozenset())
    return bool(toks) and all(t in agencies for t in toks) and not _sentence_like(ln)


def _match(rule: Rule, ln: _Line, ftext: str) -> bool:
    if rule.max_words is not None and ln.words > rule.max_words:
        return False
    return bool(rule.regex.search(ln.key if rule.on == "key" else ftext))


def _line_reason(ln: _Line, rules: Rules, ctx: dict) -> str | None:
    if not ln.key:
        return "symbols"
    if ln.key in ctx["title_keys"]:
        return "title"
    if _is_js(ln.text, rules):
        return "script"
    if _is_url_only(ln.text):
        return "url"
    if _is_ticker(ln):
        return "ticker"
    ftext = _LEAD_SYMBOLS_RE.sub("", fold_letters(ln.text))
    for r in rules.markers:
        if _match(r, ln, ftext):
            ln.marker = True
            return "marker:" + r.name
    for r in rules.lines:
        if _match(r, ln, ftext):
            return r.name
    if _chrome_only(ln, rules):
        return "share_bar"
    if _date_only(ln, rules):
        return "date"
    if _is_caption(ln, rules, ctx["caption_keys"], ctx["alt_keys"]):
        return "caption"
    toks = ln.key.split()
    if len(toks) <= 5 and all(t in rules.vocab.get("credits", frozenset()) for t in toks) and not _has_terminal(ln.text):
        return "credit"
    if _is_signature(ln, rules):
        return "signature"
    if ln.link >= 0.8 and ln.words <= 25 and (not _has_terminal(ln.text) or ln.words <= 12):
        return "link"
    if ln.text in ctx["link_texts"] and 3 <= ln.words <= 30 and not ln.text.endswith((".", "…")):
        return "link"  # a headline linked elsewhere on the page (the extractor lost the link)
    if ctx["arabic_doc"] and ln.words <= 4 and not _ARABIC_RE.search(ln.text):
        return "latin_junk"
    return None


# --------------------------------------------------------------------------- dateline


def _agency_clean(s: str | None) -> str | None:
    if not s:
        return None
    s = s.strip().strip("«»\"“”'()[] ").strip()
    return s or None


def _dateline_from_line(text: str, rules: Rules) -> dict | None:
    if len(text.split()) > 8 or _has_terminal(text.rstrip("»\"”)")) and not text.endswith(")"):
        return None
    m = _DATELINE_LINE_RE.match(text.strip())
    if not m:
        return None
    place = m.group("place").strip()
    agency = _agency_clean(m.group("agency") or m.group("agency2"))
    if not agency or len(agency.split()) > 5:
        return None
    return _dateline(place, agency, text.strip(), rules)


def _dateline_from_prefix(text: str, rules: Rules) -> dict | None:
    m = _DATELINE_PREFIX_RE.match(text)
    if not m or m.end() > 60:
        return None
    place = m.group("place").strip()
    agency = _agency_clean(m.group("agency") or m.group("agency2"))
    if m.group("dash") and len(place.split()) > 2:
        return None
    if agency and len(agency.split()) > 4:
        return None
    raw = text[: m.end()].strip(" -–—:")
    return _dateline(place, agency, raw, rules)


def _dateline(place: str, agency: str | None, raw: str, rules: Rules) -> dict | None:
    agencies = rules.vocab.get("agencies", frozenset())
    if agency and all(t in agencies for t in normalize(place).split()) and not all(
            t in agencies for t in normalize(agency).split()):
        place, agency = agency, place  # "أ ف ب (إدلب)": the agency first, the place in brackets
    not_places = rules.vocab.get("not_places", frozenset())
    not_dateline = rules.vocab.get("not_dateline", frozenset())
    pkey = normalize(place)
    if not pkey or any(t in not_dateline for t in pkey.split()):
        return None
    if any(t in not_places for t in pkey.split()[1:]):
        return None  # "صورة تعبيرية (رويترز)" is a caption
    if pkey.split()[0] in not_places:
        if not agency:
            return None
        place = None  # "خاص - عنب بلدي": only the agency/outlet
    elif re.match(r"و[اىيتن]\w{3,}$", pkey.split()[0]) and pkey.split()[0] not in ("واشنطن", "وارسو", "وانكوفر"):
        return None  # "وأضاف - ..." opens a sentence; it is no place
    return {"place": place, "agency": agency, "raw": raw}


# --------------------------------------------------------------------------- main


def _tidy(text: str) -> str:
    return _SPACES_RE.sub(" ", repair(text)).strip()


def clean_title(title: str | None, site_names: list[str | None]) -> str | None:
    """The display title: repaired, site name stripped, spaces collapsed."""
    if not title:
        return None
    t = _tidy(title)
    t = strip_site_name(t, [n for n in site_names if n]) or t
    return t or None


def clean(ex, site_name: str | None = None, *, rules: Rules) -> Cleaned:
    """Clean an :class:`pipeline.stages.extract.Extracted`; raises BadRecord("empty_body") if nothing is left."""
    title = clean_title(ex.title, [site_name, getattr(ex, "site_name", None)])
    link_density = list(getattr(ex, "link_density", []) or [])
    kinds = list(getattr(ex, "kinds", []) or [])

    lines: list[_Line] = []
    for i, para in enumerate(ex.paragraphs or []):
        ld = link_density[i] if i < len(link_density) else 0.0
        kind = kinds[i] if i < len(kinds) else "p"
        for raw in str(para).split("\n"):
            t, cut = _inline(_tidy(raw), rules)
            if t:
                key = normalize(t)
                lines.append(_Line(t, 0.0 if cut else ld, kind, key, len(key.split())))
            if cut:
                lines.append(_Line(cut, ld, kind, normalize(cut), len(cut.split()), reason="inline_cut"))

    all_text = " ".join(ln.text for ln in lines[:40])
    lang = getattr(ex, "language", None)
    title_key = normalize(title or "")
    ctx = {
        "title_keys": {k for k in (title_key, normalize(ex.title or "")) if k},
        "caption_keys": {k for k in map(normalize, getattr(ex, "captions", []) or []) if k},
        "alt_keys": {k for k in map(normalize, getattr(ex, "image_alts", []) or []) if len(k.split()) >= 3},
        "arabic_doc": lang in (None, "ar") and arabic_ratio(all_text) >= 0.5,
        "link_texts": set(getattr(ex, "link_texts", None) or ()),
    }
    for ln in lines:
        ln.reason = ln.reason or _line_reason(ln, rules, ctx)  # a tail cut off inline stays removed

    _remove_after_markers(lines)
    dateline = _top_region(lines, ex, title, rules)
    _remove_author_box(lines, getattr(ex, "author", None))
    _remove_trailing_teasers(lines)
    _remove_duplicates(lines)

    kept_lines = [ln for ln in lines if ln.kept]
    kept = [ln.text for ln in kept_lines]
    body = "\n\n".join(kept)
    if not body.strip():
        raise BadRecord("empty_body", f"{len(lines)} lines, all removed as noise")
    # The match form of title + body is the title's joined with the kept lines' keys: repair
    # never reaches across a line break and tokens never span one, so this equals normalizing
    # the joined text again (which costs as much as all the line keys together).
    keys = [title_key] + [ln.key for ln in kept_lines]
    return Cleaned(
        title=title,
        body=body,
        paragraphs=kept,
        match_text=" ".join(k for k in keys if k),
        dateline=dateline,
        removed=[ln.text for ln in lines if not ln.kept],
        reasons=[ln.reason or "" for ln in lines if not ln.kept],
    )


def _next_kept(lines: list[_Line], j: int) -> _Line | None:
    for k in range(j + 1, len(lines)):
        if lines[k].kept:
            return lines[k]
    return None


def _remove_after_markers(lines: list[_Line]) -> None:
    """After a "read also"/related/comments header: drop the run of linked or headline-shaped lines."""
    for i, ln in enumerate(lines):
        if not ln.marker:
            continue
        j = i + 1
        while j < len(lines):
            cur = lines[j]
            if not cur.kept:
                j += 1
                continue
            if cur.link >= 0.5:
                cur.reason = "after_marker"
            elif _headline_like(cur):
                nxt = _next_kept(lines, j)
                # a lone subhead followed by a paragraph is article text; a list of headlines is not
                if nxt is None or nxt.link >= 0.5 or (_headline_like(nxt) and not _sentence_like(nxt)) or nxt.marker:
                    cur.reason = "after_marker"
                else:
                    break
            else:
                break
            j += 1


def _top_region(lines: list[_Line], ex, title: str | None, rules: Rules) -> dict | None:
    """Lines before the first sentence: dateline captured; titles, captions, labels, dates dropped."""
    first = next((i for i, ln in enumerate(lines) if ln.kept and _sentence_like(ln)), None)
    if first is None:
        return None
    dateline = None
    sub_keys = set()
    for s in (getattr(ex, "subtitle", None), getattr(ex, "description", None)):
        if s:
            sub_keys.add(normalize(_tidy(s)))
    captions = {normalize(c) for c in getattr(ex, "captions", []) or []}
    for i in range(first):
        ln = lines[i]
        if dateline is None and (ln.kept or ln.reason in ("caption", "signature", "latin_junk")) and ln.key not in captions:
            d = _dateline_from_line(ln.text, rules)
            if d:
                dateline = d
                ln.reason = "dateline"
                continue
        if not ln.kept:
            continue
        if ln.key in sub_keys and not _sentence_like(ln):
            ln.reason = "subtitle"
        elif ln.words <= 8 or ln.link >= 0.5:
            ln.reason = "top_label"
    # the subtitle repeated as the first line of the body (headline-shaped only)
    lead = lines[first]
    if lead.key in sub_keys and not _has_terminal(lead.text):
        lead.reason = "subtitle"
    if dateline is None:
        dateline = _dateline_from_prefix(lines[first].text, rules)
    if dateline is None:
        # a lead in its own container comes first; the dateline opens the body after it. Only a
        # prefix that names its agency ("إدلب - سانا:") counts there, a place and a dash alone do not.
        nxt = _next_kept(lines, first)
        d = _dateline_from_prefix(nxt.text, rules) if nxt is not None else None
        if d is not None and d["agency"]:
            dateline = d
    if dateline is None:
        # a dateline the extractor dropped (its own bold <div>), seen at the top of the story block
        for raw in getattr(ex, "lead_lines", None) or []:
            dateline = _dateline_from_line(_tidy(raw), rules)
            if dateline:
                break
    return dateline


def _remove_author_box(lines: list[_Line], author: str | None) -> None:
    """The author's name as a line of its own (byline) and, at the end, the short bio after it."""
    if not author:
        return
    names = {normalize(a) for a in re.split(r"[،,]| و ", author) if len(normalize(a).split()) >= 2}
    if not names:
        return
    for i, ln in enumerate(lines):
        if not ln.kept or ln.key not in names:
            continue
        ln.reason = "author"
        after = [x for x in lines[i + 1:] if x.kept]
        if len(after) <= 2 and all(x.words <= 40 for x in after):
            for x in after:
                x.reason = "author_bio"


def _remove_trailing_teasers(lines: list[_Line]) -> None:
    """Other stories' cards left at the end of the body: a headline-shaped line followed by
    an excerpt cut off with an ellipsis ("... استذكر…"). Only at the very end, in pairs."""
    kept = [ln for ln in lines if ln.kept]
    while len(kept) >= 3:
        excerpt, head = kept[-1], kept[-2]
        if not (_ELLIPSIS_END_RE.search(excerpt.text) and _headline_like(head) and not _sentence_like(head)):
            break
        excerpt.reason = head.reason = "teaser"
        kept = kept[:-2]


def _remove_duplicates(lines: list[_Line]) -> None:
    seen: set[str] = set()
    for ln in lines:
        if not ln.kept:
            continue
        if ln.key in seen and ln.words >= 3:
            ln.reason = "duplicate"
        seen.add(ln.key)
