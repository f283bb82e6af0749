"""Throughput of the Elasticsearch sink on the devstack, and how it depends on the batch settings.

Two measurements, each in a throw-away namespace (topics, template and indices dropped after):

1. ``writer``: :class:`pipeline.stream.sink.BulkWriter` alone against Elasticsearch — documents/s
   and MB/s for several ``bulk_max_docs`` values (``bulk_max_bytes`` as configured);
2. ``agent``: the faust sink in a real ``rasid worker --agents index`` consuming
   ``<ns>.articles`` from Kafka — documents/s between the first and the last ``indexed_at``
   (worker start-up excluded), with the default batch settings unless overridden.

Articles are realistic: bodies, titles, places and topics taken from the labelled corpus
(tests/quality/articles), each copy with its own id and URL.

    .venv/bin/python -m benchmarks.sink_bench [--docs 5000] [--batch 100,500,1000] [--json out.json]
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import yaml

from pipeline.stream.namespace import drop_namespace
from pipeline.stream.es import ensure_es
from pipeline.core.kafka import ensure_topics
from pipeline.core.schema import Article, Place, TopicHit
from pipeline.core.settings import Settings, load_settings
from pipeline.stream.sink import BulkWriter, make_item
from pipeline.stream.es import async_es_client as es_client

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "quality" / "articles"


def corpus_articles(n: int) -> list[Article]:
    """``n`` articles cycling through the labelled corpus, each with a unique id/url."""
    src = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("*.yaml"))]
    out = []
    now = datetime.now(timezone.utc)
    for i in range(n):
        a = src[i % len(src)]
        out.append(Article(
            id=f"{i:032x}",
            url=f"https://bench.example/{a['id']}/{i}",
            source=a.get("source") or "bench",
            title=a.get("title"),
            body="\n\n".join(a.get("paragraphs") or []),
            language=a.get("language", "ar"),
            published_at=datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=i),  # one monthly index
            fetched_at=now,
            topics=[TopicHit(id=t, score=2.0, evidence=[]) for t in a.get("topics") or []],
            places=[Place(name=p, location={"lat": 35.9, "lon": 36.6}) for p in a.get("places") or []],
        ))
    return out


def fresh(**overrides) -> Settings:
    s = load_settings(namespace=f"bench{secrets.token_hex(3)}", **overrides)
    ensure_topics(s)
    ensure_es(s)
    return s


async def _dl(d) -> None:
    raise RuntimeError(f"unexpected dead letter: {d.reason} {d.detail}")


def bench_writer(arts: list[Article], batch: int) -> dict:
    s = fresh(bulk_max_docs=batch)
    try:
        items = [make_item(a.to_json(), s) for a in arts]
        nbytes = sum(len(json.dumps(it.action["_source"], ensure_ascii=False).encode()) for it in items)

        async def go() -> float:
            es = es_client(s)
            w = BulkWriter(es, s, _dl)
            t0 = time.perf_counter()
            for i in range(0, len(items), batch):
                res = await w.write(items[i:i + batch])
                assert res.indexed == len(items[i:i + batch]), res
            took = time.perf_counter() - t0
            await es.close()
            return took

        took = asyncio.run(go())
        return {"mode": "writer", "bulk_max_docs": batch, "bulk_max_bytes": s.bulk_max_bytes, "docs": len(arts),
                "seconds": round(took, 2), "docs_per_s": round(len(arts) / took, 1),
                "mb_per_s": round(nbytes / took / 1e6, 2), "avg_doc_kb": round(nbytes / len(arts) / 1024, 1)}
    finally:
        drop_namespace(s)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_agent(arts: list[Article], batch: int | None, wait_s: float | None) -> dict:
    from kafka import KafkaProducer

    over = {}
    if batch:
        over["bulk_max_docs"] = batch
    if wait_s:
        over["bulk_max_wait_s"] = wait_s
    s = fresh(**over)
    tmp = Path(tempfile.mkdtemp(prefix="sinkbench-"))
    try:
        p = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, linger_ms=20, acks="all",
                          max_request_size=s.kafka_max_message_bytes + 64_000)
        for a in arts:
            p.send(s.articles_topic, key=a.id.encode(), value=a.to_json())
        p.flush()
        p.close()
        env = dict(os.environ, RASID_NAMESPACE=s.namespace, RASID_LOG_LEVEL="WARNING",
                   **{f"RASID_{k.upper()}": str(v) for k, v in over.items()})
        t_start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "worker", "--agents", "index",
                                 "--web-port", str(_free_port()), "--data-dir", str(tmp / "data")],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(tmp / "w.log").open("wb"))
        from elasticsearch import Elasticsearch

        es = Elasticsearch(**s.es_client_kwargs())
        try:
            deadline = time.monotonic() + 600
            n = 0
            while time.monotonic() < deadline:
                es.indices.refresh(index=f"{s.es_alias}*")
                n = es.count(index=s.es_alias)["count"]
                if n >= len(arts):
                    break
                time.sleep(0.5)
            wall = time.monotonic() - t_start
            agg = es.search(index=s.es_alias, size=0, aggs={"first": {"min": {"field": "indexed_at"}},
                                                             "last": {"max": {"field": "indexed_at"}}})
            span = (agg["aggregations"]["last"]["value"] - agg["aggregations"]["first"]["value"]) / 1000
        finally:
            es.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        return {"mode": "agent", "bulk_max_docs": s.bulk_max_docs, "bulk_max_wait_s": s.bulk_max_wait_s,
                "bulk_max_bytes": s.bulk_max_bytes, "docs": n, "indexing_seconds": round(span, 2),
                "docs_per_s": round(n / span, 1) if span > 0 else None,
                "wall_seconds_incl_startup": round(wall, 1)}
    finally:
        drop_namespace(s)


@click.command()
@click.option("--docs", default=5000, show_default=True)
@click.option("--batch", default="100,500,1000", show_default=True, help="bulk_max_docs values for the writer")
@click.option("--agent/--no-agent", default=True, show_default=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None)
def main(docs: int, batch: str, agent: bool, json_out: str | None) -> None:
    arts = corpus_articles(docs)
    results = [bench_writer(arts, int(b)) for b in batch.split(",")]
    if agent:
        results.append(bench_agent(arts, None, None))
    for r in results:
        click.echo(json.dumps(r))
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
