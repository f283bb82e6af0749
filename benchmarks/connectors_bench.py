"""Connector throughput and memory on a local outlet (needs the devstack's Kafka).

Serves FEEDS RSS feeds (ITEMS articles each, all distinct) from HOSTS loopback
addresses (127.0.0.2, 127.0.0.3, ... — one "outlet" per address, so per-host
politeness limits apply as in production), runs `rasid connect --once` as a child
process against a fresh namespace, samples the child's RSS with psutil, then runs
a second round (every feed answers 304) and reports:

- URLs discovered per second and articles produced per second (first round),
- duration of the all-304 re-poll round,
- peak and final RSS of the connector process.

    .venv/bin/python benchmarks/connectors_bench.py [--feeds 500] [--items 10] [--hosts 10]

Per-host delay is set to 0 (a local outlet needs no politeness); per-host
concurrency stays at its default (2). Results are printed as JSON and written to
benchmarks/out/connectors.json. The namespace's topics are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.outlet import Outlet, Route, allow_hosts, article_html, rss_feed  # noqa: E402

RASID = str(Path(sys.executable).parent / "rasid")


def build_outlets(hosts: int, feeds: int, items: int) -> tuple[list[Outlet], list[dict]]:
    outlets = [Outlet(host=f"127.0.0.{i + 2}").start() for i in range(hosts)]
    page = article_html("خبر للاختبار", paragraphs=12)
    sources: list[dict] = []
    feeds_per_source = 5
    for o in outlets:
        o.add("/robots.txt", Route(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
        o.fallback = lambda p, page=page: Route(body=page) if p.startswith("/a/") else None
    for f in range(feeds):
        o = outlets[f % hosts]
        its = [(f"/a/{f}/2020/01/01/story-{f}-{k}", f"خبر {f}-{k}") for k in range(items)]
        o.add(f"/feeds/{f}.xml", Route(body=rss_feed(o.base, its), content_type="application/rss+xml"))
    for s in range(0, feeds, feeds_per_source):
        eps = [outlets[f % hosts].url(f"/feeds/{f}.xml") for f in range(s, min(s + feeds_per_source, feeds))]
        sources.append({"id": f"bench-{s // feeds_per_source}", "name": "bench", "poll_interval": 600,
                        "homepage": outlets[s % hosts].base + "/", "feeds": eps})
    return outlets, sources


def run_round(env: dict[str, str]) -> dict:
    t0 = time.monotonic()
    proc = subprocess.Popen([RASID, "connect", "--once"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    samples = []
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss
            peak = max(peak, rss)
            samples.append(rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    out, _ = proc.communicate()
    wall = time.monotonic() - t0
    stats = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 2**20, 1),
            "last_rss_mb": round((samples[-1] if samples else 0) / 2**20, 1), "stats": stats,
            "returncode": proc.returncode}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--hosts", type=int, default=10)
    args = ap.parse_args()

    from pipeline.stream.namespace import drop_namespace
    from pipeline.core.settings import load_settings

    ns = "bench" + secrets.token_hex(3)
    outlets, sources = build_outlets(args.hosts, args.feeds, args.items)
    tmp = Path(tempfile.mkdtemp(prefix="rasid-bench-"))
    (tmp / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    env = dict(os.environ, RASID_NAMESPACE=ns, RASID_SOURCES_FILE=str(tmp / "sources.yaml"),
               RASID_STATE_DIR=str(tmp / "state"), RASID_PER_HOST_DELAY_S="0", RASID_LOG_LEVEL="WARNING",
               RASID_FETCH_CONCURRENCY="32", RASID_FETCH_ALLOW_HOSTS=allow_hosts(*outlets))
    try:
        first = run_round(env)
        second = run_round(env)
    finally:
        for o in outlets:
            o.stop()
        try:
            drop_namespace(load_settings(namespace=ns))
        except Exception as e:  # noqa: BLE001
            print(f"warning: could not drop {ns}: {e}", file=sys.stderr)
    s1 = first["stats"]
    t1 = s1.get("elapsed_s") or first["wall_s"]
    result = {
        "feeds": args.feeds, "items_per_feed": args.items, "hosts": args.hosts,
        "first_round": first, "repoll_round": second,
        "discovered_per_s": round(s1.get("discovered", 0) / t1, 1) if t1 else None,
        "produced_per_s": round(s1.get("produced", 0) / t1, 1) if t1 else None,
        "requests_in_first_round": sum(len(o.log) for o in outlets),
        "cpu_count": os.cpu_count(),
    }
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "connectors.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
