"""Arabic text rules (docs/ARCHITECTURE.md): repair, display form and match form.

Two forms of every text:
- display form — what analysts read: censor-breaking artefacts repaired
  (``أسلـ.حتها`` → ``أسلحتها``, zero-width characters inside words), Arabic
  presentation forms folded, everything else as written;
- match form — what classification and de-duplication compare: additionally
  no diacritics or tatweel, alef variants → ا, ى → ي, ة → ه, Persian letters
  folded, Arabic-Indic/Persian digits → ASCII, Latin lower-cased, punctuation
  turned into spaces.

Proclitics (و ف ب ك ل ال and their combinations) are handled at token level by
:func:`token_candidates`: a token matches a term if any of its candidates does.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ARABIC_LETTER = "\u0621-\u063a\u0641-\u064a\u0671-\u06d3\u06fa-\u06fc"
TATWEEL = "\u0640"
# zero-width and invisible format characters that platforms insert to break words
ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u034f\u061c"
DIACRITICS_RE = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")

# A break inside a word: tatweel and/or a dot/middle-dot/bullet and/or zero-width
# characters between two Arabic letters, containing at least one tatweel or
# zero-width character (a bare dot between letters is usually a missing space
# after a full stop in tickers, not a censor break).
_BREAK_RE = re.compile(
    rf"(?<=[{ARABIC_LETTER}\u064b-\u065f])"
    rf"(?=[{TATWEEL}{ZERO_WIDTH}.·•*\-]*[{TATWEEL}{ZERO_WIDTH}])"
    rf"[{TATWEEL}{ZERO_WIDTH}.·•*\-]{{1,4}}"
    rf"(?=[{ARABIC_LETTER}])"
)
_ZW_RE = re.compile(f"[{ZERO_WIDTH}]")
# a break always holds a tatweel or a zero-width character: without one the break pass is skipped
_BREAK_CHAR_RE = re.compile(f"[{TATWEEL}{ZERO_WIDTH}]")

_FOLD = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
        "ى": "ي", "ی": "ي", "ې": "ي", "ۍ": "ي",
        "ة": "ه", "ۀ": "ه", "ە": "ه",
        "ک": "ك", "ڪ": "ك",
        "ٮ": "ب", "ڤ": "ف", "گ": "ك", "پ": "ب", "چ": "ج", "ژ": "ز",
        "ـ": None,
        "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4",
        "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9",
        "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4",
        "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
        "٫": ".", "٬": ",", "،": ",", "؛": ";", "؟": "?",
    }
)
_NON_WORD_RE = re.compile(r"[^\w]+")
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# what _SPACES_RE would change: a run of two or more, or a space other than U+0020
# (substituting every single space of a clean text is the costly no-op this check avoids)
_ODD_SPACES_RE = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]|  ")


def repair(text: str) -> str:
    """Undo censor-breaking (``الكيمـ.يائية`` → ``الكيميائية``) and fold presentation forms.

    Safe for the display form: only characters that are never part of a word are removed.
    """
    if not text:
        return ""
    # NFKC folds Arabic presentation forms (U+FB50–U+FEFF) to base letters.
    text = unicodedata.normalize("NFKC", text)
    if _BREAK_CHAR_RE.search(text):
        text = _BREAK_RE.sub("", text)
        text = _ZW_RE.sub("", text)
    if _ODD_SPACES_RE.search(text):
        text = _SPACES_RE.sub(" ", text)
    return text


def fold(text: str) -> str:
    """Match-form folding of an already repaired text (keeps punctuation and spacing)."""
    text = DIACRITICS_RE.sub("", text)
    return text.translate(_FOLD).lower()


_LETTERS_ONLY = {k: v for k, v in _FOLD.items() if chr(k) not in "٫٬،؛؟"}
_FOLD_LETTERS = str.maketrans(_LETTERS_ONLY)


def fold_letters(text: str, lower: bool = True) -> str:
    """Like :func:`fold` but leaves punctuation (incl. ``؟`` and ``،``) alone.

    With ``lower=False`` it is safe on analyst-written regular expressions, whose
    syntax (``\\S``, ``\\W``) must survive folding."""
    text = DIACRITICS_RE.sub("", text).translate(_FOLD_LETTERS)
    return text.lower() if lower else text


def normalize(text: str) -> str:
    """The match form: repaired, folded, punctuation → single spaces."""
    return " ".join(tokens(text))


def tokens(text: str) -> list[str]:
    """Match-form tokens of a raw or display text."""
    # Folding never creates or removes whitespace and whitespace never joins a token, so the
    # repaired text is folded word by word, each distinct word once (news text repeats its words).
    out: list[str] = []
    for word in repair(text).split():
        out.extend(fold_split(word))
    return out


@lru_cache(maxsize=200_000)
def fold_split(word: str) -> tuple[str, ...]:
    """Match-form tokens of one repaired, whitespace-free word (cached)."""
    return tuple(t for t in _NON_WORD_RE.split(fold(word)) if t and t != "_")


# Longest first: a token is stripped of at most one combination.
PROCLITICS = (
    "وبال", "فبال", "وكال", "فكال", "ولل", "فلل",
    "وال", "فال", "بال", "كال", "لل", "ال",
    "وب", "فب", "ول", "فل", "وك", "فك", "وس", "فس",
    "و", "ف", "ب", "ك", "ل",
)
MIN_STEM = 2


@lru_cache(maxsize=200_000)
def token_candidates(token: str) -> tuple[str, ...]:
    """The token and its readings without a proclitic, e.g. ``وبالكيماوي`` → (…, ``كيماوي``).

    Ambiguous tokens (``وزير`` = word, not و+زير) get every reading; a term only
    matches when one reading equals it, so spurious readings cost nothing.
    """
    out = [token]
    for p in PROCLITICS:
        if token.startswith(p) and len(token) - len(p) >= MIN_STEM:
            rest = token[len(p):]
            if rest not in out:
                out.append(rest)
            if p.endswith("لل") and "ال" + rest not in out:  # لل = ل + ال
                out.append("ال" + rest)
    # a reading that itself still carries the article (و + ال…) is covered above;
    # also offer the bare stem of "ال…" readings
    for r in list(out[1:]):
        if r.startswith("ال") and len(r) - 2 >= MIN_STEM and r[2:] not in out:
            out.append(r[2:])
    return tuple(out)


def bare(term_token: str) -> str:
    """A term token without a leading article, as topic and gazetteer terms are compared."""
    t = fold(repair(term_token))
    if t.startswith("ال") and len(t) - 2 >= MIN_STEM:
        return t[2:]
    return t


_ARABIC_CHAR_RE = re.compile(f"[{ARABIC_LETTER}]")
_LATIN_CHAR_RE = re.compile(r"[A-Za-z]")


def arabic_ratio(text: str) -> float:
    """Share of Arabic letters among Arabic + Latin letters (0 when there are none)."""
    a = len(_ARABIC_CHAR_RE.findall(text))
    lat = len(_LATIN_CHAR_RE.findall(text))
    return a / (a + lat) if a + lat else 0.0


def squash_ws(s: str | None) -> str:
    """Whitespace runs (newlines included) as single spaces, ends trimmed; "" for None."""
    return " ".join(s.split()) if s else ""
