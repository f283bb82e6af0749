"""A real `rasid worker` (process + dedupe agents) against the devstack's Kafka.

Raw pages rendered from the labelled corpus go to `<ns>.raw`; they must come out on
`<ns>.articles` cleaned, classified, enriched and linked by story; poison records must
land in `<ns>.deadletter` with stage/reason/offset while the worker keeps going; the
de-dup state must survive a worker restart.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from copy import deepcopy
from pathlib import Path

import pytest

from pipeline.core.ids import article_id
from pipeline.core.schema import RawPage, compress_html

ROOT = Path(__file__).resolve().parents[2]


import devstack.pages as render_mod  # noqa: E402
from tests.faults.harness import free_port

ARTICLES = {a["id"]: a for a in render_mod.load_articles()}
WIRE = ARTICLES["seed-alwasila-aleppo-buildup"]
OTHER = ARTICLES["seed-npa-turkish-weapons-idlib"]
THIRD = ARTICLES["seed-orient-hts-black-days"]


def copy_of(article: dict, url: str, source: str, title: str, drop_last: int = 1) -> dict:
    """Another outlet's copy of a wire story: own headline, last paragraph(s) dropped, a word changed."""
    a = deepcopy(article)
    a.update(id=f"{article['id']}-{source}", url=url, source=source, title=title)
    a["paragraphs"] = a["paragraphs"][:-drop_last]
    a["paragraphs"][0] = a["paragraphs"][0].replace("قالت روسيا", "زعمت روسيا")
    return a


COPY = copy_of(WIRE, "https://www.syria.tv/news/moscow-white-helmets", "syria-tv",
               "موسكو تتهم الخوذ البيضاء بالتحضير لاستفزاز كيميائي في إدلب")
COPY2 = copy_of(WIRE, "https://www.enabbaladi.net/archives/350001", "enab-baladi",
                "روسيا: حشود لتحرير الشام قرب حلب", drop_last=2)
ENGLISH = (b"<html lang='en'><head><title>UN envoy briefs the Security Council</title></head><body><article>"
           b"<h1>UN envoy briefs the Security Council</h1>" + b"<p>The UN special envoy told the Security Council on "
           b"Tuesday that talks on the constitutional committee would resume in Geneva next month.</p>" * 6
           + b"</article></body></html>")


def raw(article: dict | None, shape: str = "wordpress_jannah", *, url: str | None = None, html: bytes | None = None) -> RawPage:
    url = url or article["url"]
    page = html if html is not None else render_mod.render(article, shape)
    return RawPage(id=article_id(url), url=url, source=(article or {}).get("source", "test"),
                   html_z=compress_html(page))



class Worker:
    def __init__(self, env: dict, tmp: Path, name: str) -> None:
        self.log = tmp / f"{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker", "--agents", "process,dedupe",
             "--web-port", str(free_port()), "--data-dir", str(tmp / f"{name}-data")],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def ns(make_settings):
    return make_settings()


@pytest.fixture
def worker_env(ns) -> dict:
    env = dict(os.environ)
    env.update(
        RASID_NAMESPACE=ns.namespace,
        RASID_KAFKA_BOOTSTRAP=ns.kafka_bootstrap,
        RASID_KAFKA_PARTITIONS=str(ns.kafka_partitions),
        RASID_PROCESS_POOL_SIZE="2",
        RASID_BATCH_TIMEOUT_S="0.2",
        RASID_HTTP_MAX_BYTES="5000000",
        # articles over ~264 KB are refused by the producer: see "poison-output" below
        RASID_KAFKA_MAX_MESSAGE_BYTES="200000",
        RASID_LOG_LEVEL="INFO",
    )
    return env


@pytest.fixture
def consume(ns):
    """consume(topic, n, timeout) -> up to n records from the start of ``topic``.

    Partitions are assigned directly (no consumer group): nothing to join or
    rebalance, so a loaded broker cannot delay the read.
    """
    from kafka import KafkaConsumer, TopicPartition

    def read(topic: str, n: int, timeout: float = 60.0) -> list:
        c = KafkaConsumer(bootstrap_servers=ns.kafka_bootstrap, enable_auto_commit=False,
                          max_partition_fetch_bytes=ns.kafka_max_message_bytes + 1_000_000)
        try:
            deadline = time.monotonic() + timeout
            parts = None
            while not parts and time.monotonic() < deadline:
                parts = c.partitions_for_topic(topic)
                if not parts:
                    time.sleep(0.2)
            c.assign([TopicPartition(topic, p) for p in sorted(parts or ())])
            c.seek_to_beginning()
            out: list = []
            while len(out) < n and time.monotonic() < deadline:
                for recs in c.poll(timeout_ms=250).values():
                    out.extend(recs)
            return out
        finally:
            c.close()

    return read


def raw_offsets(ns) -> tuple[dict, dict]:
    """(committed offsets of the workers' group, end offsets) on the raw topic, by partition."""
    from kafka import KafkaConsumer, TopicPartition

    # a consumer with the group id but no subscription only reads the group's offsets
    c = KafkaConsumer(bootstrap_servers=ns.kafka_bootstrap, group_id=f"{ns.namespace}-workers",
                      enable_auto_commit=False)
    try:
        tps = [TopicPartition(ns.raw_topic, p) for p in c.partitions_for_topic(ns.raw_topic)]
        ends = {tp.partition: off for tp, off in c.end_offsets(tps).items() if off}
        committed = {tp.partition: c.committed(tp) for tp in tps if tp.partition in ends}
        return committed, ends
    finally:
        c.close()


def by_key(records) -> dict[str, dict]:
    return {r.key.decode(): json.loads(r.value) for r in records}


@pytest.mark.timeout(150)
def test_worker_end_to_end(ns, worker_env, produce, consume, tmp_path) -> None:
    workers = [Worker(worker_env, tmp_path, "w1")]
    try:
        _scenario(ns, worker_env, produce, consume, tmp_path, workers)
    finally:
        for w in workers:
            w.stop()


def _scenario(ns, worker_env, produce, consume, tmp_path, workers) -> None:
    w1 = workers[0]
    rnd = random.Random(7)
    # -- phase 1: poison first, then good pages --------------------------------------------
    huge = b"<html><body>" + (b"<div><p>" + "حشود".encode() * 40 + b"</p></div>") * 30_000 + b"</body></html>"
    assert len(huge) > 5_000_000
    # a page under the HTML limit whose article is over the Kafka message limit (~600 KB of
    # distinct paragraphs): the producer refuses it and the article's dead letter goes instead
    long_article = dict(WIRE, id="long", url="https://a.example/5", title="تقرير مطول عن إدلب",
                        paragraphs=[f"{p} (الفقرة {i})" for i in range(120) for p in WIRE["paragraphs"]])
    poison = {
        "poison-binary": bytes(rnd.getrandbits(8) for _ in range(3000)),
        "poison-badjson": b'{"id": "x", "url": "https://a.example/1", "html_z": ',
        "poison-missing": json.dumps({"id": "poison-missing", "url": "https://a.example/2"}).encode(),
        "poison-empty": RawPage(id="poison-empty", url="https://a.example/3", source="t",
                                html_z=compress_html(b"")).to_json(),
        "poison-huge": RawPage(id="poison-huge", url="https://a.example/4", source="t",
                               html_z=compress_html(huge)).to_json(),
        "poison-output": raw(long_article, "generic_divs").to_json(),
    }
    expected_reason = {"poison-binary": "bad_json", "poison-badjson": "bad_json", "poison-missing": "missing_fields",
                       "poison-empty": "empty", "poison-huge": "too_large", "poison-output": "too_large_output"}
    expected_stage = {"poison-output": "enrich"}
    meta = {k: produce(ns.raw_topic, v, key=k) for k, v in poison.items()}
    good = {
        "wire": raw(WIRE, "wordpress_jannah"),
        "other": raw(OTHER, "custom_cms"),
        "legacy": raw(THIRD, "legacy_1256"),
        "english": raw(None, url="https://news.example/en/un-envoy", html=ENGLISH),
        "truncated": raw(OTHER, url="https://www.npasyria.com/ar/truncated-copy",
                         html=(page := render_mod.render(OTHER, "drupal"))[: len(page) * 97 // 100]),
    }
    for r in good.values():
        produce(ns.raw_topic, r, key=r.id)

    dead = by_key(consume(ns.deadletter_topic, len(poison), timeout=60))
    dead["poison-output"] = dead.pop(article_id("https://a.example/5"), None)  # keyed by its article id
    assert set(dead) == set(poison), w1.tail()
    for k, d in dead.items():
        assert d["stage"] == expected_stage.get(k, "extract") and d["reason"] == expected_reason[k], d
        assert d["source_topic"] == ns.raw_topic
        assert (d["partition"], d["offset"]) == (meta[k].partition, meta[k].offset)
    assert dead["poison-huge"]["url"] == "https://a.example/4"
    assert dead["poison-output"]["url"] == "https://a.example/5" and dead["poison-output"]["source"] == "alwasila"
    assert dead["poison-badjson"]["payload"] == poison["poison-badjson"].decode()

    arts = by_key(consume(ns.articles_topic, len(good), timeout=60))
    assert set(arts) == {r.id for r in good.values()}, w1.tail()
    wire = arts[good["wire"].id]
    assert wire["title"] == WIRE["title"] and wire["source"] == "alwasila"
    assert WIRE["paragraphs"][3][:40] in wire["body"] and "اقرأ أيضاً" not in wire["body"]
    assert {"chemical_weapons", "white_helmets"} <= {t["id"] for t in wire["topics"]}
    assert {"حلب", "إدلب"} <= {p["name"] for p in wire["places"]}
    assert all(p["location"] for p in wire["places"] if p["name"] in ("حلب", "إدلب"))
    assert (wire["story_id"], wire["duplicate_of"]) == (wire["id"], None)
    legacy = arts[good["legacy"].id]  # windows-1256 page
    assert legacy["title"] == THIRD["title"] and THIRD["paragraphs"][0][:30] in legacy["body"]
    english = arts[good["english"].id]
    assert english["language"] == "en" and english["topics"] == []  # kept, indexed, no topic
    truncated = arts[good["truncated"].id]  # cut inside the last paragraph: kept, and the same story
    assert OTHER["paragraphs"][0][:30] in truncated["body"]
    assert truncated["story_id"] in (truncated["id"], good["other"].id)
    assert w1.alive(), w1.tail()

    # -- phase 2: after the poison, a wire copy and a replay ----------------------------------
    copy = raw(COPY, "drupal")
    produce(ns.raw_topic, copy, key=copy.id)
    produce(ns.raw_topic, good["wire"], key=good["wire"].id)  # redelivery / replay of the same page
    recs = consume(ns.articles_topic, len(good) + 2, timeout=60)
    assert len(recs) >= len(good) + 2, w1.tail()
    copy_art = json.loads(next(r.value for r in recs if r.key.decode() == copy.id))
    assert copy_art["story_id"] == wire["id"] and copy_art["duplicate_of"] == wire["id"]
    replayed = [json.loads(r.value) for r in recs if r.key.decode() == wire["id"]]
    assert len(replayed) >= 2 and all((a["story_id"], a["duplicate_of"]) == (wire["id"], None) for a in replayed)
    assert w1.alive(), w1.tail()

    # -- phase 3: the de-dup state survives a restart -----------------------------------------
    assert w1.stop() == 0, w1.tail()
    # every raw record was acked and committed (poison included): nothing is read twice after a clean stop
    committed, ends = raw_offsets(ns)
    assert committed == ends, (committed, ends)
    w2 = Worker(worker_env, tmp_path, "w2")
    workers.append(w2)
    copy2 = raw(COPY2, "amp")
    produce(ns.raw_topic, copy2, key=copy2.id)
    produce(ns.raw_topic, copy, key=copy.id)  # replayed after the restart
    recs = consume(ns.articles_topic, len(good) + 4, timeout=60)
    assert len(recs) >= len(good) + 4, w2.tail()
    all_arts = [json.loads(r.value) for r in recs]
    [c2] = [a for a in all_arts if a["id"] == copy2.id]
    assert c2["story_id"] == wire["id"], w2.tail()
    assert c2["duplicate_of"] in {wire["id"], copy.id}
    copies = [a for a in all_arts if a["id"] == copy.id]
    assert len(copies) >= 2 and all((a["story_id"], a["duplicate_of"]) == (wire["id"], wire["id"]) for a in copies)
    assert w2.alive(), w2.tail()
    # the worker's logs are JSON lines with the stage and article id
    lines = [json.loads(x) for x in w2.log.read_text().splitlines() if x.startswith("{")]
    assert any(x.get("stage") == "dedupe" and x.get("article_id") == copy2.id for x in lines)
