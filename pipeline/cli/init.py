"""`rasid init`: create the namespace's Kafka topics and install the Elasticsearch index template.

Everything here is idempotent and cheap when nothing is missing, so workers, `rasid run` and
tests call :func:`ensure_topics` / :func:`ensure_es` at start instead of relying on an operator
having run `rasid init` first.

Topics (``<ns>.`` prefix): ``raw``, ``articles``, ``deadletter`` with ``kafka_partitions``
partitions (the faust app uses the same count) and the compacted ``seen`` topic that holds the
connectors' seen-URL state. Elasticsearch: the composable template ``<ns>-articles`` for the
monthly indices ``<ns>-articles-YYYY.MM`` (all behind the read alias ``<ns>-articles``), plus the
current month's index so the alias exists from the start.
"""

from __future__ import annotations

import logging
import time
import click
from pipeline.core.settings import get_settings
from pipeline.core.kafka import ensure_topics
from pipeline.core.errors import OperatorError
from pipeline.core.urls import redact
from pipeline.stream.es import ensure_es


log = logging.getLogger("rasid.bootstrap")


# --------------------------------------------------------------------------- CLI


@click.command("init")
@click.option("--kafka/--no-kafka", default=True, help="Create the Kafka topics.")
@click.option("--es/--no-es", "with_es", default=True, help="Install the Elasticsearch template and alias.")
def init_cmd(kafka: bool, with_es: bool) -> None:
    """Create the namespace's Kafka topics and Elasticsearch template/alias (idempotent)."""
    settings = get_settings()
    if kafka:
        t = time.monotonic()
        res = ensure_topics(settings)
        click.echo(
            f"kafka {settings.kafka_bootstrap}: created {res['created'] or 'none'}, "
            f"existing {res['existing'] or 'none'} ({time.monotonic() - t:.1f}s)"
        )
        for name in res["mismatched"]:
            click.echo(f"  warning: {name} has a partition count different from RASID_KAFKA_PARTITIONS={settings.kafka_partitions}")
    if with_es:
        t = time.monotonic()
        try:
            res = ensure_es(settings)
        except OperatorError as e:  # its message names the URL: never with the credentials in it
            e.args = (redact(str(e)),)
            raise
        click.echo(
            f"elasticsearch {redact(settings.es_url)}: template {res['template']} v{res['template_version']} {res['template_action']}, "
            f"{res['index_action']}, alias {settings.es_alias} ({time.monotonic() - t:.1f}s)"
        )
        if res.get("mapping_update"):
            click.echo(f"  mappings: {res['mapping_update']}")
        if res.get("timestamps_backfilled"):
            click.echo(f"  @timestamp set on {res['timestamps_backfilled']} document(s) indexed before it existed")
