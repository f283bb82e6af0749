"""The process pool when several batches share it (the process agent keeps two in flight):
queued items are not taken for stuck ones, and a crash or a stuck page in one batch fails
only that page. No network."""

from __future__ import annotations

import asyncio
import os
import time

from pipeline.stream.pool import StagePool


def _work(x: float) -> float:
    if x == -1:
        os._exit(3)  # a parser segfault, an OOM kill
    if x == -2:
        time.sleep(60)  # a pathological page
    if x >= 100:
        time.sleep(x / 1000)  # a slow but healthy page
    return x


async def test_queued_items_of_a_second_batch_are_not_a_stall() -> None:
    # one process, 2 × 4 items of 0.4 s: the second batch waits 1.6 s > timeout before it starts
    pool = StagePool(1, timeout_s=1.0, context="fork")
    try:
        a, b = await asyncio.gather(pool.map(_work, [400] * 4), pool.map(_work, [401] * 4))
        assert [o.value for o in a] == [400] * 4 and [o.value for o in b] == [401] * 4
        assert pool.restarts == 0
    finally:
        pool.shutdown()


async def test_a_crash_in_one_batch_fails_only_its_culprit() -> None:
    pool = StagePool(2, timeout_s=5, context="fork")
    try:
        a, b = await asyncio.gather(pool.map(_work, [1, 150, -1, 2]), pool.map(_work, [3, 150, 4, 5]))
        assert [(o.ok, o.value) for o in a] == [(True, 1), (True, 150), (False, None), (True, 2)]
        assert a[2].reason == "worker_crashed"
        assert [o.value for o in b] == [3, 150, 4, 5] and all(o.ok for o in b)
        assert pool.restarts >= 1
    finally:
        pool.shutdown()


async def test_a_stuck_page_in_one_batch_fails_only_itself() -> None:
    pool = StagePool(2, timeout_s=1.5, context="fork")
    try:
        t0 = time.monotonic()
        a, b = await asyncio.gather(pool.map(_work, [5, -2, 6]), pool.map(_work, [7, 8, 9]))
        assert [o.ok for o in a] == [True, False, True] and a[1].reason == "timeout"
        assert [o.value for o in b] == [7, 8, 9] and all(o.ok for o in b)
        assert time.monotonic() - t0 < 15
        assert [o.value for o in await pool.map(_work, [10])] == [10]  # the pool works afterwards
    finally:
        pool.shutdown()


def _pid(_: int) -> int:
    return os.getpid()


async def test_processes_are_recycled_without_a_stall() -> None:
    # The executor's own max_tasks_per_child deadlocks on Python 3.11-3.13 once a process reaches
    # its limit with tasks queued (CPython gh-115634): the stream stalled for timeout_s each time.
    pool = StagePool(1, timeout_s=5.0, context="forkserver", max_tasks_per_child=3)
    try:
        t0 = time.monotonic()
        batches = [await pool.map(_pid, list(range(3))) for _ in range(4)]
        batches += await asyncio.gather(*(pool.map(_pid, [1, 2, 3]) for _ in range(3)))
        assert all(o.ok for b in batches for o in b)
        assert time.monotonic() - t0 < 4.5, "a recycle waited for the stall timeout"
        assert pool.restarts == 0 and pool.recycled >= 5
        # one executor per 3 tasks: the first four batches ran in four different processes
        assert len({b[0].value for b in batches[:4]}) == 4
    finally:
        pool.shutdown()


# --------------------------------------------------------------------------- the agent's batch slots

async def test_batch_slots_wait_for_a_free_slot_and_fail_loudly_if_the_finisher_died() -> None:
    from pipeline.stream.agents import _acquire_slot

    slots = asyncio.Semaphore(1)
    finisher = asyncio.get_running_loop().create_future()
    await _acquire_slot(slots, finisher)  # free: taken at once
    waiting = asyncio.ensure_future(_acquire_slot(slots, finisher))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # both batches in flight: the next one waits
    slots.release()
    await asyncio.wait_for(waiting, 1)  # a finished batch frees its slot
    finisher.set_exception(RuntimeError("finisher bug"))
    try:
        await asyncio.wait_for(_acquire_slot(slots, finisher), 1)
    except RuntimeError as e:
        assert "finisher bug" in str(e)
    else:
        raise AssertionError("a dead finisher must not leave the agent waiting forever")
