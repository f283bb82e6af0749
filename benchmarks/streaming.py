"""Streaming figures: pages through Kafka → ``rasid worker`` → Elasticsearch in a namespace of their
own, the steady rate from the documents' ``indexed_at``, fetched→indexed latency, CPU per page and
memory of each process tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from benchmarks.corpus import Page
from benchmarks.corpus import PROJECT_ROOT
from benchmarks.measure import MemorySampler, STALL_S, cpu_of, free_port, utc_now, pct, per_second, server_pids, tree_cpu


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
        port = str(free_port())
        if profile and i == 0:
            # CPU time, not wall: the main process mostly waits for a core the pool holds
            cmd = [sys.executable, "-m", "benchmarks.cpuprof", str(run_dir / "profile-worker.txt"), port, str(data_dir)]
        else:
            cmd = [str(Path(sys.executable).with_name("rasid")), "worker", "--web-port", port, "--data-dir", str(data_dir)]
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
            raw = RawPage(id=aid, url=url, source=page.source, status=200, fetched_at=utc_now(),
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
    return per_second(len(ts) - first_batch, ts[-1] - ts[0])


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
        "fetched_to_indexed_p95_s": round(pct(lat, 0.95), 3) if lat else None,
        "fetched_to_indexed_max_s": round(max(lat), 3) if lat else None,
        "fetched_to_processed_median_s": round(statistics.median(proc_lat), 3) if proc_lat else None,
        "fetched_to_processed_p95_s": round(pct(proc_lat, 0.95), 3) if proc_lat else None,
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

    from pipeline.core.schema import compress_html
    from pipeline.core.settings import load_settings
    from pipeline.stream.namespace import drop_namespace, setup_namespace
    from pipeline.stream.pool import pool_size_per_worker

    ns = f"bench{secrets.token_hex(3)}-w{k}" + (f"x{pool_size}" if pool_size else "")
    settings = load_settings(namespace=ns, **({"process_pool_size": pool_size} if pool_size else {}))
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
    servers = server_pids()
    workers: list[Worker] = []
    sampler: MemorySampler | None = None
    alias = settings.es_alias
    try:
        setup_namespace(settings)
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
            "pages_per_s_incl_startup": per_second(count, t_done - t_start),
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
        srv0, cpu0, t0 = cpu_of(servers), tree_cpu(sampler), time.time()
        asyncio.run(_produce(settings, warm, html_z))
        count, problem = _wait_count(es, alias, base + n_ok, workers, stall_s=STALL_S)
        srv1, cpu1 = cpu_of(servers), tree_cpu(sampler)
        wdocs = _docs(es, alias, [r[0] for r in warm])
        widx = [t for t in (_parse_ts(d.get("indexed_at")) for d in wdocs) if t is not None]
        wproc = [t for t in (_parse_ts(d.get("processed_at")) for d in wdocs) if t is not None]
        n_w = len(widx)
        rate = per_second(n_w, max(widx) - t0) if widx else None
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
            "process_stage_pages_per_s": per_second(len(wproc), max(wproc) - t0) if wproc else None,
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
