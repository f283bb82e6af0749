"""The pinned jars: the lock file, checksum-verified downloads from Maven Central, and the JDK that runs them."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from devstack.layout import DevstackError, LOCK_FILE, MIN_JAVA, cache_dir


# --------------------------------------------------------------------------- lock + downloads


def load_lock(path: Path = LOCK_FILE) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DevstackError(f"lock file {path} is missing (regenerate it with devstack/regen-lock.sh)") from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def jar_cache() -> Path:
    return cache_dir() / "jars"


def fetch(artifact: dict[str, Any], cache: Path | None = None, timeout: float = 60.0) -> Path:
    """Return the verified local copy of one locked artifact, downloading it when absent.

    A cached or downloaded file whose SHA-256 differs from the lock is deleted and the start is
    refused: the lock, not the network, decides what runs.
    """
    cache = cache or jar_cache()
    dest = cache / artifact["path"]
    if dest.exists():
        got = sha256_file(dest)
        if got == artifact["sha256"]:
            return dest
        dest.unlink()
        raise DevstackError(
            f"cached {dest} has SHA-256 {got}, the lock says {artifact['sha256']}; "
            "deleted it, run `rasid devstack up` again to download it afresh"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = artifact["url"]
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "rasid-devstack"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise DevstackError(f"download failed: {url}: {e}") from None
        if h.hexdigest() != artifact["sha256"]:
            raise DevstackError(
                f"download of {url} has SHA-256 {h.hexdigest()}, the lock says {artifact['sha256']}; "
                "deleted it and refusing to start"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def fetch_all(artifacts: list[dict[str, Any]], cache: Path | None = None) -> tuple[list[Path], int]:
    """Fetch artifacts in parallel (order preserved); returns paths and how many were downloaded."""
    cache = cache or jar_cache()
    missing = sum(1 for a in artifacts if not (cache / a["path"]).exists())
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        paths = list(pool.map(lambda a: fetch(a, cache), artifacts))
    return paths, missing


# --------------------------------------------------------------------------- java


@dataclass(frozen=True)
class Java:
    java: Path
    home: Path
    major: int


def parse_java_major(version_output: str) -> int | None:
    """Major version from `java -version` output ('17.0.15', '1.8.0_392' -> 8, '21')."""
    m = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not m:
        return None
    major = int(m.group(1))
    if major == 1 and m.group(2):
        major = int(m.group(2))
    return major


def find_java() -> Java:
    candidates = []
    for var in ("RASID_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]) / "bin" / "java")
    found = shutil.which("java")
    if found:
        candidates.append(Path(found))
    for java in candidates:
        if not java.exists():
            continue
        try:
            out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        major = parse_java_major(out.stderr + out.stdout)
        if major is None:
            continue
        if major < MIN_JAVA:
            raise DevstackError(f"{java} is Java {major}; the devstack needs Java >= {MIN_JAVA} (set JAVA_HOME)")
        home = java.resolve().parent.parent
        return Java(java=java.resolve(), home=home, major=major)
    raise DevstackError(f"Java not found: install a JDK >= {MIN_JAVA} (e.g. openjdk-17-jdk-headless) or set JAVA_HOME")
