"""``rasid devstack up|down|status|logs`` (the stack itself: the ``devstack`` package)."""

from __future__ import annotations

import os
import shutil
import sys
import click
from devstack.layout import DevstackError, Layout, START_TIMEOUT_S, STOP_TIMEOUT_S, devstack_dir
from devstack.procs import tail
from devstack.stack import down, status, up


# --------------------------------------------------------------------------- CLI


@click.group()
def devstack() -> None:
    """Local single-node Kafka (127.0.0.1:9092) and Elasticsearch (127.0.0.1:9200) for development and tests."""


@devstack.command("up")
@click.option("--timeout", default=START_TIMEOUT_S, show_default=True, help="Seconds to wait for both servers.")
def up_cmd(timeout: float) -> None:
    """Start (or reuse) the devstack and wait until Kafka answers and Elasticsearch is yellow or green."""
    up(timeout=timeout)


@devstack.command("down")
@click.option("--timeout", default=STOP_TIMEOUT_S, show_default=True, help="Seconds before SIGKILL.")
def down_cmd(timeout: float) -> None:
    """Stop the Kafka and Elasticsearch JVMs that this checkout started."""
    for line in down(timeout=timeout):
        click.echo(line)


@devstack.command("status")
def status_cmd() -> None:
    """Report both servers; exits 1 if either is down."""
    ok, lines = status()
    for line in lines:
        click.echo(line)
    sys.exit(0 if ok else 1)


@devstack.command("logs")
@click.argument("component", required=False, type=click.Choice(["kafka", "es"]))
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("-n", "--lines", default=50, show_default=True)
def logs_cmd(component: str | None, follow: bool, lines: int) -> None:
    """Show the server logs (both unless COMPONENT is given)."""
    layout = Layout(devstack_dir())
    files = {"kafka": layout.kafka_log, "es": layout.es_log}
    chosen = [files[component]] if component else list(files.values())
    existing = [p for p in chosen if p.exists()]
    if not existing:
        raise DevstackError(f"no log yet at {', '.join(map(str, chosen))} (was the devstack started from this checkout?)")
    if follow:
        tail_bin = shutil.which("tail")
        if not tail_bin:
            raise DevstackError("`tail` is needed for --follow")
        os.execv(tail_bin, [tail_bin, "-n", str(lines), "-F", *map(str, existing)])
    for p in existing:
        if len(existing) > 1:
            click.echo(f"==> {p} <==")
        click.echo(tail(p, lines))
