"""The article as the claims stage reads it: tokens with the punctuation between them, quotes,
sentences, gazetteer mentions, and word-class tests over config/claims.yaml (verb forms, heads,
grammar words). pipeline/stages/claim_speakers.py builds the speaker phrases on top of it."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import replace
from typing import Any

from pipeline.stages.claim_rules import PRONOUN_SUFFIXES, ClaimRules, VerbForm
from pipeline.stages.gazetteer import Gazetteer, Mention
from pipeline.stages.terms import Doc

QUOTES_OPEN, QUOTES_CLOSE = "«“„", "»”"
BREAK_CHARS = set("،,;؛:()[]–—")
_SENT_END = re.compile(r"[.!?؟]+[\"»”’')\]]*(?=\s|$)")
_LEADING_LETTER = re.compile(r"^\w[\u064b-\u065f\u0670]*")
_QUOTE_CHARS = re.compile(r"[«»“”„\"()]")
_STOP_LISTS = frozenset({"stopwords", "complementizers", "time_words", "negation", "connectors", "pronoun_connectors"})
_HEAD_LISTS = frozenset({"titles", "anonymous", "bodies", "parts", "media", "ranks", "documents", "correspondents",
                         "adjuncts", "place_nouns"})
_SUFFIX_ENDS = ("ه", "ها", "هم", "هما")
_NONE: frozenset[str] = frozenset()
# article words inside a name («عماد الدين مجاهد», «عبد الله»)
_NAME_ARTICLE_WORDS = frozenset({"الدين", "الله", "الرحمن", "الرحيم", "العزيز", "الحق", "الكريم", "النور"})

class TextView:
    """One article's tokens, punctuation, quotes, sentences and word classes."""

    def __init__(self, doc: Doc, rules: ClaimRules, gazetteer: Gazetteer | None) -> None:
        self.doc, self.r = doc, rules
        self.toks, self.cands, self.spans, self.text = doc.toks, doc.cands, doc.spans, doc.text
        n = self.n = len(doc.toks)
        self.gap: list[str] = []
        prev = 0
        for s, e in self.spans:
            self.gap.append(self.text[prev:s])
            prev = e
        self.inq = [False] * n
        self.quote_carried = [False] * n  # a paragraph that goes on with the last one's open quote
        depth, ascii_q = 0, False
        for i in range(n):
            g = self.gap[i]
            if g == " ":
                self.inq[i] = depth > 0 or ascii_q
                continue
            for ch in g:
                if ch == "\n":
                    if depth or ascii_q:
                        self.quote_carried[i] = True
                    depth, ascii_q = 0, False
                elif ch in QUOTES_OPEN:
                    depth += 1
                elif ch in QUOTES_CLOSE:
                    depth = max(0, depth - 1)
                elif ch == '"':
                    ascii_q = not ascii_q
            self.inq[i] = depth > 0 or ascii_q
        self.ment: dict[int, Mention] = {}
        self.place_at: dict[int, Mention] = {}
        if gazetteer is not None:
            for m in gazetteer.mentions(doc):
                (self.place_at if m.entry.kind == "place" else self.ment)[m.start] = m
        self._memo: dict[tuple[str, int], tuple[Any, int] | None] = {}
        # the word lists each token may start (one dict lookup per reading, memoised per word form)
        cache = rules.class_cache
        classes = self._classes = []
        for i, t in enumerate(self.toks):
            got = cache.get(t)
            if got is None:
                if len(cache) > 200_000:
                    cache.clear()
                got = cache[t] = self._word_classes(i)
            classes.append(got)
        self._sentences()

    # ------------------------------------------------------------------ text structure

    def _sentences(self) -> None:
        """Sentence token ranges: the title is one; body paragraphs split after . ! ? ؟"""
        text, n_title = self.text, self.doc.n_title
        self.sents: list[tuple[int, int, int, int]] = []  # (first token, end token, char start, char end)
        if n_title:
            cut = text.find("\n")
            self.sents.append((0, n_title, 0, cut if cut >= 0 else len(text)))
        bounds: list[tuple[int, int]] = []
        pos = 0
        for line in text.split("\n"):
            start, end = pos, pos + len(line)
            pos = end + 1
            cut = start
            for m in _SENT_END.finditer(line):
                bounds.append((cut, start + m.end()))
                cut = start + m.end()
            if line[cut - start:].strip():
                bounds.append((cut, end))
        starts = [b[0] for b in bounds]
        cur, a = -1, n_title
        for i in range(n_title, self.n):
            k = bisect_right(starts, self.spans[i][0]) - 1
            if k != cur:
                if i > a:
                    self._close(a, i, bounds[cur])
                cur, a = k, i
        if self.n > a and cur >= 0:
            self._close(a, self.n, bounds[cur])

    def _close(self, a: int, b: int, bound: tuple[int, int]) -> None:
        cs, ce = bound
        raw = self.text[cs:ce]
        lead = len(raw) - len(raw.lstrip())
        self.sents.append((a, b, cs + lead, cs + len(raw.rstrip())))

    def breaks(self, i: int) -> bool:
        """Punctuation between token i-1 and token i ends a phrase (comma, colon, brackets, a new line)."""
        g = self.gap[i]
        return "\n" in g or any(ch in BREAK_CHARS for ch in g)

    def paren_open(self, i: int) -> bool:
        return "(" in self.gap[i]

    def is_(self, sec: str, i: int, end: int | None = None) -> int:
        """Length of the phrase of word list ``sec`` at token i (0 if none)."""
        if i >= self.n or sec not in self._classes[i]:
            return 0
        got = self._lex(sec, i)
        if got is None:
            return 0
        return got[1] if end is None or i + got[1] <= end else 0

    def _word_classes(self, i: int) -> frozenset[str]:
        idx = self.r.first_index
        names = set(self.r.always)
        for c in self.cands[i]:
            got = idx.get(c)
            if got:
                names.update(got)
        t = self.toks[i]
        if t.endswith("ا") and len(t) > 3:  # «مسؤولاً»
            names.update(idx.get(t[:-1], ()))
        return frozenset(names) if names else _NONE

    def _may(self, i: int) -> frozenset[str]:
        """The word lists token i may start a phrase of."""
        return self._classes[i]

    def _lex(self, sec: str, i: int) -> tuple[Any, int] | None:
        if i >= self.n or sec not in self._may(i):
            return None
        key = (sec, i)
        if key in self._memo:
            return self._memo[key]
        lex = {"bodies": self.r.bodies, "states": self.r.states, "outlets": self.r.outlets}.get(sec)
        got = (lex or self.r.words[sec]).at(self.cands, i)
        t = self.toks[i]
        if got is None and sec in ("anonymous", "titles", "bodies", "quantifiers") and t.endswith("ا") and len(t) > 3:
            got = (lex or self.r.words[sec]).at([(t[:-1],)] + list(self.cands[i + 1:i + 4]), 0)  # «مسؤولاً»
        if got is not None and sec == "complementizers" and self.toks[i].startswith("ب") and not self.hamza_in(i):
            got = None  # «بان كي مون» is not «بأن»
        self._memo[key] = got
        return got

    def lex(self, sec: str, i: int, end: int | None = None) -> tuple[Any, int] | None:
        got = self._lex(sec, i)
        return got if got and (end is None or i + got[1] <= end) else None

    def hamza_in(self, i: int) -> bool:
        s, e = self.spans[i]
        return any(ch in "أإآ" for ch in self.text[s:e])

    def definite(self, i: int) -> bool:
        t = self.toks[i]
        if "ال" in t[:4]:  # «ألكسندر», «إلياس»: a hamza on the alef means no article
            s, e = self.spans[i]
            w = self.text[s:e]
            if w[:1] in "أإآ" or (w[1:2] in "أإآ" and w[:1] in "وفلب"):
                return False
        if t.startswith(("ال", "لل")):
            return True
        if t[:1] in "وفبلك" and t[1:].startswith(("ال", "لل")):
            return True
        return t[:2] in ("وب", "فب", "ول", "فل", "وك") and t[2:].startswith("ال")

    def bare(self, i: int) -> str:
        t = self.toks[i]
        k = t.find("ال") if self.definite(i) else -1
        if 0 <= k <= 2:
            return t[k + 2:]
        if t.startswith("لل") and self.definite(i):
            return t[2:]
        return t

    def nisba(self, i: int) -> bool:
        b = self.bare(i)
        return len(b) >= 4 and b.endswith(("ي", "يه", "يون", "يين", "يات"))

    def adjective(self, i: int) -> bool:
        return self.nisba(i) or bool(self.is_("adjectives", i))

    def stop(self, i: int) -> bool:
        if i >= self.n:
            return True
        if self.toks[i].isdigit():
            return True
        may = self._may(i)
        return (not may.isdisjoint(_STOP_LISTS) and any(self.is_(sec, i) for sec in _STOP_LISTS & may)) \
            or self.verb_at(i) is not None

    def head_word(self, i: int) -> bool:
        may = self._may(i)
        return not may.isdisjoint(_HEAD_LISTS) and any(self.is_(sec, i) for sec in _HEAD_LISTS & may)

    def namey(self, i: int) -> bool:
        t = self.toks[i]
        if t[:1] == "ب" and (t.endswith(("ه", "ات")) or t[1:2] in ("م", "ت", "ا")) and len(t) > 4:
            return False  # «بمحاسبة», «بالتحضير»: a preposition and a noun, not a name
        return (not self.stop(i) and not self.head_word(i) and not t.isdigit() and len(t) >= 2
                and i not in self.ment and i not in self.place_at and not self.is_("states", i))

    def verb_at(self, i: int, end: int | None = None) -> tuple[VerbForm, int, bool] | None:
        """The verb form at token i (phrases first), its length in tokens, and whether a و/ف is attached."""
        if i >= self.n or "verbs" not in self._classes[i]:
            return None
        key = ("verb", i)
        if key in self._memo:
            got = self._memo[key]
        else:
            got = self._verb(i)
            self._memo[key] = got
        return got if got and (end is None or i + got[1] <= end) else None

    def _verb(self, i: int) -> tuple[VerbForm, int, bool] | None:
        t = self.toks[i]
        first = [(t, False)] + ([(t[1:], True)] if t[:1] in "وف" and len(t) >= 3 else [])
        for c, cl in first:
            for vf in self.r.verb_phrases.get(c, ()):
                k = len(vf.tokens)
                if i + k <= self.n and all(self.toks[i + j] == vf.tokens[j] for j in range(1, k)):
                    return vf, k, cl
        for c, cl in first:
            vf = self.r.verbs.get(c)
            if vf is not None:
                return vf, 1, cl
        for c, cl in first:  # the dual of a past form («اتهمتا», «أكدا»)
            vf = self.r.verbs.get(c[:-1]) if c.endswith("ا") and len(c) > 3 else None
            if vf is not None and not vf.participle and not vf.plural:
                return replace(vf, plural=True), 1, cl
        if not t.endswith(_SUFFIX_ENDS):
            return None
        for c, cl in first:
            for suf in PRONOUN_SUFFIXES:
                if c.endswith(suf) and len(c) - len(suf) >= 2:
                    vf = self.r.verbs.get(c[: -len(suf)])
                    if vf is not None and vf.suffixable:
                        return vf, 1, cl
        return None

    def display(self, a: int, b: int, strip_first: bool = False) -> str:
        """The text of tokens a..b-1 as written, without quotes and brackets."""
        if a >= b:
            return ""
        s = self.text[self.spans[a][0]:self.spans[b - 1][1]]
        if strip_first:
            t = self.toks[a]
            if t.startswith("لل"):
                s = "ال" + _LEADING_LETTER.sub("", _LEADING_LETTER.sub("", s, 1), 1)
            else:
                s = _LEADING_LETTER.sub("", s, 1)
        return " ".join(_QUOTE_CHARS.sub(" ", s).split())

    def clitic(self, i: int, sec: str) -> bool:
        """Token i carries a proclitic in front of the word of ``sec`` («والمعارضة», «للدول»)."""
        t = self.toks[i]
        if t[:1] not in "وفلب" or len(t) < 4:
            return False
        if t.startswith("لل") or (t[1:].startswith("ال")):
            return True
        lex = {"bodies": self.r.bodies, "states": self.r.states}.get(sec) or self.r.words[sec]
        return lex.at([(t,)], 0) is None and lex.at([(t[1:],)], 0) is not None

    # ------------------------------------------------------------------ gender

    def gender(self, word: str) -> tuple[bool | None, bool]:
        """(feminine, plural) of a head word in bare match form."""
        fem_words = self.r.words["feminine"]
        if fem_words.at([(word, "ال" + word)], 0):
            return True, word in ("مصادر", "وسائل", "فصائل", "دول", "جهات", "اوساط", "امم")
        if word.endswith("ات"):
            return True, True
        if word.endswith(("ون", "ين")) or word in ("وجهاء", "اهالي", "سكان", "شهود", "اطباء", "خبراء", "عمال"):
            return False, True
        if word.endswith("ه"):
            return True, False
        return False, False

    # ------------------------------------------------------------------ phrases

    def _name_run(self, j: int, end: int) -> int:
        """End of a name starting at j (1–4 words up to punctuation or a function word), else 0."""
        k = j
        while k < end and k - j < 5:
            if k > j and (self.breaks(k) or self.stop(k) or self.is_("adjuncts", k)):
                break
            if k > j and self.toks[k][:1] == "ل" and (self.lex("outlets", k) or self.is_("media", k)):
                break
            if k > j and self.toks[k][:1] == "و" and (not self.namey(k) or self.definite(k)):
                break  # «جون كيري ونظيره…»: a coordinated phrase follows
            if not self.namey(k) and not (k > j and self.definite(k)):
                return 0
            if k > j and self.definite(k) and not (k == j + 1 or self.toks[k] in _NAME_ARTICLE_WORDS
                                                   or self.toks[k - 1] in _NAME_ARTICLE_WORDS
                                                   or self.toks[k - 1] in ("عبد", "ابو", "ابن", "بن")
                                                   or (self.nisba(k) and k - j <= 3)):
                break  # «ديفيد لامي الفيتو»: the object, not a family name («محمد غازي الجلالي» is one)
            k += 1
            if k - 1 > j and self.definite(k - 1) and self.toks[k - 1] not in _NAME_ARTICLE_WORDS:
                break  # «محمد الجلالي»: the family name ends it
        return k if 0 < k - j <= 4 else 0

    def extent(self, i: int, end: int, *, conj: bool = False, pp: bool = False,
               named: bool = False) -> tuple[int, int]:
        """(end of the phrase, end of the part kept in its name) of a noun phrase at token i (``named``:
        token i ends a complete name, no genitive follows)."""
        end = min(end, self.n)
        if i >= end:
            return i, i
        k = i + 1
        m = self.ment.get(i)
        if m is not None and m.end <= end:
            k = m.end
        proper = named or self.definite(k - 1) or m is not None or i in self.place_at or bool(self.is_("states", i))
        keep = k
        adj = False
        while k < end and not self.breaks(k):
            t = self.toks[k]
            if self.is_("affiliation", k) and k + 1 < end:
                k = self.extent(k + 1, end)[0]
                continue
            if pp and t == "في" and k + 1 < end and not (self.is_("adjuncts", k + 1) or self.is_("time_words", k + 1)):
                obj_end = self.extent(k + 1, end)[0]
                place = (k + 1) in self.place_at or self.is_("place_nouns", k + 1) or self.is_("states", k + 1)
                k = obj_end
                if not place:
                    keep = k
                continue
            if self.stop(k):
                break
            if not proper and not adj:
                m = self.ment.get(k)
                k = m.end if m is not None and m.end <= end else k + 1
                proper = self.definite(k - 1) or m is not None
                keep = k
                continue
            if self.adjective(k) and (self.definite(k) == proper or not proper) and self._number_ok(k - 1, k):
                k += 1
                keep, adj = k, True
                continue
            if t == "ل" and k + 1 < end and not self.lex("outlets", k + 1) and not self.is_("media", k + 1):
                m = self.ment.get(k + 1)
                k = m.end if m is not None and m.end <= end else k + 2
                proper, keep = True, k
                continue
            if t[:1] == "ل" and len(t) > 2 and not self.lex("outlets", k) and not self.is_("media", k) \
                    and (self.definite(k) or not self.head_word(k)):
                m = self.ment.get(k)
                proper = self.definite(k) or m is not None
                k = m.end if m is not None and m.end <= end else k + 1
                keep = k
                continue
            if conj and t[:1] == "و" and self.definite(k) and not self.head_word(k) and k not in self.ment:
                k += 1
                keep = k
                continue
            if t[:1] == "و" and not self.definite(k) and k + 1 < end and self.definite(k + 1) and proper \
                    and not adj and not self.head_word(k) and not self.stop(k) and k not in self.ment \
                    and not self.is_("states", k):
                k += 2  # «فريق التحقيق وتحديد الهوية»
                keep = k
                continue
            break
        return k, keep

    def _number_ok(self, noun: int, adj: int) -> bool:
        """A plural adjective («المدنيين») does not qualify a singular noun («وزارة الداخلية»)."""
        b = self.bare(adj)
        if not b.endswith(("يين", "يون")):  # a plural nisba
            return True
        return self.gender(self.bare(noun))[1] or self.bare(noun).endswith(("ين", "ون"))
