"""The devstack launcher's pure parts: lock file, verified downloads, configs, process handling."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from devstack import stack as ds
from pipeline.cli import devstack as devstack_cli



import devstack.es as _es

import devstack.jars as _jars

import devstack.kafka as _kafka

import devstack.layout as _layout

import devstack.procs as _procs
@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RASID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RASID_DEVSTACK_DIR", str(tmp_path / "devstack"))


# --------------------------------------------------------------------------- lock file


def test_lock_pins_both_classpaths_on_maven_central():
    lock = _jars.load_lock()
    assert set(lock) >= {"kafka", "elasticsearch"}
    for stack in ("kafka", "elasticsearch"):
        arts = lock[stack]["artifacts"]
        assert arts
        for a in arts:
            assert re.fullmatch(r"[0-9a-f]{64}", a["sha256"]), a
            assert a["url"] == f"https://repo.maven.apache.org/maven2/{a['path']}"
            assert a["size"] > 0
    coords = [a["coords"] for a in lock["kafka"]["artifacts"]]
    assert any(re.fullmatch(r"org\.apache\.kafka:kafka_2\.13:jar:3\.9\.\d+", c) for c in coords)
    assert any(c.startswith("org.slf4j:slf4j-reload4j:jar:") for c in coords)
    assert lock["kafka"]["main_class"] == "kafka.Kafka"
    assert lock["kafka"]["storage_tool"] == "kafka.tools.StorageTool"
    assert lock["elasticsearch"]["version"] == "8.14.1"
    assert lock["elasticsearch"]["artifacts"][0]["path"].endswith("elasticsearch-8.14.1.zip")


def test_lock_regeneration_inputs_exist():
    root = _layout.PROJECT_ROOT / "devstack"
    assert os.access(root / "regen-lock.sh", os.X_OK)
    for pom in ("kafka", "elasticsearch"):
        assert (root / "maven" / pom / "pom.xml").exists()
    settings_xml = (root / "maven" / "settings.xml").read_text()
    assert "<mirrorOf>*</mirrorOf>" in settings_xml  # Central only


# --------------------------------------------------------------------------- downloads


def _artifact(tmp_path: Path, data: bytes, name: str = "x.jar", sha: str | None = None) -> dict:
    src = tmp_path / "remote" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    return {"path": f"g/a/1/{name}", "url": src.as_uri(), "sha256": sha or hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_fetch_downloads_verifies_and_caches(tmp_path):
    art = _artifact(tmp_path, b"jar bytes")
    got = _jars.fetch(art)
    assert got.read_bytes() == b"jar bytes"
    assert got == _jars.jar_cache() / "g/a/1/x.jar"
    (tmp_path / "remote" / "x.jar").unlink()  # second call must not need the network
    assert _jars.fetch(art) == got


def test_fetch_refuses_a_checksum_mismatch(tmp_path):
    art = _artifact(tmp_path, b"tampered", sha="0" * 64)
    with pytest.raises(_layout.DevstackError, match="SHA-256"):
        _jars.fetch(art)
    assert not (_jars.jar_cache() / art["path"]).exists()
    assert not list((_jars.jar_cache() / "g/a/1").glob(".part-*"))


def test_fetch_deletes_a_corrupted_cached_file(tmp_path):
    art = _artifact(tmp_path, b"good")
    cached = _jars.fetch(art)
    cached.write_bytes(b"bad!")
    with pytest.raises(_layout.DevstackError, match="deleted"):
        _jars.fetch(art)
    assert not cached.exists()
    assert _jars.fetch(art).read_bytes() == b"good"  # next start downloads it again


def test_fetch_names_the_url_that_failed(tmp_path):
    art = {"path": "g/a/1/missing.jar", "url": (tmp_path / "nope.jar").as_uri(), "sha256": "0" * 64, "size": 1}
    with pytest.raises(_layout.DevstackError) as exc:
        _jars.fetch(art)
    assert art["url"] in exc.value.message


def test_fetch_all_keeps_order_and_counts_downloads(tmp_path):
    arts = [_artifact(tmp_path, f"jar {i}".encode(), f"j{i}.jar") for i in range(5)]
    paths, downloaded = _jars.fetch_all(arts)
    assert [p.name for p in paths] == [f"j{i}.jar" for i in range(5)]
    assert downloaded == 5
    assert _jars.fetch_all(arts)[1] == 0


# --------------------------------------------------------------------------- java, configs


@pytest.mark.parametrize(
    "out,major",
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ("garbage", None),
    ],
)
def test_parse_java_major(out, major):
    assert _jars.parse_java_major(out) == major


def test_old_java_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "jdk" / "bin" / "java"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.2"\' >&2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("RASID_JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(_layout.DevstackError, match=">= 17"):
        _jars.find_java()


def test_random_cluster_id_is_a_kafka_uuid():
    ids = {_kafka.random_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    for cid in ids:
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_kafka_config_is_single_node_kraft(tmp_path):
    layout = _layout.Layout(tmp_path / ".devstack")
    p = _props(_kafka.kafka_server_properties(layout))
    assert p["process.roles"] == "broker,controller"
    assert p["listeners"].startswith("PLAINTEXT://127.0.0.1:9092")
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor", "transaction.state.log.min.isr"):
        assert p[key] == "1", key
    assert p["group.initial.rebalance.delay.ms"] == "0"
    assert p["auto.create.topics.enable"] == "false"
    assert int(p["message.max.bytes"]) >= 10 * 1024 * 1024
    assert int(p["replica.fetch.max.bytes"]) >= int(p["message.max.bytes"])
    assert p["log.dirs"] == str(layout.kafka_data)
    assert p["broker.rack"] == _layout.KAFKA_RACK


def test_es_config_is_local_single_node_with_relaxed_disk(tmp_path):
    import yaml

    layout = _layout.Layout(tmp_path / ".devstack")
    y = yaml.safe_load(_es.es_yml(layout))
    assert y["discovery.type"] == "single-node"
    assert y["network.host"] == "127.0.0.1" and y["http.port"] == 9200
    assert y["cluster.routing.allocation.disk.threshold_enabled"] is False
    assert y["xpack.security.enabled"] is False
    assert y["path.data"] == str(layout.es_data) and y["path.logs"] == str(layout.es_logs)
    assert y["cluster.name"] == _layout.ES_CLUSTER_NAME
    assert "-Xmx" not in _es.es_jvm_options(layout)  # heap comes from ES_JAVA_OPTS (bounded)
    assert any(h.startswith("-Xmx") for h in _layout.ES_HEAP) and any(h.startswith("-Xmx") for h in _layout.KAFKA_HEAP)


def test_plugin_sources_and_home_key():
    sources = {p.name for p in _es.plugin_sources()}
    assert {"RasidDevstackPlugin.java", "SynonymTokenFilterFactory.java", "plugin-descriptor.properties"} <= sources
    lock = _jars.load_lock()
    assert re.fullmatch(r"[0-9a-f]{12}", _es.es_home_key(lock))
    other = json.loads(json.dumps(lock))
    other["elasticsearch"]["artifacts"][0]["sha256"] = "f" * 64
    assert _es.es_home_key(other) != _es.es_home_key(lock)


def test_extract_zip_keeps_executable_bits(tmp_path):
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo("dist-1/bin/run")
        info.external_attr = (0o755 | 0o100000) << 16
        z.writestr(info, "#!/bin/sh\n")
        z.writestr("dist-1/lib/a.jar", b"x")
    top = _es.extract_zip(archive, tmp_path / "out")
    assert top.name == "dist-1"
    assert os.access(top / "bin" / "run", os.X_OK)
    assert (top / "lib" / "a.jar").read_bytes() == b"x"


# --------------------------------------------------------------------------- processes and ports


def test_our_pid_checks_the_command_line_and_stop_pid_ends_it(tmp_path):
    layout = _layout.Layout(tmp_path / ".devstack")
    mark = _layout.marker("kafka", layout)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", mark])
    try:
        pidfile = tmp_path / "k.pid"
        pidfile.write_text(str(proc.pid))
        assert _procs.our_pid(pidfile, mark) == proc.pid
        assert _procs.our_pid(pidfile, _layout.marker("es", layout)) is None  # not that component
        assert proc.pid in _procs.marked_pids(mark)
        assert _procs.stop_pid(proc.pid, timeout=10) == "stopped"
        proc.wait(timeout=5)
        assert _procs.our_pid(pidfile, mark) is None
    finally:
        proc.kill()
        proc.wait()


def test_stale_or_garbage_pid_files(tmp_path):
    pidfile = tmp_path / "x.pid"
    assert _procs.read_pid(pidfile) is None
    pidfile.write_text("not a pid")
    assert _procs.read_pid(pidfile) is None
    pidfile.write_text("999999999")
    assert _procs.our_pid(pidfile, "-Drasid.devstack.kafka=/x") is None


def test_taken_port_is_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert _procs.port_open(port)
        with pytest.raises(_layout.DevstackError, match=str(port)):
            ds._check_free(port, "test")


class _FakeES(http.server.BaseHTTPRequestHandler):
    body = b"{}"
    status = 200

    def do_GET(self):  # noqa: N802
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_http():
    servers = []

    def serve(status: int, body: bytes) -> str:
        handler = type("H", (_FakeES,), {"status": status, "body": body})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield serve
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_es_probe_tells_a_foreign_elasticsearch_apart(fake_http):
    url = fake_http(200, json.dumps({"cluster_name": "someone-else", "status": "green", "version": {"number": "8.14.1"}}).encode())
    got = _es.es_probe(url)
    assert got["ours"] is False and got["cluster_name"] == "someone-else"
    ours = fake_http(200, json.dumps({"cluster_name": _layout.ES_CLUSTER_NAME, "status": "yellow"}).encode())
    assert _es.es_probe(ours)["ours"] is True


def test_es_probe_on_a_non_elasticsearch_port(fake_http):
    url = fake_http(404, b"<html>not found</html>")
    got = _es.es_probe(url)
    assert got["ours"] is False and "404" in got["answer"]


def test_status_command_exits_nonzero_when_down(monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setattr(ds, "kafka_probe", lambda *a, **k: None)
    monkeypatch.setattr(ds, "es_probe", lambda *a, **k: None)
    result = CliRunner().invoke(devstack_cli.devstack, ["status"])
    assert result.exit_code == 1
    assert "kafka: DOWN" in result.output and "elasticsearch: DOWN" in result.output


def test_logs_command_without_logs_says_so():
    from click.testing import CliRunner

    result = CliRunner().invoke(devstack_cli.devstack, ["logs", "kafka"])
    assert result.exit_code != 0
    assert "no log yet" in result.output


def test_down_stops_only_this_checkouts_jvms(tmp_path, monkeypatch):
    monkeypatch.setattr(ds, "kafka_probe", lambda *a, **k: None)
    monkeypatch.setattr(ds, "es_probe", lambda *a, **k: None)
    mine, other = _layout.Layout(tmp_path / "a" / ".devstack"), _layout.Layout(tmp_path / "b" / ".devstack")
    procs = {}
    for name, layout in (("mine", mine), ("other", other)):
        layout.kafka.mkdir(parents=True)
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", _layout.marker("kafka", layout)])
        threading.Thread(target=p.wait, daemon=True).start()  # reap it as init would
        layout.kafka_pid.write_text(str(p.pid))
        procs[name] = p
    try:
        lines = ds.down(mine, timeout=10)
        assert any(f"pid {procs['mine'].pid} stopped" in line for line in lines)
        assert "es: not running" in lines
        assert not mine.kafka_pid.exists()
        assert procs["other"].poll() is None  # another checkout's JVM is left alone
        assert ds.down(mine) == ["kafka: not running", "es: not running"]
    finally:
        for p in procs.values():
            p.kill()
