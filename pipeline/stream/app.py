"""The faust app of the Rasid workers.

``create_app(settings, agents=...)`` builds a :class:`RasidApp` from Settings (namespace → app id and
consumer group ``<ns>-workers``, topic names, broker, partitions, message sizes, web port, data
dir), registers the chosen agents (:mod:`pipeline.stream.agents`), installs the offset corrections
(:mod:`pipeline.stream.commits`, checked against the installed faust before anything starts) and the
offset watch (:mod:`pipeline.stream.offsets`):

    <ns>.raw ──process──▶ <ns>.dedupe (1 partition) ──dedupe──▶ <ns>.articles ──index──▶ Elasticsearch
                 │                                      │                          │
                 └────────────── <ns>.deadletter ◀──────┴──────────────────────────┘

    dedupe also ──▶ <ns>.stories, <ns>.alerts ──stories──▶ Elasticsearch;  <ns>.alerts ──alerts──▶ webhooks

``raw``, ``articles`` and ``deadletter`` are created by ``rasid init`` (:mod:`pipeline.core.kafka`)
with ``settings.kafka_partitions``; they are declared here with the same count and
``internal=False``, so faust never creates or alters them. ``<ns>.dedupe`` and the dedupe table's
changelog are internal: faust creates them. The delivery contract (produce, confirm, ack) is
:mod:`pipeline.stream.delivery`.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any, Iterable

import faust
from faust.worker import Worker

from pipeline.core import memtrim
from pipeline.core.kafka import internal_topics, workers_group
from pipeline.core.log import logging_config
from pipeline.core.settings import Settings
from pipeline.stream import commits, offsets
from pipeline.stream.agents import AGENT_NAMES
from pipeline.stream.agents import register as register_agents

log = logging.getLogger("rasid.worker")


class RasidApp(faust.App):
    """A faust App that also carries the Settings it was built from and its topics."""

    settings: Settings
    raw_topic: Any
    articles_topic: Any
    deadletter_topic: Any
    dedupe_topic: Any
    agent_names: tuple[str, ...] = ()
    # faust's own service lines go to a faust logger (quiet unless RASID_LOG_LEVEL=debug), not this module's
    logger = logging.getLogger("faust.app.rasid")

    def on_rebalance_end(self) -> None:
        """After a rebalance's recovery: say so in Rasid's own words (faust's INFO lines are hidden)."""
        super().on_rebalance_end()
        log.info("worker ready: %d partition(s) assigned", len(self.consumer.assignment()),
                 extra={"stage": "worker"})


def _credentials(settings: Settings) -> Any:
    """faust's credentials for a secured cluster (None on plaintext)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    ctx = settings.kafka_ssl_context()
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(username=settings.kafka_username or "",
                                     password=settings.kafka_password.get_secret_value() if settings.kafka_password else "",
                                     ssl_context=ctx, mechanism=settings.kafka_sasl_mechanism)
    return faust.SSLCredentials(ctx)


def create_app(
    settings: Settings,
    agents: Iterable[str] = AGENT_NAMES,
    *,
    web_port: int | None = None,
    data_dir: str | Path | None = None,
) -> RasidApp:
    """The workers' faust app for ``settings`` with the named agents registered."""
    agents = tuple(agents)
    unknown = set(agents) - set(AGENT_NAMES)
    if unknown:
        raise ValueError(f"unknown agents {sorted(unknown)}; known: {', '.join(AGENT_NAMES)}")
    port = web_port or settings.worker_web_port
    datadir = Path(data_dir or settings.data_dir)
    max_bytes = settings.kafka_max_message_bytes
    app = RasidApp(
        workers_group(settings),
        broker=[f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")],
        broker_credentials=_credentials(settings),
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
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 3),
        # a batch may legitimately spend a while in the process pool (several pages × timeout)
        broker_max_poll_interval=max(300.0, 4 * settings.process_timeout_s),
        producer_max_request_size=max_bytes + 64_000,
        producer_compression_type=settings.kafka_compression_type,
        producer_max_batch_size=settings.kafka_producer_batch_bytes,
        consumer_max_fetch_size=max_bytes + 64_000,
        web_enabled=True,
        web_port=port,
        web_bind=settings.worker_web_bind,
        # the assignor tells workers apart by this URL: one per worker, never shared
        canonical_url=f"http://{socket.gethostname()}:{port}",
        datadir=str(datadir),
        logging_config=logging_config(settings.log_level, settings.log_as_json),
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
    register_agents(app, agents)
    app.agent_names = agents
    commits.apply()
    commits.check(app)
    offsets.install(app, settings)
    if settings.memory_trim_s > 0:  # freed heap back to the OS (pipeline/core/memtrim.py)
        app.timer(settings.memory_trim_s)(_trim_memory)
    return app


async def _trim_memory() -> None:
    memtrim.trim()


def run_worker(app: RasidApp) -> None:
    """Run a faust worker for ``app`` until SIGINT/SIGTERM."""
    s = app.settings
    worker = Worker(app, loglevel=s.log_level, logging_config=logging_config(s.log_level, s.log_as_json),
                    redirect_stdouts=False, quiet=True)
    worker.spinner = None  # no terminal animation in logs (stdout is often a pipe or a file)
    worker.execute_from_commandline()
