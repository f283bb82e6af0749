"""Claims as searchable data on the devstack: an article run through the chain, indexed by the sink,
is found by speaker and stance (one nested query) with `rasid search --speaker --stance`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from devstack.pages import render
from pipeline.stages.process import ChainConfig, process_page
from pipeline.stream.es import async_es_client
from pipeline.stream.sink import BulkWriter, make_item

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "tests" / "quality" / "claims" / "tune" / "aa-turkish-health-minister-sarin-2017.yaml"


async def _nothing_dead(d):
    raise AssertionError(f"dead-lettered: {d}")


def test_claims_are_searchable_by_speaker_and_stance(settings, es, run):
    a = yaml.safe_load(ARTICLE.read_text(encoding="utf-8"))
    art = process_page(render(a, "wordpress_jannah", seed=1), a["url"], a["source"],
                       config=ChainConfig.from_settings(settings))
    assert any(c.speaker == "الحكومة السورية" and c.stance == "denies" for c in art.claims)

    async def index():
        client = async_es_client(settings)
        try:
            return await BulkWriter(client, settings, _nothing_dead).write([make_item(art.to_json(), settings)])
        finally:
            await client.close()

    assert run(index()).indexed == 1
    es.indices.refresh(index=f"{settings.es_alias}*")
    q = {"nested": {"path": "claims", "query": {"bool": {"filter": [
        {"match_phrase": {"claims.speaker.text": "الحكومة السورية"}}, {"term": {"claims.stance": "denies"}}]}}}}
    assert es.count(index=settings.es_alias, query=q)["count"] >= 1
    # the same speaker with a stance it never took in that article: the claim must match both at once
    q["nested"]["query"]["bool"]["filter"][1] = {"term": {"claims.stance": "warns"}}
    assert es.search(index=settings.es_alias, query={"bool": {"filter": [q, {"ids": {"values": [art.id]}}]}})[
        "hits"]["total"]["value"] == 0

    env = {**os.environ, "RASID_NAMESPACE": settings.namespace, "RASID_ES_URL": settings.es_url}
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "--speaker", "الحكومة السورية",
                          "--stance", "denies", "--json"], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    hits = [json.loads(x) for x in out.stdout.splitlines()]
    mine = [h for h in hits if h["id"] == art.id]
    assert mine and any(c["stance"] == "denies" and "ونفت الحكومة السورية" in c["text"] for c in mine[0]["claims"])
