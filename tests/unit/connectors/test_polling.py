import random

import pytest

from connectors.polling import UNHEALTHY_AFTER, PollSchedule


def sched() -> PollSchedule:
    return PollSchedule(base=300, min_interval=75, max_interval=2400)


def test_idle_feed_backs_off_geometrically_up_to_max():
    s = sched()
    seen = [s.on_success(0) for _ in range(10)]
    assert seen[0] == 450 and seen[1] == 675
    assert seen[-1] == 2400
    assert all(a <= b for a, b in zip(seen, seen[1:]))


def test_busy_feed_speeds_up_down_to_min():
    s = sched()
    seen = [s.on_success(20) for _ in range(6)]
    assert seen[0] == 150 and seen[1] == 75 and seen[-1] == 75


def test_moderate_activity_relaxes_towards_base():
    s = sched()
    for _ in range(6):
        s.on_success(0)
    before = s.interval
    after = s.on_success(2)
    assert 300 < after < before
    for _ in range(40):
        s.on_success(2)
    assert abs(s.interval - 300) < 1


def test_not_modified_counts_as_idle():
    s = sched()
    assert s.on_not_modified() == 450


def test_failures_back_off_then_unhealthy_then_recover():
    s = sched()
    delays = [s.on_failure() for _ in range(UNHEALTHY_AFTER + 2)]
    assert delays[0] == 150 and delays[1] == 300
    assert not s.healthy
    assert delays[-1] == 2400  # unhealthy endpoints are retried slowly
    s.on_success(1)
    assert s.healthy and s.failures == 0


def test_jitter_stays_within_ten_percent():
    rng = random.Random(1)
    vals = [PollSchedule.jittered(100, rng) for _ in range(1000)]
    assert min(vals) >= 90 and max(vals) <= 110 and max(vals) - min(vals) > 10


def test_bounds_validated():
    with pytest.raises(ValueError):
        PollSchedule(base=10, min_interval=20, max_interval=30)
