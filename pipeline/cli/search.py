"""``rasid search``: operators query the indexed articles from a terminal.

The query goes to the analysed ``title``/``body`` fields, so it passes through
the same Arabic analyzer as the documents (كيميائي finds كيماوي). Terminals do
not run the Unicode bidi algorithm, so Arabic lines are reordered for display
with python-bidi — line by line, after wrapping in logical order, otherwise the
wrapped lines would come out in the wrong order. ``--json`` keeps the logical
order (what programs expect).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from datetime import datetime
from typing import Any

import click

from pipeline.cli.view import BIDI_OPTION_HELP, rtl, visual_order

HL_PRE, HL_POST = "\x02", "\x03"  # highlight markers: never present in article text
_SINCE_RE = re.compile(r"^\s*(\d+)\s*([smhdwMy])\s*$")
SOURCE_FIELDS = [
    "id", "url", "source", "title", "published_at", "@timestamp", "fetched_at", "indexed_at", "topic_ids",
    "places.name", "organizations", "people", "story_id", "duplicate_of", "language",
]


def since_to_range(since: str) -> str:
    """``7d`` → ``now-7d`` (date math); an ISO date or datetime is passed through."""
    m = _SINCE_RE.match(since)
    if m:
        return f"now-{m.group(1)}{m.group(2)}"
    try:
        datetime.fromisoformat(since)
    except ValueError:
        raise click.BadParameter(f"expected a duration like 7d, 12h, 2w or an ISO date, got {since!r}",
                                 param_hint="--since") from None
    return since


def build_query(
    text: str,
    *,
    topics: tuple[str, ...] = (),
    sources: tuple[str, ...] = (),
    places: tuple[str, ...] = (),
    since: str | None = None,
    size: int = 10,
    speaker: str | None = None,
    stance: str | None = None,
    story: str | None = None,
) -> dict[str, Any]:
    """The search body: full text on title^2/body, keyword filters, newest first, highlights."""
    must: list[dict[str, Any]] = []
    text = text.strip()
    if text and text != "*":
        must.append({
            "multi_match": {
                "query": text,
                "fields": ["title^2", "body"],
                "type": "cross_fields",
                "operator": "and",
            }
        })
    filters: list[dict[str, Any]] = []
    if topics:
        filters.append({"terms": {"topic_ids": list(topics)}})
    if sources:
        filters.append({"terms": {"source": list(sources)}})
    if story:
        # the whole id, or its first characters as `rasid demo` shows them
        filters.append({"prefix": {"story_id": story.strip().lower()}})
    for place in places:
        # any of the place's fields: canonical Arabic name or English name
        filters.append({"multi_match": {"query": place, "fields": ["places.name.text", "places.name_en"],
                                        "type": "phrase"}})
    if since:
        # «@timestamp»: publication, else fetch (every article has one); a document indexed before it existed
        # is read by its publication
        gte = since_to_range(since)
        filters.append({"bool": {"minimum_should_match": 1, "should": [
            {"range": {"@timestamp": {"gte": gte}}},
            {"bool": {"must_not": {"exists": {"field": "@timestamp"}},
                      "filter": {"range": {"published_at": {"gte": gte}}}}}]}})
    if speaker or stance:
        # one claim must match both: "denials by the Russian defence ministry" is one nested query
        claim: list[dict[str, Any]] = []
        if speaker:
            claim.append({"match_phrase": {"claims.speaker.text": speaker}})
        if stance:
            claim.append({"term": {"claims.stance": stance}})
        filters.append({"nested": {"path": "claims", "query": {"bool": {"filter": claim}},
                                   "inner_hits": {"size": 3, "_source": ["claims.speaker", "claims.stance",
                                                                         "claims.text", "claims.target"]}}})
    return {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "sort": [
            {"@timestamp": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
            {"published_at": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
            "_score",
        ],
        "size": size,
        "track_total_hits": True,
        "_source": SOURCE_FIELDS,
        "highlight": {
            "pre_tags": [HL_PRE],
            "post_tags": [HL_POST],
            "fields": {
                "title": {"number_of_fragments": 0},
                "body": {"fragment_size": 180, "number_of_fragments": 2},
            },
        },
    }


# --------------------------------------------------------------------- rendering

def split_highlight(fragment: str) -> tuple[str, list[str]]:
    """A highlighted fragment → (plain logical text, the highlighted terms)."""
    terms = re.findall(re.escape(HL_PRE) + "(.*?)" + re.escape(HL_POST), fragment, flags=re.S)
    plain = fragment.replace(HL_PRE, "").replace(HL_POST, "")
    return plain, [t for t in dict.fromkeys(terms) if t.strip()]


def wrapped_lines(text: str, width: int, visual: bool = False) -> list[str]:
    """Wrap ``text`` in logical order; each line reordered for a terminal without bidi when ``visual``."""
    out: list[str] = []
    for para in text.splitlines() or [""]:
        for line in textwrap.wrap(para, width=max(10, width)) or [""]:
            out.append(rtl(line, visual))
    return out


def is_rtl(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f")
    return arabic * 2 >= len(letters)


def render_text(fragment: str, width: int, style: str = "", visual: bool = False) -> list[Any]:
    """Rich Text lines of a (highlighted) fragment; in visual order (RTL lines right-aligned) only
    when ``visual``, else in logical order for a terminal that runs the bidi algorithm itself."""
    from rich.text import Text

    plain, terms = split_highlight(fragment)
    right = visual and is_rtl(plain)
    shown_terms = [rtl(t, visual) for t in terms]
    lines = []
    for line in wrapped_lines(plain, width, visual):
        t = Text(line, style=style, justify="right" if right else "left")
        if shown_terms:
            t.highlight_words(shown_terms, style="bold reverse")
        lines.append(t)
    return lines


def hit_record(hit: dict[str, Any]) -> dict[str, Any]:
    """A JSON-friendly hit, logical order, highlights with <em> marks."""
    src = hit.get("_source", {})
    hl = hit.get("highlight", {})
    rec = {k: src.get(k) for k in ("id", "url", "source", "title", "published_at", "@timestamp", "topic_ids",
                                   "organizations", "people", "story_id", "duplicate_of", "language")}
    rec["places"] = [p.get("name") for p in src.get("places", []) or [] if isinstance(p, dict)]
    rec["index"] = hit.get("_index")
    rec["score"] = hit.get("_score")
    rec["highlights"] = [f.replace(HL_PRE, "<em>").replace(HL_POST, "</em>")
                         for f in hl.get("title", []) + hl.get("body", [])]
    claims = matched_claims(hit)
    if claims:
        rec["claims"] = claims
    return rec


def matched_claims(hit: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims a --speaker/--stance search matched in this hit (its nested inner hits)."""
    inner = (hit.get("inner_hits") or {}).get("claims", {}).get("hits", {}).get("hits", [])
    return [h.get("_source", {}) for h in inner]


def shown_time(src: dict[str, Any]) -> str:
    """When the article was published, as the page gave it (UTC): its day alone when it gave only its day;
    when it gave none, «≈» and the time it was fetched (its ``@timestamp``)."""
    pub = src.get("published_at") or ""
    if pub:
        return pub[:10] if pub[11:19] == "00:00:00" else pub[:16].replace("T", " ")
    placed = src.get("@timestamp") or ""
    return f"≈ {placed[:16].replace('T', ' ')}" if placed else ""


def print_hits(resp: dict[str, Any], console: Any, width: int, visual: bool = False) -> None:
    from rich.rule import Rule
    from rich.text import Text

    total = resp.get("hits", {}).get("total", {})
    n = total.get("value", 0) if isinstance(total, dict) else total
    hits = resp.get("hits", {}).get("hits", [])
    console.print(Text(f"{n} article(s){'+' if isinstance(total, dict) and total.get('relation') == 'gte' else ''}, "
                       f"showing {len(hits)}, newest first", style="dim"))
    for hit in hits:
        src = hit.get("_source", {})
        hl = hit.get("highlight", {})
        console.print(Rule(style="dim"))
        title = (hl.get("title") or [src.get("title") or "(no title)"])[0]
        for line in render_text(title, width, style="bold", visual=visual):
            console.print(line, justify=line.justify)
        meta = " · ".join(x for x in [
            shown_time(src),
            src.get("source") or "",
            ", ".join(src.get("topic_ids") or []),
            # the story it reports: `rasid search --story` takes these characters
            f"story {src['story_id'][:12]}" if src.get("story_id") else "",
        ] if x)
        console.print(Text(meta, style="cyan"))
        places = [p.get("name") for p in src.get("places") or [] if isinstance(p, dict) and p.get("name")]
        if places:
            for line in render_text("، ".join(dict.fromkeys(places)), width, style="green", visual=visual):
                console.print(line, justify=line.justify)
        for frag in hl.get("body", []):
            for line in render_text("… " + frag.strip() + " …", width, visual=visual):
                console.print(line, justify=line.justify)
        for c in matched_claims(hit):
            line = f"{c.get('speaker')} [{c.get('stance')}]: {c.get('text')}"
            for t in render_text(line, width, style="magenta", visual=visual):
                console.print(t, justify=t.justify)
        if src.get("url"):
            console.print(Text(src["url"], style="blue underline"))


def _story_id(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9a-fA-F]{8,64}", value.strip()):
        raise click.BadParameter(f"expected a story id (8 or more hex characters), got {value!r}",
                                 param_hint="--story")
    return value


def run_search(settings: Any, index: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` searched on ``index`` (an alias); an unreachable or refusing node is a one-line error."""
    from elasticsearch import ApiError, Elasticsearch, TransportError

    es = Elasticsearch(**settings.es_client_kwargs())
    try:
        return es.search(index=index, body=body, ignore_unavailable=True, allow_no_indices=True).body
    except TransportError as e:
        from pipeline.stream.es import describe_es

        raise click.ClickException(
            f"Elasticsearch at {describe_es(settings)['url']} is not reachable ({type(e).__name__}) — "
            "start it with `rasid devstack up` or set RASID_ES_URL"
        ) from None
    except ApiError as e:
        raise click.ClickException(f"search failed: {e.status_code} {e.message}") from None
    finally:
        es.close()


@click.command("search")
@click.argument("query", nargs=-1)
@click.option("--topic", "topics", multiple=True, help="Topic id filter (repeatable), e.g. chemical_weapons.")
@click.option("--source", "sources", multiple=True, help="Outlet id filter (repeatable).")
@click.option("--place", "places", multiple=True, help="Place name filter (repeatable), e.g. إدلب.")
@click.option("--since", help="Only articles published (else fetched) since: 7d, 12h, 2w or an ISO date.")
@click.option("--size", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit (logical order).")
@click.option("--speaker", help="Articles with a claim by this speaker, e.g. «وزارة الدفاع الروسية».")
@click.option("--stance", type=click.Choice(["states", "denies", "accuses", "warns", "demands", "confirms"]),
              help="…whose stance is this (with --speaker: the same claim).")
@click.option("--story", callback=lambda ctx, param, v: _story_id(v),
              help="Only the articles of this story: its story_id (as `rasid stories` and alerts give it) or "
                   "its first 8 or more characters.")
@click.option("--bidi", type=click.Choice(["logical", "visual"]), default=None, help=BIDI_OPTION_HELP)
def search_cmd(query: tuple[str, ...], topics: tuple[str, ...], sources: tuple[str, ...],
               places: tuple[str, ...], since: str | None, size: int, as_json: bool, speaker: str | None,
               stance: str | None, story: str | None, bidi: str | None) -> None:
    """Search indexed articles (Arabic-aware), newest first.

    Example: rasid search كيميائي --topic chemical_weapons --since 30d
    """
    from rich.console import Console

    from pipeline.core.settings import get_settings

    settings = get_settings()
    body = build_query(" ".join(query), topics=topics, sources=sources, places=places, since=since, size=size,
                       speaker=speaker, stance=stance, story=story)
    resp = run_search(settings, settings.es_alias, body)
    if as_json:
        for hit in resp.get("hits", {}).get("hits", []):
            sys.stdout.write(json.dumps(hit_record(hit), ensure_ascii=False) + "\n")
        return
    width = min(shutil.get_terminal_size((100, 24)).columns, 120) - 2
    console = Console(highlight=False, width=width + 2)
    print_hits(resp, console, width, visual_order(bidi))
