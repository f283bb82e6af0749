"""Article → ES document, monthly index and bulk action; sink item decoding; secrets stay out of logs."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.core.errors import BadRecord
from pipeline.stream.index import index_date, index_name, parse_article, to_action, to_document
from pipeline.core.log import JsonFormatter
from pipeline.core.schema import Article, Place, TopicHit
from pipeline.core.settings import load_settings
from pipeline.stream.sink import _error_text, _retryable_status, make_item
from pipeline.stream.es import describe_es
from pipeline.core.urls import redact

UTC = timezone.utc


@pytest.fixture
def settings():
    return load_settings(namespace="t1")


def article(**kw) -> Article:
    base = dict(
        id="a" * 32,
        url="https://example.org/a/1",
        source="npa",
        title="قصف على إدلب",
        body="فقرة أولى\n\nفقرة ثانية",
        language="ar",
        published_at=datetime(2020, 9, 25, 9, 6, tzinfo=timezone(timedelta(hours=3))),
        fetched_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        topics=[TopicHit(id="military_escalation", score=3.5, evidence=["قصف"]),
                TopicHit(id="russian_role", score=2.0, evidence=["روسيا"])],
        places=[Place(name="إدلب", name_en="Idlib", location={"lat": 35.93, "lon": 36.63}),
                Place(name="مكان بلا إحداثيات")],
        organizations=["الدفاع المدني"],
        people=["بشار الأسد"],
    )
    base.update(kw)
    return Article(**base)


def test_index_is_publication_month_in_utc(settings):
    assert index_name(article(), settings) == "t1-articles-2020.09"
    # 00:30 on 1 October in Damascus is still September in UTC: one rule, no local calendars
    a = article(published_at=datetime(2020, 10, 1, 0, 30, tzinfo=timezone(timedelta(hours=3))))
    assert index_name(a, settings) == "t1-articles-2020.09"


def test_index_falls_back_to_fetched_at(settings):
    assert index_name(article(published_at=None), settings) == "t1-articles-2024.01"


def test_implausible_publication_dates_do_not_pick_the_index(settings):
    future = article(published_at=datetime(2031, 5, 1, tzinfo=UTC))
    ancient = article(published_at=datetime(1970, 1, 1, tzinfo=UTC))
    assert index_name(future, settings) == "t1-articles-2024.01"
    assert index_name(ancient, settings) == "t1-articles-2024.01"
    # ...but the document keeps what the page said
    assert to_document(future)["published_at"].startswith("2031-05-01")


def test_naive_datetimes_are_taken_as_utc(settings):
    a = article(published_at=datetime(2019, 12, 31, 23, 0))
    assert index_date(a) == datetime(2019, 12, 31, 23, 0, tzinfo=UTC)
    assert index_name(a, settings) == "t1-articles-2019.12"


def test_no_date_at_all_is_a_bad_record(settings):
    with pytest.raises(BadRecord) as e:
        index_name(article(published_at=None, fetched_at=None), settings)
    assert e.value.reason == "no_date"


def test_document_fields():
    now = datetime(2024, 1, 2, 3, 5, tzinfo=UTC)
    doc = to_document(article(), indexed_at=now)
    assert doc["id"] == "a" * 32
    assert doc["topic_ids"] == ["military_escalation", "russian_role"]
    assert doc["topics"][0] == {"id": "military_escalation", "score": 3.5, "evidence": ["قصف"]}
    assert doc["location"] == [{"lat": 35.93, "lon": 36.63}]  # only places with coordinates
    assert [p["name"] for p in doc["places"]] == ["إدلب", "مكان بلا إحداثيات"]
    assert doc["published_at"] == "2020-09-25T06:06:00+00:00"
    assert doc["fetched_at"] == "2024-01-02T03:04:05+00:00"
    assert doc["indexed_at"] == "2024-01-02T03:05:00+00:00"
    assert doc["story_id"] == "a" * 32  # the first copy is its own story
    assert doc["duplicate_of"] is None
    assert doc["body"] == "فقرة أولى\n\nفقرة ثانية"
    json.dumps(doc)  # serialisable as is


def test_every_document_has_a_time_where_the_stream_placed_it():
    """``@timestamp`` (Kibana's time field): the publication; a page that gives only its day at its fetch that
    day, else six hours into the day; an undated page at its fetch. Never the clock: a replay gives the same."""
    fetched = datetime(2024, 1, 2, 15, 4, 5, tzinfo=UTC)
    assert to_document(article())["@timestamp"] == "2020-09-25T06:06:00+00:00"
    assert to_document(article(published_at=datetime(2024, 1, 2, tzinfo=UTC), fetched_at=fetched))[
        "@timestamp"] == "2024-01-02T15:04:05+00:00"
    late = to_document(article(published_at=datetime(2023, 12, 20, tzinfo=UTC), fetched_at=fetched))
    assert (late["@timestamp"], late["published_at"]) == ("2023-12-20T06:00:00+00:00", "2023-12-20T00:00:00+00:00")
    undated = to_document(article(published_at=None, fetched_at=fetched))
    assert (undated["@timestamp"], undated["published_at"]) == ("2024-01-02T15:04:05+00:00", None)


def test_story_id_of_a_near_duplicate():
    doc = to_document(article(duplicate_of="b" * 32))
    assert doc["story_id"] == "b" * 32 and doc["duplicate_of"] == "b" * 32
    doc = to_document(article(duplicate_of="b" * 32, story_id="c" * 32))
    assert doc["story_id"] == "c" * 32 and doc["story_follows"] is None
    assert to_document(article(story_follows="d" * 32))["story_follows"] == "d" * 32  # the story it follows


def test_topic_ids_are_unique():
    a = article(topics=[TopicHit(id="x", score=1, evidence=[]), TopicHit(id="x", score=2, evidence=[])])
    assert to_document(a)["topic_ids"] == ["x"]


def test_action_uses_article_id_and_index_op(settings):
    act = to_action(article(), settings)
    assert act["_id"] == "a" * 32
    assert act["_op_type"] == "index"
    assert act["_index"] == "t1-articles-2020.09"
    # a replay builds the same target: same id, same index
    again = to_action(Article.model_validate_json(article().to_json()), settings)
    assert (again["_id"], again["_index"]) == (act["_id"], act["_index"])


def test_parse_article_accepts_bytes_str_dict():
    a = article()
    for v in (a.to_json(), a.to_json().decode(), json.loads(a.to_json()), a):
        assert parse_article(v).id == a.id


@pytest.mark.parametrize("value", [b"not json", b'{"no_id": 1}', b"[1,2]", 42, None])
def test_parse_article_rejects_garbage(value):
    with pytest.raises(BadRecord) as e:
        parse_article(value)
    assert e.value.reason == "invalid_article"


def test_make_item_marks_bad_input_instead_of_raising(settings):
    it = make_item(b"\xff\xfe garbage", settings, topic="t1.articles", partition=2, offset=7, key=b"k1")
    assert it.bad is not None and it.action is None
    dl = it.deadletter(it.bad.reason, it.bad.detail)
    assert (dl.stage, dl.reason, dl.source_topic, dl.partition, dl.offset, dl.key) == (
        "index", "invalid_article", "t1.articles", 2, 7, "k1")
    good = make_item(article().to_json(), settings, topic="t1.articles", partition=0, offset=1)
    assert good.bad is None and good.action["_id"] == "a" * 32 and good.source == "npa"


def test_bulk_error_classification():
    assert _retryable_status(429) and _retryable_status(503) and _retryable_status(404)
    assert not _retryable_status(400) and not _retryable_status(409)
    reason, detail = _error_text({"status": 400, "error": {
        "type": "document_parsing_exception", "reason": "failed to parse field [published_at]",
        "caused_by": {"type": "illegal_argument_exception", "reason": "not a date"}}})
    assert reason == "document_parsing_exception"
    assert "published_at" in detail and "not a date" in detail


# ------------------------------------------------------------------ secured clusters, no secret in logs

SECRET_PW = "s3cr3t-pa55word"
SECRET_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="


def test_basic_auth_and_tls_client_kwargs(monkeypatch, tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = load_settings(es_url="https://es.internal:9200", es_username="rasid", es_password=SECRET_PW,
                      es_ca_file=ca)
    kw = s.es_client_kwargs()
    assert kw["basic_auth"] == ("rasid", SECRET_PW)
    assert kw["ca_certs"] == str(ca) and kw["verify_certs"] is True
    k = load_settings(es_url="https://es.internal:9200", es_api_key=SECRET_KEY).es_client_kwargs()
    assert k["api_key"] == SECRET_KEY and "basic_auth" not in k


def test_secrets_never_in_repr_or_logs(tmp_path, capsys):
    s = load_settings(es_url="https://es.internal:9200", es_username="rasid", es_password=SECRET_PW,
                      es_api_key=SECRET_KEY)
    texts = [repr(s), str(s), s.model_dump_json(), json.dumps(describe_es(s))]
    # what the sink logs at start, through the JSON formatter
    rec = logging.LogRecord("rasid.sink", logging.INFO, __file__, 1, "sink started", None, None)
    for k, v in describe_es(s).items():
        setattr(rec, f"es_{k}", v)
    rec.settings = s
    texts.append(JsonFormatter().format(rec))
    for t in texts:
        assert SECRET_PW not in t and SECRET_KEY not in t, t
    assert describe_es(s) == {"url": "https://es.internal:9200", "auth": "api_key", "ca_file": None,
                              "verify_certs": True}


def test_userinfo_in_url_is_redacted():
    s = load_settings(es_url=f"https://rasid:{SECRET_PW}@es.internal:9200")
    assert SECRET_PW not in json.dumps(describe_es(s))
    assert describe_es(s)["url"] == "https://es.internal:9200"
    msg = redact(f"Connection to https://rasid:{SECRET_PW}@es.internal:9200 failed")
    assert SECRET_PW not in msg and "https://***@es.internal:9200" in msg


def test_invalid_coordinates_are_dropped_not_fatal():
    a = article(places=[Place(name="خطأ", location={"lat": 200.0, "lon": 36.6}),
                        Place(name="إدلب", location={"lat": 35.93, "lon": 36.63}),
                        Place(name="لا شيء", location={"lat": float("nan"), "lon": 1.0})])
    doc = to_document(a)
    assert doc["location"] == [{"lat": 35.93, "lon": 36.63}]
    assert [p["location"] for p in doc["places"]] == [None, {"lat": 35.93, "lon": 36.63}, None]
