"""The operator commands against the devstack's real Kafka and Elasticsearch (no workers needed):
``rasid tail``, ``rasid status``, ``rasid replay`` and ``rasid deadletter``, run as the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.core import kafka as ops
from pipeline.core.ids import article_id
from pipeline.core.schema import Article, DeadLetter, Place, RawPage, TopicHit, compress_html
from pipeline.core.settings import PROJECT_ROOT


def rasid(s, *args, env=None, timeout=60) -> subprocess.CompletedProcess:
    e = {**os.environ, "RASID_NAMESPACE": s.namespace, "RASID_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
         "RASID_ES_URL": s.es_url, "RASID_METRICS_PORT": "0", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=e, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _send(s, topic, items, headers=None):
    p = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    for key, value in items:
        p.send(topic, key=key.encode() if isinstance(key, str) else key, value=value, headers=headers or [])
    p.flush()
    p.close()


def _article(i, source="npa", topics=("military_escalation",)):
    url = f"https://example.org/ops/{i}"
    return Article(id=article_id(url), url=url, source=source, title=f"قصف على إدلب {i}", body="نص",
                   published_at=datetime(2024, 12, 1, tzinfo=timezone.utc),
                   topics=[TopicHit(id=t, score=2.0, evidence=["قصف"]) for t in topics],
                   places=[Place(name="إدلب")])


def test_tail_filters_orders_and_prints_both_forms(make_settings):
    s = make_settings()
    arts = [_article(i, "npa" if i % 2 else "sana", ("russian_role",) if i == 3 else ("military_escalation",))
            for i in range(8)]
    _send(s, s.articles_topic, [(a.id, a.to_json()) for a in arts])
    _send(s, s.articles_topic, [(None, b"\x00\x01 not json")])

    out = rasid(s, "tail", "articles", "--from-beginning", "--json")
    recs = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and len(recs) == 9
    assert sum(1 for r in recs if "_not_json" in r) == 1
    assert all(r["_kafka"]["topic"] == s.articles_topic for r in recs)
    assert "قصف على إدلب" in out.stdout  # logical order, not escaped

    npa = [json.loads(x) for x in rasid(s, "tail", "articles", "--from-beginning", "--json", "--source", "npa").stdout.splitlines()]
    assert sorted(r["id"] for r in npa) == sorted(a.id for a in arts if a.source == "npa")
    rr = [json.loads(x) for x in rasid(s, "tail", "articles", "--json", "--topic-id", "russian_role", "--since", "10m").stdout.splitlines()]
    assert [r["id"] for r in rr] == [arts[3].id]
    last = rasid(s, "tail", "articles", "-n", "2", "--json").stdout.splitlines()
    assert len(last) == 2

    # piped, even when visual order is asked for, Arabic stays as written (copy and grep get it right)
    human = rasid(s, "tail", "articles", "--from-beginning", "--bidi", "visual", "-n", "3")
    assert human.returncode == 0 and "قصف على إدلب" in human.stdout and "[military_escalation]" in human.stdout
    assert "بلدإ ىلع فصق" not in human.stdout
    assert rasid(s, "tail", "raw", "--topic-id", "x").returncode == 2  # usage error
    assert rasid(s, "tail", "nosuch").returncode == 2


def test_tail_follow_prints_new_records(make_settings):
    s = make_settings()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "tail", "articles", "--follow", "--json", "--limit", "2"],
        env={**os.environ, "RASID_NAMESPACE": s.namespace, "RASID_KAFKA_BOOTSTRAP": s.kafka_bootstrap},
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # let it assign and seek to the end
        arts = [_article(100 + i) for i in range(2)]
        _send(s, s.articles_topic, [(a.id, a.to_json()) for a in arts])
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert sorted(json.loads(x)["id"] for x in out.splitlines()) == sorted(a.id for a in arts)


def test_status_reports_topics_groups_sources_and_fails_on_outages(make_settings):
    s = make_settings()
    raw = [RawPage(id=article_id(f"https://example.org/r/{i}"), url=f"https://example.org/r/{i}", source="npa",
                   html_z=compress_html(b"<html></html>")) for i in range(5)]
    _send(s, s.raw_topic, [(r.id, r.to_json()) for r in raw])
    dl = DeadLetter.build(stage="extract", reason="no_article", source="npa", source_topic=s.raw_topic,
                          partition=0, offset=1, payload=raw[0].to_json())
    _send(s, s.deadletter_topic, [(raw[0].id, dl.to_json())])
    # a consumer group of the namespace that committed offset 0 everywhere and left: lag 5, no member
    group = f"{s.namespace}-workers"
    c = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    tps = [TopicPartition(s.raw_topic, p) for p in c.partitions_for_topic(s.raw_topic)]
    from kafka.structs import OffsetAndMetadata

    c.assign(tps)
    c.commit({tp: OffsetAndMetadata(0, "", -1) for tp in tps})
    c.close()

    out = rasid(s, "status", "--json")
    st = json.loads(out.stdout)
    assert st["kafka"]["ok"] and st["elasticsearch"]["ok"]
    assert st["topics"][s.raw_topic]["end_offset"] == 5
    assert st["sources"]["npa"]["raw_last_window"] == 5 and st["sources"]["npa"]["failures_last_window"] == 1
    assert st["sources"]["npa"]["pages_failing"] is False  # one page of five
    assert st["deadletters"]["by_stage_reason"] == {"extract/no_article": 1}
    g = st["groups"][group]
    assert g["members"] == 0 and g["lag"] == 5
    assert sum(p["lag"] for p in g["topics"][s.raw_topic].values()) == 5
    now = datetime.now(timezone.utc)
    assert s.es_index_for(now.year, now.month) in st["elasticsearch"]["indices"]
    assert {f"{s.stories_alias}-000001", f"{s.alerts_alias}-000001"} <= set(st["elasticsearch"]["indices"])
    assert out.returncode == 1 and st["problems"] == [f"group {group}: lag 5 and no member consuming"]
    human = rasid(s, "status")
    assert "UNHEALTHY" in human.stdout and "npa" in human.stdout

    es_down = rasid(s, "status", "--json", "--timeout", "2", env={"RASID_ES_URL": "http://127.0.0.1:9"})
    assert es_down.returncode == 1
    assert any("elasticsearch unavailable" in p for p in json.loads(es_down.stdout)["problems"])
    t0 = time.monotonic()
    kafka_down = rasid(s, "status", "--json", "--timeout", "2", env={"RASID_KAFKA_BOOTSTRAP": "127.0.0.1:9"})
    assert kafka_down.returncode == 1 and time.monotonic() - t0 < 30
    assert any("kafka unavailable" in p for p in json.loads(kafka_down.stdout)["problems"])


def test_deadletter_retry_reinjects_once_into_the_right_topic(make_settings):
    s = make_settings()
    raw = RawPage(id="r" * 32, url="https://example.org/dl/1", source="npa", html_z=compress_html(b"<p>x</p>"))
    art = _article(7)
    dls = [
        DeadLetter.build(stage="extract", reason="no_article", source_topic=s.raw_topic, partition=1, offset=3,
                         key=raw.id, payload=raw.to_json(), source="npa"),
        DeadLetter.build(stage="index", reason="es_rejected", source_topic=s.articles_topic, partition=0, offset=9,
                         key=art.id, payload=art.to_json()),
        DeadLetter.build(stage="extract", reason="too_large", source_topic=s.raw_topic, key="big", payload="x" * 300_000),
    ]
    _send(s, s.deadletter_topic, [(d.key, d.to_json()) for d in dls])

    listed = [json.loads(x) for x in rasid(s, "deadletter", "list", "--json").stdout.splitlines()]
    assert len(listed) == 3 and not any(x["retried"] for x in listed)
    npa = [json.loads(x) for x in rasid(s, "deadletter", "list", "--source", "npa", "--json").stdout.splitlines()]
    assert [x["key"] for x in npa] == [raw.id]  # one outlet's dead letters, after a fix for its pages
    preview = json.loads(rasid(s, "deadletter", "retry", "--source", "npa", "--dry-run").stdout.splitlines()[-1])
    assert preview["matched"] == 1 and preview["would_retry"] == 1
    only_index = json.loads(rasid(s, "deadletter", "retry", "--stage", "index", "--yes").stdout.splitlines()[-1])
    assert only_index["retried"] == 1 and only_index["to"] == {s.articles_topic: 1}
    rest = json.loads(rasid(s, "deadletter", "retry", "--yes").stdout.splitlines()[-1])
    assert rest["retried"] == 1 and rest["already_retried"] == 1 and rest["to"] == {s.raw_topic: 1}
    assert rest["not_retryable"] == {"payload_truncated": 1}
    again = json.loads(rasid(s, "deadletter", "retry", "--yes").stdout.splitlines()[-1])
    assert again["retried"] == 0 and again["already_retried"] == 2

    reinjected = [json.loads(x) for x in rasid(s, "tail", "raw", "--from-beginning", "--json").stdout.splitlines()]
    assert [r["id"] for r in reinjected] == [raw.id] and reinjected[0]["_kafka"]["key"] == raw.id
    arts = [json.loads(x) for x in rasid(s, "tail", "articles", "--from-beginning", "--json").stdout.splitlines()]
    assert [a["id"] for a in arts] == [art.id]
    listed = [json.loads(x) for x in rasid(s, "deadletter", "list", "--json").stdout.splitlines()]
    assert sum(x["retried"] for x in listed) == 2


def test_replay_copies_the_range_once_and_keeps_partitions(make_settings):
    s = make_settings()
    arts = [_article(200 + i) for i in range(12)]
    _send(s, s.articles_topic, [(a.id, a.to_json()) for a in arts])
    first = json.loads(rasid(s, "replay", "--from-beginning", "--stage", "index", "--yes", "--no-wait").stdout.splitlines()[-1])
    assert first == {"topic": s.articles_topic, "range": 12, "copied": 12, "skipped_copies": 0}
    second = json.loads(rasid(s, "replay", "--since", "1h", "--stage", "index", "--yes", "--no-wait").stdout.splitlines()[-1])
    assert second["copied"] == 12 and second["skipped_copies"] == 12
    c = ops.kafka_consumer(s)
    try:
        tps = ops.topic_partitions(c, s.articles_topic)
        by_id: dict[str, set[int]] = {}
        for r in ops.read_range(c, c.beginning_offsets(tps), c.end_offsets(tps)):
            by_id.setdefault(r.key.decode(), set()).add(r.partition)
    finally:
        c.close()
    assert len(by_id) == 12 and all(len(p) == 1 for p in by_id.values())  # copies stay on their partition
    assert rasid(s, "replay", "--yes").returncode == 2  # a start is required


def test_status_adds_last_poll_and_errors_from_the_connectors_metrics(make_settings):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

    reg = CollectorRegistry()
    Gauge("rasid_source_last_success_timestamp", "x", ["source"], registry=reg).labels("npa").set(1_733_637_600)
    Counter("rasid_connector_errors_total", "x", ["source", "reason"], registry=reg).labels("npa", "http_503").inc(2)
    page = generate_latest(reg)

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        s = make_settings()
        url = f"http://127.0.0.1:{srv.server_address[1]}/metrics"
        st = json.loads(rasid(s, "status", "--json", "--connectors-metrics", url).stdout)
        assert st["connectors_metrics"] == {"url": url, "ok": True}
        assert st["sources"]["npa"]["last_success"] == "2024-12-08T06:00:00+00:00"
        assert st["sources"]["npa"]["connector_errors"] == {"http_503": 2}
        human = rasid(s, "status", "--connectors-metrics", url).stdout
        assert "last successful poll" in human and "http_503=2" in human
    finally:
        srv.shutdown()
