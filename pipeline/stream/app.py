"""The faust app of the Rasid workers, and ``rasid worker``.

``create_app(settings, agents=...)`` builds a :class:`RasidApp` from Settings
(namespace → app id / consumer group ``<ns>-workers``, topic names, broker,
partitions, message sizes, web port, data dir) and registers the chosen
agents (:mod:`pipeline.stream.agents`):

    <ns>.raw ──process──▶ <ns>.dedupe (1 partition) ──dedupe──▶ <ns>.articles ──index──▶ Elasticsearch
                 │                                      │                          │
                 └────────────── <ns>.deadletter ◀──────┴──────────────────────────┘

``raw``, ``articles`` and ``deadletter`` are created by ``rasid init``
(pipeline.cli.init) with ``settings.kafka_partitions``; they are declared
here with the same count and ``internal=False``, so faust never creates or
alters them. ``<ns>.dedupe`` (single partition: the one serialisation point
of de-duplication) and the dedupe table's changelog are internal: faust
creates them, and :func:`internal_topics` lists them for bootstrap.

The module attribute ``app`` (built lazily from ``get_settings()`` with every
agent) exists for faust's own tooling (``faust -A pipeline.stream.app …``);
``rasid worker`` builds its app with the options it was given.

Delivery semantics (at least once): agents take batches with
``stream.noack_take`` and ack every event only after all their output records
(articles or dead letters) are confirmed by Kafka; faust commits an offset
once every earlier offset of the partition is acked, flushing the producer
first. A worker killed mid-batch therefore re-reads the batch; the article id
as key/ES ``_id`` and the idempotent dedupe state make the redelivery harmless.
(``stream.take()`` would ack the batch in a ``finally`` even when the agent is
cancelled mid-batch on shutdown, losing it.)
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any, Iterable

import click
import faust

from pipeline.stream import commits as faust_fixes
from pipeline.core.settings import Settings, get_settings

faust_fixes.apply()

AGENT_NAMES = ("process", "dedupe", "index")
DEDUPE_TABLE = "dedupe-state"


def dedupe_topic_name(settings: Settings) -> str:
    return settings.topic("dedupe")


def app_id(settings: Settings) -> str:
    return f"{settings.namespace}-workers"


def internal_topics(settings: Settings) -> list[dict[str, Any]]:
    """Topics the workers need beyond raw/articles/deadletter (for bootstrap or operators).

    Faust creates them itself at start; creating them beforehand is harmless
    if the partition counts are these.
    """
    return [
        {"name": dedupe_topic_name(settings), "partitions": 1,
         "config": {"retention.ms": str(7 * 86400_000),
                    "max.message.bytes": str(settings.kafka_max_message_bytes + 64 * 1024)}},
        {"name": f"{app_id(settings)}-{DEDUPE_TABLE}-changelog", "partitions": 1,
         "config": {"cleanup.policy": "compact"}},
    ]


class RasidApp(faust.App):
    """A faust App that also carries the Settings it was built from and its topics."""

    settings: Settings
    raw_topic: Any
    articles_topic: Any
    deadletter_topic: Any
    dedupe_topic: Any
    agent_names: tuple[str, ...] = ()


def _logging_config(settings: Settings) -> dict[str, Any]:
    fmt = {"()": "pipeline.core.log.JsonFormatter"} if settings.log_json else {
        "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    quiet = {name: {"level": "WARNING"} for name in ("aiokafka", "kafka", "faust.transport", "mode")}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": fmt},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "default"}},
        "root": {"level": settings.log_level, "handlers": ["stderr"]},
        "loggers": quiet,
    }


def create_app(
    settings: Settings | None = None,
    agents: Iterable[str] = AGENT_NAMES,
    *,
    web_port: int | None = None,
    data_dir: str | Path | None = None,
) -> RasidApp:
    """The workers' faust app for ``settings`` with the named agents registered."""
    settings = settings or get_settings()
    agents = tuple(agents)
    unknown = set(agents) - set(AGENT_NAMES)
    if unknown:
        raise ValueError(f"unknown agents {sorted(unknown)}; known: {', '.join(AGENT_NAMES)}")
    port = web_port or settings.worker_web_port
    datadir = Path(data_dir or settings.data_dir)
    max_bytes = settings.kafka_max_message_bytes
    app = RasidApp(
        app_id(settings),
        broker=[f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")],
        processing_guarantee="at_least_once",
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        # bounded memory: faust buffers this many messages per partition ahead of the agent
        stream_buffer_maxsize=max(4 * settings.batch_size, 64),
        broker_max_poll_records=max(2 * settings.batch_size, 50),
        broker_session_timeout=float(os.environ.get("BROKER_SESSION_TIMEOUT", settings.kafka_session_timeout_s)),
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 3),
        # a batch may legitimately spend a while in the process pool (several pages × timeout)
        broker_max_poll_interval=max(300.0, 4 * settings.process_timeout_s),
        producer_max_request_size=max_bytes + 64_000,
        producer_compression_type=settings.kafka_compression_type,
        producer_max_batch_size=settings.kafka_producer_batch_bytes,
        consumer_max_fetch_size=max_bytes + 64_000,
        web_enabled=True,
        web_port=port,
        web_bind="0.0.0.0",
        # the assignor tells workers apart by this URL: one per worker, never shared
        canonical_url=f"http://{socket.gethostname()}:{port}",
        datadir=str(datadir),
        logging_config=_logging_config(settings),
        worker_redirect_stdouts=False,
    )
    app.settings = settings
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    app.raw_topic = app.topic(settings.raw_topic, partitions=settings.kafka_partitions, internal=False, **raw)
    app.articles_topic = app.topic(settings.articles_topic, partitions=settings.kafka_partitions,
                                   internal=False, **raw)
    app.deadletter_topic = app.topic(settings.deadletter_topic, partitions=settings.kafka_partitions,
                                     internal=False, **raw)
    spec = internal_topics(settings)[0]
    app.dedupe_topic = app.topic(spec["name"], partitions=1, internal=True, config=spec["config"], **raw)
    from pipeline.stream import agents as agents_mod

    agents_mod.register(app, agents)
    app.agent_names = agents
    _register_housekeeping(app, settings)
    return app


def _register_housekeeping(app: RasidApp, settings: Settings) -> None:
    """Timers of every worker: re-read messages faust lost track of (see
    :mod:`pipeline.stream.commits`) and keep ``rasid_consumer_lag`` current for the
    partitions this worker holds."""
    import logging

    from pipeline.core.metrics import CONSUMER_LAG, OFFSET_REPAIRS

    log = logging.getLogger("rasid.worker")
    repairer = faust_fixes.Repairer(
        app, on_repair=lambda tp, lost: OFFSET_REPAIRS.labels(topic=tp.topic).inc(len(lost)))
    app.offset_repairer = repairer

    @app.timer(settings.offset_check_s)
    async def check_offsets() -> None:
        try:
            await repairer.tick()
        except Exception:
            log.exception("offset check failed; next round in %.0fs", settings.offset_check_s)

    @app.timer(settings.lag_report_s)
    async def report_lag() -> None:
        consumer = app.consumer
        try:
            tps = sorted(consumer.assignment())
            if not tps:
                return
            ends = await consumer.highwaters(*tps)
            for tp in tps:
                start = faust_fixes.floor_of(consumer, tp)
                if start is None or tp not in ends:
                    continue
                CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(max(0, ends[tp] - start))
        except Exception as e:  # the broker is busy or gone: next round
            log.info("consumer lag not updated: %s", e)


def parse_agents(spec: str) -> tuple[str, ...]:
    """``"all"`` or a comma list of agent names → the names, validated."""
    if spec.strip().lower() in ("", "all"):
        return AGENT_NAMES
    names = tuple(dict.fromkeys(n.strip().lower() for n in spec.split(",") if n.strip()))
    unknown = set(names) - set(AGENT_NAMES)
    if unknown:
        raise click.BadParameter(f"unknown agent(s) {', '.join(sorted(unknown))}; choose from {', '.join(AGENT_NAMES)}")
    return names


def run_worker(app: RasidApp) -> None:
    """Run a faust worker for ``app`` until SIGINT/SIGTERM."""
    from faust.worker import Worker

    s = app.settings
    worker = Worker(
        app,
        loglevel=s.log_level,
        logging_config=_logging_config(s),
        redirect_stdouts=False,
        quiet=True,
    )
    worker.spinner = None  # no terminal animation in logs (stdout is often a pipe or a file)
    worker.execute_from_commandline()


@click.command("worker")
@click.option("--web-port", type=int, default=None,
              help="faust web port of this worker (default RASID_WORKER_WEB_PORT); one per worker.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="faust data dir of this worker (default RASID_DATA_DIR); one per worker.")
@click.option("--agents", "agents_spec", default="all", show_default=True,
              help=f"Comma list of agents to run: {', '.join(AGENT_NAMES)}.")
@click.option("--metrics-port", type=int, default=None, help="Prometheus /metrics port (0 = off).")
def worker_cmd(web_port: int | None, data_dir: str | None, agents_spec: str, metrics_port: int | None) -> None:
    """Run a stream worker: extract/clean/classify/enrich (process), de-duplicate (dedupe) and
    index into Elasticsearch (index). Start several, each with its own --web-port and --data-dir,
    up to the partition count."""
    from pipeline.core.log import setup_logging
    from pipeline.core.metrics import serve_metrics

    settings = get_settings()
    setup_logging(settings.log_level, settings.log_json)
    names = parse_agents(agents_spec)
    port = settings.metrics_port if metrics_port is None else metrics_port
    if port:
        serve_metrics(port)
    if data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
    app = create_app(settings, names, web_port=web_port, data_dir=data_dir)
    run_worker(app)
    sys.exit(0)


def __getattr__(name: str) -> Any:
    # Lazily build the module-level app: importing this module (e.g. for
    # worker_cmd) must not contact anything or register agents twice.
    if name == "app":
        global app
        app = create_app(get_settings())
        return app
    raise AttributeError(name)
