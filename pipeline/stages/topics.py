"""Topic definitions: config/topics.yaml read, validated and compiled into a :class:`TopicSet`.

Analysts edit the definitions without code (see the header of config/topics.yaml): weighted
terms and phrases, named word lists (``$lexicon``), proximity rules (``all: [[...], [...]]``
within N words), occurrence-level exclusions (``not_near``), topic vetoes (``not``), a
Syrian-context gate and a threshold. A broken file never takes classification down: the
last valid set stays in force and the error names the file, topic and line."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable
from pipeline.stages.gazetteer import GazetteerError, load_gazetteer
from pipeline.core.yamlfile import ConfigError, line_of, load_file, load_yaml_lines
from pipeline.stages.terms import Pattern, TermError, TermMatcher, expand_lexicon, compile_term

log = logging.getLogger(__name__)

TOPIC_IDS = (
    "chemical_weapons",
    "military_escalation",
    "russian_role",
    "jihadist_factions",
    "white_helmets",
    "turkish_role",
    "displacement_humanitarian",
    "international_diplomacy",
    "regime_change",
)


# ---------------------------------------------------------------------------
# Topic definitions
# ---------------------------------------------------------------------------


class TopicsError(ConfigError):
    """An invalid topics file; the message names the file, the topic and the line."""

    def __init__(self, path: str, line: int | None, msg: str, topic: str | None = None) -> None:
        super().__init__(path, f"topic {topic!r}: {msg}" if topic else msg, line)
        self.topic, self.msg = topic, msg


@dataclass(slots=True)
class Entry:
    """A weighted term (any of its patterns) or a proximity rule inside a topic."""

    label: str
    weight: float
    owner: Hashable | None = None  # term entries: matcher owner
    groups: list[Hashable] = field(default_factory=list)  # rule entries: one owner per group
    within: int = 0
    group_ctx: list[tuple[str, ...]] = field(default_factory=list)  # rule groups: "@context" members
    not_near: Hashable | None = None
    not_near_within: int = 0
    max: float | None = None  # cap on the contribution (a bare actor word repeated is not a role)
    lead_exempt: bool = False  # not_near does not apply in the title/lead (what the article reports)


@dataclass(slots=True)
class Topic:
    id: str
    name: str
    threshold: float
    context: str | None
    entries: list[Entry]
    veto: Hashable | None
    not_near: Hashable | None
    not_near_within: int
    repeat: float
    repeat_cap: int
    title_bonus: float
    line: int
    # located: (context, rival context, window) — an occurrence counts only when no place of
    # the rival context is at least as close to it as the nearest place of the context
    located: tuple[str, str, int] | None = None
    # substantiveness: at least min_terms distinct entries must score, unless one entry alone
    # weighs the threshold (a strong phrase or rule); one repeated bare word is not a report
    min_terms: int = 1
    # negation: an occurrence preceded (within N words, overlap allowed) by one of these terms
    # does not count («no civilian casualties», «دون وقوع إصابات»)
    negation: Hashable | None = None
    negation_within: int = 0
    # genre: the topic is vetoed when at least min distinct genre terms occur (a TV drama
    # about the war, reviewed as culture, reports no hostilities)
    genre: list = field(default_factory=list)
    genre_min: int = 2
    term_owners: dict = field(default_factory=dict)  # matcher owner -> index of its term entry
    rule_entries: list[int] = field(default_factory=list)  # indices of proximity rules
    entries_by_label: dict = field(default_factory=dict)  # entry label -> its weight (strong-entry test)

    def __post_init__(self) -> None:
        self.entries_by_label = {}
        for e in self.entries:
            self.entries_by_label[e.label] = max(self.entries_by_label.get(e.label, 0), e.weight)
        self.term_owners = {e.owner: k for k, e in enumerate(self.entries) if e.owner is not None}
        self.rule_entries = [k for k, e in enumerate(self.entries) if e.owner is None]


@dataclass(slots=True)
class Context:
    """Where an article is about: scored from context terms and gazetteer mentions."""

    name: str
    min_score: float
    title_weight: float
    owner: Hashable
    gazetteer_syrian: bool = False  # gazetteer entries flagged syrian count
    gazetteer_countries: frozenset[str] = frozenset()  # gazetteer entries of these countries count
    versus: str | None = None  # another context that must not dominate this one
    ratio: float = 0.5  # score >= ratio * score(versus)
    line: int = 0


@dataclass(slots=True)
class TopicSet:
    """A validated, compiled topics file."""

    topics: list[Topic]
    contexts: dict[str, Context]
    matcher: TermMatcher
    source: str
    mtime: float | None = None
    gazetteer: Any = None  # pipeline.stages.enrich.Gazetteer used by a gazetteer-backed context
    gazetteer_path: Path | None = None

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.topics]


# --- building a TopicSet --------------------------------------------------------

_TOPIC_KEYS = {
    "name", "threshold", "requires_context", "terms", "rules", "not", "not_near",
    "repeat", "repeat_cap", "title_bonus", "description", "located", "min_terms", "negation", "not_genre",
}


def parse_topics(path: str | os.PathLike[str]) -> TopicSet:
    """Read, validate and compile a topics file; raise :class:`TopicsError` on any problem."""
    p = Path(path)
    src = str(p)
    try:
        mtime = p.stat().st_mtime
        data = load_yaml_lines(p)
    except OSError as e:
        raise TopicsError(src, None, f"cannot read: {e.strerror or e}") from None
    except ConfigError as e:
        raise TopicsError(src, e.line, e.msg) from None
    return build_topics(data, src, p.parent, mtime)


def build_topics(data: Any, src: str = "<topics>", base: Path | None = None, mtime: float | None = None) -> TopicSet:
    if not isinstance(data, dict):
        raise TopicsError(src, line_of(data, 1), "expected a mapping with 'topics:'")
    unknown = set(data) - {"version", "defaults", "lexicons", "contexts", "topics", "gazetteer"}
    if unknown:
        k = sorted(unknown)[0]
        raise TopicsError(src, line_of(data), f"unknown top-level key {k!r}")
    defaults = data.get("defaults") or {}
    lexicons_raw = data.get("lexicons") or {}
    if not isinstance(lexicons_raw, dict):
        raise TopicsError(src, line_of(lexicons_raw), "'lexicons' must be a mapping of name → list of terms")
    lexicons: dict[str, list[str]] = {}
    for name, items in lexicons_raw.items():
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise TopicsError(src, line_of(items, line_of(lexicons_raw)), f"lexicon {name!r} must be a list of strings")
        lexicons[str(name)] = list(items)

    matcher = TermMatcher()

    def terms_to_patterns(terms: Any, topic: str | None, what: str) -> list[Pattern]:
        if isinstance(terms, str):
            terms = [terms]
        if not isinstance(terms, list) or not terms:
            raise TopicsError(src, line_of(terms), f"{what} must be a non-empty list of terms", topic)
        pats: list[Pattern] = []
        for t in terms:
            if not isinstance(t, str):
                raise TopicsError(src, line_of(terms), f"{what}: expected a term string, got {t!r}", topic)
            try:
                pats.extend(compile_term(t, lexicons))
            except TermError as e:
                raise TopicsError(src, line_of(t, line_of(terms)), f"{what}: {e}", topic) from None
        return pats

    # contexts
    contexts: dict[str, Context] = {}
    ctx_raw = data.get("contexts") or {}
    if not isinstance(ctx_raw, dict):
        raise TopicsError(src, line_of(ctx_raw), "'contexts' must be a mapping")
    uses_gazetteer = False
    for name, spec in ctx_raw.items():
        cline = line_of(spec, line_of(ctx_raw))
        if not isinstance(spec, dict):
            raise TopicsError(src, cline, f"context {name!r} must be a mapping")
        bad = set(spec) - {"terms", "gazetteer", "min_score", "title_weight", "versus", "ratio", "description"}
        if bad:
            raise TopicsError(src, cline, f"context {name!r}: unknown key {sorted(bad)[0]!r}")
        owner = ("ctx", str(name))
        if spec.get("terms"):
            matcher.add(owner, terms_to_patterns(spec["terms"], None, f"context {name!r} terms"))
        gz = spec.get("gazetteer")
        syr, countries = False, frozenset()
        if gz == "syrian":
            syr = True
        elif isinstance(gz, dict) and isinstance(gz.get("countries"), list):
            countries = frozenset(str(c) for c in gz["countries"])
        elif gz is not None:
            raise TopicsError(src, line_of(gz, cline), f"context {name!r}: gazetteer must be 'syrian' or {{countries: [..]}}")
        uses_gazetteer |= bool(syr or countries)
        contexts[str(name)] = Context(
            name=str(name),
            min_score=_num(spec.get("min_score", 1), src, spec, None, "min_score"),
            title_weight=_num(spec.get("title_weight", 2), src, spec, None, "title_weight"),
            owner=owner,
            gazetteer_syrian=syr,
            gazetteer_countries=countries,
            versus=str(spec["versus"]) if spec.get("versus") else None,
            ratio=_num(spec.get("ratio", 0.5), src, spec, None, "ratio"),
            line=cline or 0,
        )
    for c in contexts.values():
        if c.versus is not None and c.versus not in contexts:
            raise TopicsError(src, c.line, f"context {c.name!r}: unknown context {c.versus!r} in 'versus'")

    topics_raw = data.get("topics")
    if not isinstance(topics_raw, dict) or not topics_raw:
        raise TopicsError(src, line_of(topics_raw, line_of(data)), "'topics' must be a non-empty mapping")
    topics: list[Topic] = []
    for tid, spec in topics_raw.items():
        tid = str(tid)
        tline = line_of(spec, line_of(topics_raw))
        if not re.fullmatch(r"[a-z][a-z0-9_]*", tid):
            raise TopicsError(src, tline, "topic ids are lower_snake_case", tid)
        if not isinstance(spec, dict):
            raise TopicsError(src, tline, "a topic must be a mapping", tid)
        bad = set(spec) - _TOPIC_KEYS
        if bad:
            raise TopicsError(src, tline, f"unknown key {sorted(bad)[0]!r}", tid)
        if "threshold" not in spec:
            raise TopicsError(src, tline, "missing 'threshold'", tid)
        threshold = _num(spec["threshold"], src, spec, tid, "threshold")
        ctx = spec.get("requires_context")
        if ctx is not None and str(ctx) not in contexts:
            raise TopicsError(src, line_of(ctx, tline), f"unknown context {ctx!r}", tid)
        entries: list[Entry] = []
        n = 0

        def new_owner(kind: str) -> tuple:
            nonlocal n
            n += 1
            return (kind, tid, n)

        # terms: {weight: [terms]} or [term | {term(s):, weight:, not_near:, within:}]
        terms = spec.get("terms") or {}
        items: list[tuple[float, Any, dict]] = []
        if isinstance(terms, dict):
            for w, lst in terms.items():
                wv = _num(w, src, terms, tid, "term weight")
                for t in lst if isinstance(lst, list) else [lst]:
                    if isinstance(t, dict):
                        items.append((wv, t.get("term") or t.get("terms"), t))
                    else:
                        items.append((wv, t, {}))
        elif isinstance(terms, list):
            for t in terms:
                if isinstance(t, dict):
                    items.append((_num(t.get("weight", 1), src, t, tid, "weight"), t.get("term") or t.get("terms"), t))
                else:
                    items.append((float(defaults.get("weight", 1)), t, {}))
        else:
            raise TopicsError(src, line_of(terms, tline), "'terms' must be a mapping weight → list, or a list", tid)
        for wv, t, opts in items:
            if t is None:
                raise TopicsError(src, line_of(opts, tline), "a term entry needs 'term' or 'terms'", tid)
            owner = new_owner("t")
            matcher.add(owner, terms_to_patterns(t, tid, "term"))
            e = Entry(label=_label(t), weight=wv, owner=owner)
            if opts.get("max") is not None:
                e.max = _num(opts["max"], src, opts, tid, "max")
            e.lead_exempt = bool(opts.get("lead_exempt", False))
            if opts.get("not_near"):
                e.not_near = new_owner("xn")
                matcher.add(e.not_near, terms_to_patterns(opts["not_near"], tid, "not_near"))
                e.not_near_within = int(_num(opts.get("within", 5), src, opts, tid, "within"))
            entries.append(e)

        for r in spec.get("rules") or []:
            if not isinstance(r, dict):
                raise TopicsError(src, line_of(r, tline), "a rule must be a mapping", tid)
            rline = line_of(r, tline)
            bad = set(r) - {"all", "any", "within", "weight", "name", "not_near", "not_near_within", "max", "lead_exempt"}
            if bad:
                raise TopicsError(src, rline, f"rule: unknown key {sorted(bad)[0]!r}", tid)
            w = _num(r.get("weight", 1), src, r, tid, "weight")
            e = Entry(label=str(r.get("name") or ""), weight=w)
            if r.get("max") is not None:
                e.max = _num(r["max"], src, r, tid, "max")
            e.lead_exempt = bool(r.get("lead_exempt", False))
            if "all" in r:
                groups = r["all"]
                if not isinstance(groups, list) or len(groups) < 2 or not all(isinstance(g, list) for g in groups):
                    raise TopicsError(src, rline, "rule 'all' needs at least two lists of terms", tid)
                if "within" not in r:
                    raise TopicsError(src, rline, "rule 'all' needs 'within' (words)", tid)
                e.within = int(_num(r["within"], src, r, tid, "within"))
                for g in groups:
                    o = new_owner("r")
                    refs = tuple(str(x)[1:] for x in g if isinstance(x, str) and x.startswith("@"))
                    for c in refs:
                        if c not in contexts:
                            raise TopicsError(src, line_of(g, rline), f"rule: unknown context '@{c}'", tid)
                    plain = [x for x in g if not (isinstance(x, str) and x.startswith("@"))]
                    if plain:
                        matcher.add(o, terms_to_patterns(plain, tid, "rule group"))
                    e.groups.append(o)
                    e.group_ctx.append(refs)
            elif "any" in r:
                o = new_owner("t")
                matcher.add(o, terms_to_patterns(r["any"], tid, "rule 'any'"))
                e.owner = o
            else:
                raise TopicsError(src, rline, "a rule needs 'all' or 'any'", tid)
            if r.get("not_near"):
                e.not_near = new_owner("xn")
                matcher.add(e.not_near, terms_to_patterns(r["not_near"], tid, "not_near"))
                e.not_near_within = int(_num(r.get("not_near_within", 5), src, r, tid, "not_near_within"))
            if not e.label:
                e.label = "rule@" + str(rline)
            entries.append(e)
        if not entries:
            raise TopicsError(src, tline, "no terms and no rules", tid)

        veto = None
        if spec.get("not"):
            veto = new_owner("v")
            matcher.add(veto, terms_to_patterns(spec["not"], tid, "not"))
        def near_rule(key: str, prefix: str, default_within: int) -> tuple[Any, int]:
            """A ``{terms: [...], within: N}`` rule: its matcher owner and window (None, 0 when absent)."""
            rule = spec.get(key)
            if not rule:
                return None, 0
            if not isinstance(rule, dict) or "terms" not in rule:
                raise TopicsError(src, line_of(rule, tline), f"topic '{key}' needs {{terms: [...], within: N}}", tid)
            owner = new_owner(prefix)
            matcher.add(owner, terms_to_patterns(rule["terms"], tid, key))
            return owner, int(_num(rule.get("within", default_within), src, rule, tid, "within"))

        nn_owner, nn_within = near_rule("not_near", "xn", 5)
        neg_owner, neg_within = near_rule("negation", "ng", 3)
        genre_owners: list = []
        genre_min = 2
        gs = spec.get("not_genre")
        if gs:
            if not isinstance(gs, dict) or not isinstance(gs.get("terms"), list):
                raise TopicsError(src, line_of(gs, tline), "topic 'not_genre' needs {terms: [...], min: N}", tid)
            genre_min = int(_num(gs.get("min", 2), src, gs, tid, "min"))
            for gt in gs["terms"]:
                items_g = [gt] if not (isinstance(gt, str) and gt.startswith("$") and len(gt.split()) == 1) else None
                if items_g is None:
                    try:
                        items_g = expand_lexicon(gt.strip(), lexicons, set())
                    except TermError as e:
                        raise TopicsError(src, line_of(gt, line_of(gs)), f"not_genre: {e}", tid) from None
                for it in items_g:
                    go = new_owner("g")
                    matcher.add(go, terms_to_patterns(it, tid, "not_genre"))
                    genre_owners.append(go)
        min_terms = int(_num(spec.get("min_terms", defaults.get("min_terms", 1)), src, spec, tid, "min_terms"))

        located = None
        loc = spec.get("located")
        if loc is not None:
            if not isinstance(loc, dict) or set(loc) - {"in", "not_in", "within"} or not loc.get("in") or not loc.get("not_in"):
                raise TopicsError(src, line_of(loc, tline), "'located' needs {in: context, not_in: context, within: N}", tid)
            for c in (loc["in"], loc["not_in"]):
                if str(c) not in contexts:
                    raise TopicsError(src, line_of(loc, tline), f"located: unknown context {c!r}", tid)
            located = (str(loc["in"]), str(loc["not_in"]), int(_num(loc.get("within", 10), src, loc, tid, "within")))

        topics.append(
            Topic(
                id=tid,
                located=located,
                min_terms=min_terms,
                negation=neg_owner,
                negation_within=neg_within,
                genre=genre_owners,
                genre_min=genre_min,
                name=str(spec.get("name") or tid),
                threshold=threshold,
                context=str(ctx) if ctx is not None else None,
                entries=entries,
                veto=veto,
                not_near=nn_owner,
                not_near_within=nn_within,
                repeat=_num(spec.get("repeat", defaults.get("repeat", 0.5)), src, spec, tid, "repeat"),
                repeat_cap=int(_num(spec.get("repeat_cap", defaults.get("repeat_cap", 3)), src, spec, tid, "repeat_cap")),
                title_bonus=_num(spec.get("title_bonus", defaults.get("title_bonus", 0.5)), src, spec, tid, "title_bonus"),
                line=tline or 0,
            )
        )

    ts = TopicSet(topics=topics, contexts=contexts, matcher=matcher, source=src, mtime=mtime)
    if uses_gazetteer:
        gz_path = data.get("gazetteer")
        path = (base or Path(".")) / str(gz_path or "gazetteer.yaml")
        ts.gazetteer_path = Path(path)
        try:
            ts.gazetteer = load_gazetteer(path)
        except GazetteerError as e:
            raise TopicsError(src, line_of(gz_path, line_of(data)), f"gazetteer: {e}") from None
    return ts


def _num(v: Any, src: str, parent: Any, topic: str | None, what: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TopicsError(src, line_of(v, line_of(parent)), f"{what} must be a number, got {v!r}", topic) from None


def _label(t: Any) -> str:
    if isinstance(t, list):
        return " | ".join(str(x) for x in t[:3]) + (" | …" if len(t) > 3 else "")
    return str(t)


# ---------------------------------------------------------------------------
# Loading with last-good reload
# ---------------------------------------------------------------------------


def load_topics(path: str | os.PathLike[str], *, fresh: bool = True) -> TopicSet:
    """The topics of ``path`` in force (:func:`pipeline.core.yamlfile.load_file`): parsed again
    when it or its gazetteer changed; an invalid edit keeps the last valid definitions."""
    return load_file(path, parse_topics, fresh=fresh, depends=lambda ts: [ts.gazetteer_path],
                     what="topics file", stage="classify")
