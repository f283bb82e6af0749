"""`rasid process -` on endless input (/dev/zero): read no further than the page limit, refuse it,
and stay within 200 MB of the process's baseline memory (psutil RSS, sampled on a thread)."""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from pipeline.core.settings import load_settings
from pipeline.stream.batch import run_files

MEMORY_BUDGET = 200 * 2**20
RASID = str(Path(sys.executable).parent / "rasid")


class _Endless:
    def __init__(self) -> None:
        self.buffer = open("/dev/zero", "rb")  # noqa: SIM115 - closed by the test


def _peak_rss(proc: psutil.Process, stop: threading.Event, out: list[int]) -> None:
    while not stop.wait(0.005):
        try:
            out.append(proc.memory_info().rss)
        except psutil.Error:
            return


def test_endless_stdin_is_read_bounded_in_process(monkeypatch):
    stdin = _Endless()
    monkeypatch.setattr(sys, "stdin", stdin)
    out = io.StringIO()
    gc.collect()
    me = psutil.Process()
    baseline = me.memory_info().rss
    samples: list[int] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_peak_rss, args=(me, stop, samples), daemon=True)
    sampler.start()
    t = time.monotonic()
    try:
        failures = run_files(["-"], settings=load_settings(), out=out)
    finally:
        stop.set()
        sampler.join()
        stdin.buffer.close()
    took = time.monotonic() - t
    peak = max(samples + [me.memory_info().rss]) - baseline
    print(f"\nrasid process - < /dev/zero (in process): +{peak / 2**20:.0f} MB over baseline, {took:.2f}s")
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert failures == 1 and line["error"] == "too_large" and line["stage"] == "read"
    assert peak < MEMORY_BUDGET and took < 10


def _run(args: list[str], stdin) -> tuple[subprocess.CompletedProcess, int]:
    proc = subprocess.Popen([RASID, "process", *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    samples: list[int] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_peak_rss, args=(psutil.Process(proc.pid), stop, samples), daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        stop.set()
        sampler.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), max(samples, default=0)


def test_rasid_process_dash_on_dev_zero(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>نص قصير</p></body></html>", encoding="utf-8")
    with open(page, "rb") as f:
        _, baseline = _run([str(page)], f)
    with open("/dev/zero", "rb") as zero:
        t = time.monotonic()
        r, peak = _run(["-"], zero)
        took = time.monotonic() - t
    print(f"\nrasid process - < /dev/zero: peak RSS {peak / 2**20:.0f} MB vs {baseline / 2**20:.0f} MB "
          f"for a small page, {took:.1f}s")
    [line] = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert line["error"] == "too_large" and r.returncode != 0
    assert peak - baseline < MEMORY_BUDGET
