"""The claim rules of config/claims.yaml: reporting verbs and their forms, stances, attribution
formulas, speaker heads and titles, outlets; read, validated and compiled once per version.

Words are written in the term syntax of config/topics.yaml (match form, ``word*`` a prefix) and
compiled into :class:`Lexicon` objects that answer "which entry starts at token i, and how many
tokens does it take" over the proclitic readings of a :class:`pipeline.stages.terms.Doc`. Verb
forms are looked up in a dict (with only و/ف and object pronouns removed: «الكشف» is a noun, not
«كشف»). Every error names the file and the line (:class:`ClaimRulesError`); an invalid edit keeps
the last valid version in force (:func:`load_claim_rules`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Hashable, Sequence, TypeVar

from pipeline.core.arabic import fold, repair
from pipeline.core.yamlfile import ConfigError, line_of, load_file, load_yaml_lines
from pipeline.stages.terms import Pattern, TermError, compile_term

STANCES = ("states", "denies", "accuses", "warns", "demands", "confirms")
SPEAKER_TYPES = ("person", "government", "military", "armed_group", "ngo", "un", "media", "anonymous", "other")
# object pronouns a verb form may carry («طالبتها», «يتهمهم»), longest first
PRONOUN_SUFFIXES = ("هما", "هم", "ها", "ه")

E = TypeVar("E", bound=Hashable)


class ClaimRulesError(ConfigError):
    """An invalid claims file; the message starts with ``file:line:``."""


def _article(token: str) -> bool:
    """A match-form token written with the article (after at most one proclitic)."""
    return token.startswith(("ال", "لل")) or (token[:1] in "وفبلك" and token[1:].startswith(("ال", "لل")))


class Lexicon(Generic[E]):
    """Words and phrases (term syntax), each owned by an entry, matched at a token position.

    A ``strict`` lexicon (names) matches a word with the article only where the text has it and a
    word without it only where the text has none («سورية» is not «السورية»)."""

    def __init__(self, strict: bool = False) -> None:
        self._by_form: dict[str, list[tuple[Pattern, E]]] = {}
        self._by_prefix: list[tuple[Pattern, E]] = []
        self._articles: dict[int, tuple[bool, ...]] = {}
        self.strict = strict
        self.size = 0

    def add(self, term: str, entry: E) -> None:
        arts = tuple(_article(fold(repair(w.lstrip("=")))) for w in term.split())
        for pat in compile_term(term):
            self.size += 1
            if self.strict and len(arts) == len(pat):
                self._articles[id(pat)] = arts
            first = pat[0]
            if first.prefixes or first.number:
                self._by_prefix.append((pat, entry))
            for f in first.forms:
                self._by_form.setdefault(f, []).append((pat, entry))

    def __bool__(self) -> bool:
        return self.size > 0

    def first_forms(self) -> set[str]:
        """The forms a matching first token can take (for a quick "may match" index)."""
        return set(self._by_form)

    @property
    def has_prefixes(self) -> bool:
        return bool(self._by_prefix)

    def at(self, cands: Sequence[tuple[str, ...]], i: int, end: int | None = None) -> tuple[E, int] | None:
        """The entry whose longest phrase starts at token ``i`` (not reaching ``end``), with its length."""
        end = len(cands) if end is None else end
        if i >= end:
            return None
        best: tuple[E, int] | None = None
        seen: set[int] = set()
        pool: list[tuple[Pattern, E]] = []
        for c in cands[i]:
            got = self._by_form.get(c)
            if got:
                for item in got:
                    if id(item) not in seen:
                        seen.add(id(item))
                        pool.append(item)
        pool.extend(self._by_prefix)
        for pat, entry in pool:
            n = len(pat)
            if i + n > end or (best is not None and n <= best[1]):
                continue
            if all(pat[k].match(cands[i + k]) for k in range(n)):
                arts = self._articles.get(id(pat))
                if arts is not None and any(arts[k] != _article(cands[i + k][0]) for k in range(n)):
                    continue
                best = (entry, n)
        return best

    def length(self, cands: Sequence[tuple[str, ...]], i: int, end: int | None = None) -> int:
        got = self.at(cands, i, end)
        return got[1] if got else 0


@dataclass(frozen=True, slots=True)
class VerbForm:
    """One form of a reporting (or silent) verb, with what the stage reads off it."""

    lemma: str
    stance: str | None  # None: a silent verb (no claim, keeps its subject)
    label: str | None  # the reported verb of a split formula («حمّل ... المسؤولية»)
    participle: bool
    fem: bool
    plural: bool
    suffixable: bool  # may carry an object pronoun («طالبتها»)
    tokens: tuple[str, ...]  # the folded form, one item per word
    needs: "Lexicon[bool] | None" = None
    relay: bool = False
    confirms: "Lexicon[bool] | None" = None
    unless: "Lexicon[bool] | None" = None  # objects that make it no statement («أقر قانوناً»)
    next: "Lexicon[bool] | None" = None  # what must follow right away («زاد أن…», not «زاد عدد…»)


@dataclass(frozen=True, slots=True)
class Named:
    """A state speaking by metonymy or a news outlet."""

    name: str
    kind: str  # "state" | "outlet"
    sources: tuple[str, ...] = ()


@dataclass
class ClaimRules:
    source: str
    verbs: dict[str, VerbForm]  # single-word forms
    verb_phrases: dict[str, list[VerbForm]]  # multi-word forms by their first word
    words: dict[str, Lexicon[bool]]  # grammar and head lists by section name
    bodies: Lexicon[str]  # head → speaker type
    org_types: list[tuple[str, list[str]]]  # (type, folded words) in order
    default_org_type: str
    states: Lexicon[Named]
    outlets: Lexicon[Named]
    outlet_by_source: dict[str, Named] = field(default_factory=dict)
    outlet_by_name: dict[str, Named] = field(default_factory=dict)
    # form → the word lists (and "bodies", "states", "outlets") a token with that reading may start
    first_index: dict[str, frozenset[str]] = field(default_factory=dict)
    always: frozenset[str] = frozenset()  # lists with prefix patterns: always looked up

    def __post_init__(self) -> None:
        lists: dict[str, Lexicon[Any]] = {**self.words, "bodies": self.bodies, "states": self.states,
                                          "outlets": self.outlets}
        index: dict[str, set[str]] = {}
        for name, lex in lists.items():
            for f in lex.first_forms():
                index.setdefault(f, set()).add(name)
        for f, vf in self.verbs.items():  # verb forms, their duals and their object pronouns («طالبتها»)
            for form in (f, f + "ا", *((f + suf for suf in PRONOUN_SUFFIXES) if vf.suffixable else ())):
                index.setdefault(form, set()).add("verbs")
        for f in self.verb_phrases:
            index.setdefault(f, set()).add("verbs")
        self.first_index = {f: frozenset(v) for f, v in index.items()}
        self._org_types: dict[str, str] = {}
        self.class_cache: dict[str, frozenset[str]] = {}  # word form → lists it may start (TextView)
        self.always = frozenset(name for name, lex in lists.items() if lex.has_prefixes)

    def org_type(self, canonical: str) -> str:
        got = self._org_types.get(canonical)
        if got is None:
            name = " " + _plain(canonical) + " "
            got = next((typ for typ, words in self.org_types if any(" " + w + " " in name for w in words)),
                       self.default_org_type)
            self._org_types[canonical] = got
        return got


# --------------------------------------------------------------------------- parsing

_SECTIONS = {
    "stances", "speaker_types", "verbs", "silent", "negation", "according", "according_skip", "exclude",
    "complementizers", "connectors", "pronoun_connectors", "auxiliaries", "particles", "stopwords",
    "adjuncts", "time_words", "titles", "ranks", "spokesperson", "anonymous", "correspondents",
    "place_nouns", "bodies", "media", "parts", "affiliation", "organization_types",
    "default_organization_type", "feminine", "states", "outlets", "adjectives", "documents", "quantifiers",
    "authored",
}
_WORD_SECTIONS = (
    "negation", "according", "according_skip", "exclude", "complementizers", "connectors",
    "pronoun_connectors", "auxiliaries", "particles", "stopwords", "adjuncts", "time_words", "titles",
    "ranks", "spokesperson", "anonymous", "correspondents", "place_nouns", "media", "parts",
    "affiliation", "feminine", "adjectives", "documents", "quantifiers", "authored",
)
_VERB_KEYS = {"stance", "forms", "participles", "needs", "relay", "confirms", "label", "unless", "next"}


def _err(src: str, obj: Any, msg: str, default: int | None = None) -> ClaimRulesError:
    return ClaimRulesError(src, msg, line_of(obj, default))


def _words(src: str, items: Any, what: str, where: int | None) -> list[str]:
    if not isinstance(items, list) or not items:
        raise _err(src, items, f"{what}: expected a non-empty list of words", where)
    out = []
    for w in items:
        if not isinstance(w, str) or not w.strip():
            raise _err(src, w, f"{what}: {w!r} is not a word", line_of(items, where))
        out.append(w)
    return out


def _lexicon(src: str, items: Any, what: str, where: int | None) -> Lexicon[bool]:
    lex: Lexicon[bool] = Lexicon()
    for w in _words(src, items, what, where):
        try:
            lex.add(w, True)
        except TermError as e:
            raise _err(src, w, f"{what}: {e}", line_of(items, where)) from None
    return lex


def _plain(text: str) -> str:
    """Match form without the article on each word (organisation type rules)."""
    return " ".join(w[2:] if w.startswith("ال") and len(w) > 4 else w for w in fold(repair(text)).split())


def _folded(word: str) -> tuple[str, ...]:
    return tuple(fold(repair(w)) for w in word.split())


def _verb_forms(src: str, lemma: str, spec: Any, ln: int | None) -> list[VerbForm]:
    if not isinstance(spec, dict):
        raise _err(src, spec, f"verb {lemma!r}: expected a mapping with stance and forms", ln)
    unknown = set(spec) - _VERB_KEYS
    if unknown:
        raise _err(src, spec, f"verb {lemma!r}: unknown key(s) {', '.join(sorted(map(str, unknown)))}", ln)
    stance = spec.get("stance")
    if stance not in STANCES:
        raise _err(src, stance, f"verb {lemma!r}: stance must be one of {', '.join(STANCES)}, not {stance!r}",
                   line_of(spec, ln))
    if not spec.get("forms") and not spec.get("participles"):
        raise _err(src, spec, f"verb {lemma!r}: needs forms or participles", ln)
    forms = _words(src, spec["forms"], f"verb {lemma!r} forms", line_of(spec, ln)) if spec.get("forms") else []
    parts = (_words(src, spec["participles"], f"verb {lemma!r} participles", line_of(spec, ln))
             if spec.get("participles") else [])
    needs = _lexicon(src, spec["needs"], f"verb {lemma!r} needs", line_of(spec, ln)) if spec.get("needs") else None
    confirms = (_lexicon(src, spec["confirms"], f"verb {lemma!r} confirms", line_of(spec, ln))
                if spec.get("confirms") else None)
    unless = _lexicon(src, spec["unless"], f"verb {lemma!r} unless", line_of(spec, ln)) if spec.get("unless") else None
    nxt = _lexicon(src, spec["next"], f"verb {lemma!r} next", line_of(spec, ln)) if spec.get("next") else None
    relay = spec.get("relay", False)
    if not isinstance(relay, bool):
        raise _err(src, relay, f"verb {lemma!r}: relay must be true or false", line_of(spec, ln))
    label = spec.get("label")
    if label is not None and not isinstance(label, str):
        raise _err(src, label, f"verb {lemma!r}: label must be text", line_of(spec, ln))
    return _make_forms(lemma, stance, forms, parts, label=label, needs=needs, relay=relay, confirms=confirms,
                       unless=unless, next=nxt)


def _make_forms(lemma: str, stance: str | None, forms: list[str], parts: list[str], **kw: Any) -> list[VerbForm]:
    folded = {_folded(f) for f in forms}
    singles = {f[-1] for f in folded}
    out = []
    for participle, items in ((False, forms), (True, parts)):
        for raw in items:
            toks = _folded(raw)
            f = toks[-1]
            if participle:
                fem = f.endswith("ه")
                plural = f.endswith(("ين", "ون"))
                present = False
            else:
                plural = f.endswith(("وا", "ون", "تا")) or (f.endswith("ا") and f[:-1] in singles)
                fem = (
                    f.endswith("تا")
                    or (f.endswith("ت") and (f[:-1] in singles or f[:-1] + "ي" in singles or f[:-1] + "ا" in singles))
                    or (f.startswith("ت") and "ي" + f[1:] in singles)
                )
                present = f[:1] in ("ي", "ت") and "ي" + f[1:] in singles
            out.append(VerbForm(lemma=lemma, stance=stance, label=kw.get("label"), participle=participle,
                                fem=fem, plural=plural, suffixable=fem or plural or present, tokens=toks,
                                needs=kw.get("needs"), relay=kw.get("relay", False), confirms=kw.get("confirms"),
                                unless=kw.get("unless"), next=kw.get("next")))
    return out


def _named(src: str, items: Any, kind: str, lex: Lexicon[Named], by_source: dict[str, Named],
           by_name: dict[str, Named]) -> None:
    if not isinstance(items, list):
        raise _err(src, items, f"{kind}s: expected a list of {{name, aliases}}")
    for it in items:
        if not isinstance(it, dict) or not isinstance(it.get("name"), str) or not it["name"].strip():
            raise _err(src, it, f"{kind}s: each entry needs a 'name'", line_of(items))
        unknown = set(it) - {"name", "aliases", "sources"}
        if unknown:
            raise _err(src, it, f"{kind} {it['name']!r}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        key = " ".join(_folded(it["name"]))
        if key in by_name:
            raise _err(src, it, f"duplicate {kind} {it['name']!r}")
        sources = tuple(str(s) for s in (it.get("sources") or []))
        entry = Named(str(it["name"]).strip(), kind, sources)
        by_name[key] = entry
        aliases = it.get("aliases") or []
        if not isinstance(aliases, list):
            raise _err(src, aliases, f"{kind} {it['name']!r}: aliases must be a list", line_of(it))
        for a in [it["name"], *aliases]:
            try:
                lex.add(str(a), entry)
            except TermError as e:
                raise _err(src, a, f"{kind} {it['name']!r}: {e}", line_of(it)) from None
            by_name.setdefault(" ".join(_folded(str(a))), entry)
        for s in sources:
            if s in by_source:
                raise _err(src, it, f"source {s!r} belongs to two outlets ({by_source[s].name}, {entry.name})")
            by_source[s] = entry


def build_claim_rules(data: Any, src: str = "<claims>") -> ClaimRules:
    if not isinstance(data, dict):
        raise ClaimRulesError(src, "expected a mapping with verbs, titles, outlets, …", 1)
    unknown = [k for k in data if k not in _SECTIONS]
    if unknown:
        raise _err(src, unknown[0], f"unknown section {str(unknown[0])!r}", line_of(data))
    if list(data.get("stances") or STANCES) != list(STANCES):
        raise _err(src, data.get("stances"), f"stances are fixed: {', '.join(STANCES)}", line_of(data))
    if list(data.get("speaker_types") or SPEAKER_TYPES) != list(SPEAKER_TYPES):
        raise _err(src, data.get("speaker_types"), f"speaker_types are fixed: {', '.join(SPEAKER_TYPES)}",
                   line_of(data))
    verbs_data = data.get("verbs")
    if not isinstance(verbs_data, dict) or not verbs_data:
        raise _err(src, verbs_data, "'verbs' must map each verb to its stance and forms", line_of(data))
    verbs: dict[str, VerbForm] = {}
    phrases: dict[str, list[VerbForm]] = {}
    owner_line: dict[tuple[str, ...], tuple[str, int | None]] = {}

    def register(vf: VerbForm, where: Any) -> None:
        prev = owner_line.get(vf.tokens)
        if prev is not None and prev[0] != vf.lemma:
            raise _err(src, where, f"form {' '.join(vf.tokens)!r} of {vf.lemma!r} is already a form of "
                                   f"{prev[0]!r} (line {prev[1]})", line_of(where))
        owner_line[vf.tokens] = (vf.lemma, line_of(where))
        if len(vf.tokens) == 1:
            verbs[vf.tokens[0]] = vf
        else:
            phrases.setdefault(vf.tokens[0], []).append(vf)

    for lemma, spec in verbs_data.items():
        for vf in _verb_forms(src, str(lemma), spec, line_of(verbs_data)):
            register(vf, spec)
    silent = data.get("silent") or []
    if not isinstance(silent, list):
        raise _err(src, silent, "'silent' must be a list of form lists", line_of(data))
    for group in silent:
        forms = _words(src, group, "silent", line_of(silent))
        for vf in _make_forms(forms[0], None, forms, []):
            register(vf, group)
    words: dict[str, Lexicon[bool]] = {}
    for sec in _WORD_SECTIONS:
        if sec not in data:
            raise _err(src, data, f"missing section {sec!r}")
        words[sec] = _lexicon(src, data[sec], sec, line_of(data))
    bodies: Lexicon[str] = Lexicon()
    bd = data.get("bodies")
    if not isinstance(bd, dict) or not bd:
        raise _err(src, bd, "'bodies' must map speaker types to heads", line_of(data))
    for typ, heads in bd.items():
        if typ not in SPEAKER_TYPES:
            raise _err(src, typ, f"bodies: unknown speaker type {typ!r}", line_of(bd))
        for h in _words(src, heads, f"bodies.{typ}", line_of(bd)):
            try:
                bodies.add(h, str(typ))
            except TermError as e:
                raise _err(src, h, f"bodies.{typ}: {e}", line_of(heads)) from None
    org_types: list[tuple[str, list[str]]] = []
    ot = data.get("organization_types")
    if not isinstance(ot, list) or not ot:
        raise _err(src, ot, "'organization_types' must be a list of {type, words}", line_of(data))
    for rule in ot:
        if not isinstance(rule, dict) or rule.get("type") not in SPEAKER_TYPES:
            raise _err(src, rule, f"organization_types: each rule needs a type among {', '.join(SPEAKER_TYPES)}",
                       line_of(ot))
        ws = _words(src, rule.get("words"), f"organization_types.{rule['type']}", line_of(rule))
        org_types.append((rule["type"], [_plain(w) for w in ws]))
    default_type = data.get("default_organization_type", "other")
    if default_type not in SPEAKER_TYPES:
        raise _err(src, default_type, f"default_organization_type must be one of {', '.join(SPEAKER_TYPES)}",
                   line_of(data))
    states: Lexicon[Named] = Lexicon(strict=True)
    outlets: Lexicon[Named] = Lexicon(strict=True)
    by_source: dict[str, Named] = {}
    by_name: dict[str, Named] = {}
    _named(src, data.get("states") or [], "state", states, {}, {})
    _named(src, data.get("outlets") or [], "outlet", outlets, by_source, by_name)
    return ClaimRules(src, verbs, phrases, words, bodies, org_types, str(default_type), states, outlets,
                      by_source, by_name)


def parse_claim_rules(path: Path) -> ClaimRules:
    """Read, validate and compile a claims file; errors name the file and the line."""
    return build_claim_rules(load_yaml_lines(path, ClaimRulesError), str(path))


def load_claim_rules(path: str | os.PathLike[str], *, fresh: bool = True) -> ClaimRules:
    """The claim rules of ``path`` in force (:func:`pipeline.core.yamlfile.load_file`)."""
    return load_file(path, parse_claim_rules, fresh=fresh, what="claim rules", stage="claims")
