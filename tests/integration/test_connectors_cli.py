"""`rasid connect` and `rasid sources list|check` as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from devstack.outlet import Outlet, Route, allow_hosts_of, seed_site

RASID = str(Path(sys.executable).parent / "rasid")


def env_for(base_env: dict, tmp_path: Path, sources: list[dict], **extra: str) -> dict:
    f = tmp_path / "sources.yaml"
    f.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
    env = dict(base_env)
    env.update(RASID_SOURCES_FILE=str(f), RASID_STATE_DIR=str(tmp_path / "state"), RASID_PER_HOST_DELAY_S="0.02",
               RASID_FETCH_ALLOW_HOSTS=allow_hosts_of(sources),
               RASID_HTTP_READ_TIMEOUT_S="0.5", RASID_HTTP_RETRIES="0", **extra)
    return env


def test_sources_check_marks_answering_endpoints_verified(tmp_path):
    with Outlet() as o:
        seed_site(o)
        o.add("/broken.xml", Route(body=b"<html><body>not a feed</body></html>", content_type="text/html"))
        sources = [{"id": "local", "name": "محلي", "homepage": o.base + "/",
                    "feeds": [o.url("/rss.xml"), o.url("/broken.xml"), o.url("/missing.xml")],
                    "sitemaps": [o.url("/sitemap-index.xml")], "sections": [{"url": o.url("/section/syria")}]}]
        env = env_for(os.environ, tmp_path, sources)
        r = subprocess.run([RASID, "sources", "check", "local", "--json"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert r.returncode == 1  # two endpoints failed
    results = {x["url"].split(o.base, 1)[1]: x for x in map(json.loads, r.stdout.splitlines())}
    assert results["/rss.xml"]["ok"] and results["/rss.xml"]["status"] == 200
    assert results["/rss.xml"]["articles"] == 4 and results["/rss.xml"]["last_published"].startswith("2020-09-25")
    assert results["/rss.xml"]["latency_s"] is not None
    assert results["/sitemap-index.xml"]["ok"] and results["/sitemap-index.xml"]["children"] == 3
    assert results["/section/syria"]["ok"] and results["/section/syria"]["articles"] == 2
    assert results["/broken.xml"]["error"] == "not_a_feed"
    assert results["/missing.xml"]["error"] == "http_404"
    state = json.loads((tmp_path / "state" / "sources-check.json").read_text())
    assert state["endpoints"][o.url("/rss.xml")]["ok"] is True
    r = subprocess.run([RASID, "sources", "list", "--json"], env=env, capture_output=True, text=True, timeout=60)
    [entry] = [json.loads(line) for line in r.stdout.splitlines()]
    verified = {e["url"].split(o.base, 1)[1]: e["verified"] for e in entry["endpoints"]}
    assert verified == {"/rss.xml": True, "/broken.xml": False, "/missing.xml": False,
                        "/sitemap-index.xml": True, "/section/syria": True}


def test_connect_runs_until_sigterm_and_stops_cleanly(make_settings, tmp_path):
    settings = make_settings()
    with Outlet() as o:
        seed_site(o)
        sources = [{"id": "cli-src", "name": "س", "homepage": o.base + "/", "poll_interval": 0.3,
                    "feeds": [o.url("/rss.xml"), o.url("/atom.xml")], "sitemaps": [o.url("/news-sitemap.xml")]},
                   {"id": "other-src", "name": "ع", "homepage": o.base + "/", "feeds": [o.url("/rss.xml")]}]
        env = env_for(os.environ, tmp_path, sources, RASID_NAMESPACE=settings.namespace,
                      RASID_KAFKA_BOOTSTRAP=settings.kafka_bootstrap)
        proc = subprocess.Popen([RASID, "connect", "--source", "cli-src"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len([h for h in o.hits("/rss.xml") if h.status == 304]) < 2:
                time.sleep(0.1)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
            stop_s = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert stop_s < 10
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    stopped = [x for x in logs if x.get("msg") == "connectors stopped"]
    assert stopped and stopped[-1]["produced"] == 5
    produced = [x for x in logs if x.get("msg") == "article produced"]
    assert {x["source"] for x in produced} == {"cli-src"}  # --source honoured
    assert (tmp_path / "state" / f"validators-{settings.namespace}.json").exists()
