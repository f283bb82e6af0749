"""``rasid run``: the main job — connectors, workers and the indexer, supervised.

One parent process starts child processes (``rasid connect`` and N ×
``rasid worker``; the Elasticsearch sink is an agent inside every worker),
restarts a child that dies with exponential backoff (reset once it has run a
while) and reports it, and on SIGTERM/SIGINT forwards SIGTERM so each child
drains and commits, waits up to ``--grace`` seconds, then kills what is left.

Separate processes rather than one event loop: a crash or a CPU-bound stall in
one part (HTML extraction) cannot take the others down, and the same commands
run alone in docker-compose. Children die with the parent (Linux
PR_SET_PDEATHSIG), so a killed ``rasid run`` leaves no orphans behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

import click

from pipeline.core.log import get_logger, setup_logging
from pipeline.core.metrics import metrics_port_for
from pipeline.core.retry import backoff_delay
from pipeline.core.settings import Settings
from pipeline.stream.pool import pool_size_per_worker
from pipeline.stream.namespace import setup_namespace

log = get_logger("rasid.run")

PR_SET_PDEATHSIG = 1
STABLE_AFTER_S = 60.0  # a child that ran this long is healthy again: its backoff resets


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


# --------------------------------------------------------------------- startup checks

def check_kafka(settings: Settings, timeout: float = 3.0) -> str | None:
    """None when a bootstrap broker accepts connections, else a message saying what to do."""
    for part in settings.kafka_bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return None
        except OSError:
            continue
    return (f"Kafka at {settings.kafka_bootstrap} is not reachable — start it with `rasid devstack up` "
            "or set RASID_KAFKA_BOOTSTRAP")


def check_elasticsearch(settings: Settings, timeout: float = 5.0) -> str | None:
    """None when Elasticsearch answers, else a message saying what is wrong and what to do."""
    from elasticsearch import ApiError, AuthenticationException, Elasticsearch, TransportError

    from pipeline.stream.es import describe_es

    url = describe_es(settings)["url"]
    kw = settings.es_client_kwargs()
    kw.update(request_timeout=timeout, max_retries=0)
    es = Elasticsearch(**kw)
    try:
        info = es.info()
        major = int(str(info["version"]["number"]).split(".")[0])
        if major != 8:
            return f"Elasticsearch at {url} is version {info['version']['number']}; Rasid needs 8.x"
        return None
    except AuthenticationException:
        return (f"Elasticsearch at {url} refused the credentials — set RASID_ES_USERNAME/RASID_ES_PASSWORD "
                "or RASID_ES_API_KEY")
    except TransportError as e:
        return (f"Elasticsearch at {url} is not reachable ({type(e).__name__}) — start it with "
                "`rasid devstack up` or set RASID_ES_URL")
    except ApiError as e:
        return f"Elasticsearch at {url} answered {e.status_code}: {e.message}"
    finally:
        es.close()


# --------------------------------------------------------------------- children

@dataclass
class ChildSpec:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    dirs: list[Path] = field(default_factory=list)  # created (with parents) before each start


@dataclass
class Child:
    spec: ChildSpec
    proc: asyncio.subprocess.Process | None = None
    started: float = 0.0
    restarts: int = 0
    failures: int = 0  # consecutive quick failures, drives the backoff


def child_specs(settings: Settings, workers: int, connectors: bool,
                extra_connect_args: tuple[str, ...] = ()) -> list[ChildSpec]:
    """The processes of ``rasid run``: each worker gets its own web port and data dir."""
    py = [sys.executable, "-m", "pipeline.cli"]
    specs = []
    pool = pool_size_per_worker(settings, workers)
    for i in range(workers):
        data_dir = Path(settings.data_dir) / f"worker-{i}"
        specs.append(ChildSpec(
            name=f"worker-{i}",
            args=py + ["worker"],
            env={
                "RASID_WORKER_WEB_PORT": str(settings.worker_web_port + i),
                "RASID_DATA_DIR": str(data_dir),
                # every process its own scrape target: connectors on the base port, worker i on base+1+i
                "RASID_METRICS_PORT": str(metrics_port_for(settings.metrics_port, "worker", i)),
                "RASID_PROCESS_POOL_SIZE": str(pool),
            },
            dirs=[data_dir],
        ))
    if connectors:
        specs.append(ChildSpec(name="connectors", args=py + ["connect", *extra_connect_args],
                               env={"RASID_METRICS_PORT": str(settings.metrics_port)}))
    return specs


class Supervisor:
    def __init__(self, specs: list[ChildSpec], *, grace_s: float = 30.0, backoff_s: float = 1.0,
                 backoff_max_s: float = 60.0, status: Any = None) -> None:
        self.children = [Child(s) for s in specs]
        self.status = status  # an async callable printing the status block, run every status_interval
        self.grace_s = grace_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.stopping = asyncio.Event()
        self._signals = 0

    async def _spawn(self, child: Child) -> None:
        env = {**os.environ, **child.spec.env}
        for d in child.spec.dirs:
            d.mkdir(parents=True, exist_ok=True)
        child.proc = await asyncio.create_subprocess_exec(
            *child.spec.args, env=env, preexec_fn=_die_with_parent,
        )
        child.started = time.monotonic()
        log.info("started %s (pid %d)", child.spec.name, child.proc.pid,
                 extra={"stage": "run", "child": child.spec.name, "pid": child.proc.pid})

    async def _watch(self, child: Child) -> None:
        """Keep one child alive until shutdown."""
        while not self.stopping.is_set():
            await self._spawn(child)
            assert child.proc is not None
            rc = await child.proc.wait()
            if self.stopping.is_set():
                return
            ran = time.monotonic() - child.started
            child.failures = 0 if ran >= STABLE_AFTER_S else child.failures + 1
            delay = backoff_delay(max(0, child.failures - 1), self.backoff_s, self.backoff_max_s)
            child.restarts += 1
            log.error("%s exited with code %s after %.1fs; restarting in %.1fs (restart #%d)",
                      child.spec.name, rc, ran, delay, child.restarts,
                      extra={"stage": "run", "child": child.spec.name, "exit_code": rc,
                             "restarts": child.restarts})
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    def request_stop(self, signum: int | None = None) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("stopping (%s): asking children to drain and commit",
                     signal.Signals(signum).name if signum else "request", extra={"stage": "run"})
            self.stopping.set()
        else:
            log.warning("second signal: killing children now", extra={"stage": "run"})
            self._send_all(signal.SIGKILL)

    def _send_all(self, sig: int) -> None:
        for c in self.children:
            if c.proc is not None and c.proc.returncode is None:
                try:
                    c.proc.send_signal(sig)
                except ProcessLookupError:
                    pass

    async def _shutdown(self) -> None:
        self._send_all(signal.SIGTERM)
        procs = [c.proc for c in self.children if c.proc is not None and c.proc.returncode is None]
        if not procs:
            return
        done, pending = await asyncio.wait([asyncio.ensure_future(p.wait()) for p in procs],
                                           timeout=self.grace_s)
        if pending:
            left = [c.spec.name for c in self.children if c.proc is not None and c.proc.returncode is None]
            log.warning("children still running after %.0fs grace, killing: %s", self.grace_s, ", ".join(left),
                        extra={"stage": "run"})
            self._send_all(signal.SIGKILL)
            await asyncio.wait(pending, timeout=10)
        for c in self.children:
            if c.proc is not None:
                log.info("%s stopped (code %s)", c.spec.name, c.proc.returncode,
                         extra={"stage": "run", "child": c.spec.name, "exit_code": c.proc.returncode})

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig)
        watchers = [asyncio.create_task(self._watch(c)) for c in self.children]
        if self.status is not None:
            watchers.append(asyncio.create_task(self.status(self.stopping)))
        await self.stopping.wait()
        await self._shutdown()
        for w in watchers:
            w.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)


# --------------------------------------------------------------------- the status block

def free_port_block(n: int, host: str = "127.0.0.1") -> int:
    """A base port with ``n`` free ports from it (connectors on the base, worker i on base + 1 + i)."""
    import random

    for _ in range(200):
        base = random.randint(20000, 60000 - n)
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind((host, base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {n} free ports found on {host}")


def status_printer(settings: Settings, workers: int, connectors: bool, interval_s: float = 10.0) -> Any:
    """A task printing the status block (pipeline/cli/live.py) to stdout every ``interval_s``."""
    from rich.console import Console

    from pipeline.cli import live
    from pipeline.cli.view import visual_order
    from pipeline.stream.es import es_client

    urls = [f"http://127.0.0.1:{metrics_port_for(settings.metrics_port, 'worker', i)}/metrics" for i in range(workers)]
    if connectors:
        urls.append(f"http://127.0.0.1:{metrics_port_for(settings.metrics_port, 'connectors')}/metrics")
    console = Console(highlight=False)
    visual = visual_order()

    async def run(stopping: asyncio.Event) -> None:
        es = es_client(settings)
        prev = None
        try:
            while not stopping.is_set():
                try:
                    await asyncio.wait_for(stopping.wait(), timeout=interval_s)
                    return
                except asyncio.TimeoutError:
                    pass
                cur = await asyncio.to_thread(live.take, settings, urls, es, prev)
                console.print(live.block(prev, cur, visual))
                prev = cur
        finally:
            es.close()

    return run


# --------------------------------------------------------------------- the command

@click.command("run")
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(0, 64),
              help="Worker processes (each its own web port and data dir, up to the raw partition count); "
                   "0 = none. Each gets its share of the cores as its process pool.")
@click.option("--no-connectors", is_flag=True, help="Do not start the connectors.")
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Connect only this source (repeatable).")
@click.option("--grace", default=30.0, show_default=True, type=float,
              help="Seconds children get to drain and commit on shutdown before they are killed.")
@click.option("--skip-init", is_flag=True, help="Do not create topics/index template at startup.")
def run_cmd(workers: int, no_connectors: bool, source_ids: tuple[str, ...], grace: float,
            skip_init: bool) -> None:
    """Run the pipeline: connectors → Kafka → workers (process + index) → Elasticsearch."""
    from pipeline.core.settings import get_settings

    settings = get_settings()
    setup_logging(settings.log_level, settings.log_as_json)
    problems = [p for p in (check_kafka(settings), check_elasticsearch(settings)) if p]
    if problems:
        for p in problems:
            click.echo(f"rasid run: {p}", err=True)
        raise SystemExit(2)
    if not skip_init:
        setup_namespace(settings)
    extra: list[str] = []
    for s in source_ids:
        extra += ["--source", s]
    on_terminal = sys.stdout.isatty() and not settings.log_as_json
    if on_terminal and not settings.metrics_port:  # the status block reads the children's /metrics
        settings = settings.model_copy(update={"metrics_port": free_port_block(workers + 1)})
    specs = child_specs(settings, workers, not no_connectors, tuple(extra))
    if not specs:
        raise click.UsageError("nothing to run: --workers 0 and --no-connectors")
    log.info("rasid run: %d worker(s)%s, namespace %s", workers, "" if no_connectors else " + connectors",
             settings.namespace, extra={"stage": "run"})
    status = status_printer(settings, workers, not no_connectors) if on_terminal else None
    asyncio.run(Supervisor(specs, grace_s=grace, status=status).run())
    log.info("rasid run stopped", extra={"stage": "run"})
