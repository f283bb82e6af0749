"""``rasid connect``: the connectors alone (feeds, sitemaps, section pages → ``<ns>.raw``)."""

from __future__ import annotations

import asyncio
import json
import signal

import click

from pipeline.core.log import setup_logging
from pipeline.core.settings import get_settings
from pipeline.stream.health import check_kafka, wait_until_up


@click.command("connect")
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only this source (repeatable).")
@click.option("--once", is_flag=True, help="Poll every endpoint once, produce what is new, then exit.")
@click.option("--no-coordinate", is_flag=True,
              help="Do not join the connector group (a single instance that owns every source).")
def connect_cmd(source_ids: tuple[str, ...], once: bool, no_coordinate: bool) -> None:
    """Run the connectors only: poll feeds, sitemaps and section pages, produce raw pages to Kafka.

    Runs until SIGTERM/SIGINT and then shuts down cleanly (work under way is
    finished, the producer flushed, the group left)."""
    from connectors.runner import run_connectors
    from pipeline.core import metrics

    settings = get_settings()
    setup_logging(settings.log_level, settings.log_as_json)
    wait_until_up(lambda: check_kafka(settings), "the connectors start once it answers")
    metrics.serve_metrics(metrics.metrics_port_for(settings.metrics_port, "connectors"), settings.metrics_bind)

    async def main() -> dict:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stats = await run_connectors(settings, stop, list(source_ids) or None, once=once,
                                     coordinate=not no_coordinate)
        return stats.as_dict()

    stats = asyncio.run(main())
    if once:
        click.echo(json.dumps(stats))
