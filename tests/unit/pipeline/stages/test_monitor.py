"""The story monitor: the story aggregate, the rules, one alert per (rule, story), idempotence."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone

from pipeline.core.yamlfile import parse_yaml_lines
from pipeline.stages.alert_rules import build_alerts
from pipeline.stages.monitor import (PENDING_KEY, StoryMonitor, alert_id, article_time, breaking_window,
                                     story_document)

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
RULES = """\
rules:
  - id: idlib-turkey
    kind: match
    topics: [turkish_role]
    places: [ادلب]
  - id: from-enab
    kind: match
    sources: [enab]
  - id: breaking
    kind: breaking
    min_sources: 3
    within_minutes: 60
"""


def cfg(text: str = RULES):
    return build_alerts(parse_yaml_lines(text, "a.yaml"), "a.yaml")


def art(n: int, source: str, story: str = "s1", minutes: float = 0, topics=("turkish_role",), places=("إدلب",),
        title: str | None = None) -> dict:
    return {"id": hashlib.sha256(str(n).encode()).hexdigest()[:32], "story_id": story, "source": source, "title": title or f"عنوان {n}",
            "url": f"https://{source}.example/{n}", "body": "نص",
            "published_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "fetched_at": (T0 + timedelta(minutes=minutes + 1)).isoformat(),
            "topics": [{"id": t, "score": 2.0, "evidence": []} for t in topics],
            "places": [{"name": p} for p in places]}


FIVE = [art(1, "a", minutes=0), art(2, "b", minutes=5), art(3, "a", minutes=8), art(4, "c", minutes=20),
        art(5, "d", minutes=70)]
NOW = T0 + timedelta(minutes=75)


def run(monitor: StoryMonitor, arts, now=NOW):
    docs, alerts = {}, []
    for a in arts:
        o = monitor.observe(a, now=now)
        docs[o.story_id] = o.doc
        alerts += o.alerts
    return docs, alerts


def test_the_story_aggregate():
    docs, _ = run(StoryMonitor({}, cfg()), FIVE + [art(9, "x", story="s2", topics=(), places=("دمشق",))])
    d = docs["s1"]
    assert d["story_id"] == "s1" and d["title"] == "عنوان 1" and d["url"] == "https://a.example/1"
    assert d["first_seen"] == T0.isoformat() and d["last_seen"] == (T0 + timedelta(minutes=70)).isoformat()
    assert (d["article_count"], d["source_count"], d["sources"]) == (5, 4, ["a", "b", "c", "d"])
    assert d["topic_ids"] == ["turkish_role"] and d["places"] == ["إدلب"]
    assert d["breaking_at"] == (T0 + timedelta(minutes=20)).isoformat()  # the third source, within the hour
    # growth: the hour up to last_seen (10:10-11:10: 2 articles) against the hour before (3)
    assert (d["articles_last_hour"], d["articles_prev_hour"], d["growth"]) == (2, 3, 0.67)
    assert d["alert_rules"] == ["breaking", "idlib-turkey"]
    assert docs["s2"]["breaking_at"] is None and docs["s2"]["source_count"] == 1
    json.dumps(d)  # JSON-able


def test_the_story_it_follows_is_its_first_articles_and_rides_on_its_alerts():
    """``story_follows`` (set by the dedupe stage on the article that starts a story) becomes the story
    document's ``follows`` and goes with the story's alerts, so the desk sees a second day's breaking
    story as the thread of the first."""
    first = {**art(1, "a", story="s2"), "story_follows": "s1"}
    rest = [{**art(n, src, story="s2", minutes=n), "story_follows": None} for n, src in ((2, "b"), (3, "c"))]
    docs, alerts = run(StoryMonitor({}, cfg()), [first, *rest])
    assert docs["s2"]["follows"] == "s1"
    assert {a["rule"] for a in alerts} == {"idlib-turkey", "breaking"} and all(a["follows"] == "s1" for a in alerts)
    docs, alerts = run(StoryMonitor({}, cfg()), FIVE)
    assert docs["s1"]["follows"] is None and all(a["follows"] is None for a in alerts)
    assert docs["s1"]["followed_by"] == []


def test_the_story_followed_lists_the_stories_that_follow_it_once():
    """The earlier story's document gets ``followed_by`` when the later story begins (the thread both ways),
    once: a replay of the article changes nothing."""
    monitor = StoryMonitor({}, cfg())
    run(monitor, FIVE)
    first = {**art(11, "a", story="s2", minutes=1500), "story_follows": "s1"}
    obs = monitor.observe(first, now=NOW)
    assert obs.doc["follows"] == "s1" and obs.also["s1"]["followed_by"] == ["s2"]
    assert obs.also["s1"]["article_count"] == 5  # the rest of its document as it was
    again = monitor.observe(first, now=NOW)
    assert again.also == {} and monitor.store["s1"]["fb"] == ["s2"]
    # a story it follows that is no longer kept (aged out): nothing to record
    assert monitor.observe({**art(12, "b", story="s3"), "story_follows": "gone"}, now=NOW).also == {}


def test_breaking_window():
    ms = [("a", 0, "1"), ("b", 100, "2"), ("a", 200, "3"), ("c", 3700, "4"), ("d", 3750, "5")]
    assert breaking_window(ms, 3, 3600) == (3700, ["2", "3", "4"], ["b", "a", "c"])
    assert breaking_window(ms, 5, 3600) is None
    assert breaking_window(ms[:3], 3, 3600) is None  # two sources only


def test_breaking_fires_once_when_the_third_source_arrives():
    m = StoryMonitor({}, cfg())
    fired = [[a["rule"] for a in m.observe(x, now=NOW).alerts] for x in FIVE]
    assert fired == [["idlib-turkey"], [], [], ["breaking"], []]
    (b,) = [a for a in m.pending() if a["kind"] == "breaking"]
    assert b["id"] == alert_id("breaking", "s1") and b["story_id"] == "s1"
    assert b["sources"] == ["a", "b", "c"] and b["article_ids"] == [FIVE[i]["id"] for i in (0, 1, 2, 3)]
    assert b["title"] == "عنوان 1" and b["breaking_at"] == (T0 + timedelta(minutes=20)).isoformat()
    assert set(b) >= {"id", "rule", "kind", "story_id", "article_ids", "title", "url", "sources", "fired_at"}


def test_match_rules_once_per_story():
    m = StoryMonitor({}, cfg())
    arts = FIVE + [art(6, "enab", story="s2"), art(7, "enab", story="s2"), art(8, "enab", story="s3", topics=())]
    _, alerts = run(m, arts)
    per = sorted((a["rule"], a["story_id"]) for a in alerts if a["kind"] == "match")
    assert per == [("from-enab", "s2"), ("from-enab", "s3"), ("idlib-turkey", "s1"), ("idlib-turkey", "s2")]


def test_match_filters_all_hold():
    m = StoryMonitor({}, cfg())
    _, alerts = run(m, [art(1, "a", places=("دمشق",)), art(2, "a", story="s2", topics=("russian_role",)),
                        art(3, "a", story="s3", places=("Idlib",)), art(4, "a", story="s4", places=("ادلب",))])
    assert [a["story_id"] for a in alerts] == ["s4"]  # إدلب written ادلب still matches; Idlib is not a name here


def test_replaying_the_same_articles_fires_nothing_and_writes_nothing():
    store: dict = {}
    m = StoryMonitor(store, cfg())
    docs, alerts = run(m, FIVE)
    m.confirm(a["id"] for a in alerts)
    before = json.dumps(store, sort_keys=True)

    class Watch(dict):
        writes = 0

        def __setitem__(self, k, v):
            Watch.writes += 1
            super().__setitem__(k, v)

    again = StoryMonitor(Watch(json.loads(before)), cfg())  # a restarted worker: state from the changelog
    docs2, alerts2 = run(again, FIVE + FIVE, now=NOW + timedelta(hours=1))
    assert alerts2 == [] and again.pending() == []
    assert docs2 == docs and Watch.writes == 0


def test_arrival_order_does_not_change_the_document():
    base, _ = run(StoryMonitor({}, cfg()), FIVE)
    for seed in range(5):
        shuffled = FIVE[:]
        random.Random(seed).shuffle(shuffled)
        docs, alerts = run(StoryMonitor({}, cfg()), shuffled)
        strip = lambda d: {k: v for k, v in d.items() if k != "updated_at"}  # noqa: E731
        assert strip(docs["s1"]) == strip(base["s1"])
        assert sorted(a["rule"] for a in alerts) == ["breaking", "idlib-turkey"]


def test_a_replay_after_a_topics_edit_updates_the_story():
    m = StoryMonitor({}, cfg())
    run(m, FIVE)
    changed = dict(FIVE[0], topics=[{"id": "military_escalation", "score": 3.0, "evidence": []}])
    o = m.observe(changed, now=NOW)
    assert o.changed and o.alerts == []
    assert o.doc["topic_ids"] == ["turkish_role", "military_escalation"] and o.doc["article_count"] == 5


def test_old_news_alerts_nobody_but_the_story_still_breaks():
    m = StoryMonitor({}, cfg())
    docs, alerts = run(m, FIVE, now=NOW + timedelta(days=3))
    assert alerts == [] and docs["s1"]["breaking_at"] is not None
    docs, alerts = run(StoryMonitor({}, cfg()), FIVE, now=NOW + timedelta(days=3))
    m2 = StoryMonitor({}, cfg())
    assert [a["rule"] for x in FIVE for a in m2.observe(x, now=NOW + timedelta(days=3), check_age=False).alerts] \
        == ["idlib-turkey", "breaking"]


def test_pending_alerts_until_confirmed():
    store: dict = {}
    m = StoryMonitor(store, cfg())
    _, alerts = run(m, FIVE)
    assert [a["id"] for a in m.pending()] == [a["id"] for a in alerts]
    # a worker killed before Kafka confirmed them: the next one finds them pending, sends them again
    assert [a["id"] for a in StoryMonitor(json.loads(json.dumps(store)), cfg()).pending()] == [a["id"] for a in alerts]
    m.confirm([alerts[0]["id"]])
    assert [a["id"] for a in m.pending()] == [alerts[1]["id"]]
    m.confirm([alerts[1]["id"]])
    assert store[PENDING_KEY] == {}


def test_alert_ids_are_deterministic():
    a = [x["id"] for x in run(StoryMonitor({}, cfg()), FIVE)[1]]
    b = [x["id"] for x in run(StoryMonitor({}, cfg()), FIVE, now=NOW + timedelta(minutes=30))[1]]
    assert a == b == [alert_id("idlib-turkey", "s1"), alert_id("breaking", "s1")]


def test_the_representative_is_the_earliest_titled_article():
    late_first = [art(2, "b", minutes=5, title="ب"), art(1, "a", minutes=0, title="أ"), art(3, "c", minutes=1, title="")]
    docs, _ = run(StoryMonitor({}, cfg()), late_first)
    assert docs["s1"]["title"] == "أ"


def test_a_large_story_stays_small_and_counts_each_article_once():
    store: dict = {}
    m = StoryMonitor(store, cfg("rules: []\n"), max_members=10)
    arts = [art(i, f"src{i % 4}", minutes=i) for i in range(40)]
    docs, _ = run(m, arts + arts)
    d = docs["s1"]
    assert d["article_count"] == 40 and d["source_count"] == 4
    assert len(store["s1"]["m"]) == 10 and store["s1"]["x"]["n"] == 30
    assert d["last_seen"] == (T0 + timedelta(minutes=39)).isoformat()


SPIKE = """\
rules:
  - id: spike
    kind: spike
    factor: 3
    min_count: 4
    baseline_hours: 2
"""


def test_spike_after_a_baseline_once_per_hour():
    store: dict = {}
    m = StoryMonitor(store, cfg(SPIKE))
    n = 0

    def place(minutes: float, name: str = "درعا") -> list[dict]:
        nonlocal n
        n += 1
        a = art(n, "s", story=f"st{n}", minutes=minutes, topics=(), places=(name,))
        return m.observe(a, now=T0 + timedelta(minutes=minutes)).alerts

    # a fresh monitor has no baseline: a burst in its first hours is not a spike
    assert [x for i in range(6) for x in place(i)] == []
    # three quiet hours (one article an hour), then a burst
    for h in range(1, 4):
        assert place(60 * h) == []
    burst = [x for i in range(5) for x in place(240 + i)]
    assert len(burst) == 1
    s = burst[0]
    assert s["kind"] == "spike" and s["story_id"] is None and s["spike"]["on"] == "places"
    assert s["spike"]["key"] == "درعا" and s["spike"]["count"] == 4
    assert [x for i in range(5) for x in place(250 + i)] == []  # same hour: once
    other = [x for i in range(5) for x in place(241 + i, "حمص")]
    assert [x["spike"]["key"] for x in other] == ["حمص"]  # its own key


def test_article_time():
    now = T0.timestamp()
    assert article_time({"published_at": "2025-03-01T09:00:00+00:00"}, now) == now - 3600
    # a publication date far past the fetch is a parsing accident: the fetch time counts
    assert article_time({"published_at": "2026-03-01T09:00:00Z", "fetched_at": "2025-03-01T09:30:00Z"}, now) == now - 1800
    assert article_time({}, now) == now
    # a page that gives only its day: at its fetch that day (it counts in the hour it came in), else in its morning
    assert article_time({"published_at": "2025-03-01T00:00:00Z", "fetched_at": "2025-03-01T09:30:00Z"}, now) == now - 1800
    assert article_time({"published_at": "2025-02-20T00:00:00Z", "fetched_at": "2025-03-01T09:30:00Z"},
                        now) == datetime(2025, 2, 20, 6, tzinfo=timezone.utc).timestamp()


def test_story_document_of_an_empty_entry():
    d = story_document("s", {"m": {}})
    assert d["article_count"] == 0 and d["first_seen"] is None and d["breaking_at"] is None


def test_story_document_summarises_who_states_and_who_denies():
    from pipeline.stages.monitor import StoryMonitor, story_document

    m = StoryMonitor({})
    base = {"title": "t", "url": "https://e.org/x", "topics": [], "places": [], "published_at": "2024-12-01T10:00:00+00:00"}
    m.observe({**base, "id": "a1", "story_id": "s1", "source": "npa", "claims": [
        {"speaker": "وزارة الدفاع الروسية", "stance": "accuses"}, {"speaker": "الدفاع المدني السوري", "stance": "denies"}]},
        check_age=False)
    m.observe({**base, "id": "a2", "story_id": "s1", "source": "sana", "claims": [
        {"speaker": "الدفاع المدني السوري", "stance": "denies"}]}, check_age=False)
    doc = story_document("s1", m.store["s1"])
    assert doc["claims"] == {"accuses": ["وزارة الدفاع الروسية"], "denies": ["الدفاع المدني السوري"]}
    assert doc["claim_stances"][0] == "الدفاع المدني السوري|denies"  # two articles


def test_the_sweep_reads_the_stories_as_a_stream_and_forgets_only_the_old_ones() -> None:
    import weakref
    from collections.abc import MutableMapping

    class Entry(dict):
        pass  # a dict that a weak reference can watch

    class StreamingStore(MutableMapping):
        """Decodes an entry when it is read, as the disk store does; counts those alive at once."""

        def __init__(self, rows: dict) -> None:
            self.rows, self.alive, self.peak = rows, 0, 0

        def _decode(self, v: dict) -> Entry:
            e = Entry(v)
            self.alive += 1
            self.peak = max(self.peak, self.alive)
            weakref.finalize(e, self._gone)
            return e

        def _gone(self) -> None:
            self.alive -= 1

        def __getitem__(self, k):
            return self._decode(self.rows[k])

        def __setitem__(self, k, v) -> None:
            self.rows[k] = v

        def __delitem__(self, k) -> None:
            del self.rows[k]

        def __iter__(self):
            return iter(list(self.rows))

        def __len__(self) -> int:
            return len(self.rows)

        def items(self):
            return ((k, self._decode(v)) for k, v in list(self.rows.items()))

    now = 100 * 86400.0
    rows = {f"s{i}": {"u": now - (91 if i % 3 == 0 else 1) * 86400.0, "m": [[1, "x", "y"]] * 50} for i in range(600)}
    store = StreamingStore(rows)
    gone = StoryMonitor(store, retention_s=90 * 86400.0).sweep(now)
    assert gone == 200 and len(store) == 400 and all(int(k[1:]) % 3 for k in store.rows)
    assert store.peak <= 2  # one decoded entry at a time, not the whole table


def test_a_later_sweep_reads_only_the_stories_due_and_keeps_those_changed_since() -> None:
    from collections import UserDict

    class CountingStore(UserDict):
        """Counts the story entries read (each read is a decode from disk in the worker)."""

        reads = 0

        def __getitem__(self, k):
            self.reads += k.startswith("s")
            return super().__getitem__(k)

        def items(self):
            return ((k, self[k]) for k in list(self.data))

    store = CountingStore()
    m = StoryMonitor(store, cfg(), retention_s=10 * 86400.0)
    at = lambda days: T0 + timedelta(days=days)  # noqa: E731
    for i in range(300):
        m.observe(art(i, "enab", story=f"s{i}"), now=at(0))
    for i in range(10):  # ten stories grow on day 5
        m.observe(art(1000 + i, "npa", story=f"s{i}", minutes=5 * 1440), now=at(5))
    store.reads = 0
    m.observe(art(2000, "enab", story="snew", minutes=10.5 * 1440), now=at(10.5))
    stories = lambda: sorted(k for k in store if k.startswith("s"))  # noqa: E731
    assert stories() == sorted([f"s{i}" for i in range(10)] + ["snew"])
    assert store.reads <= 300 + 2  # the 300 stories due, once each
    store.reads = 0
    m.observe(art(2001, "enab", story="snew", minutes=12 * 1440), now=at(12))
    assert store.reads <= 2  # nothing due: the sweep reads no story
    m.observe(art(2002, "enab", story="snew", minutes=15.5 * 1440), now=at(15.5))
    assert stories() == ["snew"]  # the ten grown ones went 10 days after their last change
