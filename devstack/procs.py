"""The JVMs as processes: pid files, liveness, stopping, the lock that serialises up/down, log tails."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, Iterator
from devstack.layout import HOST, Layout, STOP_TIMEOUT_S, cache_dir


# --------------------------------------------------------------------------- processes


def port_open(port: int, host: str = HOST, timeout: float = 0.3) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def pid_cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped) counts as gone
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


def our_pid(path: Path, mark: str) -> int | None:
    """The pid in `path` if that process is alive and is the JVM we started (its command line has `mark`)."""
    pid = read_pid(path)
    if pid is None or not pid_alive(pid):
        return None
    cmd = pid_cmdline(pid)
    if cmd is not None and mark not in cmd:
        return None  # pid reused by something else
    return pid


def marked_pids(mark: str) -> list[int]:
    """Every live process whose command line carries `mark` (catches JVMs whose pid file was lost)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            cmd = pid_cmdline(int(entry.name))
            if cmd and mark in cmd and pid_alive(int(entry.name)):
                pids.append(int(entry.name))
    return pids


def stop_pid(pid: int, timeout: float = STOP_TIMEOUT_S) -> str:
    """SIGTERM, wait, then SIGKILL. Returns how it ended."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return "stopped"
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    return "killed after timeout"


def tail(path: Path, lines: int = 30) -> str:
    try:
        data = path.read_bytes()[-64_000:].decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


@contextlib.contextmanager
def global_lock() -> Iterator[None]:
    """Serialise `up`/`down` across checkouts and concurrent test sessions on this machine."""
    path = cache_dir() / "devstack.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def owner_file() -> Path:
    return cache_dir() / "devstack-owner.json"


def record_owner(component: str, layout: Layout, pid: int) -> None:
    path = owner_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[component] = {"dir": str(layout.root), "pid": pid, "started": time.time()}
    path.write_text(json.dumps(data, indent=1))


def recorded_owner(component: str) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(owner_file().read_text()).get(component)
    return None
