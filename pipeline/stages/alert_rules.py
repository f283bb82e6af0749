"""Alert rules: config/alerts.yaml (or ``RASID_ALERTS_FILE``) read, validated and compiled.

Analysts edit the file like topics.yaml: every error names the file and the line, a duplicate key
is refused, and a running worker keeps the last valid rules in force while an edit is broken
(:func:`load_alerts`, :mod:`pipeline.core.yamlfile`)::

    webhooks:
      - id: desk
        url: https://example.org/hook
        secret_env: RASID_WEBHOOK_SECRET   # optional: X-Rasid-Signature: sha256=<HMAC-SHA256 of the body>
    rules:
      - id: idlib-observation-posts
        kind: match          # topics / places / sources filters (any of each list, all lists)
        topics: [turkish_role]  # and/or topics.yaml-style terms/rules/not/threshold
        places: [إدلب]
        notify: [desk]
      - id: breaking
        kind: breaking       # min_sources distinct sources within within_minutes
        min_sources: 3
        within_minutes: 60
        notify: [desk]
      - id: spike
        kind: spike          # a topic's/place's count in the last hour >= factor × trailing baseline
        notify: [desk]

Term criteria of match rules are compiled with the topics engine (:mod:`pipeline.stages.topics`),
so they mean exactly what they mean in topics.yaml (a top-level ``lexicons:`` may define
``$names``). Pure: nothing here sends anything.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core import arabic
from pipeline.core.yamlfile import ConfigError, line_of, load_file, load_yaml_lines

KINDS = ("match", "breaking", "spike")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Alerts about news older than this (article time against the evaluation time) are not sent:
# a backfill of last month's sitemap must not page the desk. Per rule: max_age_minutes.
DEFAULT_MAX_AGE_MIN = 360.0
DEFAULT_BREAKING = (3, 60.0)  # sources, minutes: the story documents' breaking_at without a breaking rule
TERM_KEYS = {"terms", "rules", "not", "not_near", "threshold", "min_terms", "negation", "not_genre",
             "repeat", "repeat_cap", "title_bonus"}
COMMON_KEYS = {"id", "kind", "notify", "description", "max_age_minutes"}
RULE_KEYS = {
    "match": COMMON_KEYS | {"topics", "places", "sources"} | TERM_KEYS,
    "breaking": COMMON_KEYS | {"min_sources", "within_minutes"},
    "spike": COMMON_KEYS | {"on", "topics", "places", "factor", "min_count", "baseline_hours"},
}


class _LinedDict(dict):
    line: int


class AlertsError(ConfigError):
    """An invalid alerts file; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    secret_env: str | None = None
    line: int = 0

    def secret(self) -> bytes | None:
        """The signing secret from the environment (None: the webhook signs nothing)."""
        if not self.secret_env:
            return None
        value = os.environ.get(self.secret_env)
        return value.encode("utf-8") if value else None


def place_key(name: str) -> str:
    """How place names are compared: the match form (إدلب = ادلب), English in lower case."""
    return arabic.normalize(name or "")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    notify: tuple[str, ...] = ()
    max_age_s: float = DEFAULT_MAX_AGE_MIN * 60
    line: int = 0
    # match
    topics: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()  # place_key forms
    sources: frozenset[str] = frozenset()
    terms: bool = False  # a topic named by the rule id in AlertConfig.terms
    # breaking
    min_sources: int = DEFAULT_BREAKING[0]
    within_s: float = DEFAULT_BREAKING[1] * 60
    # spike
    on: tuple[str, ...] = ("topics", "places")
    factor: float = 3.0
    min_count: int = 5
    baseline_hours: int = 24


@dataclass
class AlertConfig:
    """A validated alerts file: webhooks by id, rules in file order, the compiled term criteria."""

    webhooks: dict[str, Webhook] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    terms: Any = None  # pipeline.stages.topics.TopicSet of the match rules' term criteria (ids = rule ids)
    source: str = "<alerts>"

    def of_kind(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.kind == kind]

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def breaking(self) -> tuple[int, float]:
        """(min sources, window seconds) that sets a story's ``breaking_at``: the first breaking rule's."""
        first = next(iter(self.of_kind("breaking")), None)
        return (first.min_sources, first.within_s) if first else (DEFAULT_BREAKING[0], DEFAULT_BREAKING[1] * 60)


def _num(v: Any, src: str, parent: Any, what: str, *, lo: float | None = None, integer: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise AlertsError(src, f"{what} must be a number, got {v!r}", line_of(v, line_of(parent)))
    try:
        x = float(v)
    except ValueError:
        raise AlertsError(src, f"{what} must be a number, got {v!r}", line_of(v, line_of(parent))) from None
    if integer and x != int(x):
        raise AlertsError(src, f"{what} must be a whole number, got {v!r}", line_of(v, line_of(parent)))
    if lo is not None and x < lo:
        raise AlertsError(src, f"{what} must be >= {lo:g}, got {v!r}", line_of(v, line_of(parent)))
    return x


def _strings(v: Any, src: str, parent: Any, what: str) -> list[str]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise AlertsError(src, f"{what} must be a list of names", line_of(v, line_of(parent)))
    return [x.strip() for x in v]


def _webhooks(raw: Any, src: str, top: Any) -> dict[str, Webhook]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise AlertsError(src, "'webhooks' must be a list", line_of(raw, line_of(top)))
    out: dict[str, Webhook] = {}
    for w in raw:
        wl = line_of(w, line_of(raw))
        if not isinstance(w, dict):
            raise AlertsError(src, "a webhook must be a mapping with id and url", wl)
        bad = set(w) - {"id", "url", "secret_env", "description"}
        if bad:
            raise AlertsError(src, f"webhook: unknown key {sorted(bad)[0]!r}", wl)
        wid, url = w.get("id"), w.get("url")
        if not isinstance(wid, str) or not ID_RE.match(wid):
            raise AlertsError(src, f"webhook id must be lower-case letters, digits, - or _, got {wid!r}", wl)
        if wid in out:
            raise AlertsError(src, f"webhook {wid!r} defined twice (first on line {out[wid].line})", wl)
        if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
            raise AlertsError(src, f"webhook {wid!r}: url must be an http(s):// URL, got {url!r}",
                              line_of(url, wl))
        env = w.get("secret_env")
        if env is not None and (not isinstance(env, str) or not ENV_RE.match(env)):
            raise AlertsError(src, f"webhook {wid!r}: secret_env must name an environment variable, got {env!r}",
                              line_of(env, wl))
        out[wid] = Webhook(wid, url, env, wl or 0)
    return out


def _rule(r: Any, src: str, raw: Any, webhooks: dict[str, Webhook], term_specs: dict[str, Any]) -> Rule:
    rl = line_of(r, line_of(raw)) or 0
    if not isinstance(r, dict):
        raise AlertsError(src, "a rule must be a mapping with id and kind", rl)
    rid, kind = r.get("id"), r.get("kind")
    if not isinstance(rid, str) or not ID_RE.match(rid):
        raise AlertsError(src, f"rule id must be lower-case letters, digits, - or _, got {rid!r}", rl)
    if kind not in KINDS:
        raise AlertsError(src, f"rule {rid!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}",
                          line_of(kind, rl))
    bad = set(r) - RULE_KEYS[kind]
    if bad:
        k = sorted(bad)[0]
        raise AlertsError(src, f"rule {rid!r}: unknown key {k!r} for kind {kind}", rl)
    notify = tuple(_strings(r.get("notify") or [], src, r, f"rule {rid!r}: notify"))
    for wid in notify:
        if wid not in webhooks:
            raise AlertsError(src, f"rule {rid!r}: notify names unknown webhook {wid!r}",
                              line_of(r.get("notify"), rl))
    kw: dict[str, Any] = {"id": rid, "kind": kind, "notify": notify, "line": rl}
    if "max_age_minutes" in r:
        kw["max_age_s"] = 60 * _num(r["max_age_minutes"], src, r, f"rule {rid!r}: max_age_minutes", lo=1)

    def names(key: str, fold=lambda s: s) -> frozenset[str]:
        return frozenset(fold(x) for x in _strings(r[key], src, r, f"rule {rid!r}: {key}")) if key in r else frozenset()

    if kind == "match":
        kw.update(topics=names("topics"), places=names("places", place_key), sources=names("sources"))
        if TERM_KEYS & set(r):
            spec = _LinedDict((k, v) for k, v in r.items() if k in TERM_KEYS)
            spec.line = rl  # errors inside the criteria keep pointing into this file
            spec.setdefault("threshold", 1)
            term_specs[rid] = spec
            kw["terms"] = True
        if not (kw["topics"] or kw["places"] or kw["sources"] or kw.get("terms")):
            raise AlertsError(src, f"rule {rid!r}: a match rule needs topics, places, sources or terms", rl)
    elif kind == "breaking":
        kw["min_sources"] = int(_num(r.get("min_sources", DEFAULT_BREAKING[0]), src, r,
                                     f"rule {rid!r}: min_sources", lo=2, integer=True))
        kw["within_s"] = 60 * _num(r.get("within_minutes", DEFAULT_BREAKING[1]), src, r,
                                   f"rule {rid!r}: within_minutes", lo=1)
    else:
        on = tuple(_strings(r.get("on", ["topics", "places"]), src, r, f"rule {rid!r}: on"))
        if set(on) - {"topics", "places"}:
            raise AlertsError(src, f"rule {rid!r}: on must list topics and/or places", line_of(r.get("on"), rl))
        kw.update(on=on, topics=names("topics"), places=names("places", place_key),
                  factor=_num(r.get("factor", 3.0), src, r, f"rule {rid!r}: factor", lo=1),
                  min_count=int(_num(r.get("min_count", 5), src, r, f"rule {rid!r}: min_count", lo=1,
                                     integer=True)),
                  baseline_hours=int(_num(r.get("baseline_hours", 24), src, r, f"rule {rid!r}: baseline_hours",
                                          lo=1, integer=True)))
    return Rule(**kw)


def _compile_terms(term_specs: dict[str, Any], lexicons: Any, src: str, rules: list[Rule]) -> Any:
    """The match rules' term criteria as one TopicSet (one scan of an article for all of them)."""
    from pipeline.stages.topics import TopicsError, build_topics

    names = {f"r{i}": rid for i, rid in enumerate(term_specs)}  # topic ids must be snake_case
    data: dict[str, Any] = {"topics": {k: term_specs[rid] for k, rid in names.items()}}
    if lexicons:
        data["lexicons"] = lexicons
    try:
        ts = build_topics(data, src)
    except TopicsError as e:
        rid = names.get(e.topic or "", None)
        line = e.line or next((r.line for r in rules if r.id == rid), None)
        raise AlertsError(src, f"rule {rid!r}: {e.msg}" if rid else e.msg, line) from None
    for t in ts.topics:
        t.id = names[t.id]
    return ts


def build_alerts(data: Any, src: str = "<alerts>") -> AlertConfig:
    """Validate parsed YAML (with line numbers) into an :class:`AlertConfig`."""
    if data is None:
        return AlertConfig(source=src)
    if not isinstance(data, dict):
        raise AlertsError(src, "expected a mapping with 'webhooks:' and 'rules:'", line_of(data, 1))
    bad = set(data) - {"version", "webhooks", "rules", "lexicons"}
    if bad:
        raise AlertsError(src, f"unknown top-level key {sorted(bad)[0]!r}", line_of(data))
    webhooks = _webhooks(data.get("webhooks"), src, data)
    raw = data.get("rules") or []
    if not isinstance(raw, list):
        raise AlertsError(src, "'rules' must be a list", line_of(raw, line_of(data)))
    rules: list[Rule] = []
    term_specs: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for r in raw:
        rule = _rule(r, src, raw, webhooks, term_specs)
        if rule.id in seen:
            raise AlertsError(src, f"rule {rule.id!r} defined twice (first on line {seen[rule.id]})", rule.line)
        seen[rule.id] = rule.line
        rules.append(rule)
    terms = _compile_terms(term_specs, data.get("lexicons"), src, rules) if term_specs else None
    return AlertConfig(webhooks=webhooks, rules=rules, terms=terms, source=src)


def parse_alerts(path: str | os.PathLike[str]) -> AlertConfig:
    """Read and validate an alerts file; :class:`AlertsError` (``file:line: ...``) on any problem."""
    p = Path(path)
    return build_alerts(load_yaml_lines(p, AlertsError), str(p))


def load_alerts(path: str | os.PathLike[str], *, fresh: bool = True) -> AlertConfig:
    """The rules of ``path`` in force: parsed again after an edit; an invalid edit keeps the last
    valid rules (logged with file and line). The first load raises on an invalid file."""
    return load_file(path, parse_alerts, fresh=fresh, what="alerts file", stage="alerts")


def alerts_in_force(path: str | os.PathLike[str], *, fresh: bool = True) -> AlertConfig:
    """:func:`load_alerts`, or no rules at all when the file does not exist (alerts are optional;
    a file that exists but is invalid still raises on the first load)."""
    if not Path(path).exists():
        return AlertConfig(source=str(path))
    return load_alerts(path, fresh=fresh)
