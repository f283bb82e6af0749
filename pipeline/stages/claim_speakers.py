"""Speakers of claims: the noun phrases that say who speaks (pipeline/stages/claim_clauses.py uses
them), over the article as pipeline/stages/claim_text.py reads it.

A speaker is, in this order: a gazetteer person or organisation (canonical name); a title with
the name that follows it («وزير الصحة التركي رجب أكداغ», «المتحدث باسم الوزارة، اللواء إيغور
كوناشينكوف») or, without a name, the person the article names with that title elsewhere; a part
of an organisation that speaks as it («المركز الإعلامي لقسد»); an outlet («وكالة "أعماق"» →
أعماق); an unnamed source as written without its place («مصدر عسكري في قسد», «ناشطون في إدلب» →
ناشطون); a state or capital by metonymy; a named body as written («وزارة الخارجية والمغتربين»);
a surname or a definite head that refers back («تسيغانكوف», «الوزارة», «المصدر»)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from pipeline.core.arabic import fold, repair

from pipeline.stages.claim_rules import ClaimRules, Named
from pipeline.stages.claim_text import TextView
from pipeline.stages.gazetteer import Gazetteer, GEntry
from pipeline.stages.terms import Doc

@lru_cache(maxsize=4096)
def _first_bare(name: str) -> str:
    """The first word of a name in match form, without its article («الدفاع المدني السوري» → دفاع)."""
    w = fold(repair(name)).split()[0] if name.split() else ""
    return w[2:] if w.startswith("ال") and len(w) > 4 else w




@dataclass
class Speaker:
    name: str
    type: str
    kind: str  # gaz | person | title | anon | body | media | state | reporter
    start: int
    end: int  # the token after the noun phrase
    fem: bool | None = None
    plural: bool = False
    head: str = ""
    words: frozenset[str] = frozenset()
    outlet: Named | None = None

    def at(self, start: int, end: int) -> "Speaker":
        return replace(self, start=start, end=end)


class Reader(TextView):
    """One article's speaker noun phrases, with the references back («الوزارة», «المصدر», a surname)."""

    def __init__(self, doc: Doc, rules: ClaimRules, gazetteer: Gazetteer | None) -> None:
        super().__init__(doc, rules, gazetteer)
        self.roles: list[tuple[int, frozenset[str], Speaker]] = []
        self.heads: dict[str, list[tuple[int, Speaker]]] = {}
        self.anons: dict[str, list[tuple[int, Speaker]]] = {}
        self.people: list[tuple[int, tuple[str, ...], Speaker]] = []
        self._prepare()

    # ------------------------------------------------------------------ coreference registries

    def _prepare(self) -> None:
        for start, m in sorted(self.ment.items()):
            if m.entry.kind != "organization":
                continue
            sp = self._gaz(m.entry, start, m.end)
            self._register(self.heads, self._first_bare(m.entry.name), start, sp)
            name_words = m.entry.name.split()
            if len(name_words) > 1 and self._first_bare(m.entry.name) == "وزاره":  # «الخارجية» = the ministry
                self._register(self.heads, self._first_bare(name_words[1]), start, sp)
            for c in self.cands[start]:
                self._register(self.heads, c, start, sp)
            j = start - 1
            if j >= 0 and (self.is_("bodies", j) or self.is_("parts", j) or self.is_("media", j)):
                for c in self.cands[j]:
                    self._register(self.heads, c, j, sp)
        for i in range(self.n):
            if self.is_("parts", i) and i not in self.ment:
                sp = self.part_np(i, self._sent_end(i), coref=False)
                if sp is not None and sp.kind == "gaz":
                    for c in self.cands[i]:
                        self._register(self.heads, c, i, sp)
            if self.is_("titles", i) and i not in self.ment:
                sp = self.title_np(i, self._sent_end(i), coref=False)
                if sp is not None and sp.kind == "person":
                    self.roles.append((i, sp.words, sp))
            m = self.ment.get(i)
            if m is not None and m.entry.kind == "person":
                self.people.append((i, tuple(m.entry.name.split()), self._gaz(m.entry, i, m.end)))

    def _sent_end(self, i: int) -> int:
        for a, b, _, _ in self.sents:
            if a <= i < b:
                return b
        return self.n

    @staticmethod
    def _register(reg: dict[str, list[tuple[int, Speaker]]], key: str, pos: int, sp: Speaker) -> None:
        if key:
            reg.setdefault(key, []).append((pos, sp))

    @staticmethod
    def _nearest(items: list[tuple[int, Speaker]], pos: int) -> Speaker | None:
        before = [sp for p, sp in items if p < pos]
        if before:
            return before[-1]
        after = [sp for p, sp in items if p > pos]
        return after[0] if after else None

    @staticmethod
    def _first_bare(name: str) -> str:
        return _first_bare(name)

    def remember(self, sp: Speaker, pos: int) -> None:
        """A speaker found in the text: later references to it resolve here."""
        if sp.kind == "anon" and sp.head:
            self._register(self.anons, sp.head, pos, sp)
        elif sp.kind in ("body", "gaz", "media") and sp.head:
            self._register(self.heads, sp.head, pos, sp)
        elif sp.kind == "person":
            self.people.append((pos, tuple(sp.name.split()), sp))

    # ------------------------------------------------------------------ speakers

    def _gaz(self, e: GEntry, start: int, end: int) -> Speaker:
        if e.kind == "person":
            return Speaker(e.name, "person", "gaz", start, end)
        fem, plural = self.gender(self._first_bare(e.name))
        return Speaker(e.name, self.r.org_type(e.name), "gaz", start, end, fem, plural, self._first_bare(e.name))

    def speaker_at(self, i: int, end: int) -> Speaker | None:
        """The speaker noun phrase starting at token i (None when none starts there)."""
        if i < end and self.toks[i] == "ل":
            i += 1
        start = j = i
        while j < end and self.is_("ranks", j) and j + 1 < end and not self.breaks(j + 1):
            j += 1  # «السيد الرئيس أحمد الشرع», «الشيخ حكمت الهجري»; «الفريق» alone is a team
        if j > i and j < end and ((j in self.ment and self.ment[j].entry.kind == "person") or self.is_("titles", j)
                                  or (self.namey(j) and not self.definite(j))):
            i = j
        if i >= end:
            return None
        if i > start:
            sp = self.speaker_at(i, end)
            if sp is None and not self.definite(i) and self.namey(i):  # «الشيخ حكمت الهجري»
                run = self._name_run(i, end)
                if run:
                    return self._named(self.display(i, run), start, run, [])
            return sp.at(start, sp.end) if sp is not None else None
        if self.is_("correspondents", i, end):
            k = i + self.is_("correspondents", i)
            o = self.lex("outlets", k, end)
            return Speaker("", "media", "reporter", i, k + (o[1] if o else 0), outlet=o[0] if o else None)
        if self.is_("documents", i, end):
            k = i + self.is_("documents", i)
            while k < end and self.adjective(k) and not self.breaks(k):
                k += 1
            if k < end and self.is_("authored", k):  # «بيان أصدرته الوزارة»
                k += self.is_("authored", k)
            elif not (k < end and self.toks[k][:1] == "ل" and not self.breaks(k)):
                return Speaker("", "other", "document", i, k)  # «وأوضح البيان أن…»: its author spoke before
            sp = self.speaker_at(k, end)
            return sp.at(i, sp.end) if sp is not None and sp.kind != "reporter" else None
        m = self.ment.get(i)
        if m is not None and m.end <= end:
            sp = self._gaz(m.entry, i, m.end)
            return sp.at(i, self._skip_paren(m.end, end))
        if self.is_("titles", i, end):
            sp = self.title_np(i, end)
            if sp is not None:
                return sp
        if self.is_("parts", i, end) or self.is_("spokesperson", i, end):
            sp = self.part_np(i, end)
            if sp is not None:
                return sp
        if self.is_("media", i, end):
            sp = self.media_np(i, end)
            if sp is not None:
                return sp
        if self.is_("anonymous", i, end):
            return self.anon_np(i, end)
        st = self.lex("states", i, end)
        if st is not None:
            fem, _ = self.gender(self.bare(i))
            return Speaker(st[0].name, "government", "state", i, i + st[1], fem, False, self.bare(i))
        if self.is_("bodies", i, end):
            return self.body_np(i, end)
        sp = self.known_person(i, end)
        if sp is None and not self.definite(i) and self.namey(i):  # «مارتن غريفيثس، وكيل الأمين العام،»
            run = self._name_run(i, end)
            if run and run < end and ("،" in self.gap[run] or "," in self.gap[run]) and self.is_("titles", run):
                return self._named(self.display(i, run), i, run, [self.bare(run)])
        return sp

    def coordinated(self, sp: Speaker, end: int) -> list[Speaker]:
        """Speakers joined to ``sp`` by «و» («دعت فرنسا وبريطانيا», «الولايات المتحدة وفرنسا»)."""
        out: list[Speaker] = []
        k = sp.end
        while k < end and self.toks[k][:1] == "و" and not self.breaks(k) and len(out) < 4:
            if self.verb_at(k) is not None:
                break
            nxt = self.speaker_at(k, end)
            if nxt is None or nxt.kind not in ("gaz", "state", "person") or nxt.kind != sp.kind and \
                    {nxt.kind, sp.kind} != {"gaz", "state"}:
                break
            out.append(nxt)
            k = nxt.end
        return out

    def _skip_paren(self, k: int, end: int) -> int:
        """Past a parenthesis right after a name («الدفاع المدني السوري (الخوذ البيضاء)»)."""
        if k < end and self.paren_open(k):
            j = k
            while j < end and ")" not in self.gap[j] and j - k < 6:
                j += 1
            return j if j < end and ")" in self.gap[j] else k
        return k

    def known_person(self, i: int, end: int) -> Speaker | None:
        """A surname or full name of a person the article names elsewhere («وأضاف تسيغانكوف»)."""
        best: tuple[int, int, Speaker] | None = None
        for pos, words, sp in self.people:
            for k in range(len(words), 0, -1):
                suffix = words[-k:]
                if i + k > end:
                    continue
                if all(self._same(i + j, suffix[j]) for j in range(k)):
                    score = (k, -abs(pos - i))
                    if best is None or score > best[:2]:
                        best = (k, -abs(pos - i), sp)
                    break
        if best is None:
            return None
        return best[2].at(i, i + best[0])

    def _same(self, i: int, word: str) -> bool:
        from pipeline.core.arabic import fold, repair

        w = fold(repair(word))
        return self.toks[i] == w or (self.definite(i) and self.bare(i) == w.removeprefix("ال"))

    # ------------------------------------------------------------------ titles and names

    def title_np(self, i: int, end: int, coref: bool = True) -> Speaker | None:
        """A title and the name that follows it, else the person named with this title elsewhere."""
        k = i + self.is_("titles", i)
        words = [self.bare(j) for j in range(i, k)]
        proper, prep = self.definite(k - 1), False
        while k < end and not self.breaks(k):
            if (sp := self._person_at(k, end, i, words)) is not None:
                return sp
            if self.is_("ranks", k):
                j = self._after_ranks(k, end)
                if (sp := self._person_at(j, end, i, words)) is not None:
                    return sp
                run = self._name_run(j, end) if j < end and self.namey(j) else 0
                if run:
                    return self._named(self.display(j, run), i, run, words)
                break
            t = self.toks[k]
            nxt = k + 1
            # a preposition continues the title only before a body or a place («في الحكومة», «إلى سوريا»)
            cont = t.startswith("باسم") or (t[:1] == "و" and self.is_("titles", k)) or t == "في" or (
                t in ("الي", "لدي") and nxt < end and (nxt in self.ment or nxt in self.place_at
                                                              or self.is_("states", nxt) or self.is_("bodies", nxt)
                                                              or self.is_("place_nouns", nxt)))
            if t == "في" and (self.is_("adjuncts", k + 1) or self.is_("time_words", k + 1)):
                break
            if not cont and self.stop(k):
                break
            lam = t[:1] == "ل" and (self.definite(k) or self.head_word(k) or bool(self.lex("outlets", k))
                                    or k in self.ment or t == "ل")  # «للأمم», «لوكالة»: a preposition
            if proper and not cont and not self.definite(k) and not lam and self.namey(k) \
                    and not (self.inq[k] and not self.inq[k - 1]):
                for j in range(k + 1, min(end, k + 3)):  # «ستيفان دي ميستورا»: a first name before a known one
                    m2 = self.ment.get(j)
                    if m2 is not None and m2.entry.kind == "person" and m2.end <= end:
                        if all(self.namey(q) for q in range(k, j)):
                            return self._named(m2.entry.name, i, m2.end, words)
                        break
                run = self._name_run(k, end)
                if run:
                    return self._named(self.display(k, run), i, run, words)
            if proper and not cont and not self.definite(k) and not lam and k not in self.ment \
                    and k not in self.place_at:
                break  # «المندوب الفرنسي بمحاسبة…»: an indefinite word after the title is not part of it
            # a name after a definite word is not part of the title unless a preposition joins it
            joined = not proper or prep or lam
            st = self.lex("states", k, end)
            m = self.ment.get(k)
            ent_end = (m.end if m is not None and m.end <= end else
                       self.place_at[k].end if k in self.place_at and self.place_at[k].end <= end else
                       k + st[1] if st is not None else None)
            if ent_end is not None:
                if not joined:
                    break
                words.extend(self.bare(j) for j in range(k, ent_end))
                k, proper, prep = ent_end, True, False
                continue
            prep = cont and not self.is_("titles", k)
            if proper and self.definite(k) and not self._number_ok(k - 1, k):
                break  # «المندوبة الأمريكية الحوثيين»: the object
            words.append(self.bare(k))
            proper = self.definite(k)
            k += 1
        title_end = k
        if k < end and ("،" in self.gap[k] or "," in self.gap[k]) and not any(c in self.gap[k] for c in "\n:()"):
            j = self._after_ranks(k, end)
            if (sp := self._person_at(j, end, i, words)) is not None:
                return sp
            if j < end and not self.definite(j) and self.namey(j) and (j > k or not self.breaks(j) or j == k):
                run = self._name_run(j, end)
                if run:
                    return self._named(self.display(j, run), i, run, words)
        if not coref:
            return None
        wset = frozenset(w for w in words if w)
        best: tuple[int, int, Speaker] | None = None
        for pos, rw, sp in self.roles:
            if words[0] not in rw:
                continue
            if not all(w in rw or (w.endswith("ي") and len(w) >= 4 and any(r.startswith(w[:-1]) for r in rw))
                       for w in wset):  # «المندوب الفرنسي» is not «المندوب الروسي»; «الأممي» is «الأمم المتحدة»
                continue
            score = len(wset & rw)
            near = -abs(pos - i) if pos < i else -10_000 - pos
            if best is None or (score, near) > best[:2]:
                best = (score, near, sp)
        if best is not None:
            return best[2].at(i, title_end)
        if self.is_("spokesperson", i):  # an unnamed spokesperson speaks for the body
            for j in range(i + 1, title_end):
                m = self.ment.get(j)
                if m is not None and m.entry.kind == "organization":
                    return self._gaz(m.entry, i, title_end)
                if self.is_("bodies", j) and not self.is_("titles", j):
                    sp = self.body_np(j, title_end)
                    return sp.at(i, title_end)
        if self.is_("anonymous", i) and not self.definite(i):
            return self.anon_np(i, end)
        fem, _ = self.gender(words[0])
        return Speaker(self.display(i, title_end, self.clitic(i, "titles")), "person", "title", i, title_end,
                       fem, False, words[0], wset)

    def _after_ranks(self, j: int, end: int) -> int:
        """The first word after a run of ranks («العميد الركن»)."""
        while j < end and self.is_("ranks", j):
            j += 1
        return j

    def _person_at(self, j: int, end: int, start: int, words: list[str]) -> Speaker | None:
        """The gazetteer person mentioned at ``j`` (ending before ``end``), as the speaker from ``start``."""
        m = self.ment.get(j)
        if m is not None and m.entry.kind == "person" and m.end <= end:
            return self._named(m.entry.name, start, m.end, words)
        return None

    def _named(self, name: str, start: int, end: int, words: list[str]) -> Speaker:
        fem, _ = self.gender(words[0]) if words else (None, False)
        return Speaker(name, "person", "person", start, end, fem if fem else None, False,
                       words[0] if words else "", frozenset(w for w in words if w))

    # ------------------------------------------------------------------ other noun phrases

    def anon_np(self, i: int, end: int) -> Speaker | None:
        L = self.is_("anonymous", i)
        head = self.bare(i + L - 1)
        if self.definite(i):
            items = self.anons.get(head)
            sp = self._nearest(items, i) if items else None
            return sp.at(i, i + L) if sp is not None else None
        k = keep = i + L
        quant = bool(self.is_("quantifiers", i))
        while k < end and not self.breaks(k):
            t = self.toks[k]
            tanween = t.endswith("يا") and self.toks[k - 1].endswith("ا") and not self.definite(k)
            if (self.adjective(k) or tanween) and not (self.definite(k) and not quant):
                k += 1
                keep = k
            elif t[:2] == "لل" and keep == k and k > i + L and self.adjective(k - 1) and not self.lex("outlets", k):
                k += 1  # «وسائل إعلام موالية للنظام»
                keep = k
            elif t in ("منه", "منها", "منهم") and keep == k:
                k += 1
                keep = k
            elif t in ("في", "من") and k + 1 < end and not self.stop(k + 1) and not self.breaks(k + 1):
                if t == "من" and not (self.definite(k + 1) or (k + 1) in self.place_at or self.is_("place_nouns", k + 1)):
                    break
                obj_end = self.extent(k + 1, end)[0]
                place = ((k + 1) in self.place_at or self.is_("place_nouns", k + 1) or self.is_("states", k + 1)
                         or t == "من")
                if not place and not self.is_("adjuncts", k + 1):
                    keep = obj_end
                k = obj_end
                if place:
                    break
            elif t == "من" and quant and k + 1 < end and not self.definite(k) and keep == i + L:
                k += 1  # «عدد من أعضاء المجلس»
            elif quant and not self.stop(k) and k == keep and k - i < L + 2 and t[:1] not in "ب" \
                    and not (t[:1] == "ل" and (self.lex("outlets", k) or not self.definite(k))):
                k += 1
                keep = k
            else:
                break
        fem, plural = self.gender(head)
        return Speaker(self.display(i, keep, self.clitic(i, "anonymous")), "anonymous", "anon", i, k, fem,
                       plural, head)

    def body_np(self, i: int, end: int) -> Speaker:
        got = self.lex("bodies", i)
        typ, L = got if got else ("other", 1)
        head = self.bare(i)
        m = self.ment.get(i + L)
        if m is not None and m.entry.kind == "organization" and m.end <= end and not self.breaks(i + L):
            return self._gaz(m.entry, i, self._skip_paren(m.end, end))
        if L == 1 and self.definite(i) and (i + 1 >= end or self.breaks(i + 1) or self.stop(i + 1)
                                            or not self.adjective(i + 1)):
            items = self.heads.get(head)
            sp = self._nearest(items, i) if items else None
            if sp is not None:
                return sp.at(i, i + 1)
        k, keep = self.extent(i + L - 1, end, conj=True, pp=True, named=L > 1)
        if L > 1 and keep < i + L:
            keep = k = max(k, i + L)
        fem, plural = self.gender(head)
        return Speaker(self.display(i, keep, self.clitic(i, "bodies")), str(typ), "body", i, k, fem, plural, head)

    def part_np(self, i: int, end: int, coref: bool = True) -> Speaker | None:
        """A part of an organisation («المركز الإعلامي لقسد», «البعثة»): it speaks as the organisation."""
        L = self.is_("parts", i) or self.is_("spokesperson", i)
        k = self.extent(i + L - 1, end, pp=True)[0]
        for j in range(i + L, k):
            m = self.ment.get(j)
            if m is not None and m.entry.kind == "organization":
                return self._gaz(m.entry, i, max(k, m.end))
            if coref and self.definite(j) and self.is_("bodies", j) == 1 and not self.adjective(j + 1) \
                    if j + 1 < self.n else False:
                items = self.heads.get(self.bare(j))
                sp = self._nearest(items, i) if items else None
                if sp is not None:
                    return sp.at(i, k)
        if coref and L == 1 and self.definite(i):
            items = self.heads.get(self.bare(i))
            sp = self._nearest(items, i) if items else None
            if sp is not None:
                return sp.at(i, i + 1)
        if self.is_("bodies", i):
            return self.body_np(i, end)
        return None

    def media_np(self, i: int, end: int) -> Speaker | None:
        """An outlet speaking in its own name: the name, not «وكالة»/«قناة»."""
        k = i + self.is_("media", i)
        name, stop_at = None, k
        j = k
        while j < end and j - k < 6:
            o = self.lex("outlets", j, end)
            if o is not None:
                name, stop_at = o[0].name, j + o[1]
                break
            m = self.ment.get(j)
            if m is not None and m.entry.kind == "organization":
                name, stop_at = m.entry.name, m.end
                break
            if j > 0 and self.inq[j] and not self.inq[j - 1]:
                q = j
                while q < end and self.inq[q] and q - j < 4:
                    q += 1
                name, stop_at = self.display(j, q), q
                break
            if self.breaks(j) and not self.paren_open(j):
                break
            if not (self.adjective(j) or self.definite(j) or self.paren_open(j)) or self.stop(j):
                break
            j += 1
        if name is None and k < end and not self.breaks(k) and not self.definite(k) \
                and (self.namey(k) or self.is_("states", k)):  # «صحيفة واشنطن بوست»
            q = k
            while q < end and q - k < 3 and not self.definite(q) and (self.namey(q) or self.is_("states", q)) \
                    and (q == k or not self.breaks(q)):
                q += 1
            name, stop_at = self.display(k, q), q
        if name is None:
            if self.is_("bodies", i):
                return self.body_np(i, end)
            return None
        k = stop_at
        while k < end and not self.breaks(k) and self.adjective(k):
            k += 1
        if k < end and self.is_("affiliation", k):
            k = self.extent(k + 1, end)[0]
        k = self._skip_paren(k, end)
        outlet = self.r.outlet_by_name.get(" ".join(name.split())) or self._outlet_named(name)
        return Speaker(name, "media", "media", i, k, True, False, self.bare(i), outlet=outlet)

    def _outlet_named(self, name: str) -> Named | None:
        from pipeline.core.arabic import fold, repair

        return self.r.outlet_by_name.get(" ".join(fold(repair(name)).split()))

    def outlet_at(self, i: int, end: int) -> tuple[str, Named | None, int] | None:
        """An outlet named at token i after «لـ»/«إلى»/«مع» («لوكالة سانا», «للجزيرة نت»)."""
        o = self.lex("outlets", i, end)
        if o is not None:
            return o[0].name, o[0], i + o[1]
        if self.is_("media", i, end):
            sp = self.media_np(i, end)
            if sp is not None:
                return sp.name, sp.outlet, sp.end
        m = self.ment.get(i)
        if m is not None:
            named = self._outlet_named(m.entry.name)
            if named is not None:
                return named.name, named, m.end
        return None
