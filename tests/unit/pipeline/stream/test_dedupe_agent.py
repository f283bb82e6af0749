"""The dedupe agent's batch: articles get their story, a bad envelope is dead-lettered, the state gauges are set."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson

from pipeline.core import metrics
from pipeline.core.settings import load_settings
from pipeline.stages.dedupe import DedupeIndex, sketch
from pipeline.stream.agents import _dedupe_batch

TEXT = "قصف مدفعي على ريف إدلب الجنوبي صباح اليوم وسط نزوح الأهالي نحو الشمال السوري هربا من المعارك"


def gauge(state: str) -> float:
    return metrics.STATE_ENTRIES.labels(state=state)._value.get()


def test_a_batch_links_copies_dead_letters_bad_envelopes_and_reports_its_state() -> None:
    settings = load_settings(namespace="unit")
    index = DedupeIndex()
    dead = []
    delivery = SimpleNamespace(dead_letter_out=lambda ev, **kw: dead.append(kw) or SimpleNamespace(topic="dl"),
                               dead_letter=lambda *a, **kw: None)
    state = SimpleNamespace(get=lambda: index)
    sk = sketch(TEXT).encode()

    def ev(aid: str) -> SimpleNamespace:
        env = {"article": {"id": aid, "source": "x", "title": "t"}, "sketch": sk, "when": "2026-12-05T10:00:00+00:00"}
        return SimpleNamespace(value=orjson.dumps(env), key=aid.encode(), message=SimpleNamespace(offset=0))

    events = [ev("a" * 32), ev("b" * 32), SimpleNamespace(value=b"{not json", key=b"c", message=SimpleNamespace(offset=1))]
    outs = asyncio.run(_dedupe_batch(SimpleNamespace(settings=settings), delivery, state, events))
    arts = [orjson.loads(o.value) for o in outs if o.topic == settings.articles_topic]
    assert [(a["id"][0], a["story_id"][0], a["duplicate_of"]) for a in arts] == [("a", "a", None), ("b", "a", "a" * 32)]
    assert [d["reason"] for d in dead] == ["bad_envelope"]
    assert gauge("dedupe_live") == 2 and gauge("ids_retained") == 2 and gauge("story_live") == 0
