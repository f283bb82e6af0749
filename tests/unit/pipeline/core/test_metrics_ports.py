"""Every process kind gets its own /metrics port from one base; a taken port never stops a process."""

from __future__ import annotations

import socket
import urllib.request

from pipeline.core import metrics


def test_port_layout():
    assert metrics.metrics_port_for(0, "worker", 3) == 0  # off stays off
    assert metrics.metrics_port_for(9400, "connectors") == 9400
    assert [metrics.metrics_port_for(9400, "worker", i) for i in range(3)] == [9401, 9402, 9403]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_metrics_exposes_the_stage_counters_and_survives_a_taken_port():
    port = _free_port()
    assert metrics.serve_metrics(port) == port
    metrics.RECEIVED.labels(stage="extract").inc()
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'rasid_stage_received_total{stage="extract"}' in body
    assert metrics.serve_metrics(port) == 0  # already bound: logged, not raised
    assert metrics.serve_metrics(0) == 0
