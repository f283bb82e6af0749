"""A throw-away single-node Kafka (KRaft) for the broker-restart fault.

Same jars and JVM options as the devstack (the devstack package), its own ports and log
dir, so the test can SIGKILL and restart *a* broker mid-stream without touching the
shared devstack broker other tests and developers use.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


import devstack.jars as _jars

import devstack.kafka as _kafka

import devstack.layout as _layout
from tests.faults.harness import free_port


class PrivateKafka:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.layout = _layout.Layout(root)
        self.port = free_port()
        self.controller_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def bootstrap(self) -> str:
        return f"{_layout.HOST}:{self.port}"

    def _properties(self) -> str:
        # the devstack's single-node settings with this broker's ports
        text = _kafka.kafka_server_properties(self.layout)
        text = text.replace(f":{_layout.KAFKA_CONTROLLER_PORT}", f":{self.controller_port}")
        text = text.replace(f":{_layout.KAFKA_PORT}", f":{self.port}")
        return text.replace(f"broker.rack={_layout.KAFKA_RACK}", "broker.rack=rasid-fault-test")

    def start(self, timeout: float = 90) -> float:
        """Start (formatting the log dir the first time); returns seconds until it answered."""
        t0 = time.monotonic()
        java = _jars.find_java()
        lock = _jars.load_lock()
        classpath, _ = _jars.fetch_all(lock["kafka"]["artifacts"])
        for d in (self.layout.kafka_data, self.layout.kafka_logs):
            d.mkdir(parents=True, exist_ok=True)
        props = self.layout.kafka / "server.properties"
        props.write_text(self._properties())
        (self.layout.kafka / "log4j.properties").write_text(_kafka.kafka_log4j_properties(self.layout))
        if not (self.layout.kafka_data / "meta.properties").exists():
            cmd = _kafka.kafka_command(java, classpath, self.layout, lock["kafka"]["storage_tool"], "format",
                                   "-t", _kafka.random_cluster_id(), "-c", str(props), "--ignore-formatted")
            subprocess.run(cmd, capture_output=True, check=True, timeout=120)
        cmd = _kafka.kafka_command(java, classpath, self.layout, lock["kafka"]["main_class"], str(props))
        # the devstack's marker property would make `rasid devstack` think this JVM is its broker
        cmd = [c for c in cmd if not c.startswith("-Drasid.devstack.")]
        with (self.layout.kafka_logs / "stdout.log").open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd=self.layout.kafka)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"private kafka exited with {self.proc.returncode}: see {self.layout.kafka_logs}")
            if _kafka.kafka_probe(self.bootstrap, timeout_ms=2000):
                return time.monotonic() - t0
            time.sleep(0.5)
        raise TimeoutError(f"private kafka did not answer on {self.bootstrap} within {timeout}s")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()
