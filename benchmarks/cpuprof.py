"""Run ``rasid`` under cProfile with a CPU-time clock and write the top functions as text.

Used by ``rasid bench --profile`` for a worker's main process: on a shared 2-core
machine a wall-clock profile of the main process mostly shows the time it waited
for a core (the pool processes hold them), not what it spent.

    python -m benchmarks.cpuprof OUT.txt WEB_PORT DATA_DIR

(the worker's settings come from the RASID_* environment, as for ``rasid worker``).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time


def main() -> None:
    out, web_port, data_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    from pipeline.core.log import setup_logging
    from pipeline.core.settings import load_settings
    from pipeline.stream.app import create_app, run_worker

    settings = load_settings()
    setup_logging(settings.log_level, settings.log_as_json)
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    try:
        run_worker(create_app(settings, web_port=web_port, data_dir=data_dir))
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
