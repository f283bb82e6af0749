"""Adaptive polling: when to poll an endpoint next.

An idle feed (nothing new) is backed off geometrically up to ``max_interval``;
a busy one (many new links per poll) is sped up down to ``min_interval``;
otherwise the interval drifts back towards the configured ``poll_interval``.
Failures back off exponentially on their own; after ``UNHEALTHY_AFTER``
consecutive failures the endpoint is marked unhealthy and retried only every
``max_interval`` — it never blocks the other endpoints, which run independently.
A little jitter keeps hundreds of feeds from polling in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

IDLE_FACTOR = 1.5
BUSY_FACTOR = 0.5
BUSY_THRESHOLD = 5  # new links in one poll that count as "busy"
RELAX = 0.25  # fraction of the way back to the base interval per ordinary poll
UNHEALTHY_AFTER = 3
JITTER = 0.1


@dataclass
class PollSchedule:
    base: float
    min_interval: float
    max_interval: float
    interval: float = 0.0
    failures: int = 0
    healthy: bool = True

    def __post_init__(self) -> None:
        if not (0 < self.min_interval <= self.base <= self.max_interval):
            raise ValueError("need 0 < min_interval <= base <= max_interval")
        if not self.interval:
            self.interval = self.base

    def _clamp(self, x: float) -> float:
        return min(self.max_interval, max(self.min_interval, x))

    def on_success(self, new_items: int) -> float:
        """Record a successful poll that found ``new_items`` unseen links; returns the next interval."""
        self.failures = 0
        self.healthy = True
        if new_items == 0:
            self.interval = self._clamp(self.interval * IDLE_FACTOR)
        elif new_items >= BUSY_THRESHOLD:
            self.interval = self._clamp(self.interval * BUSY_FACTOR)
        else:
            self.interval = self._clamp(self.interval + (self.base - self.interval) * RELAX)
        return self.interval

    def on_not_modified(self) -> float:
        """A 304 is an idle poll."""
        return self.on_success(0)

    def on_failure(self) -> float:
        """Record a failed poll; returns the delay before the next attempt (interval itself is kept)."""
        self.failures += 1
        if self.failures >= UNHEALTHY_AFTER:
            self.healthy = False
            return self.max_interval
        return self._clamp(self.min_interval * (2 ** self.failures))

    @staticmethod
    def jittered(delay: float, rng: random.Random | None = None) -> float:
        r = (rng or random).uniform(1 - JITTER, 1 + JITTER)
        return max(0.0, delay * r)
