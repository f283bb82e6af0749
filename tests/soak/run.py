"""``make soak``: Rasid with its defaults against a simulated world, with faults on a schedule.

    .venv/bin/python -m tests.soak.run [--minutes 30] [--rate 20] [--outlets 50]

The world: ``--outlets`` local outlets (each on its own loopback address, 127.0.0.N, so each is
its own host to the connectors' politeness), each with an RSS feed, publishing continuously at
``--rate`` articles a second in all: new articles, updates of earlier ones, copies of one story
on several outlets, and a few poison pages (not articles). One outlet trickles its pages.

Faults, at fractions of the run: the worker SIGKILLed (1/6), Elasticsearch stopped for 60 s (2/6,
a cut proxy in front of the devstack's), the Kafka broker restarted (3/6, a private broker the
run uses). At the end: a ledger (every published article indexed exactly once), fetched→indexed
p50/p95 per 5-minute window (fault windows marked), peak consumer lag, RSS of each process over
time and its slope after warm-up (by role, and by process: a restarted worker is a new process).
Figures go to ``.devstack/soak/soak.json`` and a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import psutil
import yaml

from devstack.outlet import Outlet, Route
from devstack.pages import render
from pipeline.cli.run import free_port_block
from pipeline.core.ids import article_id
from pipeline.core.metrics import metrics_port_for
from pipeline.core.urls import canonicalize
from tests.faults import harness as h
from tests.faults.private_kafka import PrivateKafka
from tests.faults.proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".devstack" / "soak"
WARM_UP_S = 300
# A feed's history: ~250 s of an outlet's articles at the default rate, long enough to ride out a
# broker restart, and still longer than real feeds (10-50 items). 300 made feed parsing, polled every
# 5-10 s on 50 outlets, the connectors' main work.
FEED_ITEMS = 100


class Site:
    """One outlet: a feed of its latest articles and their pages."""

    def __init__(self, k: int, trickle: bool) -> None:
        self.k, self.trickle = k, trickle
        self.outlet = Outlet(host=f"127.0.0.{k + 2}").start()
        self.items: list[tuple[str, str, datetime]] = []  # (path, title, published)
        self.lock = threading.Lock()
        self.outlet.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        self._feed()

    @property
    def source_id(self) -> str:
        return f"soak-{self.k:02d}"

    def _feed(self) -> None:
        with self.lock:
            items = self.items[-FEED_ITEMS:][::-1]
        entries = "".join(f"<item><title>{escape(t)}</title><link>{escape(self.outlet.base + p)}</link>"
                          f"<pubDate>{format_datetime(when)}</pubDate></item>" for p, t, when in items)
        body = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{self.source_id}</title>'
                f"<link>{self.outlet.base}/</link><description>x</description>{entries}</channel></rss>").encode()
        self.outlet.add("/feed.xml", Route(body=body, content_type="application/rss+xml; charset=utf-8"))

    def publish(self, path: str, title: str, page: bytes, ctype: str = "text/html; charset=utf-8") -> str:
        route = Route(body=page, content_type=ctype, stall=1.5 if self.trickle else 0.0)
        self.outlet.add(path, route)
        with self.lock:
            self.items.append((path, title, datetime.now(timezone.utc)))
        self._feed()
        return self.outlet.base + path

    def update(self, path: str, page: bytes) -> None:
        self.outlet.add(path, Route(body=page, content_type="text/html; charset=utf-8"))


class World:
    """The publisher: ``rate`` articles a second over the sites; the ledger of what must be indexed."""

    def __init__(self, sites: list[Site], rate: float, seed: int = 7) -> None:
        self.sites, self.rate = sites, rate
        self.rng = random.Random(seed)
        self.usable = h._usable(False)
        self.ledger: dict[str, str] = {}  # article id -> url
        self.poison: list[str] = []
        self.published = 0
        self.updates = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    def _article(self, n: int) -> tuple[dict, str, int]:
        base, shape, seed = self.usable[n % len(self.usable)]
        # published now, as a news outlet does: the corpus's own dates (2017-2025) would spread the
        # run over fifty monthly indices, a backfill's load rather than a live one's
        now = datetime.now(timezone.utc).isoformat()
        return dict(base, title=f"{base['title']} ({n})", published_at=now), shape, seed

    def _run(self) -> None:
        n = 0
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self.stop.is_set():
            site = self.sites[n % len(self.sites)]
            path = f"/news/{n:07d}"
            roll = self.rng.random()
            if roll < 0.01:  # a poison page: the stream dead-letters it
                url = site.publish(path, f"صفحة معطوبة {n}", bytes(range(256)) * 40, "text/html")
                self.poison.append(url)
            elif roll < 0.03 and self.published > 20:  # one story copied on five outlets
                art, shape, seed = self._article(n)
                for j in range(5):
                    s2 = self.sites[(n + j) % len(self.sites)]
                    copy_path = f"{path}-copy{j}"
                    url = s2.publish(copy_path, art["title"], render(dict(art, url=s2.outlet.base + copy_path), shape,
                                                                    noise=True, seed=seed + j))
                    self.ledger[article_id(canonicalize(url))] = url
                    self.published += 1
            else:
                art, shape, seed = self._article(n)
                art["url"] = site.outlet.base + path
                ctype = "text/html; charset=windows-1256" if shape == "legacy_1256" else "text/html; charset=utf-8"
                url = site.publish(path, art["title"], render(art, shape, noise=True, seed=seed), ctype)
                self.ledger[article_id(canonicalize(url))] = url
                self.published += 1
                if site.k % 10 == 1 and self.rng.random() < 0.2:  # later updated in place (same URL, new text)
                    upd = dict(art, paragraphs=art["paragraphs"] + ["تحديث: أضيفت معلومات جديدة إلى هذا الخبر."])
                    threading.Timer(20, site.update, (path, render(upd, "wordpress_jannah", seed=seed))).start()
                    self.updates += 1
            n += 1
            next_at += interval
            self.stop.wait(max(0.0, next_at - time.monotonic()))


def _sources(sites: list[Site], path: Path) -> Path:
    path.write_text(yaml.safe_dump({"sources": [
        {"id": s.source_id, "name": f"منفذ {s.k}", "homepage": s.outlet.base + "/", "poll_interval": 10,
         "min_interval": 5, "max_items": FEED_ITEMS, "track_updates": s.k % 10 == 1, "update_recheck_s": 60,
         "feeds": [{"url": s.outlet.base + "/feed.xml"}]} for s in sites]}, allow_unicode=True))
    return path


def _tree(proc: psutil.Process) -> tuple[dict[str, float], dict[str, int]]:
    """RSS (MB) of the run's processes by role (supervisor, connectors, worker, worker-pool), and the
    pid of each role but the pool (its processes are recycled every few thousand pages)."""
    out: dict[str, float] = defaultdict(float)
    pids: dict[str, int] = {}
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return {}, {}
    for p in procs:
        try:
            cmd = " ".join(p.cmdline())
            rss = p.memory_info().rss / 1e6
        except psutil.Error:
            continue
        role = ("supervisor" if p.pid == proc.pid else "connectors" if " connect" in cmd
                else "worker" if " worker" in cmd else "worker-pool")
        out[role] += rss
        if role != "worker-pool":
            pids[role] = p.pid
    return dict(out), pids


def _state_entries(port: int) -> dict[str, float]:
    """The worker's ``rasid_state_entries`` gauges (how full its bounded windows are)."""
    import re
    import urllib.request

    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}
    return {m[1]: float(m[2]) for m in re.finditer(r'^rasid_state_entries\{state="([^"]+)"\} (\S+)$', text, re.M)}


def _missing(s, ledger: list[str]) -> dict:
    """Ledger ids not indexed: how many reached <ns>.raw (lost in the stream) or never did (not fetched)."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(**s.es_client_kwargs())
    found: set[str] = set()
    for i in range(0, len(ledger), 1000):
        r = es.search(index=s.es_alias, query={"ids": {"values": ledger[i:i + 1000]}}, size=1000, source=False)
        found |= {hit["_id"] for hit in r["hits"]["hits"]}
    es.close()
    gone = [x for x in ledger if x not in found]
    if not gone:
        return {"count": 0}
    from pipeline.core import kafka as k

    c = k.kafka_consumer(s, max_partition_fetch_bytes=8_000_000)
    try:
        tps = k.topic_partitions(c, s.raw_topic)
        in_raw = {r.key.decode() for r in k.read_range(c, c.beginning_offsets(tps), c.end_offsets(tps)) if r.key}
    finally:
        c.close()
    return {"count": len(gone), "in_raw": sum(1 for x in gone if x in in_raw), "examples": gone[:5]}


def _slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope in MB/hour of (seconds, MB)."""
    if len(points) < 3:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600, 1) if den else None


def _process_slopes(samples: list[dict]) -> dict[str, list[dict]]:
    """Each process's own RSS slope, from ``WARM_UP_S`` after its first sample to its last.

    The role's series above splices processes: a worker SIGKILLed at the end of the warm-up and its
    successor (which recovered the state from the changelog) make one line whose slope is the
    restart's step, not either process's growth. Here each pid is a line of its own; a process
    with fewer than 5 minutes of samples after its warm-up has no figure (``slope`` None)."""
    pts: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    for smp in samples:
        for role, pid in (smp.get("pids") or {}).items():
            if role in smp["rss_mb"]:
                pts[(role, pid)].append((smp["t_s"], smp["rss_mb"][role]))
    out: dict[str, list[dict]] = defaultdict(list)
    for (role, pid), series in pts.items():
        start = series[0][0]
        after = [x for x in series if x[0] >= start + WARM_UP_S]
        long_enough = len(after) >= 3 and after[-1][0] - after[0][0] >= 300
        out[role].append({"pid": pid, "first_s": start, "last_s": series[-1][0],
                          "slope": _slope(after) if long_enough else None})
    return dict(out)


def _latencies(s, t0: float, fault_windows: list[tuple[float, float]]) -> list[dict]:
    """fetched→indexed per 5-minute window of indexing time (seconds since start), from the documents."""
    from elasticsearch import Elasticsearch
    from elasticsearch.helpers import scan

    es = Elasticsearch(**s.es_client_kwargs())
    buckets: dict[int, list[float]] = defaultdict(list)
    slow: dict[int, Counter] = defaultdict(Counter)  # window -> sources of the articles over 3 s
    for hit in scan(es, index=s.es_alias, query={"query": {"match_all": {}}},
                    _source=["fetched_at", "indexed_at", "source"]):
        src = hit["_source"]
        if not src.get("fetched_at") or not src.get("indexed_at"):
            continue
        f = datetime.fromisoformat(src["fetched_at"]).timestamp()
        i = datetime.fromisoformat(src["indexed_at"]).timestamp()
        buckets[int((i - t0) // 300)].append(i - f)
        if i - f > 3.0:
            slow[int((i - t0) // 300)][src.get("source") or "?"] += 1
    es.close()
    out = []
    for b in sorted(buckets):
        lat = sorted(buckets[b])
        lo, hi = b * 300, (b + 1) * 300
        faulty = any(a < hi and z > lo for a, z in fault_windows)
        out.append({"window_s": [lo, hi], "docs": len(lat), "p50_s": round(lat[len(lat) // 2], 2),
                    "p95_s": round(lat[int(len(lat) * 0.95) - 1 if len(lat) > 1 else 0], 2), "fault_window": faulty,
                    "over_3s_by_source": dict(slow[b].most_common(5))})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=20.0, help="articles a second, all outlets together")
    ap.add_argument("--outlets", type=int, default=50)
    ap.add_argument("--no-faults", action="store_true", help="no scheduled faults (to study the steady state)")
    args = ap.parse_args()
    duration = args.minutes * 60
    OUT.mkdir(parents=True, exist_ok=True)
    kafka = PrivateKafka(OUT / "kafka")
    kafka.start()
    proxy = CuttableProxy("127.0.0.1", 9200).start()
    s = h.new_namespace("soak", kafka_bootstrap=kafka.bootstrap)
    h.setup_namespace(s)
    sites = [Site(k, trickle=(k == 0)) for k in range(args.outlets)]
    world = World(sites, args.rate)
    env = {**os.environ, "RASID_NAMESPACE": s.namespace, "RASID_KAFKA_BOOTSTRAP": kafka.bootstrap,
           "RASID_ES_URL": f"http://127.0.0.1:{proxy.port}", "RASID_SOURCES_FILE": str(_sources(sites, OUT / "sources.yaml")),
           "RASID_STATE_DIR": str(OUT / "state"), "RASID_DATA_DIR": str(OUT / "faust"), "RASID_LOG_FORMAT": "json",
           "RASID_FETCH_ALLOW_HOSTS": ",".join(f"{x.outlet.host}:{x.outlet.port}" for x in sites),
           "RASID_METRICS_PORT": str(metrics_base := free_port_block(2))}
    log = (OUT / "run.log").open("wb")
    run = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--skip-init"], env=env, cwd=ROOT,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.time()
    world.thread.start()
    faults: list[dict] = []
    schedule = [(duration / 6, "worker_sigkill"), (2 * duration / 6, "elasticsearch_stopped_60s"),
                (3 * duration / 6, "broker_restart")] if not args.no_faults else []
    samples: list[dict] = []
    peak_lag = 0
    try:
        while time.time() - t0 < duration:
            el = time.time() - t0
            while schedule and el >= schedule[0][0]:
                _, what = schedule.pop(0)
                f0 = time.time() - t0
                if what == "worker_sigkill":
                    for c in psutil.Process(run.pid).children():
                        if " worker" in " ".join(c.cmdline()):
                            c.kill()  # the supervisor restarts it; its pool processes follow their parent
                elif what == "elasticsearch_stopped_60s":
                    proxy.cut()
                    time.sleep(60)
                    proxy.restore()
                else:
                    kafka.kill9()
                    time.sleep(3)
                    kafka.start()
                faults.append({"fault": what, "start_s": round(f0, 1), "end_s": round(time.time() - t0, 1)})
                print(f"[soak] {what} at {f0:.0f}s", flush=True)
            try:
                lag = h.lag(s, s.raw_topic) + h.lag(s, s.articles_topic)
            except Exception:  # noqa: BLE001 - the broker is restarting
                lag = None
            if lag is not None:
                peak_lag = max(peak_lag, lag)
            rss_mb, pids = _tree(psutil.Process(run.pid))
            samples.append({"t_s": round(time.time() - t0, 1), "lag": lag, "rss_mb": rss_mb, "pids": pids,
                            "state": _state_entries(metrics_port_for(metrics_base, "worker"))})
            time.sleep(10)
        world.stop.set()
        world.thread.join(30)  # its last article is in the ledger before the count starts
        published_s = time.time() - t0
        # a plain count until it is reached, then the ids: a terms query over every published id every
        # 5 s weighed on the node that was still indexing the last articles (the drain window's latency)
        h.wait_until(lambda: h.total_docs(s) >= len(world.ledger)
                     and h.count_ids(s, list(world.ledger)) >= len(world.ledger), 600, interval=5,
                     what="every published article indexed")
    except AssertionError as e:
        print(f"[soak] {e}", flush=True)
    finally:
        world.stop.set()
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
    ledger = list(world.ledger)
    inv = h.invariant(s, ledger)
    missing = _missing(s, ledger)
    windows = [(f["start_s"], f["end_s"] + 120) for f in faults]  # the fault and two minutes to recover
    lat = _latencies(s, t0, windows)
    rss = defaultdict(list)
    for smp in samples:
        for role, mb in smp["rss_mb"].items():
            rss[role].append((smp["t_s"], mb))
    slopes = {role: _slope([p for p in pts if p[0] >= WARM_UP_S]) for role, pts in rss.items()}
    per_process = _process_slopes(samples)
    # The worker's live window (sketches and event keys) fills up to RASID_DEDUPE_MAX_ENTRIES: growth until
    # then is that bounded state arriving, not a leak. The slope once it is full (given 5 minutes of samples).
    cap = s.dedupe_max_entries
    full_at = next((smp["t_s"] for smp in samples if smp.get("state", {}).get("dedupe_live", 0) >= 0.98 * cap), None)
    full_slopes = None
    if full_at is not None and samples[-1]["t_s"] - full_at >= 300:
        full_slopes = {role: _slope([p for p in pts if p[0] >= full_at + 60]) for role, pts in rss.items()}
    result = {
        "minutes": args.minutes, "rate_per_s": args.rate, "outlets": args.outlets, "published": len(ledger),
        "updates": world.updates, "poison_pages": len(world.poison), "published_for_s": round(published_s, 1),
        **inv, "lost": len(ledger) - min(inv["ledger_docs"], len(ledger)), "missing": missing, "faults": faults,
        "latency_per_5min": lat,
        "p95_outside_faults_max_s": max((w["p95_s"] for w in lat if not w["fault_window"]), default=None),
        "peak_consumer_lag": peak_lag, "rss_slope_mb_per_hour_after_warmup": slopes,
        "rss_slope_mb_per_hour_per_process": per_process,
        "rss_mb_last": samples[-1]["rss_mb"] if samples else {},
        "dedupe_max_entries": cap, "live_window_full_at_s": full_at,
        "rss_slope_mb_per_hour_after_window_full": full_slopes,
        "state_entries_last": samples[-1].get("state") if samples else {}, "samples": samples,
    }
    (OUT / "soak.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result.items() if k not in ("samples", "latency_per_5min")}, indent=1,
                     ensure_ascii=False))
    for w in lat:
        print(f"  {w['window_s'][0] // 60:>3.0f}-{w['window_s'][1] // 60:<3.0f} min  docs {w['docs']:>5}  "
              f"p50 {w['p50_s']:>6}s  p95 {w['p95_s']:>6}s{'  (fault window)' if w['fault_window'] else ''}"
              f"{'  over 3 s by source: ' + str(w['over_3s_by_source']) if w['over_3s_by_source'] else ''}")
    for x in sites:
        x.outlet.stop()
    proxy.restore()
    h.teardown_namespace(s)
    kafka.stop()
    ok = (result["lost"] == 0 and inv["duplicate_ids"] == 0 and inv["namespace_docs"] == len(ledger))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
