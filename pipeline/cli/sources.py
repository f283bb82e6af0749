"""``rasid sources list|check``: the source registry and what each endpoint answered."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from pipeline.core.settings import get_settings


@click.group("sources")
def sources_group() -> None:
    """The source registry (config/sources.yaml, or RASID_SOURCES_FILE)."""


@sources_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@click.option("--all", "include_disabled", is_flag=True, help="Include disabled sources.")
def list_cmd(as_json: bool, include_disabled: bool) -> None:
    """Show the registered sources and whether their endpoints are verified."""
    from rich.console import Console
    from rich.table import Table

    from connectors.registry import VerificationState, load_registry

    settings = get_settings()
    registry = load_registry(settings.sources_file)
    state = VerificationState(settings.state_dir)
    sources = registry.select(None, include_disabled=include_disabled)
    if as_json:
        for s in sources:
            eps = [{"kind": k, "url": e.url, "verified": state.verified(e)} for k, e in s.endpoints()]
            click.echo(json.dumps({"id": s.id, "name": s.name, "homepage": s.homepage, "enabled": s.enabled,
                                   "poll_interval": s.poll_interval, "endpoints": eps}, ensure_ascii=False))
        return
    table = Table(title=f"Sources ({settings.sources_file})")
    for col in ("id", "name", "feeds", "sitemaps", "sections", "poll s", "verified"):
        table.add_column(col)
    for s in sources:
        eps = s.endpoints()
        nver = sum(1 for _, e in eps if state.verified(e))
        mark = "verified" if nver == len(eps) else ("unverified" if nver == 0 else f"{nver}/{len(eps)} verified")
        style = "green" if nver == len(eps) else ("red" if nver == 0 else "yellow")
        table.add_row(s.id, s.name_en or s.name, str(len(s.feeds)), str(len(s.sitemaps)), str(len(s.sections)),
                      f"{s.poll_interval:g}", f"[{style}]{mark}[/{style}]")
    Console().print(table)


@sources_group.command("check")
@click.argument("source_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON lines.")
@click.option("--no-save", is_flag=True, help="Do not record results in the state file.")
def check_cmd(source_id: str | None, as_json: bool, no_save: bool) -> None:
    """Fetch every endpoint (of SOURCE_ID, or of all sources) once; report status, latency, entries,
    last published date, and mark the endpoints that answered as verified."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from connectors.check import CheckResult, check_sources
    from connectors.registry import load_registry

    settings = get_settings()
    registry = load_registry(settings.sources_file)
    sources = registry.select([source_id] if source_id else None)
    total = sum(len(s.endpoints()) for s in sources)
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as progress:
        task = progress.add_task("", total=total)

        def advance(r: CheckResult) -> None:
            progress.update(task, advance=1, description=f"{r.source} {r.kind}")

        results = asyncio.run(check_sources(settings, sources, on_result=advance, save=not no_save))
    if as_json:
        for r in results:
            click.echo(json.dumps(r.as_dict(), ensure_ascii=False))
    else:
        table = Table(title="Endpoint check")
        for col in ("source", "kind", "url", "status", "latency", "entries", "articles", "last published", "result"):
            table.add_column(col, overflow="fold")
        for r in results:
            table.add_row(
                r.source, r.kind, r.url, str(r.status or "-"),
                f"{r.latency_s:.2f}s" if r.latency_s is not None else "-",
                str(r.entries), str(r.articles + r.children), r.last_published or "-",
                "[green]ok[/green]" if r.ok else f"[red]{r.error}[/red]",
            )
        Console().print(table)
    failed = sum(1 for r in results if not r.ok)
    click.echo(f"{len(results) - failed}/{len(results)} endpoints answered", err=True)
    sys.exit(1 if failed else 0)
