"""The stream side of stories and alerts, without Kafka: the dedupe agent's hook (documents and alerts
as output records, confirmed alerts never produced again), the stories/alerts sink's actions, the
webhook signature and the sender's retries against a local receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import orjson
import pytest

from pipeline.core.settings import load_settings
from pipeline.stages.alert_rules import Webhook
from pipeline.stream.delivery import Out
from pipeline.stream.storyhook import StoryHook
from pipeline.stream.storysink import make_side_item
from pipeline.stream.webhooks import WebhookSender, sign, verify

RULES = """\
rules:
  - id: breaking
    kind: breaking
    min_sources: 2
    within_minutes: 60
"""


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "alerts.yaml").write_text(RULES, encoding="utf-8")
    return load_settings(namespace="unit", alerts_file=tmp_path / "alerts.yaml", webhook_attempts=3,
                         webhook_backoff_s=0.01, webhook_backoff_max_s=0.02, webhook_give_up_s=5)


def article_out(settings, n: int, source: str) -> Out:
    from datetime import datetime, timezone

    art = {"id": f"{n:02d}" * 16, "story_id": "story1", "source": source, "title": "عنوان", "body": "نص",
           "url": f"https://{source}.example/{n}", "published_at": datetime.now(timezone.utc).isoformat(),
           "topics": [], "places": []}
    return Out(settings.articles_topic, art["id"].encode(), orjson.dumps(art))


def test_the_hook_turns_a_batch_into_story_documents_and_alerts(settings):
    app = SimpleNamespace(settings=settings, consumer_generation_id=1)
    table: dict = {}
    hook = StoryHook(app, table)
    batch = [article_out(settings, 1, "a"), article_out(settings, 2, "b")]
    outs = hook.outs_after(batch)
    by_topic = {}
    for o in outs:
        by_topic.setdefault(o.topic, []).append(o)
    (doc,) = by_topic[settings.stories_topic]  # one document per story per batch: the last
    assert doc.key == b"story1" and json.loads(doc.value)["source_count"] == 2
    (alert,) = by_topic[settings.alerts_topic]
    a = json.loads(alert.value)
    assert a["kind"] == "breaking" and alert.key == a["id"].encode()
    # not confirmed yet: a crash now sends it with the next batch
    assert [x.topic for x in hook.outs_after([])] == [settings.alerts_topic]
    hook.settled()
    assert hook.outs_after([]) == []
    # the same articles again (a replay): the document again, no alert
    again = hook.outs_after(batch)
    assert [o.topic for o in again] == [settings.stories_topic] and again[0].value == doc.value


def test_the_hook_sends_the_followed_storys_document_too(settings):
    """A story that follows an earlier one changes that one's document (``followed_by``): both go out."""
    hook = StoryHook(SimpleNamespace(settings=settings, consumer_generation_id=1), {})
    hook.outs_after([article_out(settings, 1, "a")])
    later = orjson.loads(article_out(settings, 2, "b").value)
    later.update(story_id="story2", story_follows="story1")
    docs = {o.key: json.loads(o.value) for o in hook.outs_after([Out(settings.articles_topic, b"k", orjson.dumps(later))])
            if o.topic == settings.stories_topic}
    assert docs[b"story2"]["follows"] == "story1" and docs[b"story1"]["followed_by"] == ["story2"]


def test_the_hook_never_stops_the_articles(settings, caplog):
    app = SimpleNamespace(settings=settings, consumer_generation_id=1)
    hook = StoryHook(app, {})
    bad = Out(settings.articles_topic, b"k", orjson.dumps({"no": "id"}))
    assert hook.outs_after([bad, Out(settings.articles_topic, b"k", b"not json")]) == []
    assert "story monitor failed" in caplog.text


def test_side_items(settings):
    story = make_side_item(orjson.dumps({"story_id": "s1", "title": "t", "source_count": 3}), settings,
                           topic=settings.stories_topic, key=b"s1")
    assert story.action == {"_op_type": "index", "_index": "unit-stories", "_id": "s1",
                            "_source": {"story_id": "s1", "title": "t", "source_count": 3}}
    alert = make_side_item(orjson.dumps({"schema": 1, "id": "a1", "rule": "r"}), settings, topic=settings.alerts_topic)
    assert alert.action["_index"] == "unit-alerts" and alert.action["_id"] == "a1" and "schema" not in alert.action["_source"]
    bad = make_side_item(b"[1]", settings, topic=settings.stories_topic, partition=0, offset=7)
    assert bad.bad is not None and bad.deadletter(bad.bad.reason, bad.bad.detail).stage == "stories"


def test_signature():
    body = b'{"id":"x","title":"\xd8\xb1\xd8\xaa\xd9\x84"}'
    expected = "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert sign(body, b"k") == expected
    assert verify(body, b"k", expected) and not verify(body + b" ", b"k", expected) and not verify(body, b"k", None)


class Receiver:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.got: list[tuple[dict, bytes]] = []
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                rec.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = rec.statuses.pop(0) if rec.statuses else 200
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/hook"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def deliver(settings, hook: Webhook, body: bytes):
    async def go():
        async with httpx.AsyncClient(timeout=5, follow_redirects=False, trust_env=False) as client:
            return await WebhookSender(settings, client).deliver(hook, "alert-1", body)

    return asyncio.run(go())


def test_delivery_is_signed_and_retried(settings, monkeypatch):
    monkeypatch.setenv("RASID_TEST_SECRET", "s3cret")
    rec = Receiver([503, 500])
    try:
        body = orjson.dumps({"id": "alert-1", "title": "رتل"})
        res = deliver(settings, Webhook("desk", rec.url, "RASID_TEST_SECRET"), body)
    finally:
        rec.close()
    assert res.ok and res.attempts == 3 and res.status == 200
    headers, got = rec.got[-1]
    assert got == body  # the exact bytes of the Kafka record
    assert verify(got, b"s3cret", headers["x-rasid-signature"])
    assert headers["x-rasid-alert-id"] == "alert-1" and headers["content-type"] == "application/json"


def test_a_webhook_that_keeps_failing_gives_up(settings):
    rec = Receiver([500] * 10)
    try:
        res = deliver(settings, Webhook("desk", rec.url), b"{}")
    finally:
        rec.close()
    assert not res.ok and res.attempts == 3 and "HTTP 500" in res.detail
    assert "x-rasid-signature" not in rec.got[0][0]  # no secret_env: unsigned


def test_redirects_are_not_followed_and_a_missing_secret_sends_nothing(settings, monkeypatch):
    rec = Receiver([302] * 10)
    try:
        res = deliver(settings, Webhook("desk", rec.url), b"{}")
        monkeypatch.delenv("RASID_NOT_SET", raising=False)
        missing = deliver(settings, Webhook("desk", rec.url, "RASID_NOT_SET"), b"{}")
    finally:
        rec.close()
    assert not res.ok and "HTTP 302" in res.detail and len(rec.got) == 3
    assert not missing.ok and missing.reason == "webhook_secret_missing" and missing.attempts == 0


def desk_webhook(tmp_path, rec: Receiver) -> None:
    """An alerts file whose breaking rule notifies one webhook, «desk», at ``rec``."""
    (tmp_path / "alerts.yaml").write_text(
        f"webhooks:\n  - id: desk\n    url: {rec.url}\nrules:\n  - id: breaking\n    kind: breaking\n    notify: [desk]\n",
        encoding="utf-8")


def deliver_all(app, table: dict, events: list) -> list[Out]:
    """The alerts agent's work on one batch: the dead letters it returns."""
    from pipeline.stream.delivery import Delivery
    from pipeline.stream.webhooks import deliver_batch

    async def go():
        async with httpx.AsyncClient(timeout=5, follow_redirects=False, trust_env=False) as client:
            return await deliver_batch(app, Delivery(app), WebhookSender(app.settings, client), table, events)

    return asyncio.run(go())


def test_a_batch_of_alerts_is_delivered_once_per_webhook(settings, tmp_path):
    rec = Receiver([])
    desk_webhook(tmp_path, rec)
    app = SimpleNamespace(settings=settings)
    table: dict = {}

    def ev(n: int, alert_id: str, notify=("desk",)):
        value = orjson.dumps({"id": alert_id, "rule": "breaking", "kind": "breaking", "notify": list(notify)})
        return SimpleNamespace(value=value, key=alert_id.encode(),
                               message=SimpleNamespace(topic=settings.alerts_topic, partition=0, offset=n))

    try:
        # the same alert twice in a batch (sent again after a crash), another one, a bad record, an unknown webhook
        outs = deliver_all(app, table, [ev(0, "a1"), ev(1, "a1"), ev(2, "a2"), SimpleNamespace(
            value=b"nope", key=None, message=SimpleNamespace(topic=settings.alerts_topic, partition=0, offset=3)),
            ev(4, "a3", notify=("nobody",))])
        assert sorted(json.loads(b)["id"] for _, b in rec.got) == ["a1", "a2"]
        assert set(table) == {"a1|desk", "a2|desk"}
        assert sorted(json.loads(o.value)["reason"] for o in outs) == ["bad_alert", "unknown_webhook"]
        # a replay of <ns>.alerts: nothing is POSTed again
        assert deliver_all(app, table, [ev(5, "a1"), ev(6, "a2")]) == [] and len(rec.got) == 2
    finally:
        rec.close()


def test_an_alert_fired_hours_ago_is_dead_lettered_as_expired_unless_an_operator_retries_it(settings, tmp_path):
    """A worker down overnight must not wake the desk with yesterday's breaking stories; the expired
    ones wait in the dead-letter topic, and `rasid deadletter retry` (its header) sends them."""
    from datetime import datetime, timedelta, timezone

    from pipeline.core.kafka import RETRY_HEADER

    rec = Receiver([])
    desk_webhook(tmp_path, rec)
    app = SimpleNamespace(settings=settings.model_copy(update={"webhook_max_age_s": 3600.0}))
    table: dict = {}
    now = datetime.now(timezone.utc)

    def ev(n: int, alert_id: str, fired: datetime, headers=None):
        value = orjson.dumps({"id": alert_id, "rule": "breaking", "kind": "breaking", "fired_at": fired.isoformat()})
        return SimpleNamespace(value=value, key=alert_id.encode(), headers=headers or {},
                               message=SimpleNamespace(topic=settings.alerts_topic, partition=0, offset=n))

    try:
        outs = deliver_all(app, table, [ev(0, "fresh", now - timedelta(minutes=5)),
                                        ev(1, "stale", now - timedelta(hours=5))])
        assert [json.loads(b)["id"] for _, b in rec.got] == ["fresh"]
        assert [json.loads(o.value)["reason"] for o in outs] == ["expired"]
        assert set(table) == {"fresh|desk"}
        retried = ev(2, "stale", now - timedelta(hours=5), headers={RETRY_HEADER: b"unit.deadletter:0:1"})
        assert deliver_all(app, table, [retried]) == []
        assert [json.loads(b)["id"] for _, b in rec.got] == ["fresh", "stale"] and "stale|desk" in table
    finally:
        rec.close()
