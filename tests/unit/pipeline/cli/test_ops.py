"""Operator commands: the parts that need no broker (parsing, views, health rules, replay/retry logic)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import click
import pytest
from kafka import TopicPartition


import pipeline.cli.deadletter as deadletter_mod

import pipeline.cli.replay as replay_mod

import pipeline.cli.status as status_mod

import pipeline.cli.view as view

import pipeline.core.kafka as kafka_io
from pipeline.core.schema import Article, DeadLetter, Place, RawPage, TopicHit, compress_html
from pipeline.core.settings import load_settings

S = load_settings(namespace="opsunit")
NOW = datetime(2024, 12, 8, 6, 0, tzinfo=timezone.utc)


@dataclass
class Rec:
    """The attributes of kafka-python's ConsumerRecord that ops reads."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list = field(default_factory=list)


def test_parse_since_durations_and_iso():
    assert view.parse_since("10m", NOW) == NOW - timedelta(minutes=10)
    assert view.parse_since("2h", NOW) == NOW - timedelta(hours=2)
    assert view.parse_since("1d", NOW) == NOW - timedelta(days=1)
    assert view.parse_since("90", NOW) == NOW - timedelta(seconds=90)
    assert view.parse_since("2024-12-01T10:00:00", NOW) == datetime(2024, 12, 1, 10, tzinfo=timezone.utc)
    assert view.parse_since("2024-12-01T10:00:00+03:00", NOW).utcoffset() == timedelta(hours=3)
    with pytest.raises(click.BadParameter):
        view.parse_since("yesterday-ish", NOW)


def test_topic_names_stay_in_the_namespace():
    assert view.topic_name(S, "raw") == "opsunit.raw"
    assert view.topic_name(S, "deadletter") == "opsunit.deadletter"
    assert view.topic_name(S, "opsunit.articles") == "opsunit.articles"
    with pytest.raises(click.BadParameter):
        view.topic_name(S, "other.raw")
    assert view.topic_kind(S, "opsunit.articles") == "articles"
    assert view.topic_kind(S, "opsunit.whatever") == "other"


def _article_rec(offset=7) -> Rec:
    a = Article(
        id="a" * 32, url="https://example.org/x", source="npa",
        title="قصف روسي على إدلب", body="نص",
        topics=[TopicHit(id="military_escalation", score=3.0, evidence=["قصف"]),
                TopicHit(id="russian_role", score=2.0, evidence=["روسي"])],
        places=[Place(name="إدلب", name_en="Idlib", location={"lat": 35.93, "lon": 36.63})],
    )
    return Rec("opsunit.articles", 2, offset, int(NOW.timestamp() * 1000), a.id.encode(), a.to_json())


def test_article_line_shows_source_title_topics_places_in_visual_order():
    v = view.make_view("articles", _article_rec())
    assert v.source == "npa" and v.topic_ids == ["military_escalation", "russian_role"]
    logical = view.human_line(v, bidi=False)
    visual = view.human_line(v, bidi=True)
    assert "قصف روسي على إدلب" in logical and "[military_escalation,russian_role]" in logical
    assert "2024-12-08T06:00:00Z" in logical and "npa" in logical and "إدلب" in logical
    # visual order reverses the RTL run, Latin fields stay as they are
    assert "قصف روسي على إدلب" not in visual
    assert "بلدإ ىلع يسور فصق" in visual
    assert "[military_escalation,russian_role]" in visual


def test_story_alert_and_article_lines_show_the_story_each_follows():
    doc = {"story_id": "s" * 32, "title": "قصف على سراقب", "source_count": 3, "article_count": 4,
           "breaking_at": "2024-12-08T05:00:00+00:00", "follows": "f" * 32}
    line = view.human_line(view.make_view("stories", Rec("opsunit.stories", 0, 1, 0, b"s", json.dumps(doc).encode())),
                           bidi=False)
    assert "3 sources/4 articles" in line and "breaking 2024-12-08T05:00:00" in line and "follows ffffffffffff" in line
    alert = {"id": "x", "rule": "breaking", "kind": "breaking", "story_id": "s" * 32, "follows": "f" * 32,
             "sources": ["a", "b", "c"], "title": "قصف على سراقب"}
    line = view.human_line(view.make_view("alerts", Rec("opsunit.alerts", 0, 1, 0, b"x", json.dumps(alert).encode())),
                           bidi=False)
    assert "breaking/breaking" in line and "story ssssssssssss (follows ffffffffffff)" in line
    assert "follows" not in view.human_line(view.make_view("articles", _article_rec()), bidi=False)
    art = Article(id="b" * 32, source="npa", title="t", story_id="b" * 32, story_follows="f" * 32)
    rec = Rec("opsunit.articles", 0, 1, 0, b"b", art.to_json())
    assert "follows ffffffffffff" in view.human_line(view.make_view("articles", rec), bidi=False)


def test_json_line_is_logical_order_with_kafka_position():
    out = json.loads(view.json_line(view.make_view("articles", _article_rec(offset=41))))
    assert out["title"] == "قصف روسي على إدلب"
    assert out["_kafka"] == {"topic": "opsunit.articles", "partition": 2, "offset": 41,
                             "timestamp": "2024-12-08T06:00:00+00:00", "key": "a" * 32}
    assert "قصف" in view.json_line(view.make_view("articles", _article_rec()))  # not \\u-escaped


def test_deadletter_line_shows_stage_reason_origin():
    dl = DeadLetter.build(stage="extract", reason="no_article", detail="no text", source_topic="opsunit.raw",
                          partition=3, offset=1234, key="k", url="https://example.org/a", source="npa", payload=b"{}")
    v = view.make_view("deadletter", Rec("opsunit.deadletter", 0, 5, 0, b"k", dl.to_json()))
    line = view.human_line(v, bidi=False)
    assert "extract/no_article" in line and "from opsunit.raw:3@1234" in line and "https://example.org/a" in line


def test_poison_record_is_shown_not_crashed():
    v = view.make_view("raw", Rec("opsunit.raw", 0, 1, 0, None, b"\xff\xfe\x00garbage"))
    assert v.obj is None and "not JSON" in view.human_line(v)
    assert json.loads(view.json_line(v))["_not_json"].endswith("garbage")
    assert view.make_view("raw", Rec("opsunit.raw", 0, 1, 0, None, b"[1,2]")).obj is None


def test_filters():
    v = view.make_view("articles", _article_rec())
    assert view.view_matches(v, source="npa", topic_id="russian_role")
    assert not view.view_matches(v, source="bbc-arabic")
    assert not view.view_matches(v, topic_id="chemical_weapons")


def test_source_is_found_without_parsing_a_large_raw_page():
    raw = RawPage(id="b" * 32, url="https://example.org/b", source="enab-baladi", html_z=compress_html(b"<html>" * 5000))
    assert status_mod._source_of(raw.to_json()) == "enab-baladi"
    assert status_mod._source_of(b'{"source": "a\\"b"}') == 'a"b'
    assert status_mod._source_of(b"not json") is None


def _status(**groups) -> dict:
    return {
        "namespace": "opsunit",
        "kafka": {"ok": True},
        "elasticsearch": {"ok": True, "status": "green"},
        "topics": {"opsunit.raw": {"exists": True, "end_offset": 10}},
        "groups": {g: {"members": m, "lag": lag, "topics": {"opsunit.raw": {}}} for g, (m, lag) in groups.items()},
    }


def test_health_rules():
    assert status_mod.judge_status(_status(**{"opsunit-workers": (1, 5)})) == []
    assert "no member" in status_mod.judge_status(_status(**{"opsunit-workers": (0, 5)}))[0]
    assert status_mod.judge_status(_status(**{"opsunit-workers": (0, 0)})) == []
    over = _status(**{"opsunit-workers": (2, 50_000)})
    assert "> 10000" in status_mod.judge_status(over)[0]
    # with an earlier sample, a large but shrinking lag is fine, a growing one is not
    assert status_mod.judge_status(over, previous=_status(**{"opsunit-workers": (2, 60_000)})) == []
    assert status_mod.judge_status(over, previous=_status(**{"opsunit-workers": (2, 40_000)}))
    down = _status()
    down["kafka"] = {"ok": False, "error": "NoBrokersAvailable"}
    down["elasticsearch"] = {"ok": False, "error": "ConnectionError"}
    assert len(status_mod.judge_status(down)) == 2
    never = _status()
    never["groups"] = {}
    assert "no consumer group" in status_mod.judge_status(never)[0]


def test_retry_targets():
    raw_dl = DeadLetter.build(stage="extract", reason="no_article", source_topic=S.raw_topic, payload=b"{}").model_dump(by_alias=True)
    assert deadletter_mod.retry_target(S, raw_dl) == (S.raw_topic, "")
    idx = DeadLetter.build(stage="index", reason="mapper_parsing_exception", payload=b"{}").model_dump(by_alias=True)
    assert deadletter_mod.retry_target(S, idx) == (S.articles_topic, "")
    big = DeadLetter.build(stage="extract", reason="too_large", payload="x" * 300_000).model_dump(by_alias=True)
    assert deadletter_mod.retry_target(S, big) == (None, "payload_truncated")
    fetch = DeadLetter.build(stage="fetch", reason="http_500", payload=b"x").model_dump(by_alias=True)
    assert deadletter_mod.retry_target(S, fetch)[0] is None


class FakeConsumer:
    """Partition logs in memory, read through assign/seek/poll/position like kafka-python's consumer."""

    def __init__(self, logs: dict):
        self.logs = logs  # TopicPartition -> list[Rec] (offset = index)
        self.pos: dict = {}
        self.paused: set = set()

    def assign(self, tps):
        self.pos = {tp: self.pos.get(tp, 0) for tp in tps}

    def seek(self, tp, off):
        self.pos[tp] = off

    def pause(self, tp):
        self.paused.add(tp)

    def position(self, tp):
        return self.pos[tp]

    def poll(self, timeout_ms=0, max_records=500):
        out = {}
        for tp, p in self.pos.items():
            if tp in self.paused:
                continue
            recs = self.logs[tp][p : p + 3]  # small batches to exercise the loop
            if recs:
                out[tp] = recs
                self.pos[tp] = p + len(recs)
        return out


class FakeProducer:
    def __init__(self, consumer: FakeConsumer):
        self.c = consumer

    def send(self, topic, value=None, key=None, headers=None, partition=None):
        tp = TopicPartition(topic, partition)
        log = self.c.logs[tp]
        log.append(Rec(topic, partition, len(log), 0, key, value, list(headers or [])))

        class Done:
            def get(self, timeout=None):
                return None

        return Done()

    def flush(self, timeout=None):
        pass


def _logs(n_per_partition=5, partitions=2) -> dict:
    out = {}
    for p in range(partitions):
        tp = TopicPartition("opsunit.raw", p)
        out[tp] = [Rec("opsunit.raw", p, o, o, f"k{p}-{o % 3}".encode(), f"v{p}-{o}".encode()) for o in range(n_per_partition)]
    return out


def test_read_range_respects_bounds():
    logs = _logs()
    c = FakeConsumer(logs)
    tps = sorted(logs, key=lambda t: t.partition)
    got = list(kafka_io.read_range(c, {tps[0]: 1, tps[1]: 0}, {tps[0]: 4, tps[1]: 2}))
    assert [(r.partition, r.offset) for r in got] == [(0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]


def test_replay_copies_in_order_to_the_same_partition_and_never_copies_copies_twice():
    logs = _logs()
    c = FakeConsumer(logs)
    tps = sorted(logs, key=lambda t: t.partition)
    plan = replay_mod.ReplayPlan("opsunit.raw", {tp: 0 for tp in tps}, {tp: 5 for tp in tps})
    assert plan.total == 10
    copied, skipped = replay_mod.copy_range(c, FakeProducer(c), plan)
    assert (copied, skipped) == (10, 0)
    p0 = logs[tps[0]]
    assert [r.value for r in p0[5:]] == [r.value for r in p0[:5]]  # same partition, same order
    assert [r.key for r in p0[5:]] == [r.key for r in p0[:5]]
    assert dict(p0[7].headers)[kafka_io.REPLAY_HEADER] == b"0:2"
    # a second full replay copies the 10 originals again and skips the 10 copies
    plan2 = replay_mod.ReplayPlan("opsunit.raw", {tp: 0 for tp in tps}, {tp: 10 for tp in tps})
    c.paused.clear()
    assert replay_mod.copy_range(c, FakeProducer(c), plan2) == (10, 10)
    # a replay that starts after the originals (they are gone or out of range) copies the copies
    plan3 = replay_mod.ReplayPlan("opsunit.raw", {tp: 10 for tp in tps}, {tp: 15 for tp in tps})
    c.paused.clear()
    assert replay_mod.copy_range(c, FakeProducer(c), plan3) == (10, 0)
    assert dict(logs[tps[1]][-1].headers)[kafka_io.REPLAY_HEADER] == b"1:4"  # still names the original


def test_rtl_only_touches_arabic():
    assert view.rtl("Idlib 2024") == "Idlib 2024"
    assert view.rtl("إدلب") == "بلدإ"
    assert view.rtl("إدلب", enabled=False) == "إدلب"
    assert view.rtl(None) == ""
    # brackets are mirrored, numbers keep their digit order
    assert view.rtl("ينتشل (110)") == "(110) لشتني"
    assert view.rtl("«مدفعي»") == "«يعفدم»"


def test_connector_metrics_give_last_poll_and_errors_per_source():
    from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

    reg = CollectorRegistry()
    last = Gauge("rasid_source_last_success_timestamp", "x", ["source"], registry=reg)
    errs = Counter("rasid_connector_errors_total", "x", ["source", "reason"], registry=reg)
    last.labels("npa").set(NOW.timestamp())
    errs.labels("npa", "http_503").inc(3)
    errs.labels("sana", "timeout").inc()
    got = status_mod.parse_connector_metrics(generate_latest(reg).decode())
    assert got["npa"] == {"last_success": "2024-12-08T06:00:00+00:00", "errors": {"http_503": 3}}
    assert got["sana"] == {"last_success": None, "errors": {"timeout": 1}}


def test_a_refused_source_is_shown_blocked_not_failing():
    from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
    from rich.console import Console

    reg = CollectorRegistry()
    errs = Counter("rasid_connector_errors_total", "x", ["source", "reason"], registry=reg)
    blocked = Gauge("rasid_source_blocked_endpoints", "x", ["source"], registry=reg)
    errs.labels("alarabiya", "http_403").inc()
    blocked.labels("alarabiya").set(1)
    blocked.labels("npa").set(0)
    got = status_mod.parse_connector_metrics(generate_latest(reg).decode())
    assert got["alarabiya"] == {"last_success": None, "errors": {"http_403": 1}, "blocked_endpoints": 1}
    assert "npa" not in got
    st = {"namespace": "opsunit", "at": NOW.isoformat(), "window_s": 3600,
          "kafka": {"ok": True, "bootstrap": "k:9092", "brokers": 1},
          "elasticsearch": {"ok": True, "url": "http://es", "status": "green"}, "topics": {}, "groups": {},
          "sources": {"alarabiya": {"raw_last_window": 0, "last_raw_at": None, "failures_last_window": 0,
                                    "last_success": None, "connector_errors": {"http_403": 1}, "state": "blocked",
                                    "blocked_endpoints": 1}},
          "connectors_metrics": {"url": "http://m", "ok": True},
          "deadletters": {"total": 0, "last_window": 0, "by_stage_reason": {}}}
    console = Console(record=True, width=200)
    console.print(status_mod.status_view(st, []))
    assert "blocked (1 endpoint(s))" in console.export_text()


def test_seen_line_shows_status_and_url():
    value = json.dumps({"schema": 1, "url": "https://example.org/a", "source": "npa", "status": "produced",
                        "canonical_id": "c" * 32}).encode()
    line = view.human_line(view.make_view("seen", Rec("opsunit.seen", 0, 1, 0, b"k" * 32, value)))
    assert "npa  produced  https://example.org/a  alias-of cccccccccccc" in line


def test_a_source_whose_pages_mostly_fail_is_marked():
    from rich.console import Console

    assert status_mod.pages_failing(5, 5) and status_mod.pages_failing(4, 4) and status_mod.pages_failing(10, 8)
    assert not status_mod.pages_failing(2, 2)  # too few to say
    assert not status_mod.pages_failing(20, 3)  # a few bad pages among good ones
    st = {"namespace": "opsunit", "at": NOW.isoformat(), "window_s": 3600,
          "kafka": {"ok": True, "bootstrap": "k:9092", "brokers": 1},
          "elasticsearch": {"ok": True, "url": "http://es", "status": "green"}, "topics": {}, "groups": {},
          "sources": {"npa": {"raw_last_window": 6, "last_raw_at": None, "failures_last_window": 6,
                              "pages_failing": True},
                      "sana": {"raw_last_window": 30, "last_raw_at": None, "failures_last_window": 1,
                               "pages_failing": False}},
          "deadletters": {"total": 7, "last_window": 7, "by_stage_reason": {"extract/no_article": 7}}}
    console = Console(record=True, width=200)
    console.print(status_mod.status_view(st, []))
    out = console.export_text()
    assert out.count("(most pages fail)") == 1 and "6 (most pages fail)" in out
