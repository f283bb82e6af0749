"""``rasid sources list|check|discover``: the source registry, what each endpoint answered, and the
endpoints discovery found (with the YAML to paste into config/sources.yaml)."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from pipeline.core.settings import get_settings

STATE_STYLE = {"ok": "green", "blocked": "yellow", "broken": "red", "never checked": "dim",
               "archive": "dim", "closed": "dim", "disabled": "dim"}


@click.group("sources")
def sources_group() -> None:
    """The source registry (config/sources.yaml, or RASID_SOURCES_FILE)."""


def _endpoint_summary(states: list[tuple[str, bool]]) -> str:
    """'2 ok, 1 blocked (never answered)' from (state, never answered) pairs."""
    if not states:
        return "-"
    parts = []
    for st in ("ok", "blocked", "broken", "never checked"):
        n = sum(1 for s, _ in states if s == st)
        if n:
            never = sum(1 for s, nv in states if s == st and nv and st in ("blocked", "broken"))
            parts.append(f"[{STATE_STYLE[st]}]{n} {st}{f' ({never} never answered)' if never else ''}[/]")
    return ", ".join(parts)


@sources_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@click.option("--all", "include_disabled", is_flag=True, help="Include disabled sources.")
def list_cmd(as_json: bool, include_disabled: bool) -> None:
    """Show the registered sources: category, status (closed and archived outlets are not polled), their
    endpoints and what the last check saw of each, and the endpoints discovery found (with their YAML)."""
    from rich.console import Console
    from rich.table import Table

    from connectors.autodiscover import DiscoveryState
    from connectors.discovery import endpoints_yaml
    from connectors.registry import VerificationState, load_registry

    settings = get_settings()
    registry = load_registry(settings.sources_file)
    state = VerificationState(settings.state_dir)
    found_state = DiscoveryState(settings.state_dir)
    sources = registry.select(None, include_disabled=include_disabled)
    rows = []
    for s in sources:
        outcome = found_state.outcome(s)
        configured = {e.url for _, e in s.endpoints()}
        found = [f for f in (outcome.found if outcome else []) if f.url not in configured]
        rows.append((s, outcome, found, endpoints_yaml(found, outcome.at) if found and outcome else None))
    if as_json:
        for s, outcome, found, yaml_text in rows:
            eps = [{"kind": k, "url": e.url, "verified": state.verified(e), "state": state.state(e.url),
                    "never_answered": state.never_answered(e.url)} for k, e in s.endpoints()]
            click.echo(json.dumps({
                "id": s.id, "name": s.name, "homepage": s.homepage, "enabled": s.enabled, "status": s.status,
                "polled": s.live, "category": s.category, "blocked_hint": s.blocked_hint, "discovery": s.discovery,
                "poll_interval": s.poll_interval, "endpoints": eps,
                "discovered": [{"kind": f.kind, "url": f.url, "via": f.via, "state": state.state(f.url)} for f in found],
                "discovered_at": outcome.at if outcome else None, "discovery_error": outcome.error if outcome else None,
                "yaml": yaml_text}, ensure_ascii=False))
        return
    table = Table(title=f"Sources ({settings.sources_file})")
    for col in ("id", "name", "category", "status", "feeds", "sitemaps", "sections", "discovered", "poll s",
                "endpoints"):
        table.add_column(col)
    for s, outcome, found, _ in rows:
        status = s.status if s.enabled else "disabled"
        style = "green" if s.live else "dim"
        states = [(state.state(e.url), state.never_answered(e.url)) for _, e in s.endpoints()]
        states += [(state.state(f.url), state.never_answered(f.url)) for f in found]
        disc = str(len(found)) if found else ("none found" if outcome else ("-" if s.discovery else "off"))
        table.add_row(s.id, s.name_en or s.name, s.category or "-",
                      f"[{style}]{status}{'' if s.live else ' (not polled)'}[/]", str(len(s.feeds)),
                      str(len(s.sitemaps)), str(len(s.sections)), disc, f"{s.poll_interval:g}",
                      _endpoint_summary(states) if s.live else "-")
    console = Console()
    console.print(table)
    live = [r for r in rows if r[0].live]
    console.print(f"{len(rows)} sources: {len(live)} polled, {len(rows) - len(live)} not polled "
                  f"(closed, archived or disabled); {sum(1 for r in live if not r[0].endpoints())} rely on discovery")
    for s, outcome, found, yaml_text in rows:
        if yaml_text:
            console.print(f"\n[bold]{s.id}[/]: discovered endpoints, to paste under `- id: {s.id}` in "
                          f"{settings.sources_file.name}:", highlight=False)
            console.print(yaml_text, markup=False, highlight=False)


@sources_group.command("check")
@click.argument("source_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON lines.")
@click.option("--no-save", is_flag=True, help="Do not record results in the state files.")
@click.option("--no-discover", is_flag=True,
              help="Do not look for endpoints of sources whose configured ones are all broken (or that list none).")
def check_cmd(source_id: str | None, as_json: bool, no_save: bool, no_discover: bool) -> None:
    """Fetch every endpoint (of SOURCE_ID, or of all sources) once; report status, latency, entries, last
    published date and whether it is ok, blocked (the outlet refuses us) or broken, and whether it has ever
    answered. Endpoints discovery found are checked too and shown with their YAML. Exit 1 if any failed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from connectors.check import CheckResult, check_sources
    from connectors.registry import load_registry

    settings = get_settings()
    registry = load_registry(settings.sources_file)
    sources = registry.select([source_id] if source_id else None)
    total = sum(len(s.endpoints()) if s.live else 1 for s in sources)
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as progress:
        task = progress.add_task("", total=total)
        done = 0

        def advance(r: CheckResult) -> None:
            nonlocal done, total
            done += 1
            total = max(total, done)
            progress.update(task, completed=done, total=total, description=f"{r.source} {r.kind}")

        results = asyncio.run(check_sources(settings, sources, on_result=advance, save=not no_save,
                                            discover=not no_discover))
    if as_json:
        for r in results:
            click.echo(json.dumps(r.as_dict(), ensure_ascii=False))
    else:
        table = Table(title="Endpoint check")
        for col in ("source", "kind", "url", "status", "latency", "entries", "articles", "last published", "result"):
            table.add_column(col, overflow="fold")
        for r in results:
            if r.state in ("archive", "closed", "disabled"):
                result = f"[dim]{r.state}: not polled[/dim]"
            elif r.ok:
                result = "[green]ok[/green]"
            else:
                result = f"[{STATE_STYLE[r.state]}]{r.state}: {r.error}[/]"
                if r.never_answered and r.kind != "discovery":
                    result += " [dim](never answered)[/dim]"
            kind = f"{r.kind} (discovered: {r.via})" if r.discovered else r.kind
            table.add_row(r.source, kind, r.url, str(r.status or "-"),
                          f"{r.latency_s:.2f}s" if r.latency_s is not None else "-",
                          str(r.entries), str(r.articles + r.children), r.last_published or "-", result)
        out = Console()
        out.print(table)
        for sid in dict.fromkeys(r.source for r in results if r.yaml and r.ok):
            out.print(f"\n[bold]{sid}[/]: discovered endpoints, to paste under `- id: {sid}` in "
                      f"{settings.sources_file.name}:", highlight=False)
            out.print("\n".join(r.yaml for r in results if r.source == sid and r.yaml and r.ok), markup=False,
                      highlight=False)
    failed = [r for r in results if r.counts_as_failure]
    checked = [r for r in results if r.kind != "source"]
    blocked = sum(1 for r in failed if r.state == "blocked")
    never = sum(1 for r in failed if r.never_answered and r.kind != "discovery")
    click.echo(f"{len(checked) - len(failed)}/{len(checked)} endpoints answered; {blocked} blocked, "
               f"{len(failed) - blocked} broken; {never} never answered", err=True)
    sys.exit(1 if failed else 0)


@sources_group.command("discover")
@click.argument("url")
@click.option("--id", "source_id", help="Id of the new source (default: from the host name).")
@click.option("--name", help="Name of the new source (default: the site's own name).")
@click.option("--json", "as_json", is_flag=True, help="Print what was found as JSON instead of YAML.")
def discover_cmd(url: str, source_id: str | None, name: str | None, as_json: bool) -> None:
    """Find the feeds and news sitemaps of the outlet at URL (its homepage's <link rel="alternate">,
    robots.txt Sitemap: lines, the usual paths), validate each, and print a ready config/sources.yaml
    entry. Fetches as politely as the connectors (robots.txt, per-host delay). Exit 1 if nothing found."""
    from connectors.discovery import EndpointFinder, Outcome, slug_for, source_yaml
    from connectors.http import PoliteClient
    from connectors.registry import Source
    from pipeline.core.urls import UnsafeURL, check_url_syntax

    try:
        check_url_syntax(url)
    except UnsafeURL as e:
        raise click.BadParameter(f"not a usable http(s) URL ({e.reason})", param_hint="URL") from None
    from pydantic import ValidationError

    settings = get_settings()
    try:
        source = Source(id=source_id or slug_for(url), name=name or "?", homepage=url, discovery=True)
    except ValidationError as e:
        raise click.BadParameter(e.errors()[0]["msg"], param_hint="--id") from None

    async def find() -> Outcome:
        async with PoliteClient(settings) as client:
            return await EndpointFinder(client, source).find()

    outcome = asyncio.run(find())
    if as_json:
        click.echo(json.dumps(outcome.as_dict(), ensure_ascii=False))
    else:
        click.echo(source_yaml(outcome, source_id=source_id, name=name), nl=False)
    for u, why in outcome.tried:
        click.echo(f"tried {u}: {why}", err=True)
    if not outcome.found:
        what = "blocked" if outcome.blocked else "nothing usable found"
        click.echo(f"{url}: {what}" + (f" ({outcome.error})" if outcome.error else ""), err=True)
        sys.exit(1)
    click.echo(f"{len(outcome.found)} endpoint(s) found and validated", err=True)
