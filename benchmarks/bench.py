"""``rasid bench``: throughput, latency and memory of the whole pipeline on a realistic corpus.

Why these figures (issue 7):

- offline: ``rasid process`` (the stream's exact stage code plus de-duplication) on one core and
  with the process pool over ``--jobs`` cores, against ``trafilatura.extract`` alone on the same
  pages *in the same run, interleaved in small blocks*, so both see the same machine noise; the
  ratio (and the CPU-time ratio) is what compares across runs on a shared machine. A per-stage
  breakdown (exclusive time of decode, extract — with its parse and trafilatura parts — clean,
  classify, enrich, dedupe) says where a page's time goes.
- streaming: pages/s through Kafka → ``rasid worker`` → Elasticsearch with 1 and 2 workers, each
  run in its own namespace; the steady rate is read from the documents' ``indexed_at`` (worker
  start-up and the first batch's fill excluded), and compared to the offline pool rate on the
  same cores.
- latency: fetched → indexed (median, p95) while producing at half the sustained rate with
  ``fetched_at`` = send time.
- memory: peak RSS (and PSS, which does not double-count pages shared with the pool's parent)
  of each worker's process tree, sampled with psutil.

Results go to a table on stdout and to JSON (``benchmarks/out/bench.json`` by default).
``--profile`` also writes pyinstrument reports of the offline chain and a CPU-time (cProfile) report of a
worker's main process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from benchmarks.corpus import Corpus, Page, build_corpus, write_corpus

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = PROJECT_ROOT / "benchmarks" / "out"
QUICK_PAGES = 8
BLOCK = 8  # pages per interleaved block (trafilatura block, then rasid block)
STALL_S = 90.0  # streaming: give up waiting for documents after this long without progress
TRAFILATURA_CALL = "trafilatura.extract(html_bytes, url=url)  # library defaults"

TARGETS = {
    "offline_ratio_min": 1.0,
    "offline_ratio_aim": 2.0,
    "streaming_ratio_min": 0.8,
    "latency_p95_max_s": 2.0,
    "worker_rss_max_mb": 400.0,
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _rate(n: int, seconds: float) -> float | None:
    return round(n / seconds, 2) if seconds > 0 else None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


# =========================================================================== stage timing


class StageTimer:
    """Exclusive wall time per stage: functions are wrapped in their modules for one run.

    Nested wrapped calls (``extract`` calling ``decode_html``) are subtracted from the caller, so
    the stages add up to the page's time; what is left is reported as ``other``.
    """

    # (module, attribute, stage label); missing attributes are skipped (modules evolve)
    TARGETS = [
        ("pipeline.stages.extract", "decode_html", "decode"),
        ("pipeline.stages.extract", "_parse", "extract.parse"),
        ("pipeline.stages.extract", "_run_trafilatura", "extract.trafilatura"),
        ("pipeline.stages.extract", "extract", "extract"),
        ("pipeline.stages.clean", "clean", "clean"),
        ("pipeline.stages.classify", "make_doc", "classify"),
        ("pipeline.stages.classify", "classify", "classify"),
        ("pipeline.stages.enrich", "enrich", "enrich"),
        ("pipeline.stages.dedupe", "sketch", "dedupe"),
    ]

    def __init__(self) -> None:
        self.excl: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._stack: list[float] = []

    def wrap(self, name: str, fn: Callable) -> Callable:
        perf = time.perf_counter

        def timed(*a: Any, **kw: Any) -> Any:
            t0 = perf()
            self._stack.append(0.0)
            try:
                return fn(*a, **kw)
            finally:
                elapsed = perf() - t0
                child = self._stack.pop()
                self.excl[name] += elapsed - child
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1] += elapsed

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed

    @contextlib.contextmanager
    def installed(self) -> Iterator["StageTimer"]:
        import importlib

        saved = []
        try:
            for mod_name, attr, label in self.TARGETS:
                mod = importlib.import_module(mod_name)
                fn = getattr(mod, attr, None)
                if fn is None:
                    continue
                saved.append((mod, attr, fn))
                setattr(mod, attr, self.wrap(label, fn))
            yield self
        finally:
            for mod, attr, fn in reversed(saved):
                setattr(mod, attr, fn)

    def add(self, name: str, seconds: float) -> None:
        self.excl[name] += seconds
        self.calls[name] += 1


# =========================================================================== offline


@dataclass
class Clock:
    wall: float = 0.0
    cpu: float = 0.0

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - w
            self.cpu += time.process_time() - c


def _figures(clock: Clock, n: int) -> dict[str, Any]:
    return {
        "pages": n,
        "wall_s": round(clock.wall, 3),
        "cpu_s": round(clock.cpu, 3),
        "pages_per_s": _rate(n, clock.wall),
        "pages_per_cpu_s": _rate(n, clock.cpu),
        "ms_per_page": round(1000 * clock.wall / n, 2) if n else None,
    }


def run_offline(corpus: Corpus, out_dir: Path, jobs: int = 2, profile: bool = False,
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Offline figures: trafilatura alone vs the rasid chain (1 core), then ``rasid process`` over ``jobs``."""
    import trafilatura

    from pipeline.stages.dedupe import index_from_settings, sketch
    from pipeline.stages.process import ChainConfig, StageFailed, canonical, dedupe_time, process_page_full, warm_up
    from pipeline.core.settings import get_settings

    pages = corpus.pages
    n = len(pages)
    settings = get_settings()
    config = ChainConfig.from_settings(settings)

    # warm-up (imports, topic set, gazetteer, lxml/trafilatura caches) outside every clock
    warm_up(config)
    for p in pages[: min(2, n)]:
        trafilatura.extract(p.html, url=p.url)
        with contextlib.suppress(Exception):
            process_page_full(p.html, canonical(p.url), p.source, config=config)

    traf, rasid = Clock(), Clock()
    timer = StageTimer()
    index = index_from_settings(settings=settings)
    failures: Counter[str] = Counter()
    failed_pages: list[int] = []
    ok_pages: list[int] = []
    duplicates = 0
    traf_empty = 0
    log(f"offline: {n} pages, trafilatura and rasid interleaved in blocks of {BLOCK} (1 core)")
    with timer.installed():
        for start in range(0, n, BLOCK):
            block = pages[start:start + BLOCK]
            with traf.measure():
                for p in block:
                    if not trafilatura.extract(p.html, url=p.url):
                        traf_empty += 1
            with rasid.measure():
                for p in block:
                    t0 = time.perf_counter()
                    try:
                        res = process_page_full(p.html, canonical(p.url), p.source, config=config)
                    except StageFailed as e:
                        timer.add("total", time.perf_counter() - t0)
                        failures[f"{e.stage}:{e.reason}"] += 1
                        failed_pages.append(p.n)
                        continue
                    sk = sketch(res.match_text)
                    t2 = time.perf_counter()
                    verdict = index.assign(res.article.id, sk, dedupe_time(res.article))
                    t3 = time.perf_counter()
                    timer.add("dedupe", t3 - t2)
                    timer.add("total", t3 - t0)
                    if verdict.duplicate_of:
                        duplicates += 1
                    ok_pages.append(p.n)

    total = timer.excl.pop("total", 0.0)
    timer.calls.pop("total", None)
    staged = sum(timer.excl.values())
    stages: dict[str, Any] = {}
    order = ["decode", "extract.parse", "extract.trafilatura", "extract", "clean", "classify", "enrich", "dedupe"]
    for name in order + sorted(set(timer.excl) - set(order)):
        if name in timer.excl:
            stages[name] = {
                "ms_per_page": round(1000 * timer.excl[name] / max(1, len(ok_pages) + len(failed_pages)), 3),
                "share": round(timer.excl[name] / total, 4) if total else None,
            }
    stages["other"] = {
        "ms_per_page": round(1000 * (total - staged) / max(1, len(ok_pages) + len(failed_pages)), 3),
        "share": round((total - staged) / total, 4) if total else None,
    }

    result: dict[str, Any] = {
        "pages": n,
        "ok": len(ok_pages),
        "failed": dict(failures),
        "near_duplicates": duplicates,
        "trafilatura": {**_figures(traf, n), "call": TRAFILATURA_CALL, "empty_results": traf_empty},
        "process_1core": {**_figures(rasid, n), "what": "process_page_full + sketch + DedupeIndex.assign, in-process"},
        "stages": stages,
    }
    result["ratio_to_trafilatura"] = {
        "wall": round(traf.wall / rasid.wall, 3) if rasid.wall else None,
        "cpu": round(traf.cpu / rasid.cpu, 3) if rasid.cpu else None,
    }

    # ``rasid process`` itself over a pool (files, JSON lines), as a user runs it
    files_dir = out_dir / "corpus"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    paths = [str(p) for p in write_corpus(corpus, files_dir)]
    log(f"offline: rasid process -j {jobs} on {n} files")
    pool = run_process_files(files_dir, jobs)
    result["process_pool"] = {
        **pool,
        "speedup_vs_1core": round(rasid.wall / pool["wall_s"], 3) if pool.get("wall_s") else None,
        "what": f"pipeline.stream.batch.run_files(files, jobs={jobs}) = `rasid process -j {jobs} FILE...`, in a fresh "
                "process (a fork of this big one would pay copy-on-write faults), pool start-up included",
    }
    result["ok_page_numbers"] = ok_pages

    if profile:
        result["profile"] = profile_offline(corpus, out_dir, log=log)
    return result


_RUN_FILES = """
import io, json, os, sys, time
from pipeline.stages.process import ChainConfig, warm_up
from pipeline.stream.batch import run_files
from pipeline.core.settings import get_settings
paths, jobs = sys.argv[1:-1], int(sys.argv[-1])
warm_up(ChainConfig.from_settings(get_settings()))
buf = io.StringIO()
t0, c0 = time.perf_counter(), os.times()
failures = run_files(paths, jobs=jobs, out=buf, settings=get_settings())
wall, c1 = time.perf_counter() - t0, os.times()
cpu = sum(c1[i] - c0[i] for i in range(4))
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "failures": failures,
                  "output_lines": sum(1 for ln in buf.getvalue().splitlines() if ln.strip())}))
"""


def run_process_files(files_dir: Path, jobs: int) -> dict[str, Any]:
    """``run_files`` (what ``rasid process -j jobs FILE...`` runs) timed inside a fresh interpreter
    (imports, topic set and gazetteer loading excluded)."""
    paths = sorted(str(p) for p in files_dir.glob("*.html"))
    if not paths:
        return {"pages": 0}
    proc = subprocess.run([sys.executable, "-c", _RUN_FILES, *paths, str(jobs)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=True)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    n = len(paths)
    return {
        "jobs": jobs,
        "pages": n,
        "wall_s": round(got["wall_s"], 3),
        "cpu_s": round(got["cpu_s"], 3),
        "pages_per_s": _rate(n, got["wall_s"]),
        "pages_per_cpu_s": _rate(n, got["cpu_s"]),
        "output_lines": got["output_lines"],
        "failures": got["failures"],
    }


def offline_pool_rate(files_dir: Path, jobs: int) -> float | None:
    """``rasid process -j jobs`` pages/s on the corpus files, measured now."""
    return run_process_files(files_dir, jobs).get("pages_per_s")


def profile_offline(corpus: Corpus, out_dir: Path, log: Callable[[str], None] = print) -> dict[str, str]:
    """pyinstrument over the 1-core chain (a separate pass: the profiler's overhead stays out of the figures)."""
    from pyinstrument import Profiler

    from pipeline.stages.dedupe import index_from_settings, sketch
    from pipeline.core.settings import get_settings
    from pipeline.stages.process import ChainConfig, StageFailed, canonical, dedupe_time, process_page_full

    settings = get_settings()
    config = ChainConfig.from_settings(settings)
    index = index_from_settings(settings=settings)
    prof = Profiler(interval=0.0005)
    log("profile: offline chain under pyinstrument")
    prof.start()
    for p in corpus.pages:
        try:
            res = process_page_full(p.html, canonical(p.url), p.source, config=config)
        except StageFailed:
            continue
        index.assign(res.article.id, sketch(res.match_text), dedupe_time(res.article))
    prof.stop()
    html_path = out_dir / "profile-offline.html"
    txt_path = out_dir / "profile-offline.txt"
    html_path.write_text(prof.output_html(), encoding="utf-8")
    txt_path.write_text(prof.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
    # trafilatura alone, for comparison of its internals
    import trafilatura

    prof2 = Profiler(interval=0.0005)
    prof2.start()
    for p in corpus.pages:
        trafilatura.extract(p.html, url=p.url)
    prof2.stop()
    t2 = out_dir / "profile-trafilatura.txt"
    t2.write_text(prof2.output_text(unicode=True, color=False), encoding="utf-8")
    return {"offline_html": str(html_path), "offline_text": str(txt_path), "trafilatura_text": str(t2)}


# =========================================================================== streaming


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_devstack(log: Callable[[str], None] = print) -> dict[str, Any]:
    """Kafka and Elasticsearch reachable; start the devstack if not (and leave it up)."""
    from devstack.stack import es_probe, kafka_probe
    from pipeline.core.settings import get_settings

    s = get_settings()
    if kafka_probe(s.kafka_bootstrap) and es_probe(s.es_url):
        return {"started": False}
    log("devstack not up: running `rasid devstack up`")
    rasid = str(Path(sys.executable).with_name("rasid"))
    subprocess.run([rasid, "devstack", "up"], check=True, cwd=PROJECT_ROOT)
    return {"started": True}


def _server_pids() -> dict[str, int]:
    """Pids of the processes listening on the Kafka and ES ports (their CPU is part of the cost)."""
    import psutil

    from pipeline.core.settings import get_settings

    s = get_settings()
    ports = {
        "kafka": int(s.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1]),
        "elasticsearch": int(s.es_url.rsplit(":", 1)[1].split("/")[0]) if s.es_url.count(":") == 2 else 9200,
    }
    out: dict[str, int] = {}
    try:
        for c in psutil.net_connections(kind="tcp"):
            if c.status == psutil.CONN_LISTEN and c.pid:
                for name, port in ports.items():
                    if c.laddr.port == port:
                        out[name] = c.pid
    except (psutil.AccessDenied, OSError):
        pass
    return out


def _cpu_of(pids: dict[str, int]) -> dict[str, float]:
    import psutil

    out = {}
    for name, pid in pids.items():
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(pid).cpu_times()
            out[name] = t.user + t.system
    return out


class MemorySampler(threading.Thread):
    """Samples RSS (every 0.5 s) and PSS (every 2 s) of each worker's process tree."""

    def __init__(self, pids: list[int], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.peak_rss_tree = {p: 0 for p in pids}
        self.peak_rss_main = {p: 0 for p in pids}
        self.peak_pss_tree = {p: 0 for p in pids}
        self.peak_processes = {p: 0 for p in pids}
        self.cpu: dict[int, dict[str, float]] = {}
        self._halt = threading.Event()

    def _tree(self, pid: int):
        import psutil

        root = psutil.Process(pid)
        return root, [root] + root.children(recursive=True)

    def run(self) -> None:
        import psutil

        tick = 0
        while not self._halt.is_set():
            for pid in self.pids:
                try:
                    root, procs = self._tree(pid)
                    rss = 0
                    for p in procs:
                        with contextlib.suppress(psutil.Error):
                            rss += p.memory_info().rss
                    self.peak_rss_tree[pid] = max(self.peak_rss_tree[pid], rss)
                    self.peak_rss_main[pid] = max(self.peak_rss_main[pid], root.memory_info().rss)
                    self.peak_processes[pid] = max(self.peak_processes[pid], len(procs))
                    if tick % 4 == 0:
                        pss = 0
                        for p in procs:
                            with contextlib.suppress(psutil.Error):
                                pss += p.memory_full_info().pss
                        self.peak_pss_tree[pid] = max(self.peak_pss_tree[pid], pss)
                except psutil.Error:
                    continue
            tick += 1
            self._halt.wait(self.interval)

    def snapshot_cpu(self) -> dict[int, dict[str, float]]:
        """CPU seconds of each worker's main process and of its children (pool, forkserver)."""
        import psutil

        out = {}
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                root, procs = self._tree(pid)
                t = root.cpu_times()
                main = t.user + t.system
                kids = 0.0
                for p in procs[1:]:
                    with contextlib.suppress(psutil.Error):
                        c = p.cpu_times()
                        kids += c.user + c.system
                out[pid] = {"main": main, "children": kids}
        return out

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def report(self) -> list[dict[str, Any]]:
        mb = 1024 * 1024
        return [
            {
                "pid": pid,
                "peak_rss_tree_mb": round(self.peak_rss_tree[pid] / mb, 1),
                "peak_pss_tree_mb": round(self.peak_pss_tree[pid] / mb, 1),
                "peak_rss_main_mb": round(self.peak_rss_main[pid] / mb, 1),
                "processes": self.peak_processes[pid],
            }
            for pid in self.pids
        ]


@dataclass
class Worker:
    proc: subprocess.Popen
    log_path: Path
    data_dir: Path


def start_workers(k: int, ns: str, run_dir: Path, profile: bool = False, pool_size: int = 0) -> list[Worker]:
    env = dict(os.environ)
    env.update(RASID_NAMESPACE=ns, RASID_LOG_LEVEL="WARNING", RASID_METRICS_PORT="0")
    if pool_size:
        env["RASID_PROCESS_POOL_SIZE"] = str(pool_size)
    workers = []
    for i in range(k):
        data_dir = run_dir / f"w{i}"
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = run_dir / f"worker{i}.log"
        args = ["worker", "--web-port", str(_free_port()), "--data-dir", str(data_dir)]
        if profile and i == 0:
            # CPU time, not wall: the main process mostly waits for a core the pool holds
            cmd = [sys.executable, "-m", "benchmarks.cpuprof", str(run_dir / "profile-worker.txt"), *args]
        else:
            cmd = [str(Path(sys.executable).with_name("rasid")), *args]
        fh = log_path.open("wb")
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
        fh.close()
        workers.append(Worker(proc, log_path, data_dir))
    return workers


def stop_workers(workers: list[Worker], timeout: float = 60.0) -> list[int | None]:
    for w in workers:
        if w.proc.poll() is None:
            w.proc.send_signal(signal.SIGINT)  # faust's graceful stop; also lets pyinstrument write
    codes: list[int | None] = []
    deadline = time.monotonic() + timeout
    for w in workers:
        try:
            codes.append(w.proc.wait(timeout=max(1.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            import psutil

            try:  # the worker and what it started (forkserver, pool processes)
                kids = psutil.Process(w.proc.pid).children(recursive=True)
            except psutil.Error:
                kids = []
            w.proc.kill()
            for kid in kids:
                with contextlib.suppress(psutil.Error):
                    kid.kill()
            codes.append(w.proc.wait())
    return codes


def _raw_records(pages: list[Page], phase: str) -> list[tuple[str, Page, str]]:
    """(id, page, url) of each page under a URL of its own for this phase (a page sent twice is two articles)."""
    from pipeline.core.ids import article_id
    from pipeline.stages.process import canonical

    out = []
    for i, p in enumerate(pages):
        url = canonical(f"{p.url}-{phase}{i}" if phase else p.url) or p.url
        out.append((article_id(url), p, url))
    return out


async def _produce(settings: Any, records: list[tuple[str, Page, str]], html_z: dict[int, str],
                   rate: float | None = None) -> float:
    """Send RawPage records (paced at ``rate`` per second when given) with the connectors' own
    producer settings (acks=all, idempotence, gzip); returns the send duration."""
    from connectors.kafka import make_producer
    from pipeline.core.schema import RawPage

    producer = make_producer(settings)
    await producer.start()
    try:
        futs = []
        t0 = time.perf_counter()
        for i, (aid, page, url) in enumerate(records):
            if rate:
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            raw = RawPage(id=aid, url=url, source=page.source, status=200, fetched_at=_now(),
                          html_z=html_z[page.n])
            futs.append(await producer.send(settings.raw_topic, raw.to_json(), key=aid.encode()))
        await asyncio.gather(*futs)
        return time.perf_counter() - t0
    finally:
        await producer.stop()


def _parse_ts(v: str | None) -> float | None:
    if not v:
        return None
    return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()


def _docs(es: Any, alias: str, ids: list[str]) -> list[dict[str, Any]]:
    from elasticsearch.helpers import scan

    es.indices.refresh(index=alias)
    out = []
    for i in range(0, len(ids), 1000):
        chunk = ids[i:i + 1000]
        out.extend(h["_source"] for h in scan(
            es, index=alias, query={"query": {"ids": {"values": chunk}}},
            _source=["id", "fetched_at", "processed_at", "indexed_at"]))
    return out


def _steady_rate(stamps: list[float | None]) -> float | None:
    """Documents per second from the first batch's stamp to the last one (start-up and first fill excluded)."""
    ts = sorted(t for t in stamps if t is not None)
    if len(ts) < 2 or ts[-1] <= ts[0]:
        return None
    first_batch = sum(1 for t in ts if t <= ts[0] + 0.05)
    if len(ts) - first_batch < 2:
        return None
    return _rate(len(ts) - first_batch, ts[-1] - ts[0])


def _wait_count(es: Any, alias: str, target: int, workers: list[Worker], stall_s: float,
                on_first: Callable[[int], None] | None = None) -> tuple[int, str | None]:
    """Poll the alias count until ``target``; give up after ``stall_s`` without progress or a dead worker."""
    last, last_change = -1, time.monotonic()
    while True:
        try:
            n = int(es.count(index=alias)["count"])
        except Exception:  # noqa: BLE001 - the alias may not be searchable for a moment
            n = max(last, 0)
        if n > 0 and on_first is not None:
            on_first(n)
            on_first = None
        if n >= target:
            return n, None
        if n != last:
            last, last_change = n, time.monotonic()
        if time.monotonic() - last_change > stall_s:
            return n, f"no progress for {stall_s:.0f}s at {n}/{target}"
        dead = [w for w in workers if w.proc.poll() is not None]
        if dead:
            return n, f"worker exited with {dead[0].proc.returncode} (log {dead[0].log_path})"
        time.sleep(0.5)


def _tail(path: Path, n: int = 15) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return []


def _es_costs(es: Any, alias: str) -> dict[str, Any]:
    """Elasticsearch's own time accounting for the namespace's indices (robust to other tenants)."""
    try:
        p = es.indices.stats(index=alias, metric="indexing,refresh,merge,flush")["_all"]["primaries"]
    except Exception as e:  # noqa: BLE001 - a figure, not a requirement
        return {"error": str(e)[:200]}
    n = max(1, p["indexing"]["index_total"])
    return {
        "documents": p["indexing"]["index_total"],
        "indexing": round(p["indexing"]["index_time_in_millis"] / n, 3),
        "refresh": round(p["refresh"]["total_time_in_millis"] / n, 3),
        "merge": round(p["merges"]["total_time_in_millis"] / n, 3),
        "flush": round(p["flush"]["total_time_in_millis"] / n, 3),
        "refreshes": p["refresh"]["total"],
    }


def _tree_cpu(sampler: "MemorySampler") -> dict[str, float]:
    snap = sampler.snapshot_cpu()
    return {"main": sum(c["main"] for c in snap.values()), "pool": sum(c["children"] for c in snap.values())}


def _latency_figures(docs: list[dict[str, Any]]) -> dict[str, Any]:
    lat, proc_lat = [], []
    for d in docs:
        f, p_, i_ = (_parse_ts(d.get(x)) for x in ("fetched_at", "processed_at", "indexed_at"))
        if f is not None and i_ is not None:
            lat.append(i_ - f)
        if f is not None and p_ is not None:
            proc_lat.append(p_ - f)
    return {
        "documents": len(lat),
        "fetched_to_indexed_median_s": round(statistics.median(lat), 3) if lat else None,
        "fetched_to_indexed_p95_s": round(_pct(lat, 0.95), 3) if lat else None,
        "fetched_to_indexed_max_s": round(max(lat), 3) if lat else None,
        "fetched_to_processed_median_s": round(statistics.median(proc_lat), 3) if proc_lat else None,
        "fetched_to_processed_p95_s": round(_pct(proc_lat, 0.95), 3) if proc_lat else None,
    }


def run_streaming_one(k: int, pages: list[Page], expected_ok: set[int], offline_rate: float | None,
                      out_dir: Path, *, latency_s: float, keep: bool, profile: bool,
                      baseline: Callable[[], float | None] | None = None, pool_size: int = 0,
                      log: Callable[[str], None] = print) -> dict[str, Any]:
    """One streaming configuration: ``k`` workers in a fresh namespace.

    Phase ``cold``: N pages wait on the raw topic, then the workers start (start-up included).
    Phase ``warm``: with the workers running and idle, N more pages are produced at once; the
    rate is N / (last ``indexed_at`` - first send), and CPU per page of the workers (main
    process and pool), Kafka and Elasticsearch is taken over exactly that phase.
    Phase ``latency``: pages produced at half the warm rate, ``fetched_at`` = send time.
    """
    from elasticsearch import Elasticsearch

    from pipeline.cli.init import drop_namespace
    from pipeline.core.schema import compress_html
    from pipeline.core.settings import load_settings

    ns = f"bench{secrets.token_hex(3)}-w{k}" + (f"x{pool_size}" if pool_size else "")
    settings = load_settings(namespace=ns, **({"process_pool_size": pool_size} if pool_size else {}))
    from pipeline.cli.run import pool_size_per_worker

    pool_size = pool_size_per_worker(settings, k)  # as `rasid run --workers k` would give them
    run_dir = out_dir / "stream" / ns
    run_dir.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"workers": k, "namespace": ns, "partitions": settings.kafka_partitions,
                           "label": f"{k}x{pool_size}" if pool_size else str(k),
                           "pool_size_per_worker": pool_size,
                           "batch_size": settings.batch_size}
    es = Elasticsearch(**settings.es_client_kwargs())
    html_z = {p.n: compress_html(p.html) for p in pages}
    n_ok = sum(1 for p in pages if p.n in expected_ok)
    servers = _server_pids()
    workers: list[Worker] = []
    sampler: MemorySampler | None = None
    alias = settings.es_alias
    try:
        _ensure_namespace(settings, log)
        # -- cold: a backlog, then the workers
        cold = _raw_records(pages, "")
        asyncio.run(_produce(settings, cold, html_z))
        t_start = time.time()
        workers = start_workers(k, ns, run_dir, profile=profile, pool_size=pool_size)
        sampler = MemorySampler([w.proc.pid for w in workers])
        sampler.start()
        log(f"streaming[{k} worker(s)]: cold, {len(pages)} pages waiting in {ns}.raw")
        count, problem = _wait_count(es, alias, n_ok, workers, stall_s=STALL_S)
        t_done = time.time()
        docs = _docs(es, alias, [r[0] for r in cold])
        idx = sorted(t for t in (_parse_ts(d.get("indexed_at")) for d in docs) if t is not None)
        res["cold"] = {
            "pages": len(pages),
            "expected_documents": n_ok,
            "indexed": count,
            "problem": problem,
            "wall_incl_startup_s": round(t_done - t_start, 2),
            "pages_per_s_incl_startup": _rate(count, t_done - t_start),
            "first_indexed_after_s": round(idx[0] - t_start, 2) if idx else None,
            "pages_per_s_after_first": _steady_rate(idx),
        }
        if problem:
            res["worker_log_tail"] = {str(w.log_path): _tail(w.log_path) for w in workers}
            if count == 0 or any(w.proc.poll() is not None for w in workers):
                return res
            # documents missing (neither indexed nor dead-lettered yet): say so, measure on
            res["cold"]["missing_documents"] = n_ok - count
            res["cold"]["missing_ids"] = sorted(set(r[0] for r in cold) - {d.get("id") for d in docs})[:20]
        base = count

        # -- the offline pool rate right now, workers idle (the machine is shared: compare like with like)
        before = baseline() if baseline else None

        # -- warm: N more pages at once to running workers
        warm = _raw_records(pages, "warm")
        log(f"streaming[{k}]: warm, {len(pages)} more pages")
        srv0, cpu0, t0 = _cpu_of(servers), _tree_cpu(sampler), time.time()
        asyncio.run(_produce(settings, warm, html_z))
        count, problem = _wait_count(es, alias, base + n_ok, workers, stall_s=STALL_S)
        srv1, cpu1 = _cpu_of(servers), _tree_cpu(sampler)
        wdocs = _docs(es, alias, [r[0] for r in warm])
        widx = [t for t in (_parse_ts(d.get("indexed_at")) for d in wdocs) if t is not None]
        wproc = [t for t in (_parse_ts(d.get("processed_at")) for d in wdocs) if t is not None]
        n_w = len(widx)
        rate = _rate(n_w, max(widx) - t0) if widx else None
        # and again after the warm phase: this machine's capacity drifts by ±15% within a minute,
        # so the warm rate is compared with the mean of the offline rates just before and after it
        after = baseline() if baseline and rate else None
        known = [r for r in (before, after) if r]
        adjacent = round(sum(known) / len(known), 2) if known else None
        # time the pool sat idle between batches: gaps in the pages' processed_at sequence
        wp = sorted(wproc)
        gaps = [b - a for a, b in zip(wp, wp[1:]) if b - a > 0.05]
        span = (wp[-1] - wp[0]) if len(wp) > 1 else 0.0
        res["throughput"] = {
            "pages": len(pages),
            "indexed": n_w,
            "problem": problem,
            "pages_per_s": rate,
            "process_stage_pages_per_s": _rate(len(wproc), max(wproc) - t0) if wproc else None,
            "process_stage_gaps": {"count": len(gaps), "total_s": round(sum(gaps), 2),
                                   "share_of_span": round(sum(gaps) / span, 3) if span else None,
                                   "what": "pauses > 50 ms between consecutive processed_at stamps"},
            "offline_pool_pages_per_s": offline_rate,
            "offline_pool_pages_per_s_adjacent": adjacent,
            "offline_pool_pages_per_s_before_after": [before, after],
            "ratio_to_offline_pool": round(rate / offline_rate, 3) if rate and offline_rate else None,
            "ratio_to_offline_pool_adjacent": round(rate / adjacent, 3) if rate and adjacent else None,
            "cpu_ms_per_page": {
                "worker_main": round(1000 * (cpu1["main"] - cpu0["main"]) / max(1, n_w), 2),
                "worker_pool": round(1000 * (cpu1["pool"] - cpu0["pool"]) / max(1, n_w), 2),
                **{name: round(1000 * (srv1[name] - srv0.get(name, 0)) / max(1, n_w), 2) for name in srv1},
            },
            "note": "CPU of the kafka/elasticsearch processes includes whatever else uses the shared devstack "
                    "meanwhile; es_namespace_ms_per_doc is Elasticsearch's own accounting for this namespace",
            "es_namespace_ms_per_doc": _es_costs(es, alias),
        }
        if problem:
            res["worker_log_tail"] = {str(w.log_path): _tail(w.log_path) for w in workers}
            res["throughput"]["missing_documents"] = base + n_ok - count
            if any(w.proc.poll() is not None for w in workers):
                return res
        log(f"streaming[{k}]: {rate} pages/s warm (offline pool around it {adjacent}/s: {before} before, "
            f"{after} after); "
            f"cold {res['cold']['pages_per_s_incl_startup']}/s incl. start-up")

        # -- latency at half the sustained rate, fetched_at = send time
        if rate and latency_s > 0:
            half = rate / 2
            n_lat = max(10, min(4 * len(pages), int(half * latency_s)))
            lat_pages = [pages[i % len(pages)] for i in range(n_lat)]
            lat_records = _raw_records(lat_pages, "lat")
            lat_target = count + sum(1 for p in lat_pages if p.n in expected_ok)
            log(f"streaming[{k}]: latency, {n_lat} pages at {half:.1f}/s")
            asyncio.run(_produce(settings, lat_records, html_z, rate=half))
            _, problem3 = _wait_count(es, alias, lat_target, workers, stall_s=STALL_S)
            ldocs = _docs(es, alias, [r[0] for r in lat_records])
            res["latency"] = {"rate_per_s": round(half, 2), "pages": n_lat, "problem": problem3,
                              **_latency_figures(ldocs)}
            log(f"streaming[{k}]: latency median {res['latency']['fetched_to_indexed_median_s']}s, "
                f"p95 {res['latency']['fetched_to_indexed_p95_s']}s")
    finally:
        # every step on its own: a failure in one never leaves workers or a namespace behind
        if workers:
            res["worker_exit_codes"] = stop_workers(workers)
        if sampler is not None:
            with contextlib.suppress(Exception):
                sampler.stop()
                res["memory"] = sampler.report()
        if profile and (run_dir / "profile-worker.txt").exists():
            dest = out_dir / f"profile-worker-{res['label']}w.txt"
            shutil.copy(run_dir / "profile-worker.txt", dest)
            if (run_dir / "profile-worker.pstats").exists():
                shutil.copy(run_dir / "profile-worker.pstats", dest.with_suffix(".pstats"))
            res["profile"] = str(dest)
        with contextlib.suppress(Exception):
            es.close()
        if not keep:
            with contextlib.suppress(Exception):
                drop_namespace(settings)
            shutil.rmtree(run_dir, ignore_errors=True)
    return res


def _ensure_namespace(settings: Any, log: Callable[[str], None], attempts: int = 4) -> None:
    """Topics and ES template/alias of the namespace; retried, as a busy broker can be slow to list new topics."""
    from pipeline.cli.init import BootstrapError, ensure_es, ensure_topics

    for i in range(attempts):
        try:
            ensure_topics(settings)
            break
        except BootstrapError as e:
            if i == attempts - 1:
                raise
            log(f"ensure_topics: {e}; retrying")
            time.sleep(2 * (i + 1))
    ensure_es(settings)


# =========================================================================== report


def _targets(result: dict[str, Any]) -> dict[str, Any]:
    off = result.get("offline") or {}
    ratio = (off.get("ratio_to_trafilatura") or {}).get("wall")
    out: dict[str, Any] = {
        "offline_ratio": {"value": ratio, "min": TARGETS["offline_ratio_min"], "aim": TARGETS["offline_ratio_aim"],
                          "met": ratio is not None and ratio >= TARGETS["offline_ratio_min"]},
    }
    for run in (result.get("streaming") or {}).get("runs", []):
        k = run.get("label") or run["workers"]
        thr = run.get("throughput") or {}
        r = thr.get("ratio_to_offline_pool_adjacent") or thr.get("ratio_to_offline_pool")
        out[f"streaming_ratio_{k}w"] = {"value": r, "min": TARGETS["streaming_ratio_min"],
                                        "met": r is not None and r >= TARGETS["streaming_ratio_min"]}
        p95 = (run.get("latency") or {}).get("fetched_to_indexed_p95_s")
        out[f"latency_p95_{k}w"] = {"value": p95, "max": TARGETS["latency_p95_max_s"],
                                    "met": p95 is not None and p95 <= TARGETS["latency_p95_max_s"]}
        missing = sum(int((run.get(ph) or {}).get("missing_documents") or 0) for ph in ("cold", "throughput"))
        out[f"no_loss_{k}w"] = {"value": missing, "max": 0, "met": missing == 0 and not run.get("error")}
        mem = [m["peak_rss_tree_mb"] for m in run.get("memory") or []]
        if mem:
            out[f"worker_rss_{k}w"] = {"value": max(mem), "max": TARGETS["worker_rss_max_mb"],
                                       "met": max(mem) <= TARGETS["worker_rss_max_mb"]}
    return out


def print_report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(120, shutil.get_terminal_size((120, 40)).columns))
    c = result["corpus"]
    con.print(f"[bold]corpus[/]: {c['pages']} pages from {c['source_articles']} articles, "
              f"{c['bytes_mean'] / 1024:.0f} KB mean ({c['bytes_min'] / 1024:.0f}–{c['bytes_max'] / 1024:.0f} KB), "
              f"shapes {c['shapes']}, kinds {c['kinds']}")
    off = result.get("offline")
    if off:
        t = Table(title="offline (same run, interleaved)")
        for col in ("what", "pages/s", "pages/CPU-s", "ms/page"):
            t.add_column(col, justify="right" if col != "what" else "left")
        for key, label in (("trafilatura", "trafilatura.extract alone (1 core)"),
                           ("process_1core", "rasid chain + dedupe (1 core)"),
                           ("process_pool", f"rasid process -j {off['process_pool']['jobs']}")):
            f = off[key]
            t.add_row(label, str(f["pages_per_s"]), str(f["pages_per_cpu_s"]), str(f.get("ms_per_page", "")))
        con.print(t)
        r = off["ratio_to_trafilatura"]
        con.print(f"ratio rasid/trafilatura: wall {r['wall']}, CPU {r['cpu']}; "
                  f"ok {off['ok']}/{off['pages']}, failed {off['failed'] or 'none'}, near-duplicates {off['near_duplicates']}")
        st = Table(title="per-stage (exclusive) time, 1 core")
        st.add_column("stage")
        st.add_column("ms/page", justify="right")
        st.add_column("share", justify="right")
        for name, v in off["stages"].items():
            st.add_row(name, f"{v['ms_per_page']:.2f}", f"{100 * (v['share'] or 0):.1f}%")
        con.print(st)
    stream = result.get("streaming")
    if stream:
        t = Table(title="streaming (Kafka → workers → Elasticsearch)")
        for col in ("workers", "warm pages/s", "÷ offline pool (its rate then)", "cold incl. start-up",
                    "CPU ms/page main+pool / kafka / ES (ES own)", "latency median / p95 s", "peak RSS tree MB", "PSS MB",
                    "problem"):
            t.add_column(col, justify="right")
        for run in stream.get("runs", []):
            thr, lat, cold = run.get("throughput") or {}, run.get("latency") or {}, run.get("cold") or {}
            cpu = thr.get("cpu_ms_per_page") or {}
            esc = thr.get("es_namespace_ms_per_doc") or {}
            mem = run.get("memory") or []
            t.add_row(
                str(run.get("label") or run["workers"]),
                str(thr.get("pages_per_s")),
                f"{thr.get('ratio_to_offline_pool_adjacent')} ({thr.get('offline_pool_pages_per_s_adjacent')}/s)",
                f"{cold.get('pages_per_s_incl_startup')}/s, 1st doc {cold.get('first_indexed_after_s')}s",
                f"{cpu.get('worker_main')}+{cpu.get('worker_pool')} / {cpu.get('kafka')} / {cpu.get('elasticsearch')}"
                f" (ES own {esc.get('indexing', 0) + esc.get('refresh', 0) + esc.get('merge', 0):.1f})",
                f"{lat.get('fetched_to_indexed_median_s')} / {lat.get('fetched_to_indexed_p95_s')}",
                " / ".join(str(m["peak_rss_tree_mb"]) for m in mem),
                " / ".join(str(m["peak_pss_tree_mb"]) for m in mem),
                (f"{cold.get('missing_documents') or thr.get('missing_documents')} missing! "
                 if cold.get("missing_documents") or thr.get("missing_documents") else "")
                + str(thr.get("problem") or cold.get("problem") or run.get("error") or "")[:40],
            )
        con.print(t)
    tg = result.get("targets") or {}
    if tg:
        con.print("targets: " + ", ".join(
            f"{k} {v['value']} {'ok' if v['met'] else 'MISSED'}" for k, v in tg.items()))


# =========================================================================== entry points


def run_bench(pages: int, *, quick: bool = False, offline_only: bool = False, out: Path | None = None,
              seed: int = 0, jobs: int = 2, workers: tuple[tuple[int, int], ...] = ((1, 0), (2, 0)),
              profile: bool = False,
              latency_s: float = 30.0, keep: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build the corpus, measure, write the JSON; returns the result dict."""
    import psutil

    out = Path(out) if out else OUT_DIR / "bench.json"
    out_dir = out.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    if quick:
        pages = min(pages, QUICK_PAGES)
        latency_s = min(latency_s, 5.0)
    t0 = time.perf_counter()
    corpus = build_corpus(pages, seed=seed)
    result: dict[str, Any] = {
        "version": 1,
        "started_at": _now().isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_start": [round(x, 2) for x in os.getloadavg()],
            "memory_gb": round(psutil.virtual_memory().total / 2 ** 30, 1),
        },
        "options": {"pages": pages, "quick": quick, "offline_only": offline_only, "seed": seed, "jobs": jobs,
                    "workers": [f"{k}x{p}" if p else str(k) for k, p in workers], "latency_s": latency_s},
        "corpus": {**corpus.describe(), "build_s": round(time.perf_counter() - t0, 2)},
        "targets_definition": TARGETS,
    }
    log(f"corpus: {pages} pages built in {result['corpus']['build_s']}s "
        f"({result['corpus']['bytes_mean'] / 1024:.0f} KB mean)")
    offline = run_offline(corpus, out_dir, jobs=jobs, profile=profile, log=log)
    ok_pages = set(offline.pop("ok_page_numbers"))
    result["offline"] = offline
    if not offline_only:
        result["streaming"] = {"devstack": ensure_devstack(log), "runs": []}
        offline_rate = offline["process_pool"]["pages_per_s"]

        def baseline() -> float | None:
            return offline_pool_rate(out_dir / "corpus", jobs)

        for k, pool_size in workers:
            try:
                run = run_streaming_one(k, corpus.pages, ok_pages, offline_rate, out_dir, baseline=baseline,
                                        pool_size=pool_size,
                                        latency_s=latency_s, keep=keep, profile=profile, log=log)
            except Exception as e:  # noqa: BLE001 - report what failed, keep the other figures
                import traceback

                run = {"workers": k, "error": f"{type(e).__name__}: {e}",
                       "traceback": traceback.format_exc(limit=6).splitlines()}
            result["streaming"]["runs"].append(run)
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["elapsed_s"] = round(time.perf_counter() - t0, 1)
    result["targets"] = _targets(result)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return result


def parse_worker_spec(spec: str) -> tuple[int, int]:
    """``"2"`` → 2 workers with the default pool; ``"2x1"`` → 2 workers with a pool of 1 process each."""
    k, _, pool = spec.strip().lower().partition("x")
    k_i, pool_i = int(k), int(pool) if pool else 0
    if k_i < 1 or pool_i < 0:
        raise ValueError(spec)
    return k_i, pool_i


@click.command("bench")
@click.option("--pages", "-n", type=click.IntRange(1), default=300, show_default=True,
              help="Pages in the corpus (rendered from the labelled articles and seeds).")
@click.option("--quick", is_flag=True, help=f"A smoke run: at most {QUICK_PAGES} pages, short latency phase.")
@click.option("--offline-only", is_flag=True, help="Skip the streaming part (no Kafka/Elasticsearch needed).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON output file [default: benchmarks/out/bench.json].")
@click.option("--seed", type=int, default=0, show_default=True, help="Corpus seed.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=2, show_default=True,
              help="Processes for the offline pool figure.")
@click.option("--workers", default="1,2", show_default=True,
              help="Streaming configurations, comma separated: N workers, or NxP = N workers with a pool of P "
                   "processes each (default pool: as `rasid run`, the cores shared out among the workers).")
@click.option("--latency-seconds", type=float, default=30.0, show_default=True,
              help="Length of the half-load latency phase (0 = skip).")
@click.option("--profile", is_flag=True, help="Also write profiles (offline chain: pyinstrument; worker main: cProfile CPU time).")
@click.option("--keep", is_flag=True, help="Keep the benchmark namespaces (topics, indices) and worker data.")
def bench_cmd(pages: int, quick: bool, offline_only: bool, out: Path | None, seed: int, jobs: int, workers: str,
              latency_seconds: float, profile: bool, keep: bool) -> None:
    """Benchmark the whole pipeline on a realistic corpus: offline `rasid process` vs trafilatura,
    streaming through Kafka and workers into Elasticsearch, latency at half load, worker memory."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        counts = tuple(parse_worker_spec(x) for x in workers.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("expected a comma list like 1,2,2x1 (workers[xpool size])",
                                 param_hint="--workers") from None
    res = run_bench(pages, quick=quick, offline_only=offline_only, out=out, seed=seed, jobs=jobs,
                    workers=counts, profile=profile, latency_s=latency_seconds, keep=keep,
                    log=lambda m: click.echo(m, err=True))
    print_report(res)
    click.echo(f"wrote {out or OUT_DIR / 'bench.json'}", err=True)
