"""Smoke tests of the foundation: topics, a Kafka round trip, the index template and Arabic search."""

from __future__ import annotations

import copy
import json

import pytest

from pipeline.stream.es import current_index, ensure_es, load_template, template_name
from pipeline.core.kafka import ensure_topics


def test_topics_exist_with_partitions_and_compaction(settings):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        topics = {t["name"]: t for t in admin.describe_topics([settings.raw_topic, settings.articles_topic, settings.deadletter_topic, settings.seen_topic])}
        for name in (settings.raw_topic, settings.articles_topic, settings.deadletter_topic, settings.seen_topic):
            assert len(topics[name]["partitions"]) == settings.kafka_partitions, name
        res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, settings.seen_topic), ConfigResource(ConfigResourceType.TOPIC, settings.raw_topic)])
        configs = {name: {k: v["value"] for k, v in cfg.items()} for name, cfg in res["topic"].items()}
        assert configs[settings.seen_topic]["cleanup.policy"] == "compact"
        assert int(configs[settings.raw_topic]["max.message.bytes"]) >= settings.kafka_max_message_bytes
    finally:
        admin.close()


def test_kafka_roundtrip_through_raw_topic(settings, produce, consume):
    payload = {"id": "abc", "title": "قصف على إدلب", "n": 1}
    meta = produce(settings.raw_topic, payload, key="abc", headers={"source": "test"})
    assert meta.topic == settings.raw_topic
    records = consume(settings.raw_topic, 1)
    assert len(records) == 1
    rec = records[0]
    assert rec.key == b"abc"
    assert json.loads(rec.value) == payload
    assert ("source", b"test") in [(k, v) for k, v in rec.headers]


def test_init_is_idempotent(settings):
    again = ensure_topics(settings)
    assert again["created"] == []
    res = ensure_es(settings)
    assert res["template_action"] == "unchanged"
    assert res["index_action"].endswith("exists")


def test_template_and_alias_installed(settings, es):
    got = es.indices.get_index_template(name=template_name(settings))["index_templates"][0]["index_template"]
    assert got["index_patterns"] == [f"{settings.namespace}-articles-*"]
    assert got["version"] == load_template(settings)["version"]
    assert got["_meta"]["version"] == got["version"]
    aliases = es.indices.get_alias(name=settings.es_alias)
    assert current_index(settings) in aliases


@pytest.fixture(scope="module")
def own(devstack):
    """A namespace of these search tests alone: other tests' documents in the run's
    namespace (other months, other words) must not change what a query finds here."""
    from tests.integration.conftest import _new_namespace, _setup, _teardown
    from pipeline.core.settings import load_settings

    s = _setup(load_settings(namespace=_new_namespace()))
    yield s
    _teardown(s)


def test_arabic_analyzer_available(es, own):
    """The Arabic analysis components are installed (not just the standard analyzer)."""
    tokens = es.indices.analyze(analyzer="arabic", text="الأسلحة الكيميائية في إدلب")["tokens"]
    assert [t["token"] for t in tokens] == ["اسلح", "كيميائ", "ادلب"]
    ours = es.indices.analyze(index=own.es_alias, analyzer="rasid_arabic", text="١٢٣ الكيمـ.يائية")["tokens"]
    assert [t["token"] for t in ours] == ["123", "كيميائ"]


DOCS = {
    "d-idlib": {"title": "قصف على إدلب", "body": "استهدفت غارات جوية ريف إدلب الجنوبي."},
    "d-chem-1": {"title": "اتهامات", "body": "اتهمت موسكو فصائل المعارضة بالتحضير لهجوم كيماوي."},
    "d-chem-2": {"title": "منظمة حظر الأسلحة", "body": "تحقيق في استخدام الأسلحة الكيميائية في سوريا."},
    "d-chem-3": {"title": "تقرير", "body": "نفت دمشق استخدام المواد الكيمياوية ضد المدنيين."},
    "d-akar": {"title": "وزير الدفاع التركي", "body": "قال خلوصي آكار إن نقاط المراقبة باقية."},
    "d-other": {"title": "كرة القدم", "body": "فاز الفريق في مباراة أقيمت في القاهرة."},
}


@pytest.fixture(scope="module")
def indexed(es, own):
    """DOCS indexed into a monthly index created by the template, searchable through the alias."""
    index = own.es_index_for(2019, 5)
    for i, (doc_id, doc) in enumerate(DOCS.items()):
        es.index(index=index, id=doc_id, document={"id": doc_id, "source": "test", "published_at": f"2019-05-{10 + i:02d}T08:00:00Z", **doc})
    es.indices.refresh(index=own.es_alias)
    return index


def _ids(es, own, query: dict) -> set[str]:
    resp = es.search(index=own.es_alias, query=query, size=50)
    return {h["_id"] for h in resp["hits"]["hits"]}


def test_monthly_index_gets_alias_and_mappings(es, own, indexed):
    assert indexed in es.indices.get_alias(name=own.es_alias)
    props = es.indices.get_mapping(index=indexed)[indexed]["mappings"]["properties"]
    assert props["body"]["analyzer"] == "rasid_arabic"
    assert props["body"]["fields"]["exact"]["type"] == "text"
    assert props["location"]["type"] == "geo_point"
    assert props["places"]["properties"]["location"]["type"] == "geo_point"
    assert props["published_at"]["type"] == "date"


def test_idlib_without_hamza_finds_hamza_spelling(es, own, indexed):
    assert _ids(es, own, {"match": {"body": "ادلب"}}) == {"d-idlib"}
    assert _ids(es, own, {"match": {"title": "ادلب"}}) == {"d-idlib"}


@pytest.mark.parametrize("query", ["الكيماوي", "كيماوي", "الكيميائية", "الكيماوية", "كيمياوي", "كيمائي"])
def test_chemical_spelling_variants_fold(es, own, indexed, query):
    assert _ids(es, own, {"match": {"body": query}}) == {"d-chem-1", "d-chem-2", "d-chem-3"}


def test_name_variants_fold(es, own, indexed):
    assert _ids(es, own, {"match": {"body": "أكار"}}) == {"d-akar"}
    assert _ids(es, own, {"match": {"body": "أقار"}}) == {"d-akar"}


def test_exact_subfield_keeps_phrases(es, own, indexed):
    assert _ids(es, own, {"match_phrase": {"body.exact": "الأسلحة الكيميائية"}}) == {"d-chem-2"}
    # unstemmed: the plural does not match the singular on .exact, while the stemmed field folds more
    assert _ids(es, own, {"match_phrase": {"body.exact": "السلاح الكيميائي"}}) == set()
    assert "d-other" not in _ids(es, own, {"match": {"body": "الكيماوي"}})


def test_reindexing_same_id_does_not_duplicate(es, own, indexed):
    before = es.count(index=own.es_alias)["count"]
    es.index(index=indexed, id="d-idlib", document={"id": "d-idlib", **DOCS["d-idlib"]}, refresh=True)
    assert es.count(index=own.es_alias)["count"] == before


def test_template_upgrade_keeps_existing_index(make_settings, es):
    s = make_settings()
    index = current_index(s)
    es.index(index=index, id="x", document={"id": "x", "body": "هجوم كيماوي"}, refresh=True)
    newer = copy.deepcopy(load_template(s))
    newer["version"] += 1
    newer["_meta"]["version"] = newer["version"]
    newer["template"]["mappings"]["properties"]["sentiment"] = {"type": "keyword"}
    res = ensure_es(s, template=newer)
    assert res["template_action"].startswith("upgraded from")
    got = es.indices.get_index_template(name=template_name(s))["index_templates"][0]["index_template"]
    assert got["version"] == newer["version"]
    # the existing index took the additive field and still answers
    props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["sentiment"]["type"] == "keyword"
    assert es.search(index=s.es_alias, query={"match": {"body": "الكيميائي"}})["hits"]["total"]["value"] == 1


def test_template_upgrade_gives_older_documents_their_timestamp(make_settings, es):
    """Documents indexed before ``@timestamp`` existed get it at the upgrade, placed as the sink places new
    ones; without it they would be in no Kibana time-filtered view."""
    s = make_settings()
    index = current_index(s)
    es.index(index=index, id="timed", document={"id": "timed", "published_at": "2024-03-11T08:40:00+00:00",
                                                 "fetched_at": "2024-03-11T08:45:00+00:00"})
    es.index(index=index, id="day", document={"id": "day", "published_at": "2024-03-11T00:00:00+00:00",
                                               "fetched_at": "2024-03-11T09:05:00+00:00"})
    es.index(index=index, id="undated", document={"id": "undated", "fetched_at": "2024-03-11T09:10:00+00:00"})
    es.index(index=index, id="new", document={"id": "new", "@timestamp": "2024-03-11T10:00:00+00:00"}, refresh=True)
    newer = copy.deepcopy(load_template(s))
    newer["version"] += 1
    newer["_meta"]["version"] = newer["version"]
    res = ensure_es(s, template=newer)
    assert res["timestamps_backfilled"] == 3
    got = {h["_id"]: h["_source"].get("@timestamp") for h in es.search(index=s.es_alias, size=10)["hits"]["hits"]}
    assert got == {"timed": "2024-03-11T08:40:00+00:00", "day": "2024-03-11T09:05:00+00:00",
                   "undated": "2024-03-11T09:10:00+00:00", "new": "2024-03-11T10:00:00+00:00"}
    newer["version"] += 1
    newer["_meta"]["version"] = newer["version"]
    assert ensure_es(s, template=newer)["timestamps_backfilled"] == 0  # nothing left to do
