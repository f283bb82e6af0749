"""The event keys of an article (see :mod:`pipeline.stages.stories` for how they are compared).

Computed in the process pool from the cleaned match text and the enrich stage's names; stored and
shipped as hashes (``encode_features``), so the single story partition does no text work.
"""

from __future__ import annotations

import base64
import math
import re
import zlib
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Collection, Iterable, Sequence

import numpy as np

from pipeline.core import arabic
from pipeline.core.urls import site_of
from pipeline.stages.story_lexicon import ACTS_RAW, AGENTS_RAW, BETWEEN_WORDS, MEANS_RAW, STRIKE_VERBS, STRIKE_WORDS

MAX_KEYS = 48
LEAD_TOKENS = 60
W_TITLE = 3
W_LEAD = 1
W_ENTITY = 4
TF_CAP = 4
MAX_WEIGHT = 31
NUMBER_FLAG = 0x80  # high bit of a stored weight: the key is a count ("#12")
ENTITY_FLAG = 0x40  # next bit: a place, organisation or person
TITLE_FLAG = 0x20  # next: the key is in the title (event_features returns it with this bit set)
# both count and name bits (a count is never a name): not a key but a mark beside the keys, its kind in
# the low bits: a point where the headline says the event happened (Gazetteer.incident_places; its
# "hash" the packed coordinates, pack_point), or a person the headline names (the person key's hash)
MARK_FLAG = NUMBER_FLAG | ENTITY_FLAG
POINT_MARK = MARK_FLAG | 1
PERSON_MARK = MARK_FLAG | 2
NEAR_MARK = MARK_FLAG | 3  # a point the headline says the event happened near (a landmark)
COUNTRY_MARK = MARK_FLAG | 4  # a country the headline names (its PARTY_PREFIX key's hash)
MENTION_MARK = MARK_FLAG | 5  # a country the article names anywhere
KIND_MARK = MARK_FLAG | 6  # the kinds of act the headline reports: its "hash" a bit mask (ACT_KINDS; AGENTS <<
#                            AGENT_SHIFT: who struck; MEANS_KINDS << MEANS_SHIFT: how)
DAY_MARK = MARK_FLAG | 7  # the event's weekday (a bit of WEEKDAYS), every weekday its lead names << DAY_BITS
DAY_BITS = 8
OUTLET_MARK = MARK_FLAG | 8  # the outlet that published it (the key_hash of its source id, or of its URL's host)
INCIDENT_PREFIX = "@"
NEAR_PREFIX = "@~"
HEADLINE_PERSON_PREFIX = "!"
HEADLINE_COUNTRY_PREFIX = "!~"
MENTIONED_COUNTRY_PREFIX = "?~"
ACTS_PREFIX = "!*"
OUTLET_PREFIX = "!$"
DAYS_PREFIX = "!#"
PARTY_PREFIX = "c:"
ENTITY_PREFIX = ("p:", "o:", "e:")  # places, organisations, people

# Function words and newsroom verbs (match form, after :func:`stem`): they say nothing of the event.
_STOP_RAW = """
في من على الى إلى عن مع ان أن إن او أو ثم قد لقد كان كانت يكون تكون كانوا هذا هذه ذلك تلك هؤلاء التي الذي
الذين هو هي هم هما نحن انه انها أنه أنها له لها لهم منه منها عليه عليها فيه فيها به بها ما لا لم لن ليس
غير بين بعد قبل خلال حتى عند منذ حول ضد دون كل بعض اي أي اذا إذا كما لكن بل اما أما حيث وقد وكان ذات
قال قالت يقول تقول اضاف أضاف اضافت أضافت اكد أكد اكدت أكدت اوضح أوضح اشار أشار اشارت أشارت وفق وفقا بحسب حسب
ذكر ذكرت افاد أفاد افادت أفادت اعلن أعلن اعلنت أعلنت نقل نقلت مصدر مصادر مراسل اليوم امس أمس الان الآن يوم
الاحد الأحد الاثنين الإثنين الثلاثاء الاربعاء الأربعاء الخميس الجمعة السبت صباح مساء ساعات الساعات
عام العام اخرى أخرى آخر اخر آخرين اخرين جديد جديدة جديده ايضا أيضا كذلك فقط نحو حوالي اكثر أكثر اقل أقل
عدد عدة واحد اثنين ثلاث تم يتم جاء جاءت وذلك الذى بشأن لدى لدي اطار إطار ضمن عبر تجاه اثر إثر مما فيما
سوريا سورية السورية السوري سوري حين أدى ادى أدت ادت مدينة بلدة محافظة ريف منطقة مناطق شمال جنوب شرق غرب
شمالي جنوبي شرقي غربي الشمالي الجنوبي الشرقي الغربي وسط
تحت فوق أمام خلف وراء أثناء بسبب جراء عقب إذ بينما سوى إلا لذلك لهذا هناك هنا كيف لماذا متى أين ماذا لأن
عندما بعدما قبيل رغم برغم جدا مثل إنما حاليا سابقا لاحقا مؤخرا بينهم بينها بينما لديه لديها لديهم
ثلاث ثلاثة اثنان اثنين اثنتين أربع أربعة خمس خمسة ست ستة سبع سبعة ثمان ثماني ثمانية تسع تسعة عشر عشرة
"""
# Month names: «22 تموز» is a date, not a fact of the event (and the month is shared by everything that week).
_MONTHS_RAW = """كانون شباط آذار اذار نيسان أيار ايار حزيران تموز آب اب أيلول ايلول تشرين يناير فبراير مارس أبريل
ابريل مايو يونيو يوليو أغسطس اغسطس سبتمبر أكتوبر اكتوبر نوفمبر ديسمبر"""
_SUFFIXES = ("يين", "ات", "ين", "ون", "يه", "ها", "هم", "ه", "ي")
_PREFIXES = ("وبال", "فبال", "وكال", "ولل", "فلل", "وال", "فال", "بال", "كال", "لل", "ال")




# Spellings of one word that outlets alternate (the match form already folds أ/إ/آ, ة/ه, ى/ي): a
# hamza on its seat (مسؤول/مسئول), and a few loanwords written two ways. Applied to stems, so every
# form of the word meets.
_HAMZA_SEATS = str.maketrans({"ؤ": "ء", "ئ": "ء"})
_VARIANTS = {"اميرك": "امريك", "اميركا": "امريكا", "اوربا": "اوروبا", "هطا": "هاتا", "تشاووش": "جاويش",
             **dict.fromkeys(("كيماو", "كيمياو", "يماو", "يمياء", "كيماوي", "كيمياءي", "يماوي", "يمياءي"), "كيمياء")}


def stem(tok: str) -> str:
    """A crude, consistent stem of a match-form token: one article/conjunction prefix and one
    common suffix off (so «السوريين», «سوريه» and «سوري» meet). Consistency matters, not linguistics."""
    for p in _PREFIXES:
        if tok.startswith(p) and len(tok) - len(p) >= 3:
            tok = tok[len(p):]
            break
    else:
        if tok[:1] in ("و", "ف") and len(tok) >= 4:
            tok = tok[1:]
        if tok[:1] in ("ب", "ل", "ك") and len(tok) >= 5:  # «بادلب» → «ادلب», «بقصف» stays one key with «قصف»
            tok = tok[1:]
    for s in _SUFFIXES:
        if tok.endswith(s) and len(tok) - len(s) >= 3:
            tok = tok[: -len(s)]
            break
    tok = tok.translate(_HAMZA_SEATS)
    return _VARIANTS.get(tok, tok)


# One event in two newsrooms' words: an official outlet's army «liberates» a town and counts «martyrs»
# killed by «terrorists» where another outlet's forces «take control» and it counts «dead» and names
# «factions»; and a word is written in any of its forms. Each line is one concept: every form on it
# (after :func:`stem`) becomes one key, so the two framings share it as the same wording would; its
# weight then follows from the live counts like any key's. A name's own words stay out (:func:`event_features`:
# «تحرير» of هيئة تحرير الشام is the name, not a capture). Chosen on the tune and heldout splits: these
# raised recall with no false merge. Also tried and left out: دخل/سقط as capture (aid enters, shells
# fall), strike and wounded (every attack report has them: two attacks' reports merged), withdraw (no effect).
_CONCEPTS_RAW = """
killed: قتل قتلت قتلى مقتل يقتل تقتل استشهد استشهدت استشهاد شهيد شهداء الشهداء مصرع لقي لقوا حتف ضحايا
fighters: إرهابي إرهابيين الإرهابيين إرهابيي الإرهابية إرهاب مسلح مسلحين المسلحين مسلحي المسلحة فصائل الفصائل
 معارضة المعارضة متمردين المتمردين متمردي ثوار الثوار
capture: سيطر سيطرت يسيطر تسيطر سيطرة السيطرة حرر حررت يحرر تحرر تحرير استعاد استعادت يستعيد تستعيد استعادة
"""
# The countries an article names, by name or adjective («أوكرانيا», «الأوكراني»). Not keys (as one key
# per country they lowered recall: «روسيا» and «الروسية» say different things): marks beside them, a
# headline's countries being parties like its people (:func:`pipeline.stages.story_marks.two_meetings`:
# al-Sharaa with Kuwait's minister, then with Ukraine's, is two meetings). Syria is in everything.
_PARTIES_RAW = """
russia: روسيا الروسي الروسية الروس روسي روسية
turkey: تركيا التركي التركية الأتراك تركي تركية
iran: إيران الإيراني الإيرانية إيراني إيرانية
israel: إسرائيل الإسرائيلي الإسرائيلية إسرائيلي إسرائيلية
us: أمريكا أميركا الأمريكي الأمريكية الأميركي الأميركية أمريكي أميركي أمريكية أميركية
ukraine: أوكرانيا الأوكراني الأوكرانية
kuwait: الكويت الكويتي الكويتية
saudi: السعودية السعودي
qatar: قطر القطري القطرية
uae: الإمارات الإماراتي الإماراتية
jordan: الأردن الأردني الأردنية
lebanon: لبنان اللبناني اللبنانية
iraq: العراق العراقي العراقية
egypt: مصر المصري المصرية
france: فرنسا الفرنسي الفرنسية
britain: بريطانيا البريطاني البريطانية
germany: ألمانيا الألماني الألمانية
china: الصين الصيني الصينية
italy: إيطاليا الإيطالي الإيطالية
bahrain: البحرين البحريني البحرينية
"""
MONTHS = frozenset(t for w in _MONTHS_RAW.split() for t in arabic.tokens(w))
STOP = frozenset(stem(t) for w in (_STOP_RAW + _MONTHS_RAW).split() for t in arabic.tokens(w))
# as written too: a crude stem can make a function word look like a content word («بينهم» → «ينهم»)
STOP_TOKENS = frozenset(t for w in _STOP_RAW.split() for t in arabic.tokens(w))


def _concepts(raw: str, prefix: str = "~") -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.replace("\n ", " ").strip().splitlines():
        name, _, forms = line.partition(":")
        for w in forms.split():
            for t in arabic.tokens(w):
                out[stem(t)] = prefix + name.strip()
    return out


CONCEPTS = _concepts(_CONCEPTS_RAW)
PARTIES = _concepts(_PARTIES_RAW, PARTY_PREFIX)


def _lexicon(raw: str) -> tuple[tuple[str, ...], dict[tuple[str, ...], int], frozenset[str]]:
    """(kinds, stems of each form (one word or several joined by «_») → bit mask, every stem of a form)."""
    kinds = tuple(line.partition(":")[0] for line in raw.replace("\n ", " ").strip().splitlines())
    table: dict[tuple[str, ...], int] = {}
    for line in raw.replace("\n ", " ").strip().splitlines():
        kind, _, forms = line.partition(":")
        for w in forms.split():
            k = tuple(stem(t) for part in w.split("_") for t in arabic.tokens(part))
            table[k] = table.get(k, 0) | 1 << kinds.index(kind.strip())
    return kinds, table, frozenset(st for k in table for st in k)


ACT_KINDS, _ACTS, _ACT_FORMS = _lexicon(ACTS_RAW)
MEANS_KINDS, _MEANS, _MEANS_FORMS = _lexicon(MEANS_RAW)
AGENTS, _AGENTS, _AGENT_FORMS = _lexicon(AGENTS_RAW)
_STRIKE_STEMS = frozenset(stem(t) for t in arabic.tokens(STRIKE_WORDS))
_STRIKE_VERB_STEMS = frozenset(stem(t) for t in arabic.tokens(STRIKE_VERBS))
_BETWEEN_STEMS = frozenset(stem(t) for t in arabic.tokens(BETWEEN_WORDS))
_PROXY_STEMS = frozenset(stem(t) for t in arabic.tokens("الموالية المدعومة التابعة المقربة"))
_AGENT_SCAN_FORMS = _AGENT_FORMS | _STRIKE_STEMS  # the stems headline_agents reads a proclitic off for
AGENT_SHIFT = 17  # the acts mark: ACT_KINDS' bits, then AGENTS' from here, then MEANS_KINDS' from MEANS_SHIFT
MEANS_SHIFT = 28
ACT_MASK = (1 << AGENT_SHIFT) - 1
AGENT_MASK = (1 << MEANS_SHIFT) - 1 - ACT_MASK
assert len(ACT_KINDS) <= AGENT_SHIFT and AGENT_SHIFT + len(AGENTS) <= MEANS_SHIFT and MEANS_SHIFT + len(MEANS_KINDS) <= 32
_AFTER = frozenset(arabic.tokens("بعد عقب إثر اثر بعيد رغم برغم"))
_AFTER_PAIRS = (tuple(arabic.tokens("ردا على")), tuple(arabic.tokens("على خلفية")))
_CLAUSE_END = re.compile(r"\.\.|[\u2026،؛|\u2013\u2014]|\s-\s")


# The day a report says its event happened: the weekday its lead names first («صباح اليوم الثلاثاء»,
# «مساء الإثنين 15 من تموز»). A follow-up the next morning names the day of the event («أمس الإثنين»); a
# new strike on the same town names its own. Sunday first; the article's form and one proclitic.
WEEKDAYS = ("الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت")
_WEEKDAY = {t: 1 << i for i, d in enumerate(WEEKDAYS) for w in (d, d.replace("الاثنين", "الإثنين"))
            for t in arabic.tokens(w)}
_WEEKDAY.update({p + t: b for t, b in list(_WEEKDAY.items()) for p in ("و", "ف", "ب", "ل")})


# «قال أردوغان السبت إن …», «أعلن البنتاغون مساء الخميس أن …»: the day someone spoke, not the event's
_SAID = tuple(sorted({t for w in """قال يقول تقول أعلن يعلن تعلن أكد يؤكد ذكر أفاد صرح أوضح أشار كشف نفى نفت
 رفض يرفض ترفض رحب يرحب ترحب أدان يدين تدين ندد يندد تندد طالب يطالب تطالب دعا دعت يدعو تدعو""".split()
                      for t in arabic.tokens(w)}))  # prefixes: «أعلنت», «أعلنها», «قالت», «رفضت»
SAID_WINDOW = 3  # tokens before a weekday where a speech verb makes it the day someone spoke on
_THAT = frozenset(arabic.tokens("أن ان أنه انه أنها انها بأن بان"))


def named_days(tokens: Sequence[str]) -> int:
    """Every weekday the tokens name, a bit mask over ``WEEKDAYS``."""
    mask = 0
    for tok in tokens:
        mask |= _WEEKDAY.get(tok, 0)
    return mask


def lead_days(tokens: Sequence[str]) -> int:
    """The weekday the lead's match-form tokens first name, as its event's: a bit over ``WEEKDAYS`` (0: none
    said). The first: a lead says when its event happened before it recalls the one that set it off («شهدت
    الباب السبت احتجاجات … قُتلا مساء الجمعة»). When that is the day someone spoke or reacted on («قال … السبت
    إن», «أعلن الجيش صباح الأربعاء أنه شن», «رفضت الرئاسة الأحد»), the event's day is not said."""
    for i, tok in enumerate(tokens):
        day = _WEEKDAY.get(tok, 0)
        if not day:
            continue
        if (tokens[i + 1:i + 2] and tokens[i + 1] in _THAT) or any(
                t.startswith(_SAID) or t[1:].startswith(_SAID) and t[0] in "وف"
                for t in tokens[max(0, i - SAID_WINDOW):i]):
            return 0  # the first day named is a speaker's: the event's is not said
        # «ليل الأربعاء الخميس»: the night between two days is both
        return day | (_WEEKDAY.get(tokens[i + 1], 0) if i + 1 < len(tokens) else 0)
    return 0



def headline_acts(title: str | None) -> int:
    """The kinds of act the headline's first clause reports, a bit mask over ``ACT_KINDS`` (0: none it
    names). A later clause («.. ومظاهرات غاضبة في الشمال») adds a reaction or context, not the act; a
    clause that only names an earlier event («بعد هجوم أنقرة.. غارات تركية») is passed over."""
    for clause in _CLAUSE_END.split(title or ""):
        toks = arabic.tokens(clause)
        cut = next((i for i, tok in enumerate(toks) if tok in _AFTER or tuple(toks[i:i + 2]) in _AFTER_PAIRS),
                   len(toks))  # from there on the clause names an earlier event
        if cut:
            mask = 0
            for tok in toks[:cut]:
                mask |= _ACTS.get((_bare_stem(tok, _ACT_FORMS),), 0)
            return mask
    return 0



def _bare_stem(tok: str, known: Collection[str]) -> str:
    """The token's stem, or its stem without a one-letter proclitic the stemmer leaves on a short word
    («بقصف», «بمسيرة», «بلغم») when only that is a known form."""
    st = stem(tok)
    if st not in known and len(tok) > 3 and tok[0] in "بلوف":
        bare = stem(tok[1:])
        if bare in known:
            return bare
    return st


def _first_clause_stems(title: str | None, known: Collection[str]) -> Iterable[list[str]]:
    """The stems of each clause of the headline up to the words that name an earlier event (as in
    :func:`headline_acts`: «بعد»/«رداً على» …), a proclitic read off short words that only so are ``known``."""
    for clause in _CLAUSE_END.split(title or ""):
        toks = arabic.tokens(clause)
        cut = next((i for i, tok in enumerate(toks) if tok in _AFTER or tuple(toks[i:i + 2]) in _AFTER_PAIRS),
                   len(toks))
        yield [_bare_stem(tok, known) for tok in toks[:cut]]


def _lookup(stems: list[str], i: int, table: dict[tuple[str, ...], int]) -> tuple[int, int]:
    """(bit mask, length) of the longest form of ``table`` at ``stems[i]`` ((0, 0): none)."""
    for n in (3, 2, 1):
        bits = table.get(tuple(stems[i:i + n]), 0) if i + n <= len(stems) else 0
        if bits:
            return bits, n
    return 0, 0


def headline_means(title: str | None) -> int:
    """How the headline's first clause that says so reports the blow struck, a bit mask over ``MEANS_KINDS``
    (0: not said): «إسرائيل ترد بقصف مدفعي بعد سقوط قذيفتين» is artillery."""
    for stems in _first_clause_stems(title, _MEANS_FORMS):
        mask = 0
        for i in range(len(stems)):
            mask |= _lookup(stems, i, _MEANS)[0]
        if mask:
            return mask
    return 0


def headline_agents(title: str | None) -> int:
    """Who the headline's first clause that says so gives its violence to, a bit mask over ``AGENTS`` (0: not
    said): the party right after a strike word (past a word or two such as «مدفعي», «إرهابي»), with the ones
    joined to it by «و» or backing it («الموالية لتركيا»), or right before a strike verb. A party after «على»
    or «من» is the target."""
    for stems in _first_clause_stems(title, _AGENT_SCAN_FORMS):
        mask = 0
        for i, st in enumerate(stems):
            if st not in _STRIKE_STEMS:
                continue
            j = i + 1
            while j < len(stems) and j <= i + 2 and stems[j] in _BETWEEN_STEMS:
                j += 1
            bits, n = _lookup(stems, j, _AGENTS)
            while bits:  # «للنظام وروسيا» (the stemmer has taken the «و» off), «للفصائل الموالية لتركيا»: both
                mask |= bits
                j += n
                j += j < len(stems) and stems[j] in _PROXY_STEMS
                j += j < len(stems) and stems[j] == "من"
                bits, n = _lookup(stems, j, _AGENTS)
            if st in _STRIKE_VERB_STEMS:  # «إسرائيل تقصف», «الجيش السوري يقصف»: a party ending right before the verb
                for k in (i - 1, i - 2):
                    bits, n = _lookup(stems, k, _AGENTS) if k >= 0 else (0, 0)
                    if bits and k + n == i:
                        mask |= bits
        if mask:
            return mask
    return 0


def _is_year(tok: str) -> bool:
    return len(tok) == 4 and tok[:2] in ("19", "20")


def _word_keys(tokens: Sequence[str]) -> Iterable[str]:
    n = len(tokens)
    for i, tok in enumerate(tokens):
        if tok.isdigit():
            if 2 <= len(tok) <= 7 and not _is_year(tok) and not (i + 1 < n and tokens[i + 1] in MONTHS):
                yield "#" + tok.lstrip("0")
            continue
        if len(tok) < 3 or not tok.isalpha() or tok in STOP_TOKENS:
            continue
        s = stem(tok)
        if len(s) >= 3 and s not in STOP:
            yield s


def _entity_key(prefix: str, name: str) -> str:
    return prefix + "_".join(arabic.tokens(name))


def event_features(title: str | None, match_text: str, places: Sequence = (), organizations: Sequence = (),
                   people: Sequence = (), *, max_keys: int | None = None, incident: Sequence = (),
                   near: Sequence = ()) -> dict[str, int]:
    """The article's event keys → integer weight (title and lead count more; entities a fixed weight).

    ``match_text`` is the match form of title + body (``Cleaned.match_text``); ``places`` items may be
    dicts with ``name`` (the Article's form) or names. ``incident``: the places (with ``location``)
    where the headline says the event happened, added as ``INCIDENT_PREFIX`` points beside the keys;
    ``near``: the places it says it happened near, as ``NEAR_PREFIX`` points."""
    body = match_text.split()
    weights: Counter = Counter()
    # a one-word name («كفرنبل») is keyed once, as the entity: counted twice it would make the same town
    # on another day look like the same event
    named = set()
    for names in (places, organizations, people):
        for n in names or ():
            name = n.get("name") if isinstance(n, dict) else getattr(n, "name", n)
            if name:
                named.update(_word_keys(arabic.tokens(str(name))))

    def words(tokens: Sequence[str]) -> list[str]:
        # a name's own words («تحرير» of هيئة تحرير الشام) are left out before they could become a concept
        return [CONCEPTS.get(k, k) for k in _word_keys(tokens) if k not in named]

    body_stems = list(_word_keys(body))
    tf: Counter = Counter(CONCEPTS.get(k, k) for k in body_stems if k not in named)
    for k, n in tf.items():
        weights[k] = min(n, TF_CAP)
    for k in set(words(body[:LEAD_TOKENS])):
        weights[k] += W_LEAD
    title_toks = arabic.tokens(title or "")
    title_stems = set(_word_keys(title_toks))
    in_title = set(words(title_toks))
    for k in in_title:
        weights[k] += W_TITLE
    title_text = " " + " ".join(title_toks) + " "
    for prefix, names in zip(ENTITY_PREFIX, (places, organizations, people)):
        for n in names or ():
            name = n.get("name") if isinstance(n, dict) else getattr(n, "name", n)
            if name:
                key = _entity_key(prefix, str(name))
                if len(key) > 2:
                    weights[key] = W_ENTITY
                    if f" {key[2:].replace('_', ' ')} " in title_text or (
                            set(_word_keys(arabic.tokens(str(name)))) & title_stems):
                        in_title.add(key)
    # the most telling keys: weight × rarity in the background corpus (a common word fills no slot)
    bg_n, bg = background()
    rank = {k: w * math.log1p((bg_n + 1) / (bg.get(key_hash(k), 0) + 1)) for k, w in weights.items()}
    top = sorted(weights.items(), key=lambda kv: (-rank[kv[0]], kv[0]))[:max_keys or MAX_KEYS]
    out = {k: min(w, MAX_WEIGHT) | (TITLE_FLAG if k in in_title else 0) for k, w in top}
    for k in [k for k in out if k.startswith(ENTITY_PREFIX[2]) and k in in_title]:
        out[HEADLINE_PERSON_PREFIX + k] = 1
    in_headline = {PARTIES[k] for k in title_stems if k in PARTIES}
    for c in in_headline:
        out[HEADLINE_COUNTRY_PREFIX + c] = 1
    for c in {PARTIES[k] for k in body_stems if k in PARTIES} - in_headline:  # (the match text holds the title)
        out[MENTIONED_COUNTRY_PREFIX + c] = 1
    acts = headline_acts(title) | headline_agents(title) << AGENT_SHIFT | headline_means(title) << MEANS_SHIFT
    if acts:
        out[f"{ACTS_PREFIX}{acts}"] = 1
    days = lead_days(body[:LEAD_TOKENS])
    if days:  # the event's day, and every weekday the lead names above it (DAY_BITS)
        out[f"{DAYS_PREFIX}{days | named_days(body[:LEAD_TOKENS]) << DAY_BITS}"] = 1
    for prefix, places_ in ((INCIDENT_PREFIX, incident), (NEAR_PREFIX, near)):
        for p in places_ or ():
            loc = p.get("location") if isinstance(p, dict) else getattr(p, "location", None)
            if loc and loc.get("lat") is not None and loc.get("lon") is not None:
                out[f"{prefix}{float(loc['lat']):.4f},{float(loc['lon']):.4f}"] = 1
    return out


def article_features(art: dict, match_text: str | None = None, max_keys: int | None = None,
                     incident: Sequence = (), near: Sequence = ()) -> dict[str, int]:
    """:func:`event_features` of an Article dict (``match_text`` recomputed when not given)."""
    title = art.get("title") or ""
    if match_text is None:
        match_text = arabic.normalize(f"{title}\n{art.get('body') or ''}")
    feats = event_features(title, match_text, art.get("places") or (), art.get("organizations") or (),
                           art.get("people") or (), max_keys=max_keys, incident=incident, near=near)
    outlet = outlet_of(art)
    if feats and outlet:
        feats[OUTLET_PREFIX + outlet] = 1
    return feats


def outlet_of(art: dict) -> str:
    """Who published the article: its source id, else its URL's site (saved pages carry no source id); "" when
    neither is known."""
    return str(art["source"]) if art.get("source") else site_of(str(art.get("url") or ""))


def encoded_article_features(art: dict, match_text: str | None = None, incident: Sequence = (),
                             near: Sequence = ()) -> str | None:
    """What the dedupe envelope carries (``"event"``): the encoded features, None without keys."""
    feats = article_features(art, match_text, incident=incident, near=near)
    return encode_features(feats) if feats else None


def key_hash(key: str) -> int:
    return zlib.crc32(key.encode("utf-8"))


def pack_point(lat: float, lon: float) -> int:
    """A point in 32 bits (16 each: ~300 m of latitude, ~600 m of longitude: plenty for «15 km apart»)."""
    a = min(65535, max(0, round((lat + 90.0) / 180.0 * 65535)))
    b = min(65535, max(0, round((lon + 180.0) / 360.0 * 65535)))
    return (a << 16) | b


def unpack_point(h: int) -> tuple[float, float]:
    return (h >> 16) / 65535 * 180.0 - 90.0, (h & 0xFFFF) / 65535 * 360.0 - 180.0


def _encoded(k: str, w: int) -> tuple[int, int]:
    if k.startswith(INCIDENT_PREFIX):
        near = k.startswith(NEAR_PREFIX)
        lat, _, lon = k[len(NEAR_PREFIX) if near else len(INCIDENT_PREFIX):].partition(",")
        return pack_point(float(lat), float(lon)), NEAR_MARK if near else POINT_MARK
    if k.startswith(ACTS_PREFIX):
        return int(k[len(ACTS_PREFIX):]), KIND_MARK
    if k.startswith(DAYS_PREFIX):
        return int(k[len(DAYS_PREFIX):]), DAY_MARK
    if k.startswith(OUTLET_PREFIX):
        return key_hash(k[len(OUTLET_PREFIX):]), OUTLET_MARK
    if k.startswith(HEADLINE_COUNTRY_PREFIX):
        return key_hash(k[len(HEADLINE_COUNTRY_PREFIX):]), COUNTRY_MARK
    if k.startswith(MENTIONED_COUNTRY_PREFIX):
        return key_hash(k[len(MENTIONED_COUNTRY_PREFIX):]), MENTION_MARK
    if k.startswith(HEADLINE_PERSON_PREFIX):
        return key_hash(k[1:]), PERSON_MARK
    return key_hash(k), (min(MAX_WEIGHT, max(1, int(w) & MAX_WEIGHT)) | (int(w) & TITLE_FLAG)
                         | (NUMBER_FLAG if k.startswith("#") else 0) | (ENTITY_FLAG if k[:2] in ENTITY_PREFIX else 0))


def encode_features(feats: dict[str, int]) -> str:
    """``"<b64 uint32 key hashes>.<b64 uint8 weights>"``, keys in hash order (compact, stable)."""
    pairs = sorted(_encoded(k, w) for k, w in feats.items())
    keys = np.array([p[0] for p in pairs], dtype="<u4").tobytes()
    ws = bytes(p[1] for p in pairs)
    return base64.b64encode(keys).decode("ascii") + "." + base64.b64encode(ws).decode("ascii")


def decode_features(text: str) -> tuple[bytes, bytes]:
    """(little-endian uint32 key hashes, uint8 weights) of :func:`encode_features`."""
    k, _, w = text.partition(".")
    keys, ws = base64.b64decode(k), base64.b64decode(w)
    if len(keys) != 4 * len(ws):
        raise ValueError("bad features")
    return keys, ws


BACKGROUND_FILE = Path(__file__).with_name("story_background.txt")  # (benchmarks/stories_bench.py --write-background)


@lru_cache(maxsize=1)
def background() -> tuple[int, dict[int, int]]:
    """(articles, key hash → document frequency) of a background corpus of Syria news.

    It decides which keys an article keeps (:func:`event_features`: weight × background rarity, so
    «سوريا»-like words never crowd out the names and facts), computed in the pool without any state.
    Adding it to the live counts at scoring time (``EventIndex(use_background=True)``) was measured on
    the tune split and lowered the rewrites' scores more than the others' (rewrites share common event
    words), so scoring uses the live window's counts only."""
    try:
        lines = BACKGROUND_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0, {}
    n = 0
    df: dict[int, int] = {}
    for line in lines:
        if line.startswith("#"):
            head = line[1:].split()
            n = int(head[0]) if head and head[0].isdigit() else n
            continue
        key, _, count = line.partition("\t")
        if key and count.isdigit():
            df[key_hash(key)] = int(count)
    return n, df
