"""What surrounds a claim's verb: agreement and negation, the asides after a speaker («في بيان»,
«اليوم»), the relaying outlet («لوكالة سانا»), the target, and objects that cancel a statement
(the base of pipeline/stages/claim_clauses.py:Extractor)."""

from __future__ import annotations

from pipeline.stages.claim_rules import VerbForm
from pipeline.stages.claim_speakers import Reader, Speaker


class ClauseTools:
    """Checks around one verb of an article; ``pub`` holds the publishing outlet's names."""

    def __init__(self, rd: Reader, publishers: set[str]) -> None:
        self.rd, self.r, self.pub = rd, rd.r, publishers

    def _verb_text(self, v: int, L: int, vf: VerbForm, clitic: bool) -> str:
        if vf.label:
            return vf.label
        return self.rd.display(v, v + L, strip_first=clitic)

    def _publisher(self, sp: Speaker) -> bool:
        if sp.kind == "reporter":
            return sp.outlet is None or sp.outlet.name in self.pub or not self.pub
        return sp.kind == "media" and sp.outlet is not None and sp.outlet.name in self.pub

    def _agrees(self, sp: Speaker, vf: VerbForm | None, fem: bool | None = None, plural: bool | None = None) -> bool:
        if fem is None and vf is not None:
            fem, plural = vf.fem, vf.plural
        if fem is None:
            return True
        if plural:
            return sp.plural or sp.fem is None or sp.kind in ("state", "gaz", "body")
        if sp.fem is None:
            return True
        if sp.plural and not sp.fem:
            return not fem
        return fem == sp.fem

    def _negated(self, v: int, a: int) -> bool:
        rd = self.rd
        k = v - 1
        while k >= a and rd.is_("particles", k) and not rd.breaks(k + 1):
            k -= 1
        if k < a or rd.breaks(k + 1) or not rd.is_("negation", k):
            return False
        if rd.toks[k] == "ما":
            before = rd.toks[k - 1] if k - 1 >= a else ""
            if rd.is_("according", k - 1) if k - 1 >= a else False:
                return False
            if before in ("هو", "وهو", "هذا", "وهذا", "وهي", "هي", "على") or rd.toks[v] != rd.toks[v].rstrip("ه"):
                return False
        return True

    def _excluded(self, v: int, a: int) -> bool:
        rd = self.rd
        for s in (v - 2, v - 1, v):
            if s >= a:
                L = rd.is_("exclude", s)
                if L and s + L > v:
                    return True
        return False

    def _skip_adjuncts(self, k: int, b: int) -> int:
        """Past time words, «في بيان», «لوكالة X» and comma-delimited asides after a speaker."""
        rd = self.rd
        while k < b:
            t = rd.toks[k]
            if rd.is_("time_words", k) or (t == "في" and k + 1 < b and (rd.is_("adjuncts", k + 1)
                                                                          or rd.is_("time_words", k + 1)
                                                                          or rd.toks[k + 1].isdigit())):
                if rd.breaks(k):
                    j = k + 1
                    while j < b and not rd.breaks(j):
                        j += 1
                    k = j
                else:  # «في بيان رسمي», «في مؤتمر صحفي», «اليوم الخميس»
                    k += 2 if t == "في" else 1
                    while k < b and not rd.breaks(k) and (rd.adjective(k) or rd.is_("time_words", k)
                                                          or rd.toks[k].isdigit()):
                        k += 1
                continue
            if self._carrier_at(k, b) is not None:
                k = self._carrier_at(k, b)[1]
                continue
            if rd.is_("particles", k):
                k += rd.is_("particles", k)
                continue
            break
        return k

    def _carrier_at(self, k: int, b: int) -> tuple[str | None, int] | None:
        """«لوكالة X», «لـ«سانا»», «إلى عنب بلدي», «مع قناة X» at token k: (outlet or None for the
        publisher, end)."""
        rd = self.rd
        t = rd.toks[k]
        j = k
        if t in ("ل", "الي", "مع"):
            j = k + 1
        elif not (t[:1] == "ل" and len(t) > 2):
            return None
        got = rd.outlet_at(j, b) if j < b else None
        if got is None:
            return None
        name, outlet, end = got
        if outlet is not None and outlet.name in self.pub:
            return None, end
        return name, end

    def _find_carrier(self, k: int, b: int) -> str | None:
        rd = self.rd
        for j in range(k, min(b, k + 10)):
            if rd.is_("complementizers", j) or rd.verb_at(j) is not None:
                return None
            got = self._carrier_at(j, b)
            if got is not None:
                return got[0]
        return None

    def _target(self, stance: str, k: int, b: int) -> str | None:
        rd = self.rd
        if stance in ("states", "confirms") or k >= b:
            return None
        if stance == "denies":
            for j in range(k, min(b, k + 16)):
                if rd.toks[j] in ("وجهتها", "وجهها", "وجهته", "الصادر", "التابع", "التابعه", "اطلقتها"):
                    for q in range(j + 1, min(b, j + 5)):
                        m = rd.ment.get(q)
                        if m is not None and m.entry.kind != "place":
                            return m.entry.name
            return None
        if stance == "warns" and rd.toks[k] == "من":
            if k + 1 < b and rd.is_("complementizers", k + 1):
                k += 1 + rd.is_("complementizers", k + 1)
            else:
                return None
        if k >= b:
            return None
        t = rd.toks[k]
        if rd.stop(k) or rd.is_("complementizers", k) or (t[:1] == "ب" and not rd.definite(k) and len(t) <= 2):
            return None
        if t[:1] == "ب" and rd.verb_at(k) is None and k not in rd.ment and not rd.is_("states", k):
            return None
        stop = next((j for j in range(k + 1, b) if rd.toks[j][:1] == "ب" and rd.toks[j] != "باسم"
                     and (rd.toks[j] == "ب" or rd.definite(j) or not rd.namey(j))), b)
        b = min(b, stop)
        sp = rd.speaker_at(k, b)
        if sp is not None and sp.name and sp.kind != "reporter":
            return sp.name
        if stance == "warns":  # only a party, not «أكثر من مليون…»
            return None
        end, keep = rd.extent(k, b, pp=True)
        for j in range(k, keep):
            m = rd.ment.get(j)
            if m is not None and m.entry.kind != "place":
                return m.entry.name
        return rd.display(k, keep) or None

    def _unless(self, vf: VerbForm, k: int, b: int) -> bool:
        """An object that makes the verb no statement («أقر … قانوناً») before the clause goes on."""
        rd = self.rd
        assert vf.unless is not None
        for j in range(k, min(b, k + 8)):
            if rd.is_("complementizers", j) or rd.verb_at(j) is not None:
                return False
            if vf.unless.at(rd.cands, j, b):
                return True
        return False

    def _content_follows(self, k: int, b: int, vf: VerbForm | None = None) -> bool:
        """The statement starts at token k («أن…», «إلى…», «على…», «بـ…», «من أن…», a quote or a colon)."""
        rd = self.rd
        if k >= b:
            return False
        if ":" in rd.gap[k] or any(q in rd.gap[k] for q in "«\"“"):
            return True
        t = rd.toks[k]
        return bool(rd.is_("complementizers", k)) or t in ("الي", "علي", "عن", "ب") or (
            t[:1] == "ب" and rd.definite(k)) or (t == "من" and (vf is not None and vf.stance == "warns"
                                                                  or rd.is_("complementizers", k + 1)))
