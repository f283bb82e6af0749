"""Classify stage: the nine Syria-file topics (docs/ARCHITECTURE.md), defined in config/topics.yaml.

Analysts edit the definitions without code (see the header of config/topics.yaml):
weighted terms and phrases, named word lists (``$lexicon``), proximity rules
(``all: [[...], [...]]`` within N words), occurrence-level exclusions
(``not_near``), topic vetoes (``not``), a Syrian-context gate and a threshold.

Matching runs on the match form of pipeline.core.arabic: every text token is tried
with all its proclitic readings (``بالكيماوي`` → ``كيماوي``), term tokens are
compared without their article, ``word*`` is a prefix (suffixes such as ة/ات/ية
and pronouns), ``=word`` keeps the article significant (``=الدوما``), ``#`` is any
number. All terms of all topics and contexts compile into one :class:`TermMatcher`
(a dict of first-token forms → patterns, memoised per token), so a document is
scanned once; the gazetteer (Syrian-context evidence) has its own matcher and its
mentions are cached on the :class:`Doc`, so the enrich stage reuses them.

Scoring: each distinct term or rule adds its weight once, repeats add ``repeat`` ×
weight up to ``repeat_cap`` occurrences, a title occurrence adds ``title_bonus`` ×
weight; an occurrence covered by a longer term of the same topic does not count.

A broken topics file never takes classification down: :class:`TopicStore`
keeps the last valid :class:`TopicSet` and reports the error with file, topic
and line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pipeline.core.schema import TopicHit
from pipeline.stages.terms import Doc, Occ, OccList, dist, make_doc, near
from pipeline.stages.topics import Context, Entry, TopicSet


log = logging.getLogger(__name__)




# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class Explained:
    """Everything classify() decided for one topic (for debugging and the quality gate)."""

    id: str
    score: float
    threshold: float
    context_ok: bool
    vetoed: bool
    evidence: list[str]
    parts: list[tuple[str, float, int]]  # (entry label, contribution, occurrences)
    substantive: bool = True  # enough distinct evidence (Topic.min_terms) or one strong entry

    @property
    def emitted(self) -> bool:
        return self.context_ok and not self.vetoed and self.substantive and self.score >= self.threshold


def context_occurrences(
    doc: Doc, found: dict, ctx: Context, gaz_mentions: list | None, anchors_only: bool = False
) -> list[Occ]:
    """Where the context is named. ``anchors_only`` leaves out gazetteer entries flagged
    ``anchor: false`` (reporting sources such as «الشبكة السورية لحقوق الإنسان»): they say
    who reported, not where an actor acts, so they must not satisfy a proximity rule."""
    occ = list(found.get(ctx.owner, ()))
    if gaz_mentions:
        for m in gaz_mentions:
            if m.conditional:
                continue  # it counted only because of the context: not evidence of it
            if anchors_only and not getattr(m.entry, "anchor", True):
                continue
            if (ctx.gazetteer_syrian and m.entry.syrian) or (m.entry.country in ctx.gazetteer_countries):
                occ.append(Occ(m.start, m.end))
    return occ


def context_score(doc: Doc, occ: list[Occ], ctx: Context) -> float:
    starts = {o.start for o in occ}
    return sum(ctx.title_weight if s < doc.n_title else 1.0 for s in starts)


def explain(title: str | None, body: str, topics: TopicSet, doc: Doc | None = None) -> list[Explained]:
    ts = topics
    doc = doc if doc is not None else make_doc(title, body)
    found = ts.matcher.scan(doc)
    gaz_mentions = ts.gazetteer.mentions(doc) if ts.gazetteer is not None else None
    ctx_occ = {name: context_occurrences(doc, found, c, gaz_mentions) for name, c in ts.contexts.items()}
    ctx_score = {name: context_score(doc, ctx_occ[name], c) for name, c in ts.contexts.items()}
    ctx_anchor = {name: context_occurrences(doc, found, c, gaz_mentions, True) for name, c in ts.contexts.items()}
    ctx_ok: dict[str, bool] = {}
    for name, c in ts.contexts.items():
        ok = ctx_score[name] >= c.min_score
        if ok and c.versus is not None:
            ok = ctx_score[name] >= c.ratio * ctx_score[c.versus]
        ctx_ok[name] = ok
    out: list[Explained] = []
    for t in ts.topics:
        topic_nn = OccList(found.get(t.not_near, ())) if t.not_near else None
        score = 0.0
        evidence: list[str] = []
        ev_seen: set[str] = set()
        parts: list[tuple[str, float, int]] = []

        loc_in = loc_out = None
        if t.located is not None:
            loc_in, loc_out = OccList(ctx_anchor[t.located[0]]), OccList(ctx_anchor[t.located[1]])

        def elsewhere(o: Occ) -> bool:
            """The nearest place to this occurrence belongs to the rival context (ties included):
            strikes «على لبنان» in an article about people fleeing into Syria are not Syrian hostilities."""
            assert t.located is not None and loc_in is not None and loc_out is not None
            w = t.located[2]
            out = _closest(o, loc_out, w, doc)
            if out is None:
                return False
            inn = _closest(o, loc_in, w, doc)
            return inn is None or dist(o, out, doc) <= dist(o, inn, doc)

        neg = OccList(found.get(t.negation, ())) if t.negation else None

        def negated(o: Occ) -> bool:
            """A negation term starts before this occurrence, within the window (overlap allowed)."""
            assert neg is not None
            for n in neg.around(o, t.negation_within):
                if n.start < o.start and doc.pos[o.start] - doc.pos[min(n.end, o.start + 1) - 1] <= t.negation_within:
                    return True
            return False

        def keep(occs: list[Occ], e: Entry) -> list[Occ]:
            if occs and neg:
                occs = [o for o in occs if not negated(o)]
            if occs and loc_out:
                occs = [o for o in occs if not elsewhere(o)]
            if occs and topic_nn:
                occs = [o for o in occs if not near(o, topic_nn, t.not_near_within, doc)]
            if occs and e.not_near is not None:
                ex = found.get(e.not_near)
                if ex:
                    exl = OccList(ex)
                    occs = [o for o in occs if (e.lead_exempt and o.start < doc.n_lead)
                            or not near(o, exl, e.not_near_within, doc)]
            return occs

        term_occ = _longest_only(
            [(k, keep(found[o], t.entries[k])) for o, k in t.term_owners.items() if o in found],
            t.entries,
        )
        for k in sorted(set(term_occ) | set(t.rule_entries)):
            e = t.entries[k]
            if e.owner is not None:
                hits = ev_occs = term_occ.get(k, [])
            else:
                grp_occ: list[OccList] = []
                for g, refs in zip(e.groups, e.group_ctx):
                    occs = keep(found.get(g, []), e)
                    for c in refs:
                        occs = occs + ctx_anchor[c]
                    grp_occ.append(OccList(occs))
                anchors, others = grp_occ[0].occs, grp_occ[1:]
                hits, ev_occs = [], []
                if anchors and all(others):
                    for a in anchors:
                        close = []
                        for grp in others:
                            c = _closest(a, grp, e.within, doc)
                            if c is None:
                                break
                            close.append(c)
                        else:
                            hits.append(a)
                            if len(ev_occs) < 6:
                                ev_occs.append(a)
                                ev_occs.extend(close)
            if not hits:
                continue
            cnt = len({o.start for o in hits})
            contrib = e.weight * (1 + t.repeat * (min(cnt, t.repeat_cap) - 1))
            if e.weight > 0 and any(o.start < doc.n_title for o in hits):
                contrib += e.weight * t.title_bonus
            if e.max is not None:
                contrib = min(contrib, e.max)
            score += contrib
            parts.append((e.label, contrib, cnt))
            if e.weight > 0:
                for o in ev_occs:
                    norm = " ".join(doc.toks[o.start : o.end])
                    if norm not in ev_seen:
                        ev_seen.add(norm)
                        evidence.append(doc.surface(o.start, o.end))
        vetoed = bool(t.veto is not None and found.get(t.veto))
        if t.genre and not vetoed:
            vetoed = sum(1 for g in t.genre if found.get(g)) >= t.genre_min
        scoring = [(lbl, c) for lbl, c, _ in parts if c > 0]
        # one entry is enough when it weighs the threshold alone or is a proximity rule (it
        # already joins distinct terms: «حرم نحو مليون نسمة من المياه», «طائرات حربية روسية»)
        strong = any(
            t.entries[k].weight >= t.threshold or t.entries[k].groups
            for k in t.rule_entries + list(t.term_owners.values())
            if t.entries[k].label in {lbl for lbl, _ in scoring}
        )
        substantive = len(scoring) >= t.min_terms or strong
        out.append(
            Explained(
                id=t.id,
                score=round(score, 2),
                threshold=t.threshold,
                context_ok=ctx_ok.get(t.context, True) if t.context else True,
                vetoed=vetoed,
                evidence=evidence[:12],
                parts=parts,
                substantive=substantive,
            )
        )
    return out


def _longest_only(per_entry: list[tuple[int, list[Occ]]], entries: list[Entry]) -> dict[int, list[Occ]]:
    """Drop an occurrence covered by a longer one of another term of the same topic.

    «الدفاع المدني السوري» must not also count as «الدفاع المدني»; on equal spans the
    heavier term keeps it.
    """
    allocc = [(o.start, o.end, k) for k, occs in per_entry for o in occs]
    if not allocc:
        return {}
    allocc.sort(key=lambda x: (-(x[1] - x[0]), -entries[x[2]].weight, x[2]))
    maxlen = allocc[0][1] - allocc[0][0]
    taken: dict[int, int] = {}  # start -> longest end taken from there
    out: dict[int, list[Occ]] = {}
    for s, e, k in allocc:
        if any(taken.get(ts, -1) >= e for ts in range(s - maxlen + 1, s + 1)):
            continue
        if taken.get(s, -1) < e:
            taken[s] = e
        out.setdefault(k, []).append(Occ(s, e))
    for v in out.values():
        v.sort(key=lambda o: o.start)
    return out


def _closest(a: Occ, grp: OccList, within: int, doc: Doc) -> Occ | None:
    best, best_d = None, within + 1
    for b in grp.around(a, within):
        d = dist(a, b, doc)
        if d < best_d:
            best, best_d = b, d
    return best


def classify(title: str | None, body: str, topics: TopicSet, doc: Doc | None = None) -> list[TopicHit]:
    """Topics the article substantively reports on, best first, each with score and evidence."""
    hits = [
        TopicHit(id=x.id, score=x.score, evidence=x.evidence)
        for x in explain(title, body, topics, doc)
        if x.emitted
    ]
    hits.sort(key=lambda h: -h.score)
    return hits
