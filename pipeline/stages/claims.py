"""Claims stage: who claims what — attributed statements in the cleaned title and body.

A claim is a reporting verb or formula (config/claims.yaml), its speaker and the sentence that
carries it. The stage reads each sentence left to right, clause by clause:

- a finite verb takes the subject after it («قال المتحدث…», VSO), or before it after
  «كان/كانت … قد», «غير أن», «لكن» («وكانت الأمم المتحدة قد أوضحت»), or none: then it continues
  the sentence's subject («نفت الوزارة…، وقالت إن…», «لكنه أشار», «مطالباً…»), or at the start
  of a sentence the previous speaker («وأضاف أن…»). A continuation gives a second claim only
  with a new stance other than states; a verb whose subject sits inside another speaker's
  reported clause («قال X إن الهيئة رفضت…») is part of that statement, not a claim;
- a negated verb («لم تنفِ», «لم يؤكد») and a verb without propositional content («رحب»,
  «أعرب عن قلقه») make no claim but keep their subject for what follows;
- attribution formulas («بحسب», «وفقاً لـ», «بحسب ما أفادت…») take the speaker that follows;
- attribution chains resolve to the innermost speaker with the relaying outlet as ``carrier``
  («نقلت وكالة X عن مصدر في Y قوله…», «قال … لوكالة X», «بحسب ما نقلته وكالة X»), except the
  publisher itself, whose own correspondents and monitoring make no claim;
- the title: «X: …» (the stance of X's first statement in the body) and «X يحذر…».

Speakers (pipeline/stages/claim_speakers.py) are canonical gazetteer names when listed, named
people after their titles, unnamed sources as written, states by metonymy, and references back
(«الوزارة», «المصدر», a surname). ``topic_ids`` are the article's topics whose evidence lies in
the claim's text. Only the title and the cleaned paragraphs are read: headlines of related
links, captions and boilerplate have been removed by the clean stage.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from pipeline.core.arabic import fold, repair, tokens as match_tokens, token_candidates
from pipeline.core.schema import Claim, TopicHit
from pipeline.stages.claim_clauses import Extractor
from pipeline.stages.claim_rules import ClaimRules
from pipeline.stages.claim_speakers import Reader
from pipeline.stages.gazetteer import Gazetteer
from pipeline.stages.terms import Doc, make_doc


def publisher_names(rules: ClaimRules, publisher: str | Sequence[str] | None) -> set[str]:
    """The outlets a source id or site name stands for («enab-baladi», «عنب بلدي»)."""
    items = [publisher] if isinstance(publisher, str) else list(publisher or [])
    out: set[str] = set()
    for p in items:
        if not p:
            continue
        o = rules.outlet_by_source.get(p) or rules.outlet_by_name.get(" ".join(fold(repair(p)).split()))
        if o is None:
            cands = [token_candidates(t) for t in match_tokens(p)]
            for k in range(len(cands)):
                got = rules.outlets.at(cands, k)
                if got is not None:
                    o = got[0]
                    break
        if o is not None:
            out.add(o.name)
    return out


def _topic_spans(rd: Reader, topics: Iterable[TopicHit]) -> list[tuple[str, list[int]]]:
    """For each topic, the token positions where its evidence starts (each reading compared)."""
    evidence = [(t.id, [[set(token_candidates(x)) for x in match_tokens(ev)] for ev in t.evidence]) for t in topics]
    needed = {c for _, evs in evidence for et in evs if et for c in et[0]}
    at: dict[str, list[int]] = {}
    for i, cands in enumerate(rd.cands):
        for c in cands:
            if c in needed:
                at.setdefault(c, []).append(i)
    out = []
    for tid, evs in evidence:
        starts: set[int] = set()
        for et in evs:
            if not et:
                continue
            first = {p for c in et[0] for p in at.get(c, ())}
            for p in first:
                if p + len(et) <= rd.n and all(et[j] & set(rd.cands[p + j]) for j in range(1, len(et))):
                    starts.add(p)
        out.append((tid, sorted(starts)))
    return out


def _topic_ids(spans: list[tuple[str, list[int]]], a: int, b: int) -> list[str]:
    return [tid for tid, starts in spans if any(a <= p < b for p in starts)]


def extract_claims(
    title: str | None,
    body: str,
    *,
    rules: ClaimRules,
    gazetteer: Gazetteer | None,
    topics: Iterable[TopicHit] | None = None,
    doc: Doc | None = None,
    publisher: str | Sequence[str] | None = None,
) -> list[Claim]:
    """Attributed statements of an article, title first, then in text order.

    ``doc`` is the chain's shared :class:`Doc` of (title, body); ``publisher`` the source id and/or
    site name of the publishing outlet (its own reporters and relays are not claims/carriers)."""
    doc = doc if doc is not None else make_doc(title, body)
    rd = Reader(doc, rules, gazetteer)
    ex = Extractor(rd, publisher_names(rules, publisher))
    ex.run()
    spans = _topic_spans(rd, topics) if topics and ex.found else []
    title_s = title or ""
    body_r = repair(body or "")
    off = len(doc.text) - len(body_r)  # make_doc: repaired title, a blank line, repaired body
    same = body_r == (body or "")
    out: list[Claim] = []
    for f in sorted(ex.found, key=lambda f: (not f.in_title, rd.sents[f.sent][0] if not f.in_title else 0)):
        a, b, cs, ce = rd.sents[f.sent]
        if f.in_title:
            text, start, end = title_s.strip(), 0, len(title_s.strip())
            start = title_s.find(text)
            end = start + len(text)
        else:
            text = doc.text[cs:ce]
            start = cs - off if same else (body or "").find(text)
            end = start + len(text) if start >= 0 else -1
        out.append(Claim(
            speaker=f.speaker.name, speaker_type=f.speaker.type, verb=f.verb, stance=f.stance, text=text,
            target=f.target if f.target != f.speaker.name else None, carrier=f.carrier,
            topic_ids=_topic_ids(spans, a, b), start=start, end=end,
            in_title=f.in_title,
        ))
    return out
