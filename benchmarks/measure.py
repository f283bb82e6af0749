"""What the benchmarks measure with: stage timers, a clock of wall and CPU time, rates and percentiles,
the CPU and memory of process trees (psutil)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator


PROJECT_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = PROJECT_ROOT / "benchmarks" / "out"
BLOCK = 8  # pages per interleaved block (trafilatura block, then rasid block)
STALL_S = 90.0  # streaming: give up waiting for documents after this long without progress


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def per_second(n: int, seconds: float) -> float | None:
    return round(n / seconds, 2) if seconds > 0 else None


def pct(values: list[float], q: float) -> float | None:
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
        ("pipeline.stages.extract", "parse_html", "extract.parse"),
        ("pipeline.stages.extract", "_run_trafilatura", "extract.trafilatura"),
        ("pipeline.stages.extract", "extract", "extract"),
        ("pipeline.stages.clean", "clean", "clean"),
        ("pipeline.stages.terms", "make_doc", "classify"),
        ("pipeline.stages.classify", "classify", "classify"),
        ("pipeline.stages.enrich", "enrich", "enrich"),
        ("pipeline.stages.claims", "extract_claims", "claims"),
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


def figures_of(clock: Clock, n: int) -> dict[str, Any]:
    return {
        "pages": n,
        "wall_s": round(clock.wall, 3),
        "cpu_s": round(clock.cpu, 3),
        "pages_per_s": per_second(n, clock.wall),
        "pages_per_cpu_s": per_second(n, clock.cpu),
        "ms_per_page": round(1000 * clock.wall / n, 2) if n else None,
    }


# =========================================================================== streaming


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_pids() -> dict[str, int]:
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


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
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


def tree_cpu(sampler: "MemorySampler") -> dict[str, float]:
    snap = sampler.snapshot_cpu()
    return {"main": sum(c["main"] for c in snap.values()), "pool": sum(c["children"] for c in snap.values())}
