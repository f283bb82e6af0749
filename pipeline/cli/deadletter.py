"""``rasid deadletter list|retry``: what was dead-lettered and why; re-inject after a fix, once."""

from __future__ import annotations

import json
import sys
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
import click
from pipeline.core.settings import Settings, get_settings
from pipeline.cli.replay import RAW_STAGES
from pipeline.cli.view import make_console, iso_ms, short, rtl
from pipeline.core.kafka import RETRY_HEADER, decode_value, kafka_admin, kafka_consumer, kafka_producer, read_range, topic_partitions




# --------------------------------------------------------------------------------------------------
# rasid deadletter list|retry


def retried_topic(settings: Settings) -> str:
    return settings.topic("deadletter.retried")


def ensure_retried_topic(settings: Settings, admin) -> str:
    """The compacted marker topic of retried dead letters, created on first use."""
    from kafka.errors import TopicAlreadyExistsError

    t = retried_topic(settings)
    if t in set(admin.list_topics()):
        return t
    try:
        admin.create_topics(
            {t: {"num_partitions": 1, "replication_factor": settings.kafka_replication,
                 "configs": {"cleanup.policy": "compact"}}},
            wait_for_metadata=True,
        )
    except TopicAlreadyExistsError:
        pass
    return t


def load_retried(consumer, topic: str) -> set[str]:
    """Keys (``partition:offset``) of dead letters already re-injected."""
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        return set()
    from kafka import TopicPartition

    tps = [TopicPartition(topic, p) for p in parts]
    done = set()
    for r in read_range(consumer, consumer.beginning_offsets(tps), consumer.end_offsets(tps)):
        if r.key is not None and r.value is not None:
            done.add(r.key.decode())
    return done


@dataclass
class DeadLetterRow:
    ref: str  # partition:offset in the dead-letter topic
    ts_ms: int
    obj: dict | None
    raw: bytes | None

    @property
    def stage(self) -> str:
        return (self.obj or {}).get("stage") or "?"

    @property
    def reason(self) -> str:
        return (self.obj or {}).get("reason") or "?"


def read_deadletters(consumer, settings: Settings, *, stage: str | None = None, reason: str | None = None,
                     source: str | None = None) -> list[DeadLetterRow]:
    topic = settings.deadletter_topic
    tps = topic_partitions(consumer, topic)
    rows = []
    for r in read_range(consumer, consumer.beginning_offsets(tps), consumer.end_offsets(tps)):
        row = DeadLetterRow(f"{r.partition}:{r.offset}", r.timestamp, decode_value(r.value), r.value)
        if stage and row.stage != stage:
            continue
        if reason and row.reason != reason:
            continue
        if source and (row.obj or {}).get("source") != source:
            continue
        rows.append(row)
    rows.sort(key=lambda x: (x.ts_ms, x.ref))
    return rows


def retry_target(settings: Settings, obj: dict) -> tuple[str | None, str]:
    """(topic to re-inject into, why not) for one dead letter."""
    if not obj.get("payload"):
        return None, "payload_truncated" if obj.get("payload_truncated") else "no_payload"
    src = obj.get("source_topic")
    if src in (settings.raw_topic, settings.articles_topic, settings.alerts_topic):
        return src, ""  # an alert re-injected goes only to the webhooks that have not had it
    stage = obj.get("stage")
    if stage == "index":
        return settings.articles_topic, ""
    if stage in RAW_STAGES:
        return settings.raw_topic, ""
    return None, f"stage_{stage}_not_retryable"


def retry_deadletters(settings: Settings, *, stage: str | None = None, reason: str | None = None,
                      source: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Re-inject matching dead letters not retried before; returns counts."""
    admin = kafka_admin(settings)
    consumer = kafka_consumer(settings, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    producer = None
    try:
        marker = ensure_retried_topic(settings, admin)
        done = load_retried(consumer, marker)
        rows = read_deadletters(consumer, settings, stage=stage, reason=reason, source=source)
        out: dict[str, Any] = {"matched": len(rows), "already_retried": 0, "retried": 0, "not_retryable": {}, "to": {}}
        skip = Tally()
        todo = []
        for row in rows:
            if row.ref in done:
                out["already_retried"] += 1
                continue
            target, why = retry_target(settings, row.obj or {})
            if target is None:
                skip[why or "not_json"] += 1
                continue
            todo.append((row, target))
        out["not_retryable"] = dict(skip)
        if dry_run or not todo:
            out["would_retry"] = len(todo)
            return out
        producer = kafka_producer(settings)
        to = Tally()
        for row, target in todo:
            obj = row.obj or {}
            key = obj.get("key")
            producer.send(
                target,
                value=obj["payload"].encode("utf-8"),
                key=key.encode("utf-8") if key else None,
                headers=[(RETRY_HEADER, f"{settings.deadletter_topic}:{row.ref}".encode())],
            ).get(timeout=60)
            marker_value = json.dumps({"at": datetime.now(timezone.utc).isoformat(), "to": target,
                                       "stage": row.stage, "reason": row.reason}).encode()
            producer.send(marker, key=row.ref.encode(), value=marker_value).get(timeout=60)
            to[target] += 1
        producer.flush()
        out["retried"] = sum(to.values())
        out["to"] = dict(to)
        return out
    finally:
        if producer is not None:
            producer.close()
        consumer.close()
        admin.close()


@click.group("deadletter")
def deadletter_group():
    """Inspect and re-inject dead letters of the namespace."""


@deadletter_group.command("list")
@click.option("--stage", help="Only this stage (extract, index, ...).")
@click.option("--reason", help="Only this reason slug.")
@click.option("--source", help="Only this source id (an outlet whose pages changed).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--bidi/--no-bidi", default=None, help="Reorder Arabic for the terminal (default: when stdout is a terminal).")
def deadletter_list(stage, reason, source, as_json, bidi):
    """List dead letters (oldest first) with whether they were retried; a summary by stage/reason at the end."""
    settings = get_settings()
    admin = kafka_admin(settings)
    consumer = kafka_consumer(settings, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    try:
        parts = consumer.partitions_for_topic(retried_topic(settings))
        done = load_retried(consumer, retried_topic(settings)) if parts else set()
        rows = read_deadletters(consumer, settings, stage=stage, reason=reason, source=source)
    finally:
        consumer.close()
        admin.close()
    if bidi is None:
        bidi = sys.stdout.isatty()
    summary = Tally()
    c = make_console()
    for row in rows:
        summary[f"{row.stage}/{row.reason}"] += 1
        o = row.obj or {}
        target, why = retry_target(settings, o)
        if as_json:
            item = {k: v for k, v in o.items() if k != "payload"}
            item.update(ref=row.ref, retried=row.ref in done, retryable=target is not None, payload_bytes=len(o.get("payload") or ""))
            click.echo(json.dumps(item, ensure_ascii=False))
        else:
            flag = "[green]retried[/]" if row.ref in done else ("" if target else f"[dim]({why})[/]")
            from rich.markup import escape

            c.print(f"[dim]{iso_ms(row.ts_ms)}[/] {row.ref:>8}  [bold red]{escape(row.stage)}/{escape(row.reason)}[/]  "
                    f"[cyan]{escape(o.get('source') or '-')}[/]  {escape(short(o.get('url') or o.get('key') or '', 90))}  "
                    f"[dim]{escape(rtl(short(o.get('detail') or '', 80), bidi))}[/] {flag}")
    if not as_json:
        c.print(f"{len(rows)} dead letter(s)" + "".join(f"\n  {k}: {n}" for k, n in summary.most_common()))


@deadletter_group.command("retry")
@click.option("--stage", help="Only this stage.")
@click.option("--reason", help="Only this reason slug.")
@click.option("--source", help="Only this source id (after a fix for its pages).")
@click.option("--dry-run", is_flag=True, help="Count what would be re-injected, change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def deadletter_retry(stage, reason, source, dry_run, yes):
    """Re-inject dead letters after a fix: raw-stage ones into <ns>.raw, index-stage ones into <ns>.articles,
    undelivered alerts into <ns>.alerts.

    Each one is re-injected once: retried ones are remembered in <ns>.deadletter.retried.
    """
    settings = get_settings()
    if not dry_run and not yes:
        preview = retry_deadletters(settings, stage=stage, reason=reason, source=source, dry_run=True)
        click.echo(json.dumps(preview))
        if not preview.get("would_retry"):
            return
        click.confirm(f"Re-inject {preview['would_retry']} dead letter(s)?", abort=True)
    click.echo(json.dumps(retry_deadletters(settings, stage=stage, reason=reason, source=source, dry_run=dry_run)))
