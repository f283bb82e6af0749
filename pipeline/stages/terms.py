"""The term-matching engine shared by classify and enrich: terms compiled from the analysts' syntax
and matched on the match form of a document, once per document.

Matching runs on the match form of :mod:`pipeline.core.arabic`: every text token is tried with
all its proclitic readings (``بالكيماوي`` → ``كيماوي``), term tokens are compared without their
article, ``word*`` is a prefix (suffixes such as ة/ات/ية and pronouns), ``=word`` keeps the
article significant (``=الدوما``), ``#`` is any number. All terms compile into one
:class:`TermMatcher` (a dict of first-token forms → patterns, memoised per token), so a
document is scanned once; occurrences are kept per paragraph for proximity rules."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import product
from typing import Hashable, Iterable
from pipeline.core.arabic import bare, fold, fold_split, repair, token_candidates


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


def parse_token(raw: str) -> list[tuple[str, str]]:
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
        for item in expand_lexicon(words[0], lexicons, set()):
            pats.extend(compile_term(item, lexicons))
        return _merge_single(pats)
    # per position: a list of alternative token sequences
    positions: list[list[list[tuple[str, str]]]] = []
    for w in words:
        if w.startswith("$"):
            seqs = []
            for item in expand_lexicon(w, lexicons, set()):
                toks: list[tuple[str, str]] = []
                for iw in item.split():
                    toks.extend(parse_token(iw))
                seqs.append(toks)
            singles = [s[0] for s in seqs if len(s) == 1]
            multi = [s for s in seqs if len(s) > 1]
            alts: list[list[tuple[str, str]]] = [[("lex", singles)]] if singles else []  # type: ignore[list-item]
            positions.append(alts + multi)
        else:
            positions.append([parse_token(w)])
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


def expand_lexicon(ref: str, lexicons: dict[str, list[str]], seen: set[str]) -> list[str]:
    name = ref[1:]
    if name not in lexicons:
        raise TermError(f"unknown lexicon {ref!r}")
    if name in seen:
        raise TermError(f"lexicon {ref!r} refers to itself")
    out: list[str] = []
    for item in lexicons[name]:
        if item.strip().startswith("$") and len(item.split()) == 1:
            out.extend(expand_lexicon(item.strip(), lexicons, seen | {name}))
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


def dist(a: Occ, b: Occ, doc: Doc) -> int:
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
        if dist(a, b, doc) <= within:
            return True
    return False
