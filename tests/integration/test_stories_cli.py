"""`rasid stories` and `rasid search --story` on the devstack: story documents written by the stories sink
(as the stream writes them) are listed from a terminal in the order asked, filtered, and a story's articles
found by its id or the first characters of it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import orjson
import yaml

from devstack.pages import render
from pipeline.stages.monitor import story_document
from pipeline.stages.process import ChainConfig, process_page
from pipeline.stream.es import async_es_client
from pipeline.stream.sink import BulkWriter, make_item
from pipeline.stream.storysink import make_side_item

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "tests" / "quality" / "claims" / "tune" / "aa-turkish-health-minister-sarin-2017.yaml"
H = 3600.0


async def _nothing_dead(d):
    raise AssertionError(f"dead-lettered: {d}")


def _story(sid: str, title: str, now: float, members: list[tuple[str, float]], places=("إدلب",)) -> dict:
    """A story document as the monitor makes it: members are (source, seconds before now)."""
    entry = {"m": {f"{sid}-{i}": [src, now - ago, ["military_escalation"], list(places)]
                   for i, (src, ago) in enumerate(members)},
             "r": [None, None, title, f"https://example.org/{sid}"], "u": now}
    return story_document(sid, entry)


def _rasid(env, *args):
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_stories_listed_sorted_filtered_and_their_articles_found(make_settings, es, run):
    settings = make_settings()
    now = time.time()
    a, b, c, old = "a1" * 16, "b2" * 16, "c3" * 16, "d4" * 16
    docs = [
        # three outlets within the hour: it broke; its latest article 20 minutes ago
        _story(a, "قصف على معرة النعمان", now, [("sana", 50 * 60), ("aljazeera", 40 * 60), ("enab", 20 * 60)]),
        # one outlet, latest article 5 minutes ago, nothing broke
        _story(b, "رتل تركي يدخل إدلب", now, [("npa", 5 * 60)], places=("إدلب", "كفر لوسين")),
        # four articles, two outlets, all in the last hour but the latest one 30 minutes ago
        _story(c, "اجتماع أستانة", now, [("rt", 55 * 60), ("rt", 50 * 60), ("aa", 45 * 60), ("aa", 30 * 60)],
               places=("أستانة",)),
        # three days old
        _story(old, "قصف قديم على سراقب", now, [("sana", 72 * H), ("smart", 71.5 * H), ("orient", 71 * H)],
               places=("سراقب",)),
    ]
    assert docs[0]["breaking_at"] and not docs[1]["breaking_at"]
    art = process_page(render(yaml.safe_load(ARTICLE.read_text(encoding="utf-8")), "wordpress_jannah", seed=1),
                       "https://example.org/story-a-article", "aa", config=ChainConfig.from_settings(settings))
    art = art.model_copy(update={"story_id": a})

    async def index():
        client = async_es_client(settings)
        try:
            w = BulkWriter(client, settings, _nothing_dead)
            items = [make_side_item(orjson.dumps(d), settings, topic=settings.stories_topic) for d in docs]
            return (await w.write(items)).indexed + (await w.write([make_item(art.to_json(), settings)])).indexed
        finally:
            await client.close()

    assert run(index()) == 5
    es.indices.refresh(index=f"{settings.namespace}-*")
    env = {**__import__("os").environ, "RASID_NAMESPACE": settings.namespace, "RASID_ES_URL": settings.es_url}

    def ids(*args):
        return [json.loads(x)["story_id"] for x in _rasid(env, "stories", "--json", *args).splitlines()]

    assert ids() == [b, a, c]  # active in the last 24 h, latest article first
    assert ids("--since", "all") == [b, a, c, old]
    assert ids("--breaking") == [a]
    assert ids("--breaking", "--since", "7d") == [a, old]
    assert ids("--sort", "top") == [c, a, b]  # four articles in their last hour, then three, then one
    assert ids("--sort", "size", "--since", "all") == [c, a, old, b]
    assert ids("--min-sources", "3", "--since", "all") == [a, old]
    assert ids("--place", "كفر لوسين") == [b]
    assert ids("--source", "aa") == [c]
    assert ids("قصف", "--since", "all") == [a, old]  # the title, through the Arabic analyzer

    human = _rasid(env, "stories", "--breaking")
    assert "BREAKING" in human and "3 articles · 3 outlets (aljazeera, enab, sana)" in human and a in human

    for story in (a, a[:12]):
        hits = [json.loads(x) for x in _rasid(env, "search", "--story", story, "--json").splitlines()]
        assert [h["id"] for h in hits] == [art.id]
    assert _rasid(env, "search", "--story", b, "--json") == ""
