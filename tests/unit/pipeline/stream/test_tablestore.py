"""The disk table store: faust tables of the worker keep their entries in a DiskMapping."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from pipeline.core.settings import load_settings
from pipeline.stream.tablestore import DiskStore


def test_tables_use_the_store_the_settings_name(tmp_path) -> None:
    from pipeline.stream.app import create_app

    app = create_app(load_settings(namespace="unit"), ("dedupe",), data_dir=tmp_path)
    assert isinstance(app.dedupe_table.data, DiskStore) and isinstance(app.story_table.data, DiskStore)
    assert app.dedupe_table.data.data.path.parent == app.conf.tabledir
    app = create_app(load_settings(namespace="unit", table_store="memory"), ("dedupe",), data_dir=tmp_path)
    assert type(app.dedupe_table.data).__name__ == "Store" and isinstance(app.dedupe_table.data.data, dict)


def test_recovery_batches_and_partition_cleanup_go_through_the_store(tmp_path) -> None:
    from pipeline.stream.app import create_app

    app = create_app(load_settings(namespace="unit"), ("dedupe",), data_dir=tmp_path)
    store = app.dedupe_table.data

    def ev(key, value, partition=0):
        return SimpleNamespace(key=key, value=value, message=SimpleNamespace(partition=partition, value=value))

    store.apply_changelog_batch([ev("a", {"s": "a"}), ev("b", {"s": "a"}, 1), ev("a", None)],
                                to_key=lambda k: k, to_value=lambda v: v)
    assert dict(store.items()) == {"b": {"s": "a"}}
    asyncio.run(store.on_recovery_completed({("changelog", 0)}, set()))
    assert len(store) == 0
