"""``rasid run``'s supervisor with small stand-in child processes (no Kafka, no Elasticsearch):
restart with backoff, SIGTERM forwarding, kill after the grace period, plain startup messages."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from click.testing import CliRunner

from pipeline.core.settings import load_settings
from pipeline.cli.run import ChildSpec, Supervisor, child_specs, run_cmd
from pipeline.stream.health import check_elasticsearch, check_kafka

PY = sys.executable


def spec(name: str, code: str) -> ChildSpec:
    return ChildSpec(name=name, args=[PY, "-c", code])


async def _run_for(sup: Supervisor, seconds: float) -> None:
    task = asyncio.create_task(sup.run())
    await asyncio.sleep(seconds)
    sup.request_stop(signal.SIGTERM)
    await asyncio.wait_for(task, 20)


def test_crashed_child_is_restarted_with_backoff_and_reported(caplog):
    caplog.set_level(logging.INFO, logger="rasid.run")
    sup = Supervisor([spec("crasher", "import sys; sys.exit(3)")], backoff_s=0.1, backoff_max_s=0.4)
    asyncio.run(_run_for(sup, 1.6))
    child = sup.children[0]
    assert 3 <= child.restarts <= 12  # restarted, but backing off (0.1, 0.2, 0.4, 0.4 ...), not spinning
    msgs = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("crasher exited with code 3" in m for m in msgs)


def test_sigterm_is_forwarded_and_children_drain(tmp_path):
    marker = tmp_path / "drained"
    code = ("import signal, sys, time, pathlib\n"
            "def bye(*a):\n"
            f"    pathlib.Path({str(marker)!r}).write_text('ok'); sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, bye)\n"
            "while True: time.sleep(0.05)\n")
    sup = Supervisor([spec("worker", code)], grace_s=5)
    asyncio.run(_run_for(sup, 1.0))
    assert marker.read_text() == "ok"
    assert sup.children[0].proc.returncode == 0
    assert sup.children[0].restarts == 0


def test_child_ignoring_sigterm_is_killed_after_grace():
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(0.05)\n"
    sup = Supervisor([spec("stubborn", code)], grace_s=0.5)

    async def go():
        t = asyncio.get_running_loop().time()
        await _run_for(sup, 0.8)
        return asyncio.get_running_loop().time() - t

    elapsed = asyncio.run(go())
    assert sup.children[0].proc.returncode == -signal.SIGKILL
    assert elapsed < 5


def test_child_specs_give_each_worker_its_port_and_data_dir(tmp_path):
    s = load_settings(worker_web_port=7000, data_dir=tmp_path / "d")
    specs = child_specs(s, 3, connectors=True, extra_connect_args=("--source", "npa"))
    assert [x.name for x in specs] == ["worker-0", "worker-1", "worker-2", "connectors"]
    assert [x.env["RASID_WORKER_WEB_PORT"] for x in specs[:3]] == ["7000", "7001", "7002"]
    assert len({x.env["RASID_DATA_DIR"] for x in specs[:3]}) == 3
    assert specs[3].args[-3:] == ["connect", "--source", "npa"]
    assert child_specs(s, 2, connectors=False)[-1].name == "worker-1"


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def test_startup_checks_say_what_is_missing():
    port = _closed_port()
    s = load_settings(kafka_bootstrap=f"127.0.0.1:{port}", es_url=f"http://127.0.0.1:{port}")
    k = check_kafka(s, timeout=1)
    e = check_elasticsearch(s, timeout=1)
    assert k.state == "down" and k.message == (f"Kafka at 127.0.0.1:{port} is not reachable — start it with "
                                               "`rasid devstack up` or set RASID_KAFKA_BOOTSTRAP")
    assert e.state == "down" and e.message.startswith(f"Elasticsearch at http://127.0.0.1:{port} is not reachable")
    assert "rasid devstack up" in e.message and "RASID_ES_URL" in e.message


def test_wrong_credentials_are_refused_not_waited_for():
    """A server that answers 'no' stops the job at start: waiting cannot fix credentials."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b'{"error":{"type":"security_exception","reason":"unable to authenticate"},"status":401}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-elastic-product", "Elasticsearch")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        e = check_elasticsearch(load_settings(es_url=f"http://127.0.0.1:{srv.server_address[1]}"), timeout=2)
    finally:
        srv.shutdown()
    assert e.state == "refused" and "refused the credentials" in e.message


def test_run_starts_while_its_servers_are_down_and_says_what_it_will_do(monkeypatch, caplog):
    from pipeline.core.settings import get_settings

    port = _closed_port()
    monkeypatch.setenv("RASID_KAFKA_BOOTSTRAP", f"127.0.0.1:{port}")
    monkeypatch.setenv("RASID_ES_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("RASID_LOG_FORMAT", "json")
    started = {}

    async def fake_run(self):
        started["children"] = [c.spec.name for c in self.children]
        started["background"] = len(self.background)

    monkeypatch.setattr(Supervisor, "run", fake_run)
    get_settings.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="rasid.run"):
            res = CliRunner().invoke(run_cmd, [])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert started == {"children": ["worker-0", "connectors"], "background": 1}  # the deferred setup
    warned = res.output  # the JSON log lines (stderr, captured with the output)
    assert "Kafka at" in warned and "connectors and workers wait for it" in warned
    assert "Elasticsearch at" in warned and "keep producing to Kafka" in warned


def test_pool_size_shares_the_cores_among_workers():
    from pipeline.core.settings import load_settings
    from pipeline.cli.run import child_specs, pool_size_per_worker

    auto = load_settings(process_pool_size=0)
    assert pool_size_per_worker(auto, 1, cores=4) == 4
    assert pool_size_per_worker(auto, 2, cores=4) == 2
    assert pool_size_per_worker(auto, 3, cores=2) == 1
    assert pool_size_per_worker(load_settings(process_pool_size=3), 2, cores=2) == 3
    specs = child_specs(auto, 2, connectors=False)
    want = str(pool_size_per_worker(auto, 2))
    assert [s.env["RASID_PROCESS_POOL_SIZE"] for s in specs] == [want, want]



def test_ports_free_sees_a_port_another_process_listens_on():
    import socket

    from pipeline.cli.run import free_port_block, ports_free

    base = free_port_block(2)
    assert ports_free("127.0.0.1", base, 2)
    with socket.socket() as held:
        held.bind(("127.0.0.1", base + 1))
        held.listen()
        assert not ports_free("127.0.0.1", base, 2)
        assert ports_free("127.0.0.1", base, 1)
