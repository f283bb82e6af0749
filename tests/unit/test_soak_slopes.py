"""The soak's RSS slopes: a restarted process is a line of its own, not a step in its role's line."""

from __future__ import annotations

from tests.soak.run import WARM_UP_S, _process_slopes, _slope


def test_a_worker_restarted_after_the_warm_up_is_its_own_line() -> None:
    samples = []
    for t in range(0, 1800, 10):
        first = t < 400  # SIGKILLed at 400 s; its successor starts 40 MB higher and stays flat
        mb = 240.0 + t / 3600 * 5 if first else 280.0
        samples.append({"t_s": float(t), "rss_mb": {"worker": mb, "worker-pool": 200.0},
                        "pids": {"worker": 100 if first else 200}})
    spliced = _slope([(s["t_s"], s["rss_mb"]["worker"]) for s in samples if s["t_s"] >= WARM_UP_S])
    assert spliced is not None and spliced > 20  # the restart's step, read as growth
    per = _process_slopes(samples)
    assert [x["pid"] for x in per["worker"]] == [100, 200]
    assert per["worker"][0]["slope"] is None  # 100 s after its warm-up: too short for a figure
    assert per["worker"][1]["slope"] == 0.0 and per["worker"][1]["first_s"] == 400.0
    assert "worker-pool" not in per  # pool processes are recycled: only the role's line
