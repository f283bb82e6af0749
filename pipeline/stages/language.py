"""The language of an extracted text (ar, fa, en, ...): scripts and stop words, no model."""

from __future__ import annotations

import re
from pipeline.core.arabic import arabic_ratio


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
