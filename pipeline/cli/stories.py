"""``rasid stories``: what is happening, from a terminal — the story documents (``<ns>-stories``).

Kibana has the stories view and the "breaking now" panel; an analyst or operator on a terminal gets the
same documents here: the stories active in a window, the latest first, or the breaking ones, or the ones
that grew most in their last hour, each with its outlets, places and story id. ``rasid search --story ID``
then lists a story's articles.

A story document is rewritten as its articles arrive, so its hour counts (``articles_last_hour``,
``growth``) are as of its latest article: ``--sort top`` ranks the stories active in the window by them.
"""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

import click

from pipeline.cli.search import render_text, run_search, since_to_range
from pipeline.cli.view import BIDI_OPTION_HELP, visual_order

SORTS = {
    # newest activity first
    "latest": [{"last_seen": {"order": "desc"}}],
    # newest break first (the stories that have not broken come last)
    "breaking": [{"breaking_at": {"order": "desc", "missing": "_last"}}, {"last_seen": {"order": "desc"}}],
    # most articles in the story's last hour, then outlets: EMM's "top stories"
    "top": [{"articles_last_hour": {"order": "desc"}}, {"source_count": {"order": "desc"}},
            {"last_seen": {"order": "desc"}}],
    # the largest stories of the window
    "size": [{"article_count": {"order": "desc"}}, {"source_count": {"order": "desc"}},
             {"last_seen": {"order": "desc"}}],
}
SOURCE_FIELDS = [
    "story_id", "title", "url", "first_seen", "last_seen", "breaking_at", "article_count", "source_count",
    "sources", "topic_ids", "places", "articles_last_hour", "articles_prev_hour", "growth", "alert_rules",
    "follows", "followed_by",
]


def build_stories_query(
    text: str = "",
    *,
    since: str | None = "24h",
    breaking: bool = False,
    topics: tuple[str, ...] = (),
    places: tuple[str, ...] = (),
    sources: tuple[str, ...] = (),
    min_sources: int = 1,
    sort: str = "latest",
    size: int = 10,
) -> dict[str, Any]:
    """The search body on the story documents: stories active (``last_seen``) since ``since``, filtered,
    in ``sort`` order."""
    must: list[dict[str, Any]] = []
    text = text.strip()
    if text and text != "*":
        must.append({"match": {"title": {"query": text, "operator": "and"}}})
    filters: list[dict[str, Any]] = []
    if since:
        filters.append({"range": {"last_seen": {"gte": since_to_range(since)}}})
    if breaking:
        filters.append({"exists": {"field": "breaking_at"}})
    if topics:
        filters.append({"terms": {"topic_ids": list(topics)}})
    if sources:
        filters.append({"terms": {"sources": list(sources)}})
    for place in places:
        filters.append({"match_phrase": {"places.text": place}})
    if min_sources > 1:
        filters.append({"range": {"source_count": {"gte": min_sources}}})
    return {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "sort": SORTS[sort] + [{"story_id": {"order": "asc"}}],
        "size": size,
        "track_total_hits": True,
        "_source": SOURCE_FIELDS,
    }


def _time(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def story_lines(src: dict[str, Any]) -> tuple[str, str]:
    """(the story's figures line, its story-id line) for the terminal."""
    first, last = _time(src.get("first_seen")), _time(src.get("last_seen"))
    span = first if first == last else f"{first} → {last[11:] if first[:10] == last[:10] else last}"
    n, k = src.get("article_count") or 0, src.get("source_count") or 0
    sources = ", ".join(src.get("sources") or [])
    figures = [span, f"{n} article{'s' if n != 1 else ''}", f"{k} outlet{'s' if k != 1 else ''}" +
               (f" ({sources})" if sources else "")]
    hour = src.get("articles_last_hour") or 0
    if n > 1 and hour:
        figures.append(f"{hour} in its last hour, {src.get('articles_prev_hour') or 0} the hour before")
    if src.get("topic_ids"):
        figures.append(", ".join(src["topic_ids"]))
    ids = f"story {src.get('story_id')}"
    if src.get("follows"):
        ids += f" · follows {src['follows']}"
    if src.get("followed_by"):
        ids += f" · followed by {', '.join(src['followed_by'])}"
    return " · ".join(figures), ids


def print_stories(resp: dict[str, Any], console: Any, width: int, visual: bool = False) -> None:
    from rich.rule import Rule
    from rich.text import Text

    total = resp.get("hits", {}).get("total", {})
    n = total.get("value", 0) if isinstance(total, dict) else total
    hits = resp.get("hits", {}).get("hits", [])
    console.print(Text(f"{n} stor{'ies' if n != 1 else 'y'}, showing {len(hits)}", style="dim"))
    for hit in hits:
        src = hit.get("_source", {})
        console.print(Rule(style="dim"))
        if src.get("breaking_at"):
            console.print(Text(f"BREAKING {_time(src['breaking_at'])}", style="bold red"))
        for line in render_text(src.get("title") or "(no title)", width, style="bold", visual=visual):
            console.print(line, justify=line.justify)
        figures, ids = story_lines(src)
        console.print(Text(figures, style="cyan"))
        if src.get("places"):
            for line in render_text("، ".join(src["places"]), width, style="green", visual=visual):
                console.print(line, justify=line.justify)
        console.print(Text(ids, style="dim"))
        if src.get("url"):
            console.print(Text(src["url"], style="blue underline"))
    if hits:
        console.print(Text("its articles: rasid search --story STORY_ID", style="dim"))


@click.command("stories")
@click.argument("query", nargs=-1)
@click.option("--since", default="24h", show_default=True,
              help="Stories with an article since: 7d, 12h, 2w or an ISO date ('all': any time).")
@click.option("--breaking", is_flag=True, help="Only the stories that broke (sorted by when, unless --sort).")
@click.option("--sort", type=click.Choice(sorted(SORTS)), default=None,
              help="latest (default): newest article first; breaking: newest break first; top: most articles "
                   "in their last hour; size: most articles.")
@click.option("--topic", "topics", multiple=True, help="Topic id filter (repeatable).")
@click.option("--place", "places", multiple=True, help="Place name filter (repeatable), e.g. إدلب.")
@click.option("--source", "sources", multiple=True, help="Stories an outlet carried (repeatable).")
@click.option("--min-sources", default=1, show_default=True, type=click.IntRange(1),
              help="Only the stories carried by at least this many outlets.")
@click.option("--size", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per story (logical order).")
@click.option("--bidi", type=click.Choice(["logical", "visual"]), default=None, help=BIDI_OPTION_HELP)
def stories_cmd(query: tuple[str, ...], since: str, breaking: bool, sort: str | None, topics: tuple[str, ...],
                places: tuple[str, ...], sources: tuple[str, ...], min_sources: int, size: int, as_json: bool,
                bidi: str | None) -> None:
    """The stories Rasid has grouped the articles into, latest first.

    Example: rasid stories --breaking --since 6h; rasid stories إدلب --sort top --min-sources 2
    """
    from rich.console import Console

    from pipeline.core.settings import get_settings

    settings = get_settings()
    body = build_stories_query(" ".join(query), since=None if since == "all" else since, breaking=breaking,
                               topics=topics, places=places, sources=sources, min_sources=min_sources,
                               sort=sort or ("breaking" if breaking else "latest"), size=size)
    resp = run_search(settings, settings.stories_alias, body)
    if as_json:
        for hit in resp.get("hits", {}).get("hits", []):
            sys.stdout.write(json.dumps(hit.get("_source", {}), ensure_ascii=False) + "\n")
        return
    width = min(shutil.get_terminal_size((100, 24)).columns, 120) - 2
    console = Console(highlight=False, width=width + 2)
    print_stories(resp, console, width, visual_order(bidi))
