"""Faults of the whole job, ``rasid run``: SIGKILL of everything (connectors, worker and the
supervisor) mid-stream and a restart; a Kafka broker killed and restarted under a running
``rasid run``. The first also checks the operator commands against the running job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from pipeline.core.urls import canonicalize
from pipeline.core.ids import article_id
from pipeline.core.settings import PROJECT_ROOT
from tests.faults import harness as h
from devstack.outlet import Outlet, Route, rss_feed

FAST_FAILOVER = {"RASID_KAFKA_SESSION_TIMEOUT_S": "10", "RASID_OFFSET_TRACE": "true"}


def _outlet_site(outlet: Outlet, n: int) -> list[str]:
    """``n`` rendered article pages behind one RSS feed; returns the ledger (ids of their canonical URLs)."""
    from devstack.pages import render

    usable = h._usable(False)
    items, ledger = [], []
    for i in range(n):
        path = f"/news/2024/12/{i:05d}-syria-idlib-report"
        base, shape, seed = usable[i % len(usable)]
        a = dict(base, url=outlet.url(path), title=f"{base['title']} ({i})")
        # legacy pages are windows-1256: say so in the header, as such outlets do
        ctype = "text/html; charset=windows-1256" if shape == "legacy_1256" else "text/html; charset=utf-8"
        outlet.add(path, Route(body=render(a, shape, noise=False, seed=seed), content_type=ctype))
        items.append((path, a["title"]))
        ledger.append(article_id(canonicalize(outlet.url(path))))
    outlet.add("/rss.xml", Route(body=rss_feed(outlet.base, items), content_type="application/rss+xml; charset=utf-8"))
    outlet.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    return ledger


def _processed(s) -> int:
    """Articles the process stage has handed on (records on ``<ns>.dedupe``; 0 before a worker made it)."""
    try:
        return sum(h.end_offsets(s, s.topic("dedupe")).values())
    except Exception:  # noqa: BLE001 - the topic appears when the first worker starts
        return 0


def _cli(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env={**os.environ, **env},
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def test_kill9_of_the_whole_rasid_run_then_restart(fault_ns, procs, fault_tmp):
    s = fault_ns
    n = 120
    with Outlet() as outlet:
        ledger = _outlet_site(outlet, n)
        sources = fault_tmp / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [{
            "id": "fault-outlet", "name": "منفذ تجريبي", "homepage": outlet.base + "/",
            "feeds": [{"url": outlet.url("/rss.xml")}], "poll_interval": 5, "max_items": n,
        }]}, allow_unicode=True))
        metrics_port = h.free_port()
        env = h.base_env(s, fault_tmp, RASID_SOURCES_FILE=sources, RASID_FETCH_ALLOW_HOSTS=outlet.allow,
                         RASID_PER_HOST_DELAY_S=0,
                         RASID_PER_HOST_CONCURRENCY=4, RASID_METRICS_PORT=metrics_port, RASID_LAG_REPORT_S=1,
                         **FAST_FAILOVER)
        run = procs(h.Proc("rasid-run", ["run", "--workers", "1", "--skip-init", "--grace", "10"], env,
                           fault_tmp / "run.log"))
        run.start()
        # whichever progress shows first: the first bulk into a new monthly index can make the
        # whole site searchable at once, while the process stage shows its progress as it goes
        h.wait_until(lambda: h.count_ids(s, ledger) >= 5 or _processed(s) >= 20,
                     120, interval=0.2, what="the job under way")
        run.kill9()  # the supervisor, the connectors and the worker (one process group): no goodbye
        processed_at_kill = _processed(s)
        at_kill = h.count_ids(s, ledger)
        raw_at_kill = sum(h.end_offsets(s, s.raw_topic).values())
        orphans = _session_members(run.pid)

        t_restart = time.monotonic()
        run.start()
        h.wait_until(lambda: h.count_ids(s, ledger) == n, 180, interval=1, what="every article indexed after restart")
        recovery_s = time.monotonic() - t_restart
        h.wait_until(lambda: h.lag(s, s.raw_topic) == 0 and h.lag(s, s.articles_topic) == 0, 60, what="lag 0")
        inv = h.invariant(s, ledger)
        raw_total = sum(h.end_offsets(s, s.raw_topic).values())
        dls = h.deadletters(s)

        # the operator commands against the running job
        st = _cli(env, "status", "--json")
        status = json.loads(st.stdout)
        tail = _cli(env, "tail", "articles", "-n", "3", "--json")
        tailed = [json.loads(line) for line in tail.stdout.splitlines()]
        human = _cli(env, "tail", "articles", "-n", "3", "--bidi", "visual")
        from pipeline.core.metrics import metrics_port_for

        # `rasid run` gives each child its own RASID_METRICS_PORT (pipeline.core.metrics.metrics_port_for)
        exposed = {role: _metric_names(metrics_port_for(metrics_port, role)) for role in ("connectors", "worker")}
        # the worker's own lag gauge: one series per raw partition, all 0 once everything is committed (refreshed every
        # lag_report_s, 10 s: on the loaded 2-core CI machine 30 s of waiting once fell short)
        worker_port = metrics_port_for(metrics_port, "worker")
        raw_lag = h.wait_until(lambda: (lambda v: v if len(v) == s.kafka_partitions and sum(v.values()) == 0 else None)(
            _series(worker_port, "rasid_consumer_lag", f'topic="{s.raw_topic}"')), 60, what="worker raw lag gauge at 0")

        h.record("rasid_run_kill9", **inv, indexed_at_kill=at_kill, processed_at_kill=processed_at_kill,
                 raw_records_at_kill=raw_at_kill,
                 raw_records_total=raw_total, reproduced_after_crash=raw_total - n, orphans_after_kill=len(orphans),
                 recovery_s=round(recovery_s, 1), deadletters=len(dls),
                 status={"exit": st.returncode, "healthy": status.get("healthy"), "problems": status.get("problems"),
                         "components": status.get("components"),
                         "alias_docs": status["elasticsearch"].get("alias_docs"),
                         "source": status["sources"].get("fault-outlet")},
                 tail_json_records=len(tailed), tail_human_first=human.stdout.splitlines()[:1],
                 metrics_served=exposed, worker_raw_lag=raw_lag)
        assert at_kill < n and (at_kill > 0 or processed_at_kill > 0), "the kill did not land mid-stream"
        assert not orphans, f"processes survived the kill: {orphans}"
        assert inv["ledger_docs"] == n and inv["namespace_docs"] == n and inv["duplicate_ids"] == 0
        assert dls == []
        assert st.returncode == 0 and status["healthy"], st.stdout + st.stderr
        assert status["components"]["workers"]["members"] == 1
        assert status["components"]["connectors"]["members"] == 1
        assert status["elasticsearch"]["alias_docs"] == n
        assert status["sources"]["fault-outlet"]["raw_last_window"] >= n
        assert tail.returncode == 0 and len(tailed) == 3 and all(t["id"] in ledger for t in tailed)
        assert human.returncode == 0 and "fault-outlet" in human.stdout
        assert "rasid_fetch_seconds_bucket" in exposed["connectors"], exposed
        assert {"rasid_stage_received_total", "rasid_stage_emitted_total", "rasid_bulk_seconds_bucket",
                "rasid_end_to_end_seconds_bucket", "rasid_consumer_lag"} <= set(exposed["worker"]), exposed


def _series(port: int, name: str, label: str) -> dict[str, float]:
    """Samples of ``name`` whose labels contain ``label``, by their label text ({} when nothing listens)."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return {}
    return {line.split("}")[0]: float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
            if line.startswith(name + "{") and label in line}


def _metric_names(port: int) -> list[str]:
    """Names of the rasid_* series a /metrics endpoint serves ([] when nothing listens)."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return []
    return sorted({line.split("{")[0].split(" ")[0] for line in body.splitlines() if line.startswith("rasid_")})


def _session_members(sid: int | None) -> list[int]:
    """Live processes of session ``sid`` (what a killed ``rasid run`` could leave behind)."""
    import psutil

    out = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getsid(p.pid) == sid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return out


@pytest.fixture
def private_kafka(fault_tmp):
    from tests.faults.private_kafka import PrivateKafka

    k = PrivateKafka(fault_tmp / "kafka")
    k.start()
    yield k
    k.stop()


def test_kafka_broker_killed_and_restarted_mid_stream(devstack, private_kafka, procs, fault_tmp):
    """SIGKILL of the (private) broker while ``rasid run`` works, restart, nothing lost."""
    s = h.new_namespace("kr", kafka_bootstrap=private_kafka.bootstrap)
    h.setup_namespace(s)
    try:
        n, first = 440, 400
        env = h.base_env(s, fault_tmp, **FAST_FAILOVER)
        run = procs(h.Proc("rasid-run", ["run", "--workers", "1", "--no-connectors", "--skip-init"], env,
                           fault_tmp / "run.log"))
        run.start()
        pages = h.make_pages(n, "broker-restart")
        # A backlog, so the kill lands mid-stream whatever this machine's speed (the first bulk
        # into a new monthly index can show 150 documents at once; a backlog of 200 was once all indexed
        # by the time a poll saw the stream under way); the rest after the restart.
        ledger = h.send_pages(s, pages[:first])
        h.wait_until(lambda: h.count_ids(s, ledger) >= 5 or _processed(s) >= 50,
                     120, interval=0.2, what="stream under way")
        private_kafka.kill9()
        at_kill = h.count_ids(s, ledger)
        time.sleep(3)
        restart_s = private_kafka.start()
        t0 = time.monotonic()
        feeder = h.Feeder(s, pages[first:], chunk=5, every_s=0.25).start()
        feeder.join()
        ledger += feeder.ledger
        h.wait_until(lambda: h.count_ids(s, ledger) == n, 180, interval=1, what="every id indexed after the restart")
        resume_s = time.monotonic() - t0
        inv = h.invariant(s, ledger)
        dls = h.deadletters(s)
        restarts = run.log_path.read_text(errors="replace").count("restarting in")
        h.record("kafka_broker_restart", **inv, indexed_at_kill=at_kill, broker_down_s=round(3 + restart_s, 1),
                 resumed_in_s=round(resume_s, 1), worker_restarts_by_supervisor=restarts, deadletters=len(dls),
                 job_alive=run.alive())
        assert at_kill < first, "the kill did not land mid-stream"
        assert run.alive()
        assert inv["ledger_docs"] == n and inv["namespace_docs"] == n and inv["duplicate_ids"] == 0
        assert dls == []
    finally:
        for p in list(h.WATCHED):
            p.stop(timeout=15)
        h.teardown_namespace(s)
