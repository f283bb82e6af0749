"""The dedupe agent's batch: articles get their story, a bad envelope is dead-lettered, the state gauges are set."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson

from pipeline.core import metrics
from pipeline.core.settings import load_settings
from pipeline.stages.dedupe import DedupeIndex, sketch
from pipeline.stream.agents import DedupeState, _dedupe_batch

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


def test_a_rebalance_rebuilds_the_index_only_when_the_table_changed_under_it(monkeypatch) -> None:
    import pipeline.stages.dedupe as dedupe

    store = SimpleNamespace(changes=0)
    table = SimpleNamespace(data=store)
    app = SimpleNamespace(consumer_generation_id=1, settings=load_settings(namespace="unit"))
    state = DedupeState(app, {})
    state.table = table
    built = []
    monkeypatch.setattr(dedupe, "index_from_settings", lambda t, settings, **kw: built.append(t) or DedupeIndex())
    first = state.get()
    app.consumer_generation_id = 2  # a broker restart: same assignment, nothing recovered
    assert state.get() is first and len(built) == 1
    store.changes += 1  # recovery applied records written elsewhere
    app.consumer_generation_id = 3
    assert state.get() is not first and len(built) == 2
    state.table = {}  # a store that does not count its changes (faust's memory store)
    app.consumer_generation_id = 4
    state.get()
    app.consumer_generation_id = 5
    state.get()
    assert len(built) == 4
