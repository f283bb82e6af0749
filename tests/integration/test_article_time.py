"""Every article is in the time-filtered views on the devstack: a page that gives no date, or only its day,
is placed by the sink's ``@timestamp`` where the stream's fetch put it, so Kibana's time picker (its data view's
time field) and ``rasid search --since`` find it; an old article stays out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.core.schema import Article
from pipeline.stream.es import async_es_client
from pipeline.stream.sink import BulkWriter, make_item

ROOT = Path(__file__).resolve().parents[2]


async def _nothing_dead(d):
    raise AssertionError(f"dead-lettered: {d}")


def _article(n: int, published: datetime | None, fetched: datetime) -> Article:
    return Article(id=f"{n:032x}", url=f"https://example.org/time/{n}", source="npa", title=f"خبر {n}",
                   body="نص الخبر عن إدلب", language="ar", published_at=published, fetched_at=fetched)


def test_undated_and_date_only_articles_are_in_the_last_hour(settings, es, run):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    today = now.replace(hour=0, minute=0, second=0)
    arts = {
        "timed": _article(0xA1, now - timedelta(minutes=10), now - timedelta(minutes=9)),
        "day only": _article(0xA2, today, now - timedelta(minutes=5)),
        "undated": _article(0xA3, None, now - timedelta(minutes=3)),
        "old": _article(0xA4, now - timedelta(days=3), now - timedelta(days=3)),
    }

    async def index():
        client = async_es_client(settings)
        try:
            return await BulkWriter(client, settings, _nothing_dead).write(
                [make_item(a.to_json(), settings) for a in arts.values()])
        finally:
            await client.close()

    assert run(index()).indexed == 4
    # a document indexed before @timestamp existed: read by its publication
    legacy = _article(0xA5, now - timedelta(minutes=20), now - timedelta(minutes=19))
    es.index(index=settings.es_alias, id=legacy.id, document={
        "id": legacy.id, "url": legacy.url, "source": "npa", "title": legacy.title,
        "published_at": legacy.published_at.isoformat(), "fetched_at": legacy.fetched_at.isoformat()})
    es.indices.refresh(index=f"{settings.es_alias}*")
    ids = {a.id: name for name, a in arts.items()} | {legacy.id: "legacy"}

    docs = {ids[h["_id"]]: h["_source"] for h in es.search(
        index=settings.es_alias, query={"ids": {"values": list(ids)}}, size=10)["hits"]["hits"]}
    assert docs["day only"]["@timestamp"] == (now - timedelta(minutes=5)).isoformat()  # the fetch that day
    assert docs["day only"]["published_at"] == today.isoformat()  # the page's own date is kept as it gave it
    assert docs["undated"]["@timestamp"] == (now - timedelta(minutes=3)).isoformat()
    assert docs["undated"].get("published_at") is None
    assert docs["timed"]["@timestamp"] == docs["timed"]["published_at"]

    # Kibana's time picker on the data view's time field, «last hour»
    picked = es.search(index=settings.es_alias, size=10, query={"bool": {"filter": [
        {"ids": {"values": list(ids)}}, {"range": {"@timestamp": {"gte": "now-1h"}}}]}})["hits"]["hits"]
    assert {ids[h["_id"]] for h in picked} == {"timed", "day only", "undated"}

    env = {**os.environ, "RASID_NAMESPACE": settings.namespace, "RASID_ES_URL": settings.es_url}
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "--since", "1h", "--source", "npa",
                          "--size", "50", "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    found = [ids[h["id"]] for h in map(json.loads, out.stdout.splitlines()) if h.get("id") in ids]
    assert sorted(found) == ["day only", "legacy", "timed", "undated"]
    assert found[:3] == ["undated", "day only", "timed"]  # newest first, where each was placed
