"""Clauses of the claims stage: the verbs, formulas and headline forms of each sentence, their
subjects, and the claims they make (the rules are described in pipeline/stages/claims.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.stages.claim_rules import VerbForm
from pipeline.stages.claim_context import ClauseTools
from pipeline.stages.claim_speakers import Reader, Speaker

TITLE_SEPARATORS = ("..", "…", "|", " - ", " – ", " — ", "؛")
_RELAY_WORDS = ("عن",)


@dataclass
class Found:
    speaker: Speaker
    stance: str
    verb: str
    sent: int  # index into Reader.sents
    target: str | None = None
    carrier: str | None = None
    in_title: bool = False
    continuation: bool = False


@dataclass
class State:
    """Per sentence: the current clause subject, the claims found, whether reported speech began."""

    subj: Speaker | None = None
    subj_more: list[Speaker] = field(default_factory=list)  # coordinated subjects
    here: list[Found] = field(default_factory=list)
    in_report: bool = False


class Extractor(ClauseTools):
    """Reads the sentences and the title of one article into claims."""

    def __init__(self, rd: Reader, publishers: set[str]) -> None:
        super().__init__(rd, publishers)
        self.found: list[Found] = []
        self.history: list[Speaker] = []
        self.prev: Speaker | None = None  # the last subject of the previous body sentence
        self._clause_at_start = False

    # ------------------------------------------------------------------ sentences

    def run(self) -> None:
        rd = self.rd
        for si, (a, b, _, _) in enumerate(rd.sents):
            if a >= rd.doc.n_title:
                self.sentence(si, a, b)
        if rd.doc.n_title:
            self.title(0)

    def emit(self, f: Found, st: State | None) -> None:
        if st is not None:
            st.here.append(f)
        self.found.append(f)
        self.history.append(f.speaker)
        self.rd.remember(f.speaker, f.speaker.start)

    def sentence(self, si: int, a: int, b: int) -> None:
        rd = self.rd
        st = State()
        i = a
        while i < b:
            if rd.inq[i]:
                i += 1
                continue
            L = rd.is_("according", i, b)
            if L:
                i = self.formula(si, i, L, b, st)
                continue
            got = rd.verb_at(i, b)
            if got is None:
                if st.here and rd.is_("complementizers", i):
                    st.in_report = True
                i += 1
                continue
            vf, L, clitic = got
            i = self.verb(si, i, L, vf, clitic, a, b, st)
        if st.subj is not None or not (rd.inq[a] or rd.quote_carried[a]):  # a quote going on
            self.prev = st.subj

    def _clause(self, v: int, a: int) -> tuple[int, str | None, tuple[bool | None, bool | None]]:
        """(first token of the subject region before v, opener kind, pronoun gender)."""
        rd = self.rd
        j = v
        while j > a and not rd.breaks(j):
            j -= 1
        self._clause_at_start = j == a
        opener: str | None = None
        pron: tuple[bool | None, bool | None] = (None, None)
        k = j
        while k < v:
            if rd.is_("pronoun_connectors", k, v):
                t = rd.toks[k + rd.is_("pronoun_connectors", k) - 1]
                pron = (t.endswith("ها"), t.endswith("هم"))
                opener, k = "pron", k + rd.is_("pronoun_connectors", k)
            elif rd.is_("connectors", k, v):
                opener, k = opener or "conn", k + rd.is_("connectors", k)
            elif rd.is_("auxiliaries", k, v):
                opener, k = opener or "aux", k + rd.is_("auxiliaries", k)
            elif rd.is_("complementizers", k, v):
                opener, k = "comp", k + rd.is_("complementizers", k)
            elif rd.is_("time_words", k, v):  # «ونادراً ما تعلق…»
                k += rd.is_("time_words", k)
            else:
                break
        return k, opener, pron

    def _subject(self, v: int, L: int, vf: VerbForm, clitic: bool, a: int, b: int, st: State,
                 r0: int, r1: int, opener: str | None) -> tuple[Speaker | None, str]:
        """The explicit subject of the verb at v: before it (SV) or after it (VSO)."""
        rd = self.rd
        vend = v + L
        if vf.participle:
            return None, "zero"
        if r1 > r0:
            cand = rd.speaker_at(r0, r1)
            if cand is not None and cand.end >= r1:
                return cand, "SV"
            more = rd.coordinated(cand, r1) if cand is not None else []
            if more and more[-1].end >= r1:
                return cand, "SV"
            return None, "inside"  # the verb sits inside a phrase («مفبركة يُزعم أن…»): not a statement
        if opener == "pron":  # «لكنه اتهم X»: X is the object
            return None, "zero"
        cand = rd.speaker_at(vend, b)
        if cand is not None and st.subj is not None and opener is None and (clitic or rd.breaks(v)) \
                and vf.stance not in (None, "states") and cand.kind not in ("anon", "person", "title", "reporter"):
            cand = None  # «…، ودعت الدول الأعضاء إلى…»: the addressee, the subject goes on
        if cand is not None and st.subj is not None and clitic and not self._agrees(cand, vf) \
                and self._agrees(st.subj, vf):
            cand = None  # «…، وطالب روسيا بـ…»
        if cand is not None:
            return cand, "VSO"
        if r0 > a and rd.breaks(r0):  # «وكانت الخارجية الأميركية، أعلنت أول من أمس، أن…»
            k = a + rd.is_("auxiliaries", a)
            if k > a:
                cand = rd.speaker_at(k, r0)
                if cand is not None and cand.end >= r0:
                    return cand, "SV"
        return None, "zero"

    def verb(self, si: int, v: int, L: int, vf: VerbForm, clitic: bool, a: int, b: int, st: State) -> int:
        rd = self.rd
        vend = v + L
        if self._excluded(v, a):
            return vend
        negated = self._negated(v, a)
        r0, opener, pron = self._clause(v, a)
        if clitic and not vf.participle:
            r0 = v  # «…ويقول إن…»: a verb with «و» opens its own clause
        r1 = v
        while r1 > r0 and (rd.is_("particles", r1 - 1) or rd.is_("negation", r1 - 1)):
            r1 -= 1
        sp, mode = self._subject(v, L, vf, clitic, a, b, st, r0, r1, opener)
        if mode == "inside":
            return vend
        # reported speech: a new subject there is part of the outer statement
        if sp is not None and st.in_report:
            fresh = opener in ("conn", "aux") or (mode == "VSO" and (clitic or opener is not None) and rd.breaks(r0))
            if not fresh:
                return vend
        document = sp is not None and sp.kind == "document"
        doc_end = sp.end if sp is not None and document else vend
        if document:
            sp, mode = None, "zero"
        continuation = sp is None
        speakers: list[Speaker] = []
        if continuation:
            start = self._clause_at_start and v == r1 and not st.here and st.subj is None
            if vf.participle:
                ok = rd.breaks(v) or clitic
            else:
                ok = clitic or opener in ("pron", "conn") or rd.breaks(v) or start
            if not ok:
                return vend
            fem, plural = pron if opener == "pron" else (None, None)
            if st.subj is not None:
                group = [st.subj, *st.subj_more]
            elif start and self.prev is not None and (document or self._content_follows(
                    self._skip_adjuncts(vend, b), b, vf)):
                group = [self.prev]  # «وأضاف أن…», «وأوضح البيان أن…»: the previous speaker goes on
            else:
                return vend
            if not document and not all(self._agrees(c, vf if len(group) == 1 else None)
                                        and self._agrees(c, None, fem, plural) for c in group[:1]):
                return vend
            speakers = group
        else:
            assert sp is not None
            if mode != "zero" and not (mode == "VSO" and vf.plural):
                sp = sp.at(sp.start, sp.end)
                sp.fem = vf.fem  # the verb agrees with its subject in gender («نفت منظمة…», «قال ناشطون»)
            speakers = [sp, *rd.coordinated(sp, b if mode == "VSO" else r1)]
        sp = speakers[0]
        after = speakers[-1].end if mode == "VSO" else max(vend, doc_end)
        if vf.relay and vf.stance is not None and not negated:  # «نقل مراسل عنب بلدي عن مصادر…» too
            return self.relay(si, v, L, vf, sp if not continuation else None, after, b, st)
        if vf.stance is None or negated or sp.kind == "reporter" or self._publisher(sp):
            st.subj, st.subj_more = sp, speakers[1:]
            return max(vend, after)
        if vf.needs is not None and not any(vf.needs.at(rd.cands, j, b) for j in range(vend, min(b, after + 12))):
            return vend
        obj = self._skip_adjuncts(after, b)
        if sp.kind == "media" and obj + 1 < b and rd.toks[obj] == "نقلا" and rd.toks[obj + 1] == "عن":
            return self.relay(si, v, L, vf, sp, obj + 1, b, st)  # «أفادت وكالة X نقلاً عن مصدر…»
        if vf.next is not None and not (obj < b and (vf.next.at(rd.cands, obj, b) or ":" in rd.gap[obj])):
            return vend
        if vf.unless is not None and self._unless(vf, obj, b):
            return vend
        stance = vf.stance
        if vf.confirms is not None and obj < b and vf.confirms.at(rd.cands, obj, b):
            stance = "confirms"
        if continuation and any(f.speaker.name == sp.name for f in st.here):
            if stance == "states" or any(f.speaker.name == sp.name and f.stance == stance for f in st.here):
                return vend
        carrier = self._find_carrier(after, b)
        target = self._target(stance, obj, b)
        for one in speakers:
            f = Found(one.at(one.start, one.end), stance, self._verb_text(v, L, vf, clitic), si, target, carrier,
                       continuation=continuation)
            if continuation:
                prev = next((x for x in reversed(st.here) if x.speaker.name == one.name), None)
                if prev is not None and prev.carrier and not f.carrier:
                    f.carrier = prev.carrier
            self.emit(f, st)
        st.subj, st.subj_more = sp, speakers[1:]
        return max(vend, after) if mode == "VSO" else vend

    def relay(self, si: int, v: int, L: int, vf: VerbForm, carrier_sp: Speaker | None, k: int, b: int,
              st: State) -> int:
        """«نقلت وكالة X عن Y قوله…»: Y speaks, X carries; «نُقل عن Y»: Y speaks."""
        rd = self.rd
        j = k
        while j < b and j - k < 4 and rd.toks[j] not in _RELAY_WORDS:
            j += 1
        if j >= b or rd.toks[j] not in _RELAY_WORDS:
            return v + L
        inner = rd.speaker_at(j + 1, b)
        if inner is None or inner.kind in ("reporter", "document") or self._publisher(inner):
            return v + L
        carrier = None
        if carrier_sp is not None and not self._publisher(carrier_sp):
            carrier = carrier_sp.name
        f = Found(inner, vf.stance or "states", self._verb_text(v, L, vf, False), si, None, carrier)
        self.emit(f, st)
        st.subj = inner
        return inner.end

    def formula(self, si: int, i: int, L: int, b: int, st: State) -> int:
        """«بحسب X», «وفقاً لـ X», «بحسب ما أفادت X», «بحسب ما نقلته وكالة X [عن Y]»."""
        rd = self.rd
        k = i + L
        t = rd.toks[i]
        lex = self.r.words["according"]
        label = rd.display(i, k, strip_first=t[:1] in "وف" and lex.at([(t,)], 0) is None)
        relay = False
        if k + 1 < b and rd.toks[k] == "ما":  # «بحسب ما أفادت/ذكره/نقلته X»
            got = rd.verb_at(k + 1, b)
            relay = got is not None and got[0].relay
            label = f"{label} ما {rd.display(k + 1, k + 2)}" if not relay else label
            k += 2
            if k < b and rd.toks[k] in ("به", "بها", "بهم"):  # «حسب ما أفادت به مصادر…»
                k += 1
        while k < b and rd.is_("according_skip", k) and not rd.is_("anonymous", k):
            k += rd.is_("according_skip", k)
        sp = rd.speaker_at(k, b)
        if sp is None or sp.kind in ("reporter", "document"):
            return k
        if st.here and rd.toks[i] == "علي" and rd.is_("according", i) == 2:  # «شددت الخارجية على لسان…»
            last = st.here[-1]
            if sp.kind in ("person", "gaz") and sp.type == "person":
                last.speaker, last.verb = sp, f"{last.verb} ... على لسان"
            return sp.end
        if relay:
            if sp.end < b and rd.toks[sp.end] in _RELAY_WORDS:
                inner = rd.speaker_at(sp.end + 1, b)
                if inner is not None and not self._publisher(inner) and inner.kind != "reporter":
                    carrier = None if self._publisher(sp) else sp.name
                    self.emit(Found(inner, "states", label, si, None, carrier), st)
                    return inner.end
            if self._publisher(sp):
                return sp.end
            if st.here:
                for f in st.here:
                    f.carrier = f.carrier or sp.name
                return sp.end
        if self._publisher(sp):
            return sp.end
        self.emit(Found(sp, "states", label, si, None, self._find_carrier(sp.end, b)), st)
        return sp.end

    # ------------------------------------------------------------------ the title

    def _title_subject(self, sa: int, e: int) -> Speaker | None:
        """The speaker that ends right before token e (the colon or the verb), outlet dropped."""
        rd = self.rd
        for k in range(sa, e):
            if self._carrier_at(k, e) is not None and self._carrier_at(k, e)[1] >= e and k > sa:
                e = k
                break
        for s in range(sa, e):
            if s != sa and not rd.toks[s].startswith("و") and not rd.breaks(s):
                continue
            sp = rd.speaker_at(s, e)
            if sp is not None and sp.end >= e:
                return sp
        return None

    def title(self, si: int) -> None:
        rd = self.rd
        n = rd.doc.n_title
        cuts = [0] + [k for k in range(1, n) if any(x in rd.gap[k] for x in TITLE_SEPARATORS)] + [n]
        seen: set[tuple[str, str]] = set()

        def add(sp: Speaker | None, stance: str | None, label: str, target: str | None) -> None:
            if sp is None or not sp.name or sp.kind == "reporter" or self._publisher(sp) or stance is None:
                return
            if (sp.name, stance) not in seen:
                seen.add((sp.name, stance))
                self.found.append(Found(sp, stance, label, si, target, None, in_title=True))

        for sa, sb in zip(cuts, cuts[1:]):
            colon = next((k for k in range(sa + 1, sb) if ":" in rd.gap[k]), None)
            stop = colon if colon is not None else sb
            verbs = []
            for k in range(sa, stop):
                got = rd.verb_at(k, stop)
                if got is not None and not rd.inq[k] and got[0].stance is not None and not got[0].participle:
                    verbs.append((k, *got))
            left = sa
            for v, vf, L, clitic in verbs:  # «X يحذر…», «واشنطن تتهم موسكو… والكرملين ينفي»
                if self._negated(v, sa):
                    continue
                sp = self._title_subject(left, v) if v > left else rd.speaker_at(v + L, stop)
                stance, label = vf.stance, self._verb_text(v, L, vf, clitic)
                obj = self._skip_adjuncts(v + L if v > left or sp is None else sp.end, sb)
                if vf.confirms is not None and obj < sb and vf.confirms.at(rd.cands, obj, sb):
                    stance = "confirms"
                if vf.unless is not None and self._unless(vf, obj, sb):
                    stance = None
                add(sp, stance, label, self._target(stance, obj, sb) if stance else None)
                left = v + L
            if not verbs and colon is not None:  # «X: …» takes the stance of X's first statement
                sp = self._title_subject(sa, colon)
                if sp is not None and sp.kind == "state" and not any(f.speaker.name == sp.name for f in self.found):
                    sp = None
                first = next((f for f in self.found if not f.in_title and (f.speaker.name == sp.name or (
                    sp.kind == "anon" and f.speaker.name.startswith(sp.name + " ")))), None) \
                    if sp is not None else None
                stance = first.stance if first is not None else "states"
                target = first.target if first is not None and first.stance != "states" else None
                if first is None and rd.toks[colon] == "لا" and colon + 1 < sb \
                        and rd.toks[colon + 1].startswith(("صحه", "لصحه")):
                    stance = "denies"
                add(sp, stance, ":", target)
