"""Arabic text rules (docs/ARCHITECTURE.md): repair, folding, match form, proclitics."""

from __future__ import annotations

import pytest

from pipeline.core.arabic import (
    arabic_ratio,
    bare,
    fold,
    fold_letters,
    normalize,
    repair,
    token_candidates,
    tokens,
)


@pytest.mark.parametrize(
    "broken, repaired",
    [
        ("أسلـ.حتها", "أسلحتها"),
        ("الكيمـ.يائية", "الكيميائية"),
        ("الكيـ.ميائية", "الكيميائية"),
        ("اتهـ.امات", "اتهامات"),
        ("كيمـ\u200cيائية", "كيميائية"),  # tatweel + zero-width non-joiner
        ("الإرهـ\u200bابي", "الإرهابي"),  # tatweel + zero-width space
        ("سا\u200dمة", "سامة"),  # zero-width joiner alone
        ("القصـف", "القصف"),  # bare tatweel inside a word
        ("هجـ..مات", "هجمات"),
    ],
)
def test_repair_undoes_censor_breaks(broken, repaired):
    assert repair(broken) == repaired


def test_repair_keeps_real_punctuation():
    # a dot between words is a sentence end without its space, not a censor break
    assert repair("في درعا.اجتماع موسع") == "في درعا.اجتماع موسع"
    # a spaced tatweel used as a dash stays (the title "سجال غربي ـ روسي")
    assert repair("سجال غربي ـ روسي") == "سجال غربي ـ روسي"
    assert repair("بـ\"أيام سوداء\"") == "بـ\"أيام سوداء\""
    assert repair("") == ""


def test_repair_folds_presentation_forms_and_spaces():
    assert repair("\ufefb") == "لا"  # lam-alef ligature
    assert repair("كلمة\u00a0\u00a0أخرى") == "كلمة أخرى"


def test_fold_match_form():
    assert fold("أإآٱ") == "اااا"
    assert fold("مستشفى") == "مستشفي"
    assert fold("الحماية") == "الحمايه"
    assert fold("مُحَمَّدٌ") == "محمد"
    assert fold("٢٠١٩ ۱۲") == "2019 12"
    assert fold("ABC") == "abc"


def test_fold_letters_keeps_regex_syntax():
    assert fold_letters("اقرأ أيضاً؟") == "اقرا ايضا؟"
    assert fold_letters(r"^\S+ أيضاً\W", lower=False) == r"^\S+ ايضا\W"
    assert fold_letters("ABC") == "abc"


def test_normalize_and_tokens():
    assert normalize("«الأسلـ.حة الكيماوية»، في إدلب!") == "الاسلحه الكيماويه في ادلب"
    assert tokens("قال: ٣ مدنيين") == ["قال", "3", "مدنيين"]
    assert normalize("") == ""


def test_token_candidates_proclitics():
    c = token_candidates("وبالكيماوي")
    assert "كيماوي" in c
    assert "بالكيماوي" in c or "الكيماوي" in c
    assert token_candidates("للنازحين")[0] == "للنازحين"
    assert "النازحين" in token_candidates("للنازحين")
    # ambiguous words keep their own reading first
    assert token_candidates("وزير")[0] == "وزير"


def test_bare():
    assert bare("الكيماوي") == "كيماوي"
    assert bare("أسلحة") == "اسلحه"


def test_arabic_ratio():
    assert arabic_ratio("كلمة عربية") == 1.0
    assert arabic_ratio("English only") == 0.0
    assert 0.3 < arabic_ratio("كلمة English") < 0.7
    assert arabic_ratio("123 !!") == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "الكيمـ.يائية  في\tإدلب",  # break + double space + tab
        "قصف\u00a0على  حلب",  # no break character, odd spaces only
        "سوريا والعراق",  # nothing to repair: the fast path
        "ﷺ ﻻ دمشقُ_الشام ΣΟΦΟΣ",  # NFKC expanding to words, diacritic, underscore, final sigma
    ],
)
def test_tokens_word_by_word_equals_folding_the_whole_text(text):
    """tokens() folds each distinct word once (cached): the same tokens as folding the whole text."""
    import re
    import unicodedata

    from pipeline.core.arabic import _BREAK_RE, _NON_WORD_RE, _SPACES_RE, _ZW_RE

    whole = _SPACES_RE.sub(" ", _ZW_RE.sub("", _BREAK_RE.sub("", unicodedata.normalize("NFKC", text))))
    assert repair(text) == whole
    expected = [t for t in re.split(_NON_WORD_RE, fold(whole)) if t and t != "_"]
    assert tokens(text) == expected
