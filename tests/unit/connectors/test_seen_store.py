"""The connectors' seen view: what the topic says per article, kept in a file rather than the heap."""

from __future__ import annotations

from types import SimpleNamespace

from connectors.kafka import SeenEntry, SeenStore, seen_value
from pipeline.core.diskmap import DiskMapping
from pipeline.core.settings import load_settings


def rec(key: bytes | None, value: bytes | None) -> SimpleNamespace:
    return SimpleNamespace(key=key, value=value)


def test_records_and_own_writes_make_the_view() -> None:
    seen = SeenStore(load_settings(namespace="unit"))
    assert isinstance(seen.entries, DiskMapping)
    seen._apply([rec(b"a" * 32, b'{"status": "produced", "content_hash": "h1", "etag": "\\"e\\""}'),
                 rec(b"b" * 32, b'{"status": "alias", "canonical_id": "' + b"a" * 32 + b'"}'),
                 rec(b"c" * 32, b"not json"),  # unreadable: the key alone means seen
                 rec(None, b"{}")])  # no key: nothing to remember
    assert seen.get("a" * 32) == SeenEntry(status="produced", content_hash="h1", etag='"e"')
    assert seen.get("b" * 32).canonical_id == "a" * 32
    assert seen.get("c" * 32) == SeenEntry(status="produced") and "c" * 32 in seen
    seen._apply([rec(b"b" * 32, None)])  # a tombstone forgets
    assert "b" * 32 not in seen and seen.get("b" * 32) is None
    value = seen_value(url="https://x.example/1", source="x", status="produced", content_hash="h2")
    seen.remember("d" * 32, value)
    got = seen.get("d" * 32)
    assert got.status == "produced" and got.content_hash == "h2" and got.produced_at > 0
    assert len(seen.entries) == 3
