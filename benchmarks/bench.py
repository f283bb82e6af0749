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

import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable
import click
from benchmarks.corpus import build_corpus
from benchmarks.measure import OUT_DIR, utc_now
from benchmarks.offline import offline_pool_rate, run_offline
from benchmarks.streaming import ensure_devstack, run_streaming_one


QUICK_PAGES = 8

TARGETS = {
    "offline_ratio_min": 1.0,
    "offline_ratio_aim": 2.0,
    "streaming_ratio_min": 0.8,
    "latency_p95_max_s": 2.0,
    "worker_rss_max_mb": 400.0,
}


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
        "started_at": utc_now().isoformat(),
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
@click.option("--stories", "stories_sizes", default=None, metavar="SIZES",
              help="Only the story-assignment benchmark (benchmarks/stories_bench.py) at these live counts, "
                   "e.g. 10000,50000,200000.")
def bench_cmd(pages: int, quick: bool, offline_only: bool, out: Path | None, seed: int, jobs: int, workers: str,
              latency_seconds: float, profile: bool, keep: bool, stories_sizes: str | None) -> None:
    """Benchmark the whole pipeline on a realistic corpus: offline `rasid process` vs trafilatura,
    streaming through Kafka and workers into Elasticsearch, latency at half load, worker memory."""
    import logging

    if stories_sizes:
        from benchmarks.stories_bench import main as stories_main

        sys.exit(stories_main(["--sizes", stories_sizes, "--seed", str(seed)]
                              + (["--out", str(out)] if out else [])))

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
