"""``rasid tail raw|articles|deadletter|seen|stories|alerts``: read the namespace's topics as an operator would."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Iterator
import click
from pipeline.core.settings import get_settings
from pipeline.cli.view import BIDI_OPTION_HELP, visual_order, View, make_console, print_view, make_view, parse_since, topic_kind, topic_name, view_matches
from pipeline.core.kafka import kafka_consumer, offsets_at, read_range, topic_partitions


@click.command("tail")
@click.argument("topic")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new records as they arrive.")
@click.option("--from-beginning", is_flag=True, help="Start at the first retained record.")
@click.option("--since", "since", metavar="T", help="Start at records from T ago (10m, 2h, 1d) or an ISO time.")
@click.option("--source", "source", metavar="ID", help="Only records of this source id.")
@click.option("--topic-id", "topic_id", metavar="ID", help="Only articles classified with this topic id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (logical order), for piping.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None, help="Print at most N records (default 20 without --follow/--from-beginning/--since).")
@click.option("--bidi", type=click.Choice(["logical", "visual"]), default=None, help=BIDI_OPTION_HELP)
def tail_cmd(topic, follow, from_beginning, since, source, topic_id, as_json, limit, bidi):
    """Print records of TOPIC (raw, articles, deadletter, seen, stories, alerts) of the namespace.

    Without a start option it shows the last records (the last --limit, default 20)
    and, with --follow, keeps going. It reads by partition assignment and commits nothing.
    """
    settings = get_settings()
    name = topic_name(settings, topic)
    kind = topic_kind(settings, name)
    if from_beginning and since:
        raise click.UsageError("--from-beginning and --since exclude each other")
    if topic_id and kind != "articles":
        raise click.UsageError("--topic-id applies to the articles topic")
    bidi = visual_order(bidi)
    console = make_console()
    consumer = kafka_consumer(settings, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    try:
        for n in tail_records(consumer, name, kind, follow=follow, from_beginning=from_beginning,
                              since=parse_since(since) if since else None, source=source,
                              topic_id=topic_id, limit=limit):
            print_view(console, n, as_json, bidi)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `rasid tail ... | head`: the reader is gone, so are we
        sys.stderr.close()
    except TimeoutError as e:
        raise click.ClickException(str(e)) from None
    finally:
        consumer.close()


def tail_records(consumer, topic: str, kind: str, *, follow: bool = False, from_beginning: bool = False,
                 since: datetime | None = None, source: str | None = None, topic_id: str | None = None,
                 limit: int | None = None, poll_s: float = 0.5) -> Iterator[View]:
    """Matching records of ``topic`` in time order (then partition, offset); see ``tail_cmd``."""
    tps = topic_partitions(consumer, topic)
    begins = consumer.beginning_offsets(tps)
    ends = consumer.end_offsets(tps)
    filtered = source is not None or topic_id is not None
    last_n = not (from_beginning or since)  # default: the newest records, then (with --follow) live ones
    if last_n and limit is None and not follow:
        limit = 20
    n_back = (min(limit or 10, 10) if follow else limit) if last_n else None
    if from_beginning:
        starts = dict(begins)
    elif since is not None:
        starts = offsets_at(consumer, tps, since)
    else:
        window = n_back * (50 if filtered else 1)  # filters need a wider look back to find n_back matches
        starts = {tp: max(begins[tp], ends[tp] - window) for tp in tps}
    backlog = [make_view(kind, r) for r in read_range(consumer, starts, ends)]
    backlog = [v for v in backlog if view_matches(v, source, topic_id)]
    backlog.sort(key=lambda v: (v.ts_ms, v.partition, v.offset))
    if n_back is not None:
        backlog = backlog[-n_back:]
    printed = 0
    for v in backlog:
        if limit is not None and printed >= limit:
            return
        yield v
        printed += 1
    if not follow:
        return
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, ends[tp])
    while limit is None or printed < limit:
        batch = consumer.poll(timeout_ms=int(poll_s * 1000), max_records=500)
        views = [make_view(kind, r) for recs in batch.values() for r in recs]
        views.sort(key=lambda v: (v.ts_ms, v.partition, v.offset))
        for v in views:
            if not view_matches(v, source, topic_id):
                continue
            yield v
            printed += 1
            if limit is not None and printed >= limit:
                return
