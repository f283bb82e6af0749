"""`rasid devstack up|down|status|logs`: a real single-node Kafka and Elasticsearch without Docker.

Both servers run as background JVMs from files published on Maven Central, pinned with SHA-256 in
``devstack/jars.lock.json`` (regenerated with Maven by ``devstack/regen-lock.sh``; users need only
a JDK >= 17):

* Kafka 3.9 in KRaft mode (broker + controller in one JVM) on 127.0.0.1:9092, from the
  ``kafka_2.13`` jar and its dependencies plus ``slf4j-reload4j``.
* Elasticsearch 8.14.1 on 127.0.0.1:9200 from the distribution Elastic publishes to Maven Central
  (``org.elasticsearch.distribution.integ-test-zip``). That archive carries the server and only the
  transport/x-pack-core/security/apm modules, so ``devstack/es-plugin`` (built once with ``javac``
  against the distribution's own jars) adds the Arabic analysis components the index template
  uses -- ``arabic`` analyzer, ``arabic_normalization``, ``arabic_stem``, ``decimal_digit``,
  ``lowercase``, ``synonym``/``synonym_graph``, ``mapping``/``pattern_replace`` char filters --
  on top of Lucene's classes, plus the ``GET /`` banner. Security is off (plain HTTP, no auth).

Downloads are shared by every checkout under ``~/.cache/rasid`` (``RASID_CACHE_DIR``); data, logs
and pid files live in the checkout's ``.devstack/`` (``RASID_DEVSTACK_DIR``). ``up`` reuses a
healthy stack even if another checkout started it; ``down`` stops only the JVMs this checkout
started.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
import click
from devstack.es import es_probe, start_es
from devstack.jars import find_java, load_lock
from devstack.kafka import kafka_groups_ready, kafka_probe, start_kafka
from devstack.layout import DevstackError, ES_PORT, ES_TRANSPORT_PORT, ES_URL, HOST, KAFKA_BOOTSTRAP, KAFKA_CONTROLLER_PORT, KAFKA_PORT, Layout, START_TIMEOUT_S, STOP_TIMEOUT_S, devstack_dir, marker
from devstack.procs import global_lock, marked_pids, our_pid, pid_alive, port_open, read_pid, record_owner, recorded_owner, stop_pid, tail


# --------------------------------------------------------------------------- up / down / status


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def __call__(self, msg: str) -> None:
        self.lines.append(msg)
        click.echo(msg, err=True)


def _check_free(port: int, what: str) -> None:
    if port_open(port):
        raise DevstackError(f"port {HOST}:{port} ({what}) is taken by another program; free it and retry")


def up(layout: Layout | None = None, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
    """Bring both servers up (reusing healthy ones) and wait until they answer. Idempotent."""
    layout = layout or Layout(devstack_dir())
    say = Report()
    t_start = time.monotonic()
    with global_lock():
        kafka = kafka_probe()
        es = es_probe()
        if kafka and not kafka["ours"]:
            raise DevstackError(f"port {KAFKA_BOOTSTRAP} answers as a Kafka that is not the devstack's (brokers {kafka['brokers']})")
        if es and not es["ours"]:
            what = es.get("answer") or f"cluster {es.get('cluster_name')!r}, version {es.get('version')}"
            raise DevstackError(f"port {HOST}:{ES_PORT} is taken by something that is not the devstack's Elasticsearch ({what})")
        if kafka and es and es["status"] in ("green", "yellow"):
            say(f"devstack already up: kafka {KAFKA_BOOTSTRAP}, elasticsearch {ES_URL} {es['version']} ({es['status']}) [{time.monotonic() - t_start:.1f}s]")
            return {"kafka": kafka, "es": es, "reused": True, "seconds": time.monotonic() - t_start}

        need_kafka = kafka is None
        need_es = es is None
        java = find_java()
        lock = load_lock()
        layout.root.mkdir(parents=True, exist_ok=True)
        es_proc = None
        kafka_pid = None
        if need_kafka:
            if our_pid(layout.kafka_pid, marker("kafka", layout)):
                say("kafka: a JVM from this checkout is running but not answering yet; waiting for it")
            else:
                _check_free(KAFKA_PORT, "kafka")
                _check_free(KAFKA_CONTROLLER_PORT, "kafka controller")
        if need_es:
            if our_pid(layout.es_pid, marker("es", layout)):
                say("elasticsearch: a JVM from this checkout is running but not answering yet; waiting for it")
            else:
                _check_free(ES_PORT, "elasticsearch http")
                _check_free(ES_TRANSPORT_PORT, "elasticsearch transport")
                es_proc, prep = start_es(java, lock, layout, say)
                say(f"elasticsearch: launching (prep {prep:.1f}s), log {layout.es_log}")
        if need_kafka and not our_pid(layout.kafka_pid, marker("kafka", layout)):
            kafka_pid, prep = start_kafka(java, lock, layout, say)
            say(f"kafka: started pid {kafka_pid} (prep {prep:.1f}s), log {layout.kafka_log}")

        deadline = time.monotonic() + timeout
        kafka_t = 0.0 if not need_kafka else None
        es_healthy = es is not None and es.get("status") in ("green", "yellow")
        es_t = 0.0 if es_healthy else None
        while kafka_t is None or es_t is None:
            if time.monotonic() > deadline:
                raise DevstackError(_timeout_message(layout, kafka_t is None, es_t is None, timeout))
            if kafka_t is None:
                kafka = kafka_probe(timeout_ms=1500)
                if kafka and kafka_groups_ready(timeout_ms=3000):
                    kafka_t = time.monotonic() - t_start
                    say(f"kafka: ready at {KAFKA_BOOTSTRAP} after {kafka_t:.1f}s")
                elif kafka_pid and not pid_alive(kafka_pid):
                    raise DevstackError(f"kafka exited during start-up; last log lines ({layout.kafka_log}):\n{tail(layout.kafka_log)}\n{tail(layout.kafka_logs / 'stdout.log', 10)}")
            if es_t is None:
                if es_proc is not None and es_proc.poll() not in (None, 0):
                    raise DevstackError(
                        f"elasticsearch failed to start (launcher exit {es_proc.returncode}); see {layout.es_log}\n{tail(layout.es_launch_log, 25)}"
                    )
                es = es_probe()
                if es and es.get("status") in ("green", "yellow"):
                    es_t = time.monotonic() - t_start
                    pid = read_pid(layout.es_pid)
                    if pid:
                        record_owner("es", layout, pid)
                    say(f"elasticsearch: {es['version']} {es['status']} at {ES_URL} after {es_t:.1f}s")
            if kafka_t is None or es_t is None:
                time.sleep(0.25)
        total = time.monotonic() - t_start
        say(f"devstack up in {total:.1f}s; logs: {layout.kafka_log} and {layout.es_log} (`rasid devstack logs`)")
        return {"kafka": kafka, "es": es, "reused": False, "seconds": total}


def _timeout_message(layout: Layout, kafka_waiting: bool, es_waiting: bool, timeout: float) -> str:
    parts = [f"devstack not ready after {timeout:.0f}s"]
    if kafka_waiting:
        parts.append(f"kafka not answering at {KAFKA_BOOTSTRAP}; {layout.kafka_log}:\n{tail(layout.kafka_log, 15)}")
    if es_waiting:
        parts.append(f"elasticsearch not healthy at {ES_URL}; {layout.es_log}:\n{tail(layout.es_log, 15)}")
    return "\n".join(parts)


def down(layout: Layout | None = None, timeout: float = STOP_TIMEOUT_S) -> list[str]:
    """Stop the JVMs this checkout started (pid files, checked against the command line)."""
    layout = layout or Layout(devstack_dir())
    done: list[str] = []
    stopped: list[int] = []
    with global_lock():
        for component, pidfile in (("kafka", layout.kafka_pid), ("es", layout.es_pid)):
            mark = marker(component, layout)
            pids = set(marked_pids(mark))
            pid = our_pid(pidfile, mark)
            if pid:
                pids.add(pid)
            if not pids:
                owner = recorded_owner(component)
                running = (kafka_probe() if component == "kafka" else es_probe()) is not None
                if running and owner and owner.get("dir") != str(layout.root):
                    done.append(f"{component}: running, started from {owner['dir']}; left alone (run `rasid devstack down` there)")
                elif running:
                    done.append(f"{component}: running but not started from this checkout; left alone")
                else:
                    done.append(f"{component}: not running")
                pidfile.unlink(missing_ok=True)
                continue
            for p in sorted(pids):
                how = stop_pid(p, timeout)
                done.append(f"{component}: pid {p} {how}")
                stopped.append(p)
            pidfile.unlink(missing_ok=True)
    # The JVMs were re-parented to init when `up` exited; give it a moment to reap them so no
    # `<defunct>` java entry lingers for whoever checks right after.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in stopped):
        time.sleep(0.1)
    return done


def status(layout: Layout | None = None) -> tuple[bool, list[str]]:
    layout = layout or Layout(devstack_dir())
    lines = []
    kafka = kafka_probe()
    es = es_probe()
    ok = True
    for component, probe, pidfile in (("kafka", kafka, layout.kafka_pid), ("es", es, layout.es_pid)):
        pid = our_pid(pidfile, marker(component, layout))
        owner = recorded_owner(component)
        where = f"started here, pid {pid}" if pid else (f"started from {owner['dir']}" if owner and probe else "not started here")
        if component == "kafka":
            if probe:
                lines.append(f"kafka: UP at {KAFKA_BOOTSTRAP}, cluster {probe['cluster_id']}, {probe['topics']} topics ({where})")
            else:
                ok = False
                lines.append(f"kafka: DOWN (nothing answers at {KAFKA_BOOTSTRAP})" + (f"; JVM pid {pid} alive" if pid else ""))
        else:
            if probe and probe.get("status") in ("green", "yellow"):
                lines.append(f"elasticsearch: UP at {ES_URL}, {probe['version']} {probe['status']} ({where})")
            else:
                ok = False
                extra = f"; answered {probe}" if probe else ""
                lines.append(f"elasticsearch: DOWN at {ES_URL}{extra}" + (f"; JVM pid {pid} alive" if pid else ""))
    return ok, lines
