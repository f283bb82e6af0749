"""Classify stage: the nine Syria-file topics of DESIGN.md, defined in config/topics.yaml.

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
import os
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Hashable, Iterable

import yaml

from pipeline.core.arabic import bare, fold, fold_split, repair, token_candidates
from pipeline.core.schema import TopicHit

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
# Documents: match-form tokens with their display spans
# ---------------------------------------------------------------------------

# A word of the display text: letters/digits plus the marks and tatweel that the
# match form drops (they are not \w, and must not split a word).
_WORD_RE = re.compile(r"[\w\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]+")
_NON_WORD_RE = re.compile(r"[^\w]+")
PARAGRAPH_GAP = 25  # virtual words between paragraphs: proximity rules do not reach across


@dataclass(slots=True)
class Doc:
    """One text, tokenised once and shared by classification and enrichment."""

    text: str  # repaired display text (title, blank line, body)
    toks: list[str]  # match-form tokens (same as pipeline.core.arabic.tokens)
    cands: list[tuple[str, ...]]  # proclitic readings of each token
    spans: list[tuple[int, int]]  # display-text span of each token
    pos: list[int]  # virtual positions (paragraph breaks add PARAGRAPH_GAP)
    n_title: int  # the first n_title tokens are the title
    cache: dict = field(default_factory=dict)  # per-document results shared by stages (gazetteer mentions)
    n_lead: int = 0  # the first n_lead tokens are the title and the lead paragraph  # per-document results shared by stages (gazetteer mentions)

    def surface(self, start: int, end: int) -> str:
        return self.text[self.spans[start][0] : self.spans[end - 1][1]]

    def __len__(self) -> int:
        return len(self.toks)


def make_doc(title: str | None, body: str) -> Doc:
    """Tokenise title and body (display or raw form) into a :class:`Doc`."""
    title_r = repair(title or "")
    body_r = repair(body or "")
    text = f"{title_r}\n\n{body_r}" if title_r else body_r
    toks: list[str] = []
    spans: list[tuple[int, int]] = []
    pos: list[int] = []
    n_title = 0
    vpos = 0
    last_end = 0
    title_len = len(title_r) if title_r else -1
    block, lead_blocks, n_lead = 0, (2 if title_r else 1), None
    for m in _WORD_RE.finditer(text):
        s, e = m.span()
        if toks and "\n" in text[last_end:s]:
            vpos += PARAGRAPH_GAP
            block += 1
            if block >= lead_blocks and n_lead is None:
                n_lead = len(toks)
        last_end = e
        for piece in fold_split(m.group()):  # cached per distinct word
            toks.append(piece)
            spans.append((s, e))
            pos.append(vpos)
            vpos += 1
            if e <= title_len:
                n_title += 1
    cands = [token_candidates(t) for t in toks]
    return Doc(text, toks, cands, spans, pos, n_title, n_lead=len(toks) if n_lead is None else n_lead)


# ---------------------------------------------------------------------------
# Term specs and the compiled matcher
# ---------------------------------------------------------------------------


class TermError(ValueError):
    """A term that cannot be compiled (message says why)."""


@dataclass(frozen=True, slots=True)
class TokSpec:
    """Alternatives for one token position: whole forms, prefixes, or any number (``#``)."""

    forms: frozenset[str]
    prefixes: tuple[str, ...] = ()
    number: bool = False

    def match(self, cands: tuple[str, ...]) -> bool:
        if self.number and cands[0].isdigit():
            return True
        for c in cands:
            if c in self.forms:
                return True
            for p in self.prefixes:
                if c.startswith(p):
                    return True
        return False


NUMBER_KEY = "\x00#"  # index key of patterns starting with a number token


Pattern = tuple[TokSpec, ...]
MIN_PREFIX = 3


_HAMZA_LAM_RE = re.compile("^[\u0623\u0625\u0622]\u0644")


def _parse_token(raw: str) -> list[tuple[str, str]]:
    """``word`` / ``word*`` / ``=word`` / ``#`` → [(kind, form)] with kind in {"w", "p", "x", "n"}."""
    if raw == "#":
        return [("n", "")]
    exact = raw.startswith("=")
    prefix = raw.endswith("*")
    core = raw.strip("=*")
    pieces = [p for p in _NON_WORD_RE.split(fold(repair(core))) if p and p != "_"]
    if not pieces:
        raise TermError(f"empty term token {raw!r}")
    if len(pieces) > 1 and (exact or prefix):
        raise TermError(f"term token {raw!r} is not a single word")
    # a word that starts with a hamza-alef before lam (ألف، آلية، إلى) has no article:
    # keep it whole, or «ألفي» would be compared as «في»
    keep_whole = len(pieces) == 1 and _HAMZA_LAM_RE.match(repair(core)) is not None
    out: list[tuple[str, str]] = []
    for i, p in enumerate(pieces):
        if prefix and i == len(pieces) - 1:
            b = p if exact or keep_whole else bare(p)
            if len(b) < MIN_PREFIX:
                raise TermError(f"prefix {raw!r} is shorter than {MIN_PREFIX} letters")
            out.append(("p", b))
        elif exact or keep_whole:
            out.append(("x", p))
        else:
            out.append(("w", bare(p)))
    return out


def _spec(alts: Iterable[tuple[str, str]]) -> TokSpec:
    forms, prefixes, number = set(), set(), False
    for kind, form in alts:
        if kind == "n":
            number = True
        else:
            (prefixes if kind == "p" else forms).add(form)
    return TokSpec(frozenset(forms), tuple(sorted(prefixes, key=len)), number)


def compile_term(term: str, lexicons: dict[str, list[str]] | None = None) -> list[Pattern]:
    """A term string → its patterns (several when a ``$lexicon`` has multi-word items)."""
    lexicons = lexicons or {}
    if not isinstance(term, str) or not term.strip():
        raise TermError(f"empty term {term!r}")
    words = term.split()
    if len(words) == 1 and words[0].startswith("$"):
        # a whole-term lexicon: any of its items, each possibly a phrase
        pats: list[Pattern] = []
        for item in _lexicon(words[0], lexicons, set()):
            pats.extend(compile_term(item, lexicons))
        return _merge_single(pats)
    # per position: a list of alternative token sequences
    positions: list[list[list[tuple[str, str]]]] = []
    for w in words:
        if w.startswith("$"):
            seqs = []
            for item in _lexicon(w, lexicons, set()):
                toks: list[tuple[str, str]] = []
                for iw in item.split():
                    toks.extend(_parse_token(iw))
                seqs.append(toks)
            singles = [s[0] for s in seqs if len(s) == 1]
            multi = [s for s in seqs if len(s) > 1]
            alts: list[list[tuple[str, str]]] = [[("lex", singles)]] if singles else []  # type: ignore[list-item]
            positions.append(alts + multi)
        else:
            positions.append([_parse_token(w)])
    pats = []
    for combo in product(*positions):
        seq: list[TokSpec] = []
        for part in combo:
            for tok in part:
                if tok[0] == "lex":
                    seq.append(_spec(tok[1]))  # type: ignore[arg-type]
                else:
                    seq.append(_spec([tok]))
        pats.append(tuple(seq))
    return pats


def _merge_single(pats: list[Pattern]) -> list[Pattern]:
    """Merge one-token alternatives into one TokSpec (fewer patterns to verify)."""
    singles = [p[0] for p in pats if len(p) == 1]
    multi = [p for p in pats if len(p) > 1]
    if len(singles) > 1:
        forms = frozenset().union(*(s.forms for s in singles))
        prefixes = tuple(sorted({x for s in singles for x in s.prefixes}, key=len))
        singles = [TokSpec(forms, prefixes, any(s.number for s in singles))]
    return [(s,) for s in singles] + multi


def _lexicon(ref: str, lexicons: dict[str, list[str]], seen: set[str]) -> list[str]:
    name = ref[1:]
    if name not in lexicons:
        raise TermError(f"unknown lexicon {ref!r}")
    if name in seen:
        raise TermError(f"lexicon {ref!r} refers to itself")
    out: list[str] = []
    for item in lexicons[name]:
        if item.strip().startswith("$") and len(item.split()) == 1:
            out.extend(_lexicon(item.strip(), lexicons, seen | {name}))
        else:
            out.append(item)
    return out


@dataclass(slots=True)
class Occ:
    start: int
    end: int


class TermMatcher:
    """All patterns of a configuration, indexed by the forms of their first token.

    ``add(owner, patterns)`` registers patterns under any hashable owner;
    ``scan(doc)`` returns {owner: [Occ, ...]} in text order.
    """

    def __init__(self) -> None:
        self._patterns: list[tuple[Hashable, Pattern]] = []
        self._by_form: dict[str, list[int]] = defaultdict(list)
        self._by_prefix: dict[str, list[int]] = defaultdict(list)
        self._prefix_lens: list[int] = []
        self._memo: dict[str, tuple[int, ...]] = {}

    def add(self, owner: Hashable, patterns: Iterable[Pattern]) -> None:
        for pat in patterns:
            pid = len(self._patterns)
            self._patterns.append((owner, pat))
            for f in pat[0].forms:
                self._by_form[f].append(pid)
            for p in pat[0].prefixes:
                self._by_prefix[p].append(pid)
            if pat[0].number:
                self._by_form[NUMBER_KEY].append(pid)
        self._prefix_lens = sorted({len(p) for p in self._by_prefix})
        self._memo.clear()

    def __len__(self) -> int:
        return len(self._patterns)

    def _first(self, token: str, cands: tuple[str, ...]) -> tuple[int, ...]:
        """Patterns whose first token matches this text token (memoised per token form)."""
        got = self._memo.get(token)
        if got is not None:
            return got
        hit: set[int] = set()
        if cands[0].isdigit():
            hit.update(self._by_form.get(NUMBER_KEY, ()))
        for c in cands:
            hit.update(self._by_form.get(c, ()))
            for L in self._prefix_lens:
                if L > len(c):
                    break
                hit.update(self._by_prefix.get(c[:L], ()))
        res = tuple(sorted(hit))
        if len(self._memo) > 200_000:
            self._memo.clear()
        self._memo[token] = res
        return res

    def scan(self, doc: Doc) -> dict[Hashable, list[Occ]]:
        out: dict[Hashable, list[Occ]] = defaultdict(list)
        pats = self._patterns
        cands, toks = doc.cands, doc.toks
        n = len(cands)
        first = self._first
        memo_get = self._memo.get  # the memo hit inline: most tokens start no pattern
        for i in range(n):
            tok = toks[i]
            hit = memo_get(tok)
            if hit is None:
                hit = first(tok, cands[i])
            if not hit:
                continue
            seen: set[tuple[Hashable, int]] = set()
            for pid in hit:
                owner, pat = pats[pid]
                lp = len(pat)
                end = i + lp
                if end > n:
                    continue
                ok = True
                for k in range(1, lp):
                    if not pat[k].match(cands[i + k]):
                        ok = False
                        break
                if ok:
                    key = (owner, end)
                    if key not in seen:
                        seen.add(key)
                        out[owner].append(Occ(i, end))
        return out


def _dist(a: Occ, b: Occ, doc: Doc) -> int:
    """Words between two occurrences (paragraph breaks count PARAGRAPH_GAP); 0 if they overlap."""
    if b.start < a.end and a.start < b.end:
        return 0
    if b.start >= a.end:
        return doc.pos[b.start] - doc.pos[a.end - 1]
    return doc.pos[a.start] - doc.pos[b.end - 1]


class OccList:
    """Occurrences sorted by start, searchable by position (keeps proximity checks linear)."""

    __slots__ = ("occs", "starts", "maxlen")

    def __init__(self, occs: Iterable[Occ]) -> None:
        self.occs = sorted(occs, key=lambda o: o.start)
        self.starts = [o.start for o in self.occs]
        self.maxlen = max((o.end - o.start for o in self.occs), default=0)

    def __bool__(self) -> bool:
        return bool(self.occs)

    def around(self, a: Occ, within: int) -> list[Occ]:
        """Candidates within ``within`` words of ``a`` (a word is at least one position)."""
        lo = bisect_left(self.starts, a.start - within - self.maxlen)
        hi = bisect_right(self.starts, a.end - 1 + within)
        return self.occs[lo:hi]


def near(a: Occ, others: OccList | list[Occ], within: int, doc: Doc) -> bool:
    """True if an occurrence of ``others`` lies within ``within`` words of ``a`` (overlaps don't count)."""
    ol = others if isinstance(others, OccList) else OccList(others)
    for b in ol.around(a, within):
        if b.start < a.end and a.start < b.end:
            continue  # the same words are not "near", they are the same
        if _dist(a, b, doc) <= within:
            return True
    return False


# ---------------------------------------------------------------------------
# Topic definitions
# ---------------------------------------------------------------------------


class TopicsError(ValueError):
    """An invalid topics file; the message names the file, the topic and the line."""

    def __init__(self, path: str, line: int | None, msg: str, topic: str | None = None) -> None:
        self.path, self.line, self.topic, self.msg = path, line, topic, msg
        where = f"{path}:{line}" if line else path
        what = f" topic {topic!r}:" if topic else ""
        super().__init__(f"{where}:{what} {msg}")


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


# --- YAML with line numbers -------------------------------------------------


class _LStr(str):
    line: int


class _LDict(dict):
    line: int


class _LList(list):
    line: int


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose maps, lists and strings remember their line (1-based)."""


def _c_map(loader: _LineLoader, node: yaml.MappingNode) -> _LDict:
    loader.flatten_mapping(node)
    d = _LDict()
    d.line = node.start_mark.line + 1
    for k_node, v_node in node.value:
        k = loader.construct_object(k_node, deep=True)
        if k in d:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {k!r}", k_node.start_mark
            )
        d[k] = loader.construct_object(v_node, deep=True)
    return d


def _c_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _LList:
    lst = _LList(loader.construct_object(n, deep=True) for n in node.value)
    lst.line = node.start_mark.line + 1
    return lst


def _c_str(loader: _LineLoader, node: yaml.ScalarNode) -> _LStr:
    s = _LStr(loader.construct_scalar(node))
    s.line = node.start_mark.line + 1
    return s


_LineLoader.add_constructor("tag:yaml.org,2002:map", _c_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _c_seq)
_LineLoader.add_constructor("tag:yaml.org,2002:str", _c_str)


def load_yaml_lines(path: Path) -> Any:
    """Parse YAML keeping line numbers; syntax errors become TopicsError-like ValueErrors."""
    text = path.read_text(encoding="utf-8")
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass


def line_of(obj: Any, default: int | None = None) -> int | None:
    return getattr(obj, "line", default)


# --- building a TopicSet --------------------------------------------------------

_TOPIC_KEYS = {
    "name", "threshold", "requires_context", "terms", "rules", "not", "not_near",
    "repeat", "repeat_cap", "title_bonus", "description", "located", "min_terms", "negation", "not_genre",
}


def default_topics_path() -> Path:
    from pipeline.core.settings import get_settings

    return Path(get_settings().topics_file)


def parse_topics(path: str | os.PathLike[str] | None = None) -> TopicSet:
    """Read, validate and compile a topics file; raise :class:`TopicsError` on any problem."""
    p = Path(path) if path is not None else default_topics_path()
    src = str(p)
    try:
        mtime = p.stat().st_mtime
        data = load_yaml_lines(p)
    except OSError as e:
        raise TopicsError(src, None, f"cannot read: {e.strerror or e}") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise TopicsError(src, line, f"YAML error: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise TopicsError(src, None, f"YAML error: {e}") from None
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
                        items_g = _lexicon(gt.strip(), lexicons, set())
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
        from pipeline.stages.enrich import GazetteerError, default_gazetteer_path, load_gazetteer

        gz_path = data.get("gazetteer")
        path = (base or Path(".")) / str(gz_path) if gz_path else default_gazetteer_path()
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


class TopicStore:
    """The topics file in force, reloaded when it changes; a bad edit keeps the last good set.

    ``reload()`` returns True when a new set was installed; on failure the error
    (file, topic, line) is logged and kept in ``last_error`` and the previous
    definitions stay in force. The very first load raises, so a broken file is
    noticed at start-up rather than silently classifying nothing.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, check_interval: float = 5.0) -> None:
        self.path = Path(path) if path is not None else default_topics_path()
        self.check_interval = check_interval
        self.last_error: TopicsError | None = None
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._current: TopicSet = parse_topics(self.path)
        self._seen = self._signature()

    @property
    def current(self) -> TopicSet:
        return self._current

    def _signature(self) -> tuple[float | None, float | None]:
        """Modification times of the topics file and of the gazetteer it uses."""

        def mtime(p: Path | None) -> float | None:
            try:
                return p.stat().st_mtime if p is not None else None
            except OSError:
                return None

        return mtime(self.path), mtime(self._current.gazetteer_path)

    def reload(self) -> bool:
        with self._lock:
            self._seen = self._signature()
            try:
                ts = parse_topics(self.path)
            except TopicsError as e:
                self.last_error = e
                log.error(
                    "topics file rejected, keeping the previous definitions: %s",
                    e,
                    extra={"stage": "classify", "file": e.path, "topic": e.topic, "line": e.line},
                )
                return False
            self._current = ts
            self.last_error = None
            log.info("topics loaded", extra={"stage": "classify", "file": str(self.path), "topics": len(ts.topics)})
            return True

    def maybe_reload(self, force: bool = False) -> TopicSet:
        """Reload if the topics file or its gazetteer changed since the last attempt.

        Checked at most every ``check_interval`` seconds, so calling it per article is cheap.
        """
        now = time.monotonic()
        if force or now - self._checked >= self.check_interval:
            self._checked = now
            if self._signature() != self._seen:
                self.reload()
        return self._current


_STORES: dict[Path, TopicStore] = {}
_STORES_LOCK = threading.Lock()


def _store(path: str | os.PathLike[str] | None) -> tuple[TopicStore, bool]:
    p = (Path(path) if path is not None else default_topics_path()).resolve()
    with _STORES_LOCK:
        store = _STORES.get(p)
        if store is None:
            store = _STORES[p] = TopicStore(p)
            return store, True
    return store, False


def load_topics(path: str | os.PathLike[str] | None = None) -> TopicSet:
    """The topics of ``path`` (default: settings.topics_file).

    The first call for a path parses it (and raises :class:`TopicsError` if it is
    invalid); later calls reload it if the file changed and, if the new content
    is invalid, log the error and return the last valid definitions.
    """
    store, new = _store(path)
    return store.current if new else store.maybe_reload(force=True)


def default_topic_set() -> TopicSet:
    """The process-wide topics (settings.topics_file), checked for edits every few seconds."""
    store, _ = _store(None)
    return store.maybe_reload()


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


def explain(title: str | None, body: str, topics: TopicSet | None = None, doc: Doc | None = None) -> list[Explained]:
    ts = topics if topics is not None else default_topic_set()
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
            return inn is None or _dist(o, out, doc) <= _dist(o, inn, doc)

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
        d = _dist(a, b, doc)
        if d < best_d:
            best, best_d = b, d
    return best


def classify(title: str | None, body: str, topics: TopicSet | None = None, doc: Doc | None = None) -> list[TopicHit]:
    """Topics the article substantively reports on, best first, each with score and evidence."""
    hits = [
        TopicHit(id=x.id, score=x.score, evidence=x.evidence)
        for x in explain(title, body, topics, doc)
        if x.emitted
    ]
    hits.sort(key=lambda h: -h.score)
    return hits


__all__ = [
    "Doc", "make_doc", "TermMatcher", "compile_term", "TermError", "TopicsError", "TopicSet",
    "TopicStore", "parse_topics", "build_topics", "load_topics", "default_topic_set", "classify",
    "explain", "Explained", "TOPIC_IDS", "near", "Occ", "OccList", "load_yaml_lines", "line_of",
]
