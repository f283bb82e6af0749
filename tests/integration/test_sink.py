"""The Elasticsearch sink on the devstack's real Kafka and Elasticsearch.

- the bulk writer indexes a batch, dead-letters the document Elasticsearch rejects (with the
  reason) and indexes its neighbours, and a redelivered batch adds nothing;
- while Elasticsearch is unreachable the writer waits and then finishes the batch;
- the faust agent (a real ``rasid worker --agents index``) does the same from ``<ns>.articles``,
  and commits offsets only after the bulk write: a worker SIGKILLed or SIGTERMed while
  Elasticsearch is down leaves the batch uncommitted, and the next worker indexes it, once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline.core.kafka import workers_group as app_id
from pipeline.core.schema import Article, Place, TopicHit
from pipeline.stream.es import async_es_client as es_client
from pipeline.stream.sink import BulkWriter, make_item
from tests.faults.harness import free_port, wait_until as wait_for
from tests.faults.proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]
UTC = timezone.utc


def make_article(i: int, *, tag: str = "", **kw) -> Article:
    base = dict(
        id=f"{tag}{i:04d}".rjust(32, "0"),
        url=f"https://outlet.example/{tag}/{i}",
        source="npa",
        title=f"قصف كيماوي على خان شيخون {i}",
        body="اتهامات باستخدام السلاح الكيميائي في ريف إدلب الجنوبي",
        language="ar",
        published_at=datetime(2020, 9, 25, 9, 0, tzinfo=UTC) + timedelta(days=i % 40),
        fetched_at=datetime.now(UTC),
        topics=[TopicHit(id="chemical_weapons", score=3.0, evidence=["كيماوي"])],
        places=[Place(name="خان شيخون", name_en="Khan Shaykhun", location={"lat": 35.44, "lon": 36.65})],
    )
    base.update(kw)
    return Article(**base)



def count(es, settings) -> int:
    es.indices.refresh(index=f"{settings.es_alias}*", allow_no_indices=True)
    return es.count(index=settings.es_alias)["count"]



def committed(settings) -> dict[int, int]:
    """partition -> committed offset of the workers' group on ``<ns>.articles``."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=app_id(settings),
                      enable_auto_commit=False)
    try:
        out = {}
        for p in range(settings.kafka_partitions):
            off = c.committed(TopicPartition(settings.articles_topic, p))
            if off is not None and off > 0:
                out[p] = off
        return out
    finally:
        c.close()


def end_offsets(settings) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        tps = [TopicPartition(settings.articles_topic, p) for p in range(settings.kafka_partitions)]
        return {tp.partition: off for tp, off in c.end_offsets(tps).items() if off > 0}
    finally:
        c.close()


# ------------------------------------------------------------------ the writer alone


def test_writer_indexes_batch_deadletters_rejected_and_redelivery_adds_nothing(settings, es, run):
    dead = []

    async def dl(d):
        dead.append(d)

    arts = [make_article(i, tag="w") for i in range(6)]
    items = [make_item(a.to_json(), settings, topic=settings.articles_topic, partition=0, offset=i)
             for i, a in enumerate(arts)]
    bad = items[3]  # a field of the wrong type: Elasticsearch refuses this document only
    bad.action = {**bad.action, "_source": {**bad.action["_source"], "published_at": "not a date"}}

    async def write(batch):
        client = es_client(settings)
        try:
            return await BulkWriter(client, settings, dl).write(batch)
        finally:
            await client.close()

    from prometheus_client import REGISTRY

    def metric(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    m0 = (metric("rasid_stage_emitted_total", stage="index"),
          metric("rasid_stage_dropped_total", stage="index", reason="es_rejected"),
          metric("rasid_bulk_seconds_count"), metric("rasid_end_to_end_seconds_count"))
    res = run(write(items))
    assert (res.indexed, res.dead) == (5, 1)
    m1 = (metric("rasid_stage_emitted_total", stage="index"),
          metric("rasid_stage_dropped_total", stage="index", reason="es_rejected"),
          metric("rasid_bulk_seconds_count"), metric("rasid_end_to_end_seconds_count"))
    assert (m1[0] - m0[0], m1[1] - m0[1], m1[3] - m0[3]) == (5, 1, 5) and m1[2] > m0[2]
    (d,) = dead
    assert d.stage == "index" and d.reason == "es_rejected"
    assert "published_at" in d.detail and "400" in d.detail
    assert (d.source_topic, d.partition, d.offset, d.key) == (settings.articles_topic, 0, 3, arts[3].id)
    assert json.loads(d.payload)["id"] == arts[3].id  # the original record, to replay after a fix
    es.indices.refresh(index=f"{settings.es_alias}*")
    ids = {h["_id"] for h in es.search(index=settings.es_alias, size=50,
                                      query={"prefix": {"url": "https://outlet.example/w/"}})["hits"]["hits"]}
    assert ids == {a.id for a in arts} - {arts[3].id}
    doc = es.get(index=settings.es_index_for(2020, 9), id=arts[0].id)["_source"]
    assert doc["topic_ids"] == ["chemical_weapons"] and doc["location"] == [{"lat": 35.44, "lon": 36.65}]

    # the same records again (a redelivery or a replay): overwritten, not duplicated
    before = count(es, settings)
    again = [make_item(a.to_json(), settings) for i, a in enumerate(arts) if i != 3]
    res2 = run(write(again))
    assert res2.indexed == 5 and count(es, settings) == before
    assert res2.stale_removed == 0


def test_writer_keeps_one_copy_when_an_article_moves_to_another_month(settings, es, run):
    """An update (or a replay after an extraction fix) can date an article in another
    month: the copy in the earlier month's index goes, whether it was written long ago
    or earlier in the same batch."""
    sep, nov = datetime(2020, 9, 30, 22, 0, tzinfo=UTC), datetime(2020, 11, 2, 8, 0, tzinfo=UTC)
    moved, twice, stays = (make_article(i, tag="mv", published_at=sep) for i in range(3))

    async def write(batch):
        client = es_client(settings)
        try:
            return await BulkWriter(client, settings, _no_deadletter).write(
                [make_item(a.to_json(), settings) for a in batch])
        finally:
            await client.close()

    def where(article) -> list[str]:
        es.indices.refresh(index=f"{settings.es_alias}*")
        hits = es.search(index=settings.es_alias, query={"ids": {"values": [article.id]}})["hits"]["hits"]
        return sorted(h["_index"] for h in hits)

    assert run(write([moved, stays])).stale_removed == 0
    assert where(moved) == [settings.es_index_for(2020, 9)]
    later = moved.model_copy(update={"published_at": nov, "title": "تحديث"})
    # `twice` is written to September and then to November within one batch
    res = run(write([later, twice, twice.model_copy(update={"published_at": nov})]))
    assert res.indexed == 3 and res.stale_removed == 2
    assert where(moved) == [settings.es_index_for(2020, 11)]
    assert where(twice) == [settings.es_index_for(2020, 11)]
    assert where(stays) == [settings.es_index_for(2020, 9)]
    doc = es.get(index=settings.es_index_for(2020, 11), id=moved.id)["_source"]
    assert doc["title"] == "تحديث"


def test_writer_waits_while_elasticsearch_is_down(settings, es, run):
    host = urlsplit(settings.es_url)
    proxy = CuttableProxy(host.hostname, host.port or 9200).start()
    try:
        proxy.cut()
        via = settings.model_copy(update={"es_url": proxy.url, "es_timeout_s": 1.0})
        arts = [make_article(i, tag="down") for i in range(4)]
        items = [make_item(a.to_json(), via) for a in arts]

        async def scenario():
            client = es_client(via)
            writer = BulkWriter(client, via, _no_deadletter, backoff_s=0.1, backoff_max_s=0.5)
            task = asyncio.create_task(writer.write(items))
            await asyncio.sleep(3)
            assert not task.done(), "the writer must wait, not give up, while ES is down"
            proxy.restore()
            res = await asyncio.wait_for(task, 30)
            await client.close()
            return res

        res = run(scenario())
        assert res.indexed == 4 and res.dead == 0 and res.retries >= 2
        es.indices.refresh(index=f"{settings.es_alias}*")
        hits = es.search(index=settings.es_alias, query={"prefix": {"url": "https://outlet.example/down/"}})
        assert hits["hits"]["total"]["value"] == 4
    finally:
        proxy.stop()


async def _no_deadletter(d):
    raise AssertionError(f"nothing should be dead-lettered: {d}")


# ------------------------------------------------------------------ the faust agent in a real worker


class Worker:
    """``rasid worker --agents index`` as a subprocess with its own port and data dir."""

    def __init__(self, env: dict[str, str], tmp: Path, name: str) -> None:
        self.log = tmp / f"{name}.log"
        port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker", "--agents", "index",
             "--web-port", str(port), "--data-dir", str(tmp / f"{name}-data")],
            env=env, cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"worker did not stop within {timeout}s after {sig}:\n{self.text()[-3000:]}")


def worker_env(rasid_env: dict[str, str], settings, **extra: str) -> dict[str, str]:
    env = dict(rasid_env)
    env.update(RASID_NAMESPACE=settings.namespace, RASID_BULK_MAX_WAIT_S="0.2", RASID_LOG_LEVEL="INFO",
               # a SIGKILLed worker stays in the group until its session expires (faust: 60 s)
               RASID_KAFKA_SESSION_TIMEOUT_S="8")
    env.update(extra)
    return env


def test_agent_indexes_deadletters_and_commits(make_settings, rasid_env, produce, consume, tmp_path):
    from elasticsearch import Elasticsearch

    settings = make_settings()
    es = Elasticsearch(**settings.es_client_kwargs())
    arts = [make_article(i, tag="ag") for i in range(30)]
    for a in arts[:15]:
        produce(settings.articles_topic, a, key=a.id)
    huge = make_article(99, tag="ag", source="x" * 40_000)  # a keyword term ES refuses
    produce(settings.articles_topic, huge, key=huge.id)
    produce(settings.articles_topic, b"\x00 not an article", key="junk")
    for a in arts[15:]:
        produce(settings.articles_topic, a, key=a.id)

    w = Worker(worker_env(rasid_env, settings), tmp_path, "w1")
    try:
        wait_for(lambda: count(es, settings) == 30, 90, what="30 documents indexed")
        dls = consume(settings.deadletter_topic, 2, timeout=30)
        reasons = sorted(json.loads(r.value)["reason"] for r in dls)
        assert reasons == ["es_rejected", "invalid_article"]
        rejected = next(json.loads(r.value) for r in dls if json.loads(r.value)["reason"] == "es_rejected")
        assert rejected["stage"] == "index" and "source" in rejected["detail"]
        assert rejected["key"] == huge.id and rejected["source_topic"] == settings.articles_topic

        # redelivery of every article and an updated version of one: still 30 documents
        for a in arts:
            produce(settings.articles_topic, a, key=a.id)
        updated = arts[0].model_copy(update={"title": "عنوان محدث"})
        produce(settings.articles_topic, updated, key=updated.id)
        wait_for(lambda: es.get(index=settings.es_index_for(2020, 9),
                                id=updated.id)["_source"]["title"] == "عنوان محدث", 60, what="update indexed")
        assert count(es, settings) == 30
        # offsets follow the bulk writes: everything consumed is committed
        wait_for(lambda: committed(settings) == end_offsets(settings), 30, what="offsets committed")
    finally:
        rc = w.stop(signal.SIGTERM)
        es.close()
    assert rc == 0, w.text()[-3000:]
    assert committed(settings) == end_offsets(settings)


def test_worker_killed_while_es_down_loses_nothing(make_settings, rasid_env, produce, tmp_path):
    from elasticsearch import Elasticsearch

    settings = make_settings()
    es = Elasticsearch(**settings.es_client_kwargs())
    host = urlsplit(settings.es_url)
    proxy = CuttableProxy(host.hostname, host.port or 9200).start()
    proxy.cut()
    env = worker_env(rasid_env, settings, RASID_ES_URL=proxy.url, RASID_ES_TIMEOUT_S="2",
                     RASID_BULK_BACKOFF_S="0.2", RASID_BULK_BACKOFF_MAX_S="1")
    arts = [make_article(i, tag="kill") for i in range(40)]
    for a in arts:
        produce(settings.articles_topic, a, key=a.id)
    try:
        # 1. SIGKILL mid-batch: the sink was retrying, nothing was committed
        w1 = Worker(env, tmp_path, "w1")
        wait_for(lambda: "will retry" in w1.text() or "retrying" in w1.text(), 90, what="sink retrying")
        time.sleep(1.0)
        assert committed(settings) == {}, "offsets must not advance before the bulk write succeeded"
        w1.stop(signal.SIGKILL)
        assert count(es, settings) == 0

        # 2. SIGTERM while ES is still down: the worker stops promptly, still nothing committed
        w2 = Worker(env, tmp_path, "w2")
        wait_for(lambda: "will retry" in w2.text() or "retrying" in w2.text(), 90, what="sink retrying again")
        t0 = time.monotonic()
        rc = w2.stop(signal.SIGTERM, timeout=45)
        stop_s = time.monotonic() - t0
        assert rc == 0, w2.text()[-3000:]
        assert "stay uncommitted" in w2.text()
        assert committed(settings) == {}
        assert stop_s < 30

        # 3. ES is back: a new worker indexes every article exactly once and commits
        proxy.restore()
        w3 = Worker(env, tmp_path, "w3")
        try:
            wait_for(lambda: count(es, settings) == 40, 90, what="all 40 indexed after ES came back")
            wait_for(lambda: committed(settings) == end_offsets(settings), 30, what="offsets committed")
            time.sleep(1.5)
            assert count(es, settings) == 40
        finally:
            assert w3.stop(signal.SIGTERM) == 0
    finally:
        proxy.stop()
        es.close()
