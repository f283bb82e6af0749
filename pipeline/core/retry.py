"""The one backoff rule: how long to wait before trying again, for every retry in Rasid (HTTP fetches,
Kafka produce, Elasticsearch bulk writes, dead letters, restarting a child process, setup).

Exponential with "equal jitter": attempt ``n`` (0-based) waits between half and all of
``min(cap, base * 2**n)``, so several workers retrying the same outage do not retry in step; a
server's ``Retry-After`` is a floor (within ``cap``).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0 = the first retry)."""
    exp = min(cap, base * (2 ** min(max(attempt, 0), 30)))
    delay = exp / 2 + random.uniform(0, exp / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def retry_sync(call: Callable[[], T], *, retry_on: tuple[type[BaseException], ...], attempts: int,
               base: float = 1.0, cap: float = 30.0,
               on_retry: Callable[[BaseException, float], None] | None = None) -> T:
    """``call()``, tried up to ``attempts`` times while it raises ``retry_on``; the last error is raised."""
    for attempt in range(attempts):
        try:
            return call()
        except retry_on as e:
            if attempt == attempts - 1:
                raise
            delay = backoff_delay(attempt, base, cap)
            if on_retry is not None:
                on_retry(e, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


async def retry_forever(call: Callable[[], Awaitable[T]], *, retry_on: tuple[type[BaseException], ...],
                        base: float, cap: float,
                        on_retry: Callable[[BaseException, float], None] | None = None,
                        should_stop: Callable[[], bool] = lambda: False,
                        stopped: Callable[[], BaseException] = lambda: asyncio.CancelledError(),
                        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> T:
    """``await call()`` until it succeeds, waiting out ``retry_on`` errors with :func:`backoff_delay`
    (never given up: the caller's work stays unacknowledged meanwhile, so nothing is lost). When
    ``should_stop()`` turns true during a wait, ``stopped()`` is raised instead of trying again."""
    attempt = 0
    while True:
        try:
            return await call()
        except asyncio.CancelledError:
            raise
        except retry_on as e:
            delay = backoff_delay(attempt, base, cap)
            if on_retry is not None:
                on_retry(e, delay)
            await sleep(delay)
            if should_stop():
                raise stopped() from None
            attempt += 1
