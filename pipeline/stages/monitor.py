"""Story documents and alert rules over the stream of articles, in the order story ids are assigned.

:class:`StoryMonitor` keeps one JSON-able entry per story in a ``MutableMapping`` (a changelogged
faust Table in the stream, a dict in ``rasid alerts test``) and, for each article it is shown, returns
the story's document (written whole, by ``_id`` = story id: the devstack's Elasticsearch has no
painless, so nothing is updated in place) and the alerts that fire.

Why this shape:

- The aggregate is recomputed from the story's *members* (article id → source, time, topic ids,
  places), not incremented: an article shown again (a redelivery, ``rasid replay``, a restart
  that re-reads an unacknowledged batch) changes nothing, and an article re-classified by a replay
  after a topics.yaml edit updates its own contribution. Up to ``max_members`` members are kept in
  full; later ones are counted by source, topic and place with a 12-hex id prefix remembered, so a
  very large story stays small on the changelog and still counts each article once.
- Times are the articles' own (publication, else fetch), never the clock: first/last seen,
  breaking and growth come out the same however late or often the articles are processed.
  The clock only decides whether an alert is still worth sending (``max_age_minutes``).
- One alert per (rule, story): a rule fired for a story is recorded in the story's entry, and the
  alert id is a hash of rule and story (spikes: rule, key and hour), so even an alert fired twice
  (state lost) carries the same id and the webhook agent delivers it once. Fired alerts wait in a
  ``~pending`` entry until the caller confirms Kafka took them (:meth:`confirm`): a crash between
  the state write and the produce sends them with the next batch instead of losing them.
- Spikes count each article once (when it joins its story) in 10-minute buckets per topic and per
  place, while a spike rule exists; the last hour is compared with the mean hour of the trailing
  ``baseline_hours``, once the monitor has counted for that long (a fresh deployment has no
  baseline: everything would spike).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, MutableMapping

from pipeline.core.dates import placed_time
from pipeline.stages.alert_rules import AlertConfig, Rule, place_key
from pipeline.stages.packed import ArrivalLog

PENDING_KEY = "~pending"  # alerts fired, not yet confirmed by Kafka
SPIKE_PREFIX = "~spike:"
SINCE_KEY = "~since"  # when counting began (clock bucket): no spike before a whole baseline was seen
MAX_MEMBERS = 500
MAX_FOLLOWED_BY = 16  # the later stories a story's document lists as following it
MAX_OVERFLOW_IDS = 20_000
MAX_FUTURE_S = 2 * 86400  # a publication date this far past the fetch is a parsing accident
BUCKET_S = 600
HOUR = 3600.0
SWEEP_EVERY_S = 600.0
SPIKE_KEEP_S = 8 * 86400.0  # a spike counter with nothing newer is forgotten


def timestamp_of(v: Any) -> float | None:
    """POSIX seconds of a datetime or an ISO-8601 string (``Z`` allowed; naive = UTC), None when unreadable."""
    if not v:
        return None
    try:
        dt = v if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()


def iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat() if ts is not None else None


def article_time(art: dict, now_ts: float) -> float:
    """The article's time: publication when plausible (placed as the story stage and the document's
    ``@timestamp`` place it, :func:`pipeline.core.dates.placed_time`: a page that gives only its day at its fetch
    that day, so it counts in the hour it came in), else fetch, else ``now_ts``."""
    pub, fetched = timestamp_of(art.get("published_at")), timestamp_of(art.get("fetched_at"))
    if pub is not None and pub >= 631152000 and (fetched is None or pub <= fetched + MAX_FUTURE_S):
        at = placed_time(datetime.fromtimestamp(pub, timezone.utc),
                         datetime.fromtimestamp(fetched, timezone.utc) if fetched is not None else None)
        return at.timestamp() if at is not None else pub
    return fetched if fetched is not None else now_ts


def alert_id(rule_id: str, key: str) -> str:
    """Deterministic: the same rule and story (or spike key and hour) always give the same id."""
    return hashlib.sha256(f"{rule_id}\x00{key}".encode("utf-8")).hexdigest()[:32]


def breaking_window(members: Iterable[tuple[str, float, str]], min_sources: int, within_s: float
                    ) -> tuple[float, list[str], list[str]] | None:
    """The earliest time ``min_sources`` distinct sources published within ``within_s``:
    (that time, the window's article ids, its sources in order of appearance), or None."""
    items = sorted(members, key=lambda m: (m[1], m[2]))  # (source, t, id) by time
    counts: Counter = Counter()
    lo = 0
    for hi, (src, t, _) in enumerate(items):
        counts[src] += 1
        while items[lo][1] < t - within_s:
            counts[items[lo][0]] -= 1
            if not counts[items[lo][0]]:
                del counts[items[lo][0]]
            lo += 1
        if len(counts) >= min_sources:
            window = items[lo:hi + 1]
            return t, [m[2] for m in window], list(dict.fromkeys(m[0] for m in window))
    return None


@dataclass
class Observed:
    """What one article changed: its story's document and the alerts that fired (new ones only)."""

    story_id: str
    doc: dict
    alerts: list[dict] = field(default_factory=list)
    changed: bool = False
    also: dict[str, dict] = field(default_factory=dict)  # other stories' documents it changed (followed_by)


MAX_CLAIMS_PER_ARTICLE = 8


def _member(art: dict, t: float) -> list:
    topics = sorted({x["id"] for x in art.get("topics") or [] if isinstance(x, dict) and x.get("id")})
    places = list(dict.fromkeys(p["name"] for p in art.get("places") or [] if isinstance(p, dict) and p.get("name")))
    # who says what in the article: "speaker|stance", at most MAX_CLAIMS_PER_ARTICLE (state stays small)
    claims = list(dict.fromkeys(f"{c['speaker']}|{c['stance']}" for c in art.get("claims") or []
                                if isinstance(c, dict) and c.get("speaker") and c.get("stance")))
    return [art.get("source") or "", t, topics, places, claims[:MAX_CLAIMS_PER_ARTICLE]]


class StoryMonitor:
    """Story aggregates and alert rules over ``store``.

    A story's entry (key: story id): ``m`` article id → [source, time, topic ids, place names] (up
    to ``max_members``), ``x``/``xi`` the members beyond (counts, 12-hex id prefixes), ``r`` the
    representative [time, id, title, url], ``f`` rule id → alert id of the rules fired, ``a``/``u``
    clock times of its first and last change (``u`` ages it out after ``retention_s``), ``c`` the story it
    follows (its first article's ``story_follows``), ``fb`` the later stories that follow it. Besides:
    ``~pending`` (alert id → alert), ``~spike:<topics|places>:<key>`` (10-minute counts, fired
    hours), ``~since``. Entries are replaced, never mutated in place."""

    def __init__(self, store: MutableMapping[str, Any] | None = None,
                 config: AlertConfig | Callable[[], AlertConfig] | None = None, *,
                 max_members: int = MAX_MEMBERS, retention_s: float = 90 * 86400.0,
                 classify: Callable[..., list] | None = None) -> None:
        self.store: MutableMapping[str, Any] = {} if store is None else store
        self._config = config if callable(config) else (lambda c=config or AlertConfig(): c)
        self.max_members = max_members
        self.retention_s = retention_s
        self._classify = classify
        self._swept = float("-inf")
        self._due: ArrivalLog | None = None  # story ids by creation, then last change: read at the first sweep
        self._spike_keys: set[str] = set()

    @property
    def config(self) -> AlertConfig:
        return self._config()

    # -- the one operation ------------------------------------------------------------------------
    def observe(self, art: dict, now: datetime | None = None, *, check_age: bool = True) -> Observed:
        """Add (or refresh) ``art`` in its story; the story's document and the alerts that fire.

        ``now`` is the evaluation time (default: the clock); ``check_age=False`` fires regardless of
        the articles' age (``rasid alerts test`` on old saved pages)."""
        cfg = self.config
        now_ts = (now or datetime.now(timezone.utc)).timestamp()
        aid = art["id"]
        sid = art.get("story_id") or art.get("duplicate_of") or aid
        t = article_time(art, now_ts)
        old = self.store.get(sid)
        entry = _copy(old) if old else {"v": 1, "m": {}, "a": now_ts, "u": now_ts, "f": {}}
        mem = _member(art, t)
        members = entry["m"]
        prefix = aid[:12]
        new = aid not in members and prefix not in entry.get("xi", ())
        changed = new or (aid in members and members[aid] != mem)
        if aid in members or (new and len(members) < self.max_members):
            members[aid] = mem
        elif new:
            self._overflow(entry, mem, prefix)
        also: dict[str, dict] = {}
        if art.get("story_follows") and not entry.get("c"):  # set by the story's first article
            entry["c"] = art["story_follows"]
            also = self._followed(art["story_follows"], sid, now_ts, cfg)
        if changed or self._rep_changed(entry, art, t):
            self._set_rep(entry, art, t)
            entry["u"] = now_ts
        fired: list[dict] = []
        if changed:
            fired += self._fire_story_rules(cfg, sid, entry, art, mem, now_ts, check_age)
        if changed or old is None or entry != old:
            self.store[sid] = entry  # replaced, never mutated in place (a Table logs assignments only)
            if old is None and self._due is not None:
                self._due.push(now_ts, sid)
        if new and cfg.of_kind("spike"):  # counted only while a spike rule exists (warm-up: SINCE_KEY)
            fired += self._count_spikes(cfg, art, mem, now_ts, check_age)
        if fired:
            pending = dict(self.store.get(PENDING_KEY) or {})
            pending.update({a["id"]: a for a in fired})
            self.store[PENDING_KEY] = pending
        if now_ts - self._swept >= SWEEP_EVERY_S:
            self.sweep(now_ts)
        return Observed(sid, story_document(sid, entry, cfg), fired, changed, also)

    def _followed(self, earlier: str, sid: str, now_ts: float, cfg: AlertConfig) -> dict[str, dict]:
        """Record ``sid`` on the story it follows (``fb``), if that story is still kept: {its id: its document}."""
        old = self.store.get(earlier)
        if not old or not isinstance(old, dict) or sid in (old.get("fb") or ()):
            return {}
        entry = _copy(old)
        entry["fb"] = (list(old.get("fb") or []) + [sid])[-MAX_FOLLOWED_BY:]
        entry["u"] = now_ts
        self.store[earlier] = entry
        return {earlier: story_document(earlier, entry, cfg)}

    # -- confirmation of fired alerts ----------------------------------------------------------------
    def pending(self) -> list[dict]:
        """Alerts fired but not confirmed as produced (in firing order)."""
        return list((self.store.get(PENDING_KEY) or {}).values())

    def confirm(self, ids: Iterable[str]) -> None:
        """Kafka confirmed these alerts: they are never produced again."""
        pending = self.store.get(PENDING_KEY) or {}
        done = set(ids)
        left = {k: v for k, v in pending.items() if k not in done}
        if len(left) != len(pending):
            self.store[PENDING_KEY] = left

    # -- story rules -------------------------------------------------------------------------------
    def _fire_story_rules(self, cfg: AlertConfig, sid: str, entry: dict, art: dict, mem: list,
                          now_ts: float, check_age: bool) -> list[dict]:
        out = []
        fired_rules: dict = entry.setdefault("f", {})
        term_hits: set[str] | None = None
        for rule in cfg.rules:
            if rule.id in fired_rules or rule.kind == "spike":
                continue
            if rule.kind == "match":
                if rule.terms and term_hits is None:
                    term_hits = self._term_hits(cfg, art)
                if not match_rule(rule, art, mem, term_hits or set()):
                    continue
                if check_age and mem[1] < now_ts - rule.max_age_s:
                    continue
                alert = self._alert(rule, sid, now_ts, article_ids=[art["id"]], title=art.get("title"),
                                    url=art.get("url"), sources=_sources(entry),
                                    topics=mem[2], places=mem[3], follows=entry.get("c"))
            else:
                win = breaking_window(((m[0], m[1], k) for k, m in entry["m"].items()),
                                      rule.min_sources, rule.within_s)
                if win is None or (check_age and win[0] < now_ts - rule.max_age_s):
                    continue
                rep = entry.get("r") or [None, None, None, None]
                alert = self._alert(rule, sid, now_ts, article_ids=win[1], title=rep[2], url=rep[3],
                                    sources=win[2], breaking_at=iso(win[0]), source_count=len(win[2]),
                                    within_minutes=rule.within_s / 60, follows=entry.get("c"))
            fired_rules[rule.id] = alert["id"]
            out.append(alert)
        return out

    def _term_hits(self, cfg: AlertConfig, art: dict) -> set[str]:
        if cfg.terms is None:
            return set()
        if self._classify is None:
            from pipeline.stages.classify import classify

            self._classify = classify
        return {h.id for h in self._classify(art.get("title"), art.get("body") or "", cfg.terms)}

    @staticmethod
    def _alert(rule: Rule, sid: str | None, now_ts: float, *, key: str | None = None, **fields: Any) -> dict:
        aid = alert_id(rule.id, key or sid or "")
        return {"schema": 1, "id": aid, "rule": rule.id, "kind": rule.kind, "story_id": sid,
                "article_ids": fields.pop("article_ids"), "title": fields.pop("title", None),
                "url": fields.pop("url", None), "sources": fields.pop("sources", []),
                "fired_at": iso(now_ts), "notify": list(rule.notify), **fields}

    # -- spikes ------------------------------------------------------------------------------------
    def _count_spikes(self, cfg: AlertConfig, art: dict, mem: list, now_ts: float, check_age: bool) -> list[dict]:
        t = mem[1]
        b = int(t // BUCKET_S)
        rules = cfg.of_kind("spike")
        keep = (max((r.baseline_hours for r in rules), default=24) + 1) * int(HOUR // BUCKET_S)
        keys = [("topics", x, x) for x in mem[2]] + [("places", place_key(x), x) for x in mem[3]]
        since = self.store.get(SINCE_KEY)  # by the clock: how long the monitor has been counting
        if since is None and keys:
            since = int(now_ts // BUCKET_S)
            self.store[SINCE_KEY] = since
        out = []
        for kind, k, label in keys:
            skey = f"{SPIKE_PREFIX}{kind}:{k}"
            old = self.store.get(skey) or {"c": {}, "f": {}}
            counts = {int(x): n for x, n in old["c"].items()}
            counts[b] = counts.get(b, 0) + 1
            top = max(counts)
            counts = {x: n for x, n in counts.items() if x > top - keep}
            entry = {"c": {str(x): n for x, n in sorted(counts.items())}, "f": dict(old.get("f") or {}), "l": label}
            for rule in rules:
                if kind not in rule.on or (kind == "topics" and rule.topics and k not in rule.topics) or \
                        (kind == "places" and rule.places and k not in rule.places):
                    continue
                last, base = spike_counts(counts, b, rule.baseline_hours)
                hour = int(t // HOUR)
                if now_ts // BUCKET_S - since < (rule.baseline_hours + 1) * int(HOUR // BUCKET_S):
                    continue  # a monitor just started has no baseline yet: everything would be a spike
                if last < rule.min_count or last < rule.factor * base or entry["f"].get(rule.id, -1) >= hour:
                    continue
                if check_age and t < now_ts - rule.max_age_s:
                    continue
                entry["f"][rule.id] = hour
                out.append(self._alert(rule, None, now_ts, key=f"{kind}:{k}:{hour}", article_ids=[art["id"]],
                                       title=f"{label}: {last} articles in the last hour (baseline {base:.1f})",
                                       url=art.get("url"), sources=[mem[0]], spike={"on": kind, "key": label,
                                                                                   "count": last,
                                                                                   "baseline": round(base, 2)}))
            self.store[skey] = entry
            self._spike_keys.add(skey)
        return out

    # -- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _overflow(entry: dict, mem: list, prefix: str) -> None:
        """A member beyond ``max_members``: counted, its id prefix remembered (for idempotence)."""
        x = entry.setdefault("x", {"n": 0, "s": {}, "tp": {}, "pl": {}, "t0": mem[1], "t1": mem[1]})
        x["n"] += 1
        x["t0"], x["t1"] = min(x["t0"], mem[1]), max(x["t1"], mem[1])
        for field_, names in (("s", [mem[0]]), ("tp", mem[2]), ("pl", mem[3])):
            for n in names:
                x[field_][n] = x[field_].get(n, 0) + 1
        ids = entry.setdefault("xi", [])
        if len(ids) < MAX_OVERFLOW_IDS:
            ids.append(prefix)

    @staticmethod
    def _rep_changed(entry: dict, art: dict, t: float) -> bool:
        rep = entry.get("r")
        return rep is not None and rep[1] == art["id"] and (rep[2] != art.get("title") or rep[0] != t)

    @staticmethod
    def _set_rep(entry: dict, art: dict, t: float) -> None:
        """The representative: the earliest article with a title (ties: the smaller id)."""
        if not art.get("title"):
            return
        rep = entry.get("r")
        if rep is None or rep[1] == art["id"] or (t, art["id"]) < (rep[0], rep[1]):
            entry["r"] = [t, art["id"], art.get("title"), art.get("url")]

    def sweep(self, now_ts: float) -> int:
        """Forget stories untouched for ``retention_s`` and spike counters with nothing recent.

        Only the stories due are read: story ids wait in a time log (40 bytes a story), by creation;
        one whose time came but that changed since goes back in at its last change. Reading every
        story every ten minutes was a stall that grew with the retention (months of stories: a
        million entries decoded from disk each time). The log is filled at the first sweep from one
        read of the table as a stream, one decoded entry at a time (``list(store.items())`` held the
        whole table decoded, and the heap that peak left stayed resident)."""
        self._swept = now_ts
        floor = now_ts - self.retention_s
        if self._due is None:
            self._due = self._load(now_ts)
        gone = 0
        for _, k in self._due.pop_older(floor):
            v = self.store.get(k)
            if not isinstance(v, dict):
                continue
            u = v.get("u", now_ts)
            if u < floor:
                del self.store[k]
                gone += 1
            else:
                self._due.requeue(u, k)
        for k in sorted(self._spike_keys):  # one per topic and place: a few hundred
            v = self.store.get(k)
            if isinstance(v, dict) and max(map(int, v.get("c") or {}), default=0) * BUCKET_S >= now_ts - SPIKE_KEEP_S:
                continue
            self._spike_keys.discard(k)
            if v is not None:
                del self.store[k]
                gone += 1
        return gone

    def _load(self, now_ts: float) -> ArrivalLog:
        """The time log of the stories in the store (and the spike counters' keys), read as a stream."""
        log = ArrivalLog()

        def stories() -> Iterable[tuple[float, str]]:
            for k, v in self.store.items():
                if not isinstance(v, dict) or k in (PENDING_KEY, SINCE_KEY):
                    continue
                if k.startswith(SPIKE_PREFIX):
                    self._spike_keys.add(k)
                else:
                    yield v.get("u", now_ts), k

        log.load(stories())
        return log


def _copy(entry: dict) -> dict:
    out = dict(entry)
    out["m"] = dict(entry.get("m") or {})
    out["f"] = dict(entry.get("f") or {})
    if "x" in entry:
        x = entry["x"]
        out["x"] = {**x, "s": dict(x["s"]), "tp": dict(x["tp"]), "pl": dict(x["pl"])}
    if "xi" in entry:
        out["xi"] = list(entry["xi"])
    return out


def match_rule(rule: Rule, art: dict, mem: list, term_hits: set[str]) -> bool:
    """Every filter the rule has holds (any listed name of each); its term criteria scored."""
    if rule.topics and not rule.topics & set(mem[2]):
        return False
    if rule.places:
        keys = {place_key(p.get("name") or "") for p in art.get("places") or [] if isinstance(p, dict)}
        keys |= {place_key(p.get("name_en") or "") for p in art.get("places") or [] if isinstance(p, dict)}
        if not rule.places & keys:
            return False
    if rule.sources and mem[0] not in rule.sources:
        return False
    return not rule.terms or rule.id in term_hits


def spike_counts(counts: dict[int, int], b: int, baseline_hours: int) -> tuple[int, float]:
    """(articles in the hour ending with bucket ``b``, mean articles per hour over the
    ``baseline_hours`` before that hour)."""
    per_hour = int(HOUR // BUCKET_S)
    last = sum(counts.get(x, 0) for x in range(b - per_hour + 1, b + 1))
    start = b - per_hour
    base = sum(counts.get(x, 0) for x in range(start - baseline_hours * per_hour + 1, start + 1))
    return last, base / baseline_hours


def _sources(entry: dict) -> list[str]:
    c: Counter = Counter(m[0] for m in entry["m"].values() if m[0])
    c.update((entry.get("x") or {}).get("s") or {})
    return sorted(c)


def _ranked(c: Counter) -> list[str]:
    return [k for k, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]


def story_document(sid: str, entry: dict, cfg: AlertConfig | None = None) -> dict:
    """The Elasticsearch document of a story (``_id`` = story id), from its state entry alone."""
    cfg = cfg or AlertConfig()
    members = entry.get("m") or {}
    x = entry.get("x") or {}
    times = [m[1] for m in members.values()] + [v for v in (x.get("t0"), x.get("t1")) if v is not None]
    sources: Counter = Counter(m[0] for m in members.values() if m[0])
    sources.update(x.get("s") or {})
    topics: Counter = Counter(tid for m in members.values() for tid in m[2])
    topics.update(x.get("tp") or {})
    places: Counter = Counter(p for m in members.values() for p in m[3])
    places.update(x.get("pl") or {})
    said: Counter = Counter(c for m in members.values() if len(m) > 4 for c in m[4])
    last_seen = max(times) if times else None
    ts = [m[1] for m in members.values()]
    last_hour = sum(1 for t in ts if last_seen is not None and t > last_seen - HOUR)
    prev_hour = sum(1 for t in ts if last_seen is not None and last_seen - 2 * HOUR < t <= last_seen - HOUR)
    min_sources, within_s = cfg.breaking
    win = breaking_window(((m[0], m[1], k) for k, m in members.items()), min_sources, within_s)
    rep = entry.get("r") or [None, None, None, None]
    return {
        "story_id": sid,
        "title": rep[2],
        "url": rep[3],
        "first_seen": iso(min(times)) if times else None,
        "last_seen": iso(last_seen),
        "article_count": len(members) + int(x.get("n", 0)),
        "source_count": len(sources),
        "sources": sorted(sources),
        "topic_ids": _ranked(topics),
        "places": _ranked(places),
        # who states, who denies...: speakers per stance, most articles first; and "speaker|stance" flat
        "claims": {stance: [c.split("|", 1)[0] for c in _ranked(said) if c.endswith("|" + stance)]
                   for stance in sorted({c.rsplit("|", 1)[1] for c in said})},
        "claim_stances": _ranked(said),
        "breaking_at": iso(win[0]) if win else None,
        "articles_last_hour": last_hour,
        "articles_prev_hour": prev_hour,
        # growth: the last hour of the story against the hour before (1 = steady, >1 = growing)
        "growth": round(last_hour / max(prev_hour, 1), 2),
        "alert_rules": sorted(entry.get("f") or {}),
        # the earlier story (begun more than the story window before) this one follows on from: the same
        # event's next day, or the next event in that place or around those actors (stages/stories.py)
        "follows": entry.get("c"),
        "followed_by": list(entry.get("fb") or []),  # ... and the later stories that follow this one
        "updated_at": iso(entry.get("u")),
    }
