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
from pipeline.stream.health import check_elasticsearch, check_kafka, wait_until_up_async
from pipeline.stream.namespace import setup_namespace

log = get_logger("rasid.run")

PR_SET_PDEATHSIG = 1
STABLE_AFTER_S = 60.0  # a child that ran this long is healthy again: its backoff resets


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


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
                 backoff_max_s: float = 60.0, background: list[Any] | None = None) -> None:
        self.children = [Child(s) for s in specs]
        # async callables taking the stopping event: the status block, a deferred namespace setup
        self.background = background or []
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
        watchers += [asyncio.create_task(task(self.stopping)) for task in self.background]
        await self.stopping.wait()
        await self._shutdown()
        for w in watchers:
            w.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)


# --------------------------------------------------------------------- the status block

def setup_when_up(settings: Settings) -> Any:
    """A task creating the namespace's topics and index template once Kafka and Elasticsearch answer
    (``rasid run`` started during an outage)."""

    async def run(stopping: asyncio.Event) -> None:
        for check in (check_kafka, check_elasticsearch):
            h = await wait_until_up_async(lambda c=check: c(settings), "the namespace is set up once it answers",
                                          stop=stopping.is_set)
            if not h.up:
                return
        await asyncio.to_thread(setup_namespace, settings)
        log.info("namespace set up", extra={"stage": "run"})

    return run


def ports_free(host: str, base: int, n: int) -> bool:
    """Whether ports base..base+n-1 can be bound on ``host`` right now."""
    socks = []
    try:
        for i in range(n):
            s = socket.socket()
            socks.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server binds: TIME_WAIT is free
            s.bind((host, base + i))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port_block(n: int, host: str = "127.0.0.1") -> int:
    """A base port with ``n`` free ports from it (connectors on the base, worker i on base + 1 + i)."""
    import random

    for _ in range(200):
        base = random.randint(20000, 60000 - n)
        if ports_free(host, base, n):
            return base
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
    kafka, es = check_kafka(settings), check_elasticsearch(settings)
    refused = [h for h in (kafka, es) if h.state == "refused"]
    if refused:  # waiting cannot fix wrong credentials or a wrong server
        for h in refused:
            click.echo(f"rasid run: {h.message}", err=True)
        raise SystemExit(2)
    if not kafka.up:
        log.warning("%s; starting anyway: connectors and workers wait for it and retry with backoff", kafka.message,
                    extra={"stage": "run", "dependency": "kafka"})
    if not es.up:
        log.warning("%s; starting anyway: the connectors keep producing to Kafka, the workers index what waits "
                    "there once it answers", es.message, extra={"stage": "run", "dependency": "elasticsearch"})
    background = []
    if not skip_init:
        if kafka.up and es.up:
            setup_namespace(settings)
        else:
            background.append(setup_when_up(settings))
    extra: list[str] = []
    for s in source_ids:
        extra += ["--source", s]
    on_terminal = sys.stdout.isatty() and not settings.log_as_json
    if on_terminal and not settings.metrics_port:  # the status block reads the children's /metrics
        settings = settings.model_copy(update={"metrics_port": free_port_block(workers + 1)})
    if workers and not ports_free(settings.worker_web_bind, settings.worker_web_port, workers):
        # another Rasid (another namespace, a demo, a test) holds the web ports: the workers would exit at
        # start and restart forever; take a free block and say so
        taken = settings.worker_web_port
        settings = settings.model_copy(update={"worker_web_port": free_port_block(workers, settings.worker_web_bind)})
        log.warning("worker web port %d is in use (another Rasid on this machine?); the workers use %d-%d instead",
                    taken, settings.worker_web_port, settings.worker_web_port + workers - 1, extra={"stage": "run"})
    specs = child_specs(settings, workers, not no_connectors, tuple(extra))
    if not specs:
        raise click.UsageError("nothing to run: --workers 0 and --no-connectors")
    log.info("rasid run: %d worker(s)%s, namespace %s", workers, "" if no_connectors else " + connectors",
             settings.namespace, extra={"stage": "run"})
    status = status_printer(settings, workers, not no_connectors) if on_terminal else None
    if status is not None:
        background.append(status)
    asyncio.run(Supervisor(specs, grace_s=grace, background=background).run())
    log.info("rasid run stopped", extra={"stage": "run"})
