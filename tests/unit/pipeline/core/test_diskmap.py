"""DiskMapping: dict semantics over a SQLite file that starts empty, pages its iteration, stays off the heap."""

from __future__ import annotations

import pytest

from pipeline.core import diskmap
from pipeline.core.diskmap import DiskMapping


def test_mapping_behaves_like_a_dict_of_json_values(tmp_path) -> None:
    m = DiskMapping(tmp_path / "t.sqlite")
    m["a"] = {"s": "story", "t": 1.5, "h": None, "w": [1, 2]}
    m["b"] = 7
    assert m["a"] == {"s": "story", "t": 1.5, "h": None, "w": [1, 2]} and m.get("b") == 7
    assert "a" in m and "zz" not in m and 3 not in m and len(m) == 2
    m["a"] = {"s": "other"}  # replaced
    assert m["a"] == {"s": "other"}
    assert m.get("missing") is None
    with pytest.raises(KeyError):
        m["missing"]
    with pytest.raises(KeyError):
        del m["missing"]
    del m["b"]
    assert dict(m.items()) == {"a": {"s": "other"}} and list(m) == ["a"] and list(m.values()) == [{"s": "other"}]
    with pytest.raises(TypeError):
        m[("a", 1)] = 1  # keys are strings here
    m.clear()
    assert len(m) == 0


def test_iteration_reads_pages_and_survives_writes_between_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(diskmap, "PAGE", 3)
    m = DiskMapping(tmp_path / "t.sqlite")
    for i in range(10):
        m[f"k{i:02d}"] = i
    seen = []
    for k, v in m.items():
        seen.append((k, v))
        if k == "k01":
            del m["k05"]  # on a page not read yet (the sweep deletes while it walks)
            m["k99"] = 99
    assert seen == [(f"k{i:02d}", i) for i in range(10) if i != 5] + [("k99", 99)]


def test_a_reopened_file_starts_empty_and_recovery_fills_it(tmp_path) -> None:
    path = tmp_path / "tables" / "dedupe.sqlite"
    m = DiskMapping(path)
    m["old"] = 1
    m.close()
    m = DiskMapping(path)  # a restart: the changelog is the truth, the file only a cache
    assert len(m) == 0
    # changelog records in order: a later record wins, None deletes
    m.apply([("a", 0, {"v": 1}), ("b", 0, {"v": 2}), ("a", 0, {"v": 3}), ("b", 0, None), ("c", 1, {"v": 4})])
    m["live"] = {"v": 5}  # written by the agent, not recovered: no partition
    assert dict(m.items()) == {"a": {"v": 3}, "c": {"v": 4}, "live": {"v": 5}}
    assert m.keep_partitions({0}) == 1  # partition 1 went to another worker
    assert dict(m.items()) == {"a": {"v": 3}, "live": {"v": 5}}


def test_memory_stays_flat_while_entries_pile_up(tmp_path) -> None:
    import tracemalloc

    m = DiskMapping(tmp_path / "t.sqlite", cache_kib=1024)
    entry = {"s": "f" * 32, "d": None, "t": 1.0, "a": 2.0, "h": "x" * 690, "w": "y" * 330}
    for i in range(2000):  # warm the page cache to its bound
        m[f"{i:032x}"] = entry
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(2000, 22000):
            m[f"{i:032x}"] = entry
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(m) == 22000 and m[f"{21999:032x}"] == entry
    # 20 000 entries of ~1.1 KB: a dict store would hold ~25 MB more; here only the bounded page cache
    assert grown < 2_000_000, grown


def test_a_private_temporary_file_needs_no_path() -> None:
    m = DiskMapping()
    m["a"] = [1, "x"]
    assert m["a"] == [1, "x"] and m.path is None
