"""``rasid demo``: the whole pipeline on this machine, no internet needed.

Starts the devstack when nothing answers, serves a sample of Arabic outlets on 127.0.0.1
(devstack/demo.py), runs connectors and a worker (``rasid run``) in a namespace of its own until
every article is indexed, then prints what an analyst would see: counts per topic and source, a
search for «كيماوي» that finds «الكيميائي», the places, the stories of more than one article.
``--keep`` leaves it all running to explore with ``rasid search`` or Kibana.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from devstack.demo import build, write_sources
from devstack.outlet import Outlet
from pipeline.cli.search import build_query, split_highlight
from pipeline.cli.view import rtl, visual_order
from pipeline.core.settings import get_settings, load_settings
from pipeline.stream.es import es_client
from pipeline.stream.namespace import drop_namespace, setup_namespace


def _ensure_devstack(console: Console) -> None:
    from devstack.stack import status, up

    ok, _ = status()
    if not ok:
        console.print("[dim]starting the devstack (local Kafka and Elasticsearch)…[/]")
        up()


def _wait_indexed(es: Any, alias: str, expected: int, timeout_s: float, console: Console) -> int:
    deadline = time.monotonic() + timeout_s
    n, shown = 0, -1
    with console.status("indexing…") as st:
        while time.monotonic() < deadline:
            try:
                es.indices.refresh(index=alias, ignore_unavailable=True, allow_no_indices=True)
                n = es.count(index=alias, ignore_unavailable=True, allow_no_indices=True)["count"]
            except Exception:  # noqa: BLE001 - the alias appears with the first document
                n = 0
            if n != shown:
                st.update(f"indexing… {n}/{expected} articles")
                shown = n
            if n >= expected:
                break
            time.sleep(1)
    return n


def _report(es: Any, settings: Any, console: Console, visual: bool) -> None:
    alias = settings.es_alias
    aggs = es.search(index=alias, size=0, aggs={
        "topics": {"terms": {"field": "topic_ids", "size": 20}},
        "sources": {"terms": {"field": "source", "size": 20}},
        "places": {"terms": {"field": "places.name", "size": 12}},
        "stories": {"terms": {"field": "story_id", "min_doc_count": 2, "size": 10},
                    "aggs": {"arts": {"top_hits": {"size": 5, "_source": ["title", "source"]}},
                             "outlets": {"cardinality": {"field": "source"}}}},
    }).body["aggregations"]
    for title, key in (("Articles per topic", "topics"), ("Articles per source", "sources")):
        t = Table(title=title, title_justify="left")
        t.add_column(key[:-1])
        t.add_column("articles", justify="right")
        for b in aggs[key]["buckets"]:
            t.add_row(b["key"], str(b["doc_count"]))
        console.print(t)
    places = "، ".join(f"{b['key']} ({b['doc_count']})" for b in aggs["places"]["buckets"])
    console.print(Text("Places: ", style="bold") + Text(rtl(places, visual)))
    hits = es.search(index=alias, body=build_query("كيماوي", size=5)).body["hits"]
    console.print(Text(f"\nrasid search كيماوي → {hits['total']['value']} article(s)", style="bold"))
    for h in hits["hits"]:
        frags = h.get("highlight", {}).get("body") or h.get("highlight", {}).get("title") or []
        terms = sorted({t for f in frags for t in split_highlight(f)[1]})
        console.print(Text(f"  · {rtl(h['_source'].get('title') or '', visual)}"), Text(f"   matched: {'، '.join(terms)}",
                                                                                         style="green"))
    console.print(Text("\nStories of more than one article", style="bold"))
    for b in aggs["stories"]["buckets"]:
        outlets = b["outlets"]["value"]
        console.print(Text(f"  story {b['key'][:12]} · {b['doc_count']} articles, {outlets} "
                           f"outlet{'s' if outlets != 1 else ''}", style="cyan"))
        for a in b["arts"]["hits"]["hits"]:
            console.print(Text(f"    {a['_source'].get('source')}: {rtl(a['_source'].get('title') or '', visual)}"))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@click.command("demo")
@click.option("--keep", is_flag=True, help="Leave the outlets and the pipeline running (Ctrl-C to stop).")
@click.option("--timeout", "timeout_s", default=100.0, show_default=True, help="Seconds to wait for the indexing.")
def demo_cmd(keep: bool, timeout_s: float) -> None:
    """See Rasid work offline: sample outlets → Kafka → workers → Elasticsearch, then the results."""
    console = Console(highlight=False)
    t0 = time.monotonic()
    _ensure_devstack(console)
    base = get_settings()
    ns = f"demo{secrets.token_hex(3)}"
    work = Path(tempfile.mkdtemp(prefix=f"rasid-{ns}-"))
    outlet = Outlet().start()
    spec = build(outlet)
    sources = write_sources(spec, work / "sources.yaml")
    env = {**os.environ, "RASID_NAMESPACE": ns, "RASID_SOURCES_FILE": str(sources), "RASID_STATE_DIR": str(work / "state"),
           "RASID_DATA_DIR": str(work / "faust"), "RASID_FETCH_ALLOW_HOSTS": f"{outlet.host}:{outlet.port}",
           "RASID_PER_HOST_DELAY_S": "0.05", "RASID_PER_HOST_CONCURRENCY": "4", "RASID_LOG_FORMAT": "json",
           "RASID_KAFKA_BOOTSTRAP": base.kafka_bootstrap, "RASID_ES_URL": base.es_url}
    settings = load_settings(namespace=ns)
    setup_namespace(settings)
    console.print(f"[bold]Rasid demo[/] · namespace [cyan]{ns}[/] · {spec['articles']} articles on "
                  f"{len(spec['sources']['sources'])} outlets at {outlet.base} · log {work / 'run.log'}")
    # a closed terminal (SIGHUP) or a kill (SIGTERM) must stop the pipeline too: it runs in its own session
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    run = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--skip-init", "--grace", "10"], env=env,
                           stdout=subprocess.DEVNULL, stderr=(work / "run.log").open("wb"), start_new_session=True)
    es = es_client(settings)
    try:
        n = _wait_indexed(es, settings.es_alias, spec["articles"], timeout_s, console)
        console.print(f"{n}/{spec['articles']} articles indexed in {time.monotonic() - t0:.0f}s\n")
        _report(es, settings, console, visual_order())
        if keep:
            console.print(f"\n[bold]Still running[/]: RASID_NAMESPACE={ns} rasid search …, rasid stories --since all, "
                          "rasid search --story ID, rasid status; Ctrl-C to stop.")
            try:
                while run.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        if n < spec["articles"]:
            raise click.ClickException(f"only {n} of {spec['articles']} articles indexed in {timeout_s:.0f}s; "
                                       f"see {work / 'run.log'}")
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
        outlet.stop()
        es.close()
        drop_namespace(settings)
