"""``rasid replay``: reprocess a range of ``<ns>.raw`` or ``<ns>.articles`` after a change."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
import click
from pipeline.core.settings import Settings, get_settings
from pipeline.cli.view import make_console, parse_since
from pipeline.core.kafka import REPLAY_HEADER, group_offsets, kafka_admin, kafka_consumer, kafka_producer, list_namespace_groups, offsets_at, read_range, topic_partitions


RAW_STAGES = ("extract", "clean", "classify", "enrich", "claims", "dedupe", "process")


# --------------------------------------------------------------------------------------------------
# rasid replay


def _stage_topic(settings: Settings, stage: str) -> str:
    return settings.articles_topic if stage == "index" else settings.raw_topic


@dataclass
class ReplayPlan:
    topic: str
    starts: dict
    ends: dict

    @property
    def total(self) -> int:
        return sum(max(0, self.ends[tp] - self.starts[tp]) for tp in self.starts)


def plan_replay(consumer, topic: str, *, from_beginning: bool, since: datetime | None) -> ReplayPlan:
    tps = topic_partitions(consumer, topic)
    starts = consumer.beginning_offsets(tps) if from_beginning else offsets_at(consumer, tps, since)
    return ReplayPlan(topic, dict(starts), dict(consumer.end_offsets(tps)))


def _replay_origin(headers) -> tuple[int, int] | None:
    for k, v in headers or []:
        if k == REPLAY_HEADER:
            try:
                p, o = (v.decode() if isinstance(v, bytes) else v).split(":")
                return int(p), int(o)
            except ValueError:
                return None
    return None


def copy_range(consumer, producer, plan: ReplayPlan, progress=None) -> tuple[int, int]:
    """Re-append the plan's records to their own partitions, in order; returns (copied, skipped).

    A record that is itself a replay copy is skipped when its original is inside the range.
    """
    from kafka import TopicPartition

    copied = skipped = 0
    futures = []
    for r in read_range(consumer, plan.starts, plan.ends):
        origin = _replay_origin(r.headers)
        if origin is not None:
            otp = TopicPartition(plan.topic, origin[0])
            if otp in plan.starts and origin[1] >= plan.starts[otp]:
                skipped += 1
                if progress:
                    progress(1)
                continue
        headers = [(k, v) for k, v in (r.headers or []) if k != REPLAY_HEADER]
        headers.append((REPLAY_HEADER, f"{r.partition}:{r.offset}".encode() if origin is None else f"{origin[0]}:{origin[1]}".encode()))
        futures.append(producer.send(plan.topic, value=r.value, key=r.key, headers=headers, partition=r.partition))
        copied += 1
        if len(futures) >= 500:
            for f in futures:
                f.get(timeout=60)
            futures.clear()
        if progress:
            progress(1)
    producer.flush(timeout=120)
    for f in futures:
        f.get(timeout=60)
    return copied, skipped


def wait_drained(settings: Settings, topic: str, *, timeout_s: float, progress=None, poll_s: float = 1.0) -> int | None:
    """Wait until every namespace group consuming ``topic`` committed up to the current end.

    Returns the lag left (0 = drained), or None when no group of the namespace consumes the topic.
    """
    admin = kafka_admin(settings)
    consumer = kafka_consumer(settings)
    try:
        tps = topic_partitions(consumer, topic)
        target = consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        remaining = -1
        while True:
            groups = [g for g in list_namespace_groups(admin, settings.namespace)]
            remaining = 0
            consuming = 0
            for g in groups:
                committed = group_offsets(admin, g)
                if not any(tp.topic == topic for tp in committed):
                    continue
                consuming += 1
                remaining += sum(max(0, target[tp] - committed.get(tp, 0)) for tp in tps)
            if progress:
                progress(remaining, consuming)
            if consuming and remaining == 0:
                return 0
            if time.monotonic() > deadline:
                return remaining if consuming else None
            time.sleep(poll_s)
    finally:
        consumer.close()
        admin.close()


@click.command("replay")
@click.option("--from-beginning", is_flag=True, help="Replay every retained record.")
@click.option("--since", metavar="T", help="Replay records from T ago (10m, 2h, 1d) or an ISO time.")
@click.option("--stage", type=click.Choice(["extract", "index"]), default="extract", show_default=True,
              help="extract: re-process <ns>.raw (new topics.yaml, gazetteer, cleaning); index: re-index <ns>.articles.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the pipeline until the copies are processed.")
@click.option("--timeout", "timeout_s", type=float, default=3600, show_default=True, help="Seconds to wait for processing.")
def replay_cmd(from_beginning, since, stage, yes, wait, timeout_s):
    """Re-process raw pages (or re-index articles) while the pipeline runs.

    The chosen records are copied to the end of their own topic and partition;
    documents are updated in place (ES _id = article id), never duplicated.
    """
    if bool(from_beginning) == bool(since):
        raise click.UsageError("give exactly one of --from-beginning or --since")
    settings = get_settings()
    topic = _stage_topic(settings, stage)
    consumer = kafka_consumer(settings, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    try:
        plan = plan_replay(consumer, topic, from_beginning=from_beginning, since=parse_since(since) if since else None)
        if plan.total == 0:
            click.echo(f"nothing to replay in {topic}")
            return
        if not yes:
            click.confirm(f"Copy {plan.total} record(s) of {topic} for re-processing?", abort=True)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        producer = kafka_producer(settings)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=make_console(stderr=True)) as prog:
            task = prog.add_task(f"copy {topic}", total=plan.total)
            copied, skipped = copy_range(consumer, producer, plan, lambda n: prog.advance(task, n))
            producer.close()
            result = {"topic": topic, "range": plan.total, "copied": copied, "skipped_copies": skipped}
            if wait and copied:
                stages = [topic] + ([settings.topic("dedupe"), settings.articles_topic] if stage == "extract" else [])
                stages = [t for t in stages if consumer.partitions_for_topic(t)]
                for t in stages:
                    wt = prog.add_task(f"process {t}", total=None)

                    def show(remaining: int, consuming: int, wt=wt, first=(t == topic), t=t) -> None:
                        # the copied topic: done = copies minus lag; later topics: the lag still to go
                        done = max(0, copied - remaining) if first else 0
                        total = max(copied, done + remaining) if first else None
                        prog.update(wt, total=total, completed=done,
                                    description=f"process {t} ({consuming} group(s), lag {remaining})")

                    left = wait_drained(settings, t, timeout_s=timeout_s, progress=show)
                    result[f"lag_left:{t}"] = left
                    if left is None:
                        prog.update(wt, description=f"process {t}: no worker group consumes it yet")
                        result["note"] = f"no worker group consumes {t}: the copies wait for the workers"
                        break
                    if left:
                        raise click.ClickException(f"timed out with lag {left} on {t}")
        click.echo(json.dumps(result))
    finally:
        consumer.close()
