"""config/prometheus against real tools: promtool accepts the rules and evaluates RasidSourcePagesFailing, and
a real Prometheus scraping a real worker sees its metrics (a dead-lettered page counted for its source) and
fires RasidWorkerDown when the worker stops.

Prometheus comes from Debian's package (on PATH, or fetched into the download cache by
``devstack/prometheus.py``); the worker runs against the devstack in a namespace of its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from devstack.prometheus import binaries
from tests.faults.harness import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "prometheus" / "rules" / "rasid.yml"


@pytest.fixture(scope="module")
def tools() -> tuple[Path, Path]:
    return binaries()  # fails saying why when Prometheus cannot be had


def test_promtool_accepts_the_rules_and_the_configs(tools, tmp_path):
    _, promtool = tools
    out = subprocess.run([str(promtool), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr
    local = ROOT / "config" / "prometheus" / "prometheus.local.yml"
    out = subprocess.run([str(promtool), "check", "config", str(local)], capture_output=True, text=True, timeout=60,
                         cwd=local.parent)
    assert out.returncode == 0, out.stdout + out.stderr


SOURCE_PAGES_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 5m
    input_series:
      # every page of one outlet dead-lettered since its layout changed, one page every 5 minutes
      - series: 'rasid_source_pages_total{{source="broken", outcome="dead_lettered", job="rasid-workers"}}'
        values: '0+1x100'
      - series: 'rasid_source_pages_total{{source="broken", outcome="processed", job="rasid-workers"}}'
        values: '0+0x100'
      # one bad page among many good ones
      - series: 'rasid_source_pages_total{{source="healthy", outcome="dead_lettered", job="rasid-workers"}}'
        values: '0+0x50 1+0x50'
      - series: 'rasid_source_pages_total{{source="healthy", outcome="processed", job="rasid-workers"}}'
        values: '0+2x100'
      # two bad pages and nothing else: too few to say
      - series: 'rasid_source_pages_total{{source="sparse", outcome="dead_lettered", job="rasid-workers"}}'
        values: '0+0x40 1 2+0x60'
    alert_rule_test:
      - eval_time: 20m
        alertname: RasidSourcePagesFailing
      - eval_time: 7h
        alertname: RasidSourcePagesFailing
        exp_alerts:
          - exp_labels: {{severity: warning, source: broken}}
            exp_annotations:
              summary: "Most pages of source broken fail in the workers"
              description: "72 pages of broken dead-lettered in 6 h, at least 80% of its pages: its page layout may have changed (rasid deadletter list --source broken; rasid process on a saved page)."
"""


def test_an_outlet_whose_pages_all_fail_is_alerted_and_no_other(tools, tmp_path):
    """RasidSourcePagesFailing, evaluated by promtool on series as the workers export them: the outlet whose
    every page dead-letters fires after its 30 minutes, one bad page among good ones and two bad pages alone
    do not."""
    _, promtool = tools
    test = tmp_path / "source_pages_test.yml"
    test.write_text(SOURCE_PAGES_TEST.format(rules=RULES))
    out = subprocess.run([str(promtool), "test", "rules", str(test)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_a_real_prometheus_scrapes_a_worker_and_fires_worker_down(tools, make_settings, produce, tmp_path):
    prometheus, _ = tools
    s = make_settings()
    metrics_port, prom_port = free_port(), free_port()
    env = {**os.environ, "RASID_NAMESPACE": s.namespace, "RASID_METRICS_PORT": str(metrics_port),
           "RASID_WORKER_WEB_PORT": str(free_port()), "RASID_DATA_DIR": str(tmp_path / "faust"),
           "RASID_PROCESS_POOL_SIZE": "1", "RASID_LOG_FORMAT": "json"}
    worker = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "worker"], env=env, cwd=ROOT,
                              stdout=(tmp_path / "worker.log").open("wb"), stderr=subprocess.STDOUT)
    # the shipped rules, waiting no longer (`for: 0s`) so one scrape without an answer fires the alert
    rules = tmp_path / "rules.yml"
    rules.write_text(re.sub(r"for: \S+", "for: 0s", RULES.read_text()))
    conf = tmp_path / "prometheus.yml"
    conf.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{rules}]
scrape_configs:
  - job_name: rasid-workers
    static_configs: [{{targets: ["127.0.0.1:{metrics_port}"]}}]
""")
    prom = subprocess.Popen([str(prometheus), f"--config.file={conf}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=(tmp_path / "prometheus.log").open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{prom_port}/api/v1"
    try:
        def worker_up() -> bool:
            try:
                r = _get(f"{base}/query?query=up%7Bjob%3D%22rasid-workers%22%7D")["data"]["result"]
            except OSError:
                return False
            return bool(r) and r[0]["value"][1] == "1"

        wait_until(worker_up, 120, interval=1, what="Prometheus scraping the worker")
        wait_until(lambda: _get(f"{base}/query?query=rasid_dependency_up")["data"]["result"], 60, interval=1,
                   what="the worker's rasid_dependency_up in Prometheus")
        assert not any(a["labels"]["alertname"] == "RasidWorkerDown" for a in _get(f"{base}/alerts")["data"]["alerts"])
        # a page of an outlet whose layout changed (no article text in it): counted for its source
        from pipeline.core.schema import RawPage, compress_html

        page = RawPage(id="p" * 32, url="https://example.org/changed/1", source="npa",
                       html_z=compress_html(b"<html><body><p>x</p></body></html>"))
        produce(s.raw_topic, page.to_json(), key=page.id)
        q = "rasid_source_pages_total%7Bsource%3D%22npa%22%2Coutcome%3D%22dead_lettered%22%7D"
        wait_until(lambda: [r for r in _get(f"{base}/query?query={q}")["data"]["result"] if r["value"][1] == "1"],
                   90, interval=1, what="the worker's dead-lettered page of npa in Prometheus")
        # a page of a CMS whose clock is UTC, dated by its sitemap: read as UTC, and counted for its source
        from datetime import datetime, timezone

        from pipeline.core.schema import Listing

        body = "".join(f"<p>فقرة رقم {i} من الخبر عن قصف مدفعي على مدينة سراقب في ريف إدلب الشرقي وسقوط جرحى"
                       f" بين المدنيين.</p>" for i in range(6))
        html = ("<html><head><meta property='article:published_time' content='2024-03-05T09:00:00'>"
                f"<title>قصف على سراقب</title></head><body><article><h1>قصف على سراقب</h1>{body}</article></body>"
                "</html>").encode("utf-8")
        at = datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)
        utc_page = RawPage(id="u" * 32, url="https://example.org/utc/1", source="utc-cms", timezone="Asia/Damascus",
                           html_z=compress_html(html), listing=Listing(published_at=at),
                           fetched_at=datetime(2024, 3, 5, 9, 4, tzinfo=timezone.utc))
        produce(s.raw_topic, utc_page.to_json(), key=utc_page.id)
        q = "rasid_page_clock_utc_total%7Bsource%3D%22utc-cms%22%7D"
        wait_until(lambda: [r for r in _get(f"{base}/query?query={q}")["data"]["result"] if r["value"][1] == "1"],
                   90, interval=1, what="the worker's UTC page clock of utc-cms in Prometheus")
        worker.terminate()
        worker.wait(60)

        def fired() -> list:
            return [a for a in _get(f"{base}/alerts")["data"]["alerts"]
                    if a["labels"]["alertname"] == "RasidWorkerDown" and a["state"] == "firing"]

        alerts = wait_until(fired, 60, interval=1, what="RasidWorkerDown firing")
        assert alerts[0]["labels"]["severity"] == "critical"
    finally:
        for p in (worker, prom):
            if p.poll() is None:
                p.kill()
                p.wait(10)
