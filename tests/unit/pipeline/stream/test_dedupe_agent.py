"""The dedupe agent's batch: articles get their story, a bad envelope is dead-lettered, the state gauges are set."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import orjson

from pipeline.core import metrics
from pipeline.core.settings import load_settings
from pipeline.stages.dedupe import DedupeIndex, sketch
from pipeline.stages.stories import encode_features
from pipeline.stream.agents import DedupeState, _dedupe_batch, dedupe_one

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


def test_an_article_that_starts_the_next_days_story_carries_the_story_it_follows() -> None:
    """The agent writes the verdict's link on the article (``story_follows``): the stories hook and the
    index read it from there."""
    index = DedupeIndex()
    words = encode_features({f"w{i}": 4 for i in range(12)})
    texts = ["قصف مدفعي على ريف إدلب الجنوبي صباح اليوم وسط نزوح الأهالي نحو الشمال السوري هربا من المعارك",
             "مصادر محلية تتحدث عن قذائف سقطت على قرى جبل الزاوية وأضرار في منازل المدنيين وحركة نزوح",
             "الدفاع المدني يواصل انتشال الضحايا بعد ليلة من القصف على البلدات الجنوبية في المحافظة"]

    def one(aid: str, hours: int, text: str) -> dict:
        when = datetime(2026, 12, 5, tzinfo=timezone.utc) + timedelta(hours=hours)
        env = {"article": {"id": aid, "source": "x", "title": "t"}, "sketch": sketch(text).encode(),
               "when": when.isoformat(), "event": words}
        return dedupe_one(index, orjson.dumps(env))[2]

    first, late, next_day = one("a" * 32, 0, texts[0]), one("b" * 32, 20, texts[1]), one("c" * 32, 30, texts[2])
    assert first["story_follows"] is None and (late["story_id"], late["story_follows"]) == ("a" * 32, None)
    assert (next_day["story_id"], next_day["story_follows"]) == ("c" * 32, "a" * 32)
