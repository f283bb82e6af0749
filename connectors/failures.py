"""Failing sources, told once and then summarised: one line per source, not one per endpoint per poll.

An outlet that is down, moved or blocks us fails on every poll of every endpoint, and a machine
without a network fails everywhere. Printing each failure buries the one line that matters, so the
connectors say it three ways instead:

- the first failure of a source: one WARNING with its reason and the next retry;
- then, every ``summary_s`` seconds, one WARNING per source that failed again in that time, with the
  count, the endpoints involved, the last reason and the next retry;
- when every endpoint of a failing source answers again: one INFO "source healthy again".

Each failure is still counted (``rasid_connector_errors_total``) and logged at DEBUG for whoever
needs the detail.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from pipeline.core.log import get_logger

log = get_logger("rasid.connectors")


@dataclass
class _Failing:
    since: float
    endpoints: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)
    new: int = 0  # failures since the last summary line
    total: int = 0
    next_retry: float = 0.0
    blocked: bool = False


class FailureDigest:
    """Which sources are failing, and what to say about them."""

    def __init__(self, summary_s: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self.summary_s = summary_s
        self.clock = clock
        self.failing: dict[str, _Failing] = {}

    def failed(self, source: str, url: str, reason: str, retry_in_s: float, *, blocked: bool = False,
               detail: str = "") -> None:
        now = self.clock()
        f = self.failing.get(source)
        first = f is None
        if f is None:
            f = self.failing[source] = _Failing(since=now)
        f.endpoints.add(url)
        f.reasons[reason] += 1
        f.total += 1
        f.new += 0 if first else 1
        f.next_retry = now + retry_in_s if f.next_retry <= now else min(f.next_retry, now + retry_in_s)
        f.blocked = blocked
        extra = {"stage": "fetch", "source": source, "url": url, "reason": reason, "detail": detail[:300],
                 "retry_in_s": round(retry_in_s, 1)}
        if first:
            what = "source blocked (the outlet refuses us), retried hours apart" if blocked else "source failing"
            log.warning(f"{what}, next retry {_clock(f.next_retry)}", extra=extra)
        else:
            log.debug("endpoint poll failed", extra=extra)

    def succeeded(self, source: str, url: str) -> None:
        f = self.failing.get(source)
        if f is None or url not in f.endpoints:
            return
        f.endpoints.discard(url)
        if not f.endpoints:
            del self.failing[source]
            log.info("source healthy again", extra={
                "stage": "fetch", "source": source, "failures": f.total,
                "failing_for_s": round(self.clock() - f.since, 1)})

    def summarise(self) -> int:
        """One line per source that failed again since the last summary; returns how many lines."""
        lines = 0
        for source, f in sorted(self.failing.items()):
            if not f.new:
                continue
            reason, _ = f.reasons.most_common(1)[0]
            log.warning(
                f"source still {'blocked' if f.blocked else 'failing'}: {f.new} more failure(s) on "
                f"{len(f.endpoints)} endpoint(s) in {self.summary_s / 60:.0f} min, next retry {_clock(f.next_retry)}",
                extra={"stage": "fetch", "source": source, "reason": reason, "failures": f.total,
                       "endpoints": len(f.endpoints), "failing_for_s": round(self.clock() - f.since, 1)})
            f.new = 0
            lines += 1
        return lines


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")
