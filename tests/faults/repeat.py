"""Run one fault test many times in a row with CPU hogs beside it, keeping the logs of every run.

    .venv/bin/python -m tests.faults.repeat                    # the kill -9 test, 30 runs, 1 hog
    .venv/bin/python -m tests.faults.repeat --runs 10 --hogs 2 tests/faults/test_pipeline_faults.py::test_...

A flaky no-loss test is a bug until shown otherwise; this is how it is shown. Each run's worker logs
(with the offset watch's per-partition view, ``RASID_OFFSET_TRACE``) are kept in
``.devstack/faults-repeat/run-NN``. Exits 1 when any run failed. Needs the devstack (the tests
start it when nothing answers).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = "tests/faults/test_pipeline_faults.py::test_worker_kill9_mid_batch_then_restart_every_id_indexed_once"


def _hog() -> None:  # pragma: no cover - a busy loop in a child process
    while True:
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("test", nargs="?", default=DEFAULT)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--hogs", type=int, default=1, help="busy-loop processes beside the test (CPU load)")
    args = ap.parse_args()
    out = ROOT / ".devstack" / "faults-repeat"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    name = args.test.rsplit("::", 1)[-1][:80]
    hogs = [multiprocessing.Process(target=_hog, daemon=True) for _ in range(args.hogs)]
    for h in hogs:
        h.start()
    failed = []
    try:
        for i in range(1, args.runs + 1):
            t0 = time.monotonic()
            res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", args.test],
                                 cwd=ROOT, capture_output=True, text=True)
            took = time.monotonic() - t0
            run_dir = out / f"run-{i:02d}"
            logs = ROOT / ".devstack" / "faults" / name
            if logs.exists():
                shutil.copytree(logs, run_dir)
            else:
                run_dir.mkdir()
            (run_dir / "pytest.txt").write_text(res.stdout + res.stderr)
            ok = res.returncode == 0
            if not ok:
                failed.append(i)
            print(f"run {i:2d}/{args.runs}: {'passed' if ok else 'FAILED'} in {took:.0f}s", flush=True)
    finally:
        for h in hogs:
            h.terminate()
    print(f"{args.runs - len(failed)}/{args.runs} passed with {args.hogs} CPU hog(s)"
          + (f"; failed runs {failed}, logs in {out}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
