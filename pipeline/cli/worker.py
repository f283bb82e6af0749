"""``rasid worker``: one stream worker (process, dedupe and index agents, or a chosen few)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.core.log import setup_logging
from pipeline.core.metrics import serve_metrics
from pipeline.core.kafka import ensure_topics
from pipeline.core.settings import get_settings
from pipeline.stream.agents import AGENT_NAMES
from pipeline.stream.app import create_app, run_worker
from pipeline.stream.health import check_kafka, wait_until_up


def parse_agents(spec: str) -> tuple[str, ...]:
    """``"all"`` or a comma list of agent names → the names, validated."""
    if spec.strip().lower() in ("", "all"):
        return AGENT_NAMES
    names = tuple(dict.fromkeys(n.strip().lower() for n in spec.split(",") if n.strip()))
    unknown = set(names) - set(AGENT_NAMES)
    if unknown:
        raise click.BadParameter(f"unknown agent(s) {', '.join(sorted(unknown))}; choose from {', '.join(AGENT_NAMES)}")
    return names


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
    settings = get_settings()
    setup_logging(settings.log_level, settings.log_as_json)
    names = parse_agents(agents_spec)
    wait_until_up(lambda: check_kafka(settings), "the worker starts once it answers")
    ensure_topics(settings)  # idempotent; a worker started during an outage may come before `rasid init`
    port = settings.metrics_port if metrics_port is None else metrics_port
    if port:
        serve_metrics(port, settings.metrics_bind)
    if data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
    app = create_app(settings, names, web_port=web_port, data_dir=data_dir)
    run_worker(app)
    sys.exit(0)
