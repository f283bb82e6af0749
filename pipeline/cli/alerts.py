"""``rasid alerts tail|test``: what fired, and what would fire.

``tail`` reads ``<ns>.alerts`` like ``rasid tail`` (by assignment, committing nothing). ``test`` runs
the stream's chain offline on saved pages — extract → … → enrich (:mod:`pipeline.stream.batch`),
story assignment in publication order (:mod:`pipeline.stages.dedupe`), then the story monitor
(:mod:`pipeline.stages.monitor`) with the rules of an alerts file — and prints which rules fire
(as of each article's own time: old pages fire as they would have when new). No Kafka, no
Elasticsearch, no webhook is called.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from pipeline.cli.process import page_zone, timezone_option
from pipeline.cli.tail import tail_records
from pipeline.cli.view import BIDI_OPTION_HELP, make_console, parse_since, print_view, rtl, short, visual_order
from pipeline.core.settings import Settings, get_settings


@click.group("alerts")
def alerts_group() -> None:
    """Alerts of the namespace (config/alerts.yaml): tail what fired, test rules on saved pages."""


@alerts_group.command("tail")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new alerts as they fire.")
@click.option("--from-beginning", is_flag=True, help="Start at the first retained alert.")
@click.option("--since", metavar="T", help="Start at alerts from T ago (10m, 2h, 1d) or an ISO time.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (logical order), for piping.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None,
              help="Print at most N alerts (default 20 without --follow/--from-beginning/--since).")
@click.option("--bidi", type=click.Choice(["logical", "visual"]), default=None, help=BIDI_OPTION_HELP)
def tail_cmd(follow, from_beginning, since, as_json, limit, bidi):
    """Print the alerts fired (topic <ns>.alerts): the last ones, and with --follow the new ones as
    they fire. It reads by partition assignment and commits nothing."""
    from pipeline.core.kafka import kafka_consumer

    if from_beginning and since:
        raise click.UsageError("--from-beginning and --since exclude each other")
    settings = get_settings()
    bidi = visual_order(bidi)
    console = make_console()
    consumer = kafka_consumer(settings)
    try:
        for v in tail_records(consumer, settings.alerts_topic, "alerts", follow=follow, from_beginning=from_beginning,
                              since=parse_since(since) if since else None, limit=limit):
            print_view(console, v, as_json, bidi)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        sys.stderr.close()
    except TimeoutError as e:
        raise click.ClickException(str(e)) from None
    finally:
        consumer.close()


def _source_of(art: dict, name: str) -> str:
    """A saved page's source: the host of its canonical URL, else its directory's name."""
    host = urlsplit(art.get("url") or "").hostname
    return host or Path(name).resolve().parent.name or "local"


def run_alert_test(files: list[str], settings: Settings, rules_file: Path, source: str | None = None,
                   tz_name: str | None = None) -> dict[str, Any]:
    """The chain, story assignment and rules over ``files``; {articles, stories, alerts, errors}.
    ``tz_name``: the zone page times without an offset are read in (else UTC)."""
    from pipeline.stages.alert_rules import parse_alerts
    from pipeline.stages.dedupe import index_from_settings
    from pipeline.stages.monitor import StoryMonitor
    from pipeline.stages.process import ChainConfig
    from pipeline.stream.batch import FileTask, process_file

    config = parse_alerts(rules_file)
    chain = ChainConfig.from_settings(settings)
    done, errors = [], []
    for name in files:
        res = process_file(FileTask(name, None, None, source, chain, True, tz_name))
        if "error" in res:
            errors.append(res)
            continue
        art = res["article"]
        art["source"] = art.get("source") or _source_of(art, name)
        when = datetime.fromisoformat(res["when"]) if res.get("when") else None
        done.append((when or datetime.now(timezone.utc), name, art, res.get("sketch"), res.get("event")))
    done.sort(key=lambda x: (x[0], x[1]))  # publication order, as the outlets published them
    index = index_from_settings(settings=settings)
    monitor = StoryMonitor({}, config)
    files_of: dict[str, str] = {}
    alerts: list[dict] = []
    stories: dict[str, dict] = {}
    for when, name, art, sk, event in done:
        verdict = index.assign(art["id"], sk, when, now=when, features=event)
        art["story_id"], art["duplicate_of"] = verdict.story_id, verdict.duplicate_of
        files_of.setdefault(art["id"], name)
        obs = monitor.observe(art, now=when, check_age=False)
        stories[obs.story_id] = obs.doc
        for a in obs.alerts:
            a["files"] = [files_of.get(i, i) for i in a["article_ids"]]
            alerts.append(a)
    return {"articles": len(done), "stories": list(stories.values()), "alerts": alerts, "errors": errors}


@alerts_group.command("test")
@click.option("--rules", "rules_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Alerts file to test (default RASID_ALERTS_FILE, config/alerts.yaml).")
@click.option("--source", default=None,
              help="Source id of every page (default: the host of its canonical URL, else its directory).")
@timezone_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert, then a summary object.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def test_cmd(rules_file, source, tz_name, as_json, files):
    """Which rules would fire on saved pages FILES (HTML, any charset), taken in publication order
    with story assignment, as the stream would. Nothing is sent."""
    from pipeline.core.yamlfile import ConfigError

    settings = get_settings()
    path = rules_file or Path(settings.alerts_file)
    try:
        out = run_alert_test(list(files), settings, path, source, page_zone(settings, source, tz_name))
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    summary = {"files": len(files), "articles": out["articles"], "stories": len(out["stories"]),
               "alerts": len(out["alerts"]), "errors": out["errors"]}
    if as_json:
        for a in out["alerts"]:
            click.echo(json.dumps(a, ensure_ascii=False))
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    c = make_console()
    bidi = visual_order(None)
    from rich.markup import escape

    for a in out["alerts"]:
        c.print(f"[bold yellow]{escape(a['kind'])}/{escape(a['rule'])}[/]  story {escape(str(a['story_id'])[:12])}  "
                f"[cyan]{escape(','.join(a['sources']))}[/]  [bold]{escape(rtl(short(a.get('title') or '', 90), bidi))}[/]")
        c.print(f"    [dim]{escape(', '.join(a['files']))}[/]")
    multi = sum(1 for s in out["stories"] if s["source_count"] > 1)
    c.print(f"{summary['files']} file(s), {summary['articles']} article(s), {summary['stories']} story(ies) "
            f"({multi} told by several sources), {summary['alerts']} alert(s) from {escape(str(path))}")
    for e in out["errors"]:
        c.print(f"[red]{escape(e['file'])}: {escape(e['stage'])}/{escape(e['error'])}[/] {escape(short(e.get('detail') or '', 100))}")
