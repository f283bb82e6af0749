"""Prometheus and promtool for the rules tests, without installing anything system-wide.

Found on PATH (Debian's ``prometheus`` package), else in the download cache, else fetched from
Debian's archive with ``apt-get download prometheus`` and unpacked there with ``dpkg-deb -x``
(statically linked binaries). ``python -m devstack.prometheus`` fetches them ahead of the tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.layout import DevstackError, cache_dir


def _cached() -> Path:
    return cache_dir() / "prometheus" / "usr" / "bin"


def binaries() -> tuple[Path, Path]:
    """(prometheus, promtool); DevstackError saying why when they cannot be had."""
    on_path = shutil.which("prometheus"), shutil.which("promtool")
    if all(on_path):
        return Path(on_path[0]), Path(on_path[1])
    bin_dir = _cached()
    if (bin_dir / "prometheus").exists() and (bin_dir / "promtool").exists():
        return bin_dir / "prometheus", bin_dir / "promtool"
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise DevstackError("prometheus/promtool not found: install Debian's `prometheus` package "
                            "(apt-get and dpkg-deb are needed to fetch it into the cache)")
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run(["apt-get", "download", "prometheus"], cwd=tmp, capture_output=True, text=True,
                             timeout=300)
        debs = list(Path(tmp).glob("prometheus_*.deb"))
        if got.returncode != 0 or not debs:
            raise DevstackError(f"apt-get download prometheus failed: {got.stderr.strip()[-500:]}")
        target = cache_dir() / "prometheus"
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(target)], check=True, timeout=300)
    return bin_dir / "prometheus", bin_dir / "promtool"


if __name__ == "__main__":
    try:
        print(*binaries())
    except DevstackError as e:
        print(f"prometheus: {e}", file=sys.stderr)
        sys.exit(1)
