"""Run ``rasid`` under cProfile with a CPU-time clock and write the top functions as text.

Used by ``rasid bench --profile`` for a worker's main process: on a shared 2-core
machine a wall-clock profile of the main process mostly shows the time it waited
for a core (the pool processes hold them), not what it spent.

    python -m benchmarks.cpuprof OUT.txt worker --web-port ... --data-dir ...
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    from pipeline.cli import main as rasid_main

    prof = cProfile.Profile(time.process_time)
    prof.enable()
    try:
        rasid_main(args, prog_name="rasid")
    finally:
        prof.disable()
        prof.dump_stats(out.rsplit(".", 1)[0] + ".pstats")  # for `python -m pstats`
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        buf.write(f"main-thread CPU seconds: {stats.total_tt:.2f} (cProfile, time.process_time)\n\n")
        stats.sort_stats("cumulative").print_stats(70)
        stats.sort_stats("tottime").print_stats(50)
        with open(out, "w") as fh:
            fh.write(buf.getvalue())


if __name__ == "__main__":
    main()
