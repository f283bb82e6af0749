"""Offline figures: the rasid chain against ``trafilatura.extract`` on the same pages in the same run,
interleaved in small blocks; ``rasid process`` over the process pool; a pyinstrument profile."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable
from benchmarks.corpus import Corpus, write_corpus
from benchmarks.corpus import PROJECT_ROOT
from benchmarks.measure import BLOCK, Clock, StageTimer, figures_of, per_second


TRAFILATURA_CALL = "trafilatura.extract(html_bytes, url=url)  # library defaults"


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
    order = ["decode", "extract.parse", "extract.trafilatura", "extract", "clean", "classify", "enrich", "claims", "dedupe"]
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
        "trafilatura": {**figures_of(traf, n), "call": TRAFILATURA_CALL, "empty_results": traf_empty},
        "process_1core": {**figures_of(rasid, n), "what": "process_page_full + sketch + DedupeIndex.assign, in-process"},
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
        "pages_per_s": per_second(n, got["wall_s"]),
        "pages_per_cpu_s": per_second(n, got["cpu_s"]),
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
