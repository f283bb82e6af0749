"""The live window's numpy structures: they answer like the dicts they replace, and filling the
window allocates nothing."""

from __future__ import annotations

import random
import tracemalloc
from datetime import datetime, timedelta, timezone

import numpy as np

from pipeline.stages.dedupe import NUM_PERM, DedupeIndex, Sketch
from pipeline.stages.packed import ArrivalLog, KeyTable, LiveQueue, Names, grown, id_hash
from pipeline.stages.stories import encode_features


def test_key_table_answers_like_a_dict_through_churn_growth_and_colliding_keys() -> None:
    rng = random.Random(3)
    table, ref = KeyTable(4), {}
    for _ in range(30_000):
        # keys that share low bits, and 64-bit ones
        k = rng.randrange(0, 2000) << 20 if rng.random() < 0.5 else rng.getrandbits(64)
        r = rng.random()
        if r < 0.5:
            v = rng.randrange(10**6)
            table.put(k, v)
            ref[k] = v
        elif r < 0.8:
            assert table.pop(k) == ref.pop(k, -1)
        else:
            assert table.get(k) == ref.get(k, -1) and (k in table) == (k in ref)
        assert len(table) == len(ref)
    assert all(table.get(k) == v for k, v in ref.items())
    cap = table.capacity
    table.reserve(4 * cap)
    assert table.capacity >= 4 * cap and all(table.get(k) == v for k, v in ref.items())


def test_live_queue_pops_by_arrival_then_id_hash_whatever_the_push_order() -> None:
    rng = random.Random(5)
    items = [(float(rng.randrange(50)), rng.getrandbits(64), slot) for slot in range(400)]
    orders = []
    for shuffle in (False, True):
        q = LiveQueue()
        pushed = list(items)
        if shuffle:
            rng.shuffle(pushed)
        for a, h, s in pushed:
            q.push(a, h, s)
        assert len(q) == 400
        orders.append([q.pop() for _ in range(400)])
    expected = [s for _, _, s in sorted(items)]
    assert orders[0] == orders[1] == expected


def test_live_queue_keeps_its_order_through_compactions() -> None:
    q = LiveQueue()
    q.reserve(8)
    out = []
    for i in range(1000):  # a window of ~8: pushed at the end, popped at the front, many times over
        q.push(float(i), i, i)
        if len(q) > 8:
            out.append(q.pop())
    assert out == list(range(len(out))) and q.oldest() == float(len(out))


def test_names_pack_ids_and_keep_the_odd_ones() -> None:
    n = Names()
    n.reserve(4)
    long_id, arabic = "x" * 40, "معرف"
    n[0], n[1], n[2] = "0123456789abcdef0123456789abcdef", long_id, arabic
    assert (n[0], n[1], n[2], n[3]) == ("0123456789abcdef0123456789abcdef", long_id, arabic, "")
    n[1] = "short"
    n.clear(2)
    assert (n[1], n[2]) == ("short", "")
    assert id_hash("a1") != id_hash("a2") and id_hash("a1") == id_hash("a1")


def test_grown_keeps_rows_and_zeroes_the_new_ones() -> None:
    a = np.arange(6, dtype=np.int32).reshape(3, 2)
    for touch in (False, True):
        b = grown(a, 5, touch)
        assert b.shape == (5, 2) and (b[:3] == a).all() and (b[3:] == 0).all()


def test_filling_a_preallocated_window_allocates_nothing_per_article() -> None:
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(5000)]

    def features(i: int) -> str:
        words = {vocab[int(x)]: 2 for x in rng.integers(0, len(vocab), 30)}
        return encode_features({**words, f"p:place{i % 300}": 4, f"#{i}": 2, f"new{i}": 3})

    class NoStore(dict):
        def __setitem__(self, key, value) -> None:  # the table lives elsewhere (SQLite in the worker)
            pass

    idx = DedupeIndex(NoStore(), max_entries=3000, preallocate=True)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def add(i: int) -> None:
        sig = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint64).astype(np.uint32)
        when = t0 + timedelta(seconds=i)
        idx.assign(f"{i:032x}", Sketch(sig, 200), when, now=when, features=features(i))

    for i in range(300):
        add(i)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(300, 900):
            add(i)
        grew = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert idx.live == 900 and len(idx.events) == 900
    # besides one chunk of the retention's arrival log (4096 ids × 40 bytes), under 100 bytes an
    # article; in dicts and lists it was ~2,500
    assert grew < 4096 * 40 + 600 * 100, grew


def test_arrival_log_returns_ids_oldest_first_across_chunks_and_odd_keys() -> None:
    log = ArrivalLog()
    ids = [f"{i:032x}" for i in range(ArrivalLog.CHUNK * 2 + 10)]
    for i, key in enumerate(ids):
        log.push(float(i), key)
    log.push(9000.0, "a key longer than thirty-two characters, or not ascii: خبر")
    log.push(8500.0, "clock-stepped-back")  # kept as 9000: never before what came earlier
    assert len(log) == len(ids) + 2
    first = log.pop_older(3.0)
    assert first == [(0.0, ids[0]), (1.0, ids[1]), (2.0, ids[2])]
    middle = log.pop_older(ArrivalLog.CHUNK + 1.0)
    assert [k for _, k in middle] == ids[3:ArrivalLog.CHUNK + 1]
    rest = log.pop_older(20_000.0)
    assert rest[-1] == (9000.0, "clock-stepped-back")
    assert [k for _, k in rest][:1] == ["a key longer than thirty-two characters, or not ascii: خبر"]
    assert [k for _, k in rest][1:] == ids[ArrivalLog.CHUNK + 1:] + ["clock-stepped-back"]
    assert len(log) == 0 and log.pop_older(1e12) == []
    log.push(1.0, "again")  # an emptied log takes new ids
    assert log.pop_older(1e12) == [(9000.0, "again")]


def test_arrival_log_load_sorts_any_order_like_pushes_in_order() -> None:
    rng = np.random.default_rng(7)
    pairs = [(float(rng.integers(0, 500)), f"{i:032x}") for i in range(ArrivalLog.CHUNK + 300)]
    pairs.append((42.0, "an odd key: خبر"))
    pushed = ArrivalLog()
    for a, key in sorted(pairs):
        pushed.push(a, key)
    loaded = ArrivalLog()
    loaded.push(0.0, "already-there")
    loaded.load(reversed(pairs))  # a store's key order is not arrival order
    assert len(loaded) == len(pairs) + 1
    got, want = loaded.pop_older(1e12), pushed.pop_older(1e12)
    assert got[0] == want[0] == (42.0, "an odd key: خبر")  # odd keys wait in their own small heap
    assert got[1:] == [(0.0, "already-there")] + want[1:]
    later = ArrivalLog()
    later.push(600.0, "late")
    later.load([(10.0, "early")])  # never before what came earlier
    assert later.pop_older(1e12) == [(600.0, "late"), (600.0, "early")]


def test_arrival_log_requeue_keeps_an_exact_older_time_among_newer_pushes() -> None:
    log = ArrivalLog()
    for i in range(10):
        log.push(100.0 + i, f"{i:032x}")
    log.requeue(50.0, "s-changed-at-50")  # older than every push: waits in the heap at its own time
    log.requeue(105.5, "s-changed-at-105.5")
    assert log.pop_older(60.0) == [(50.0, "s-changed-at-50")]
    assert sorted(log.pop_older(106.0)) == [(100.0 + i, f"{i:032x}") for i in range(6)] + [(105.5, "s-changed-at-105.5")]
    assert len(log) == 4
