"""At a stop the connectors wait for commits under way (a record with its seen record), not for fetches."""

from __future__ import annotations

import asyncio
import logging
import time

from connectors.kafka import Ownership


async def test_idle_returns_at_once_without_commits_and_when_the_last_one_ends() -> None:
    own = Ownership()
    t0 = time.monotonic()
    await own.idle(5.0)
    assert time.monotonic() - t0 < 0.5
    assert await own.begin_commit("sana")

    async def finish() -> None:
        await asyncio.sleep(0.2)
        await own.end_commit("sana")

    ending = asyncio.create_task(finish())
    t0 = time.monotonic()
    await own.idle(5.0)
    assert 0.15 < time.monotonic() - t0 < 2.0  # waited for the commit, not the timeout
    await ending


async def test_idle_gives_up_after_its_timeout_and_says_so(caplog) -> None:
    own = Ownership()
    assert await own.begin_commit("sana")
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING):
        await own.idle(0.2)
    assert 0.15 < time.monotonic() - t0 < 2.0
    assert any("commits still under way" in r.getMessage() for r in caplog.records)
