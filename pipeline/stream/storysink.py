"""The sink of story documents (``<ns>.stories`` → alias ``<ns>-stories``) and alerts
(``<ns>.alerts`` → alias ``<ns>-alerts``): the articles' sink agent (:func:`pipeline.stream.sink.register`,
same BulkWriter, retries, dead letters and acks) with its own record → action step.

Each record is a whole document written by ``_id`` (story id, alert id): the stream keeps the
state, Elasticsearch only stores the latest version (the devstack has no painless for partial
updates). Records of one story share a partition, so a later version is never overwritten by an
earlier one.
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.core.errors import BadRecord
from pipeline.core.settings import Settings
from pipeline.stream.sink import Item
from pipeline.stream.sink import register as register_sink

STAGE = "stories"


def make_side_item(value: Any, settings: Settings, *, topic: str | None, partition: int | None = None,
                   offset: int | None = None, key: Any = None) -> Item:
    """One ``<ns>.stories`` or ``<ns>.alerts`` record as an index action (or a bad item)."""
    k = key.decode("utf-8", "replace") if isinstance(key, (bytes, bytearray)) else key
    payload = value if isinstance(value, (bytes, str)) else None
    item = Item(payload=payload, topic=topic, partition=partition, offset=offset, key=k, stage=STAGE)
    try:
        doc = orjson.loads(value)
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if topic == settings.alerts_topic:
            doc_id, index = doc.get("id"), settings.alerts_alias
        else:
            doc_id, index = doc.get("story_id"), settings.stories_alias
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError("no id")
        doc.pop("schema", None)
        item.article_id, item.url = doc_id, doc.get("url")
        item.action = {"_op_type": "index", "_index": index, "_id": doc_id, "_source": doc}
    except Exception as e:  # noqa: BLE001 - bad input never stops the sink
        item.bad = BadRecord("invalid_document", f"{type(e).__name__}: {e}"[:500])
    return item


def side_items(events: list[Any], settings: Settings) -> list[Item]:
    return [make_side_item(ev.value, settings, topic=ev.message.topic, partition=ev.message.partition,
                           offset=ev.message.offset, key=ev.key) for ev in events]


def register(app: Any) -> Any:
    """The stories/alerts sink agent (``<ns>-stories``) of a worker app."""
    s = app.settings
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    topics = app.topic(s.stories_topic, s.alerts_topic, internal=False, **raw)
    return register_sink(app, s, topics, name="stories", stage=STAGE, items=side_items, remove_stale=False)
