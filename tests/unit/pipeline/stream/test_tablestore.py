"""The disk table store: faust tables of the worker keep their entries in a DiskMapping."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.types import TP

from pipeline.core.settings import load_settings
from pipeline.stream.tablestore import RECOVERY_BUFFER, DiskStore


def test_tables_use_the_store_the_settings_name(tmp_path) -> None:
    from pipeline.stream.app import create_app

    app = create_app(load_settings(namespace="unit"), ("dedupe",), data_dir=tmp_path)
    assert isinstance(app.dedupe_table.data, DiskStore) and isinstance(app.story_table.data, DiskStore)
    assert app.dedupe_table.data.data.path.parent == app.conf.tabledir
    # recovery hands records to the store in small batches (a batch is held decoded in the heap)
    assert app.dedupe_table.recovery_buffer_size == app.story_table.recovery_buffer_size == RECOVERY_BUFFER <= 100
    app = create_app(load_settings(namespace="unit", table_store="memory"), ("dedupe",), data_dir=tmp_path)
    assert type(app.dedupe_table.data).__name__ == "Store" and isinstance(app.dedupe_table.data.data, dict)


def test_recovery_batches_and_partition_cleanup_go_through_the_store(tmp_path) -> None:
    from pipeline.stream.app import create_app

    app = create_app(load_settings(namespace="unit"), ("dedupe",), data_dir=tmp_path)
    store = app.dedupe_table.data

    def ev(key, value, partition=0, offset=0):
        return SimpleNamespace(key=key, value=value, message=SimpleNamespace(
            partition=partition, value=value, tp=TP("changelog", partition), offset=offset))

    store.apply_changelog_batch([ev("a", {"s": "a"}), ev("b", {"s": "a"}, 1), ev("a", None)],
                                to_key=lambda k: k, to_value=lambda v: v)
    assert dict(store.items()) == {"b": {"s": "a"}}
    asyncio.run(store.on_recovery_completed({TP("changelog", 0)}, set()))
    assert len(store) == 0


def test_the_store_knows_the_changelog_offset_its_rows_reflect(tmp_path) -> None:
    """A rebalance that keeps a partition here resumes its recovery there, not at the beginning."""
    from pipeline.stream.app import create_app

    app = create_app(load_settings(namespace="unit"), ("dedupe",), data_dir=tmp_path)
    store = app.dedupe_table.data
    p0, p1 = TP("changelog", 0), TP("changelog", 1)
    assert store.persisted_offset(p0) is None  # a new process: everything is read from the changelog

    def ev(key, offset, tp):
        return SimpleNamespace(key=key, value={"s": key}, message=SimpleNamespace(
            partition=tp.partition, value=b"x", tp=tp, offset=offset))

    before = store.changes
    store.apply_changelog_batch([ev("a", 5, p0), ev("b", 9, p0), ev("c", 3, p1)],
                                to_key=lambda k: k, to_value=lambda v: v)
    assert (store.persisted_offset(p0), store.persisted_offset(p1)) == (9, 3) and store.changes > before
    store.set_persisted_offset(p0, 12)  # this worker's own write reached the changelog
    store.set_persisted_offset(p0, 11)  # (a late callback never moves it back)
    assert store.persisted_offset(p0) == 12
    after_recovery = store.changes
    store["d"] = {"s": "d"}  # the worker's own writes are not changes from elsewhere
    assert store.changes == after_recovery
    asyncio.run(store.on_recovery_completed({p0}, set()))
    assert store.persisted_offset(p1) is None and "c" not in store  # gone: recovered in full if it comes back
    assert store.persisted_offset(p0) == 12 and store.changes > after_recovery
