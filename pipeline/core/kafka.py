"""Kafka for operators, setup and tests (kafka-python, blocking, no faust): clients, the namespace's
topics, reading offset ranges, consumer groups.

Operator tools never join or commit a consumer group of the pipeline: they *assign* partitions
and read, so running them can neither trigger a rebalance nor move anyone's offsets."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any, Iterator

from pipeline.core.errors import OperatorError, SetupError
from pipeline.core.settings import Settings

log = logging.getLogger(__name__)


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


# --------------------------------------------------------------------------------------------------
# Kafka plumbing (kafka-python; imported lazily so `rasid --help` stays fast)


# headers of records an operator re-injected: a replayed copy, a retried dead letter
REPLAY_HEADER = "rasid-replay-of"
RETRY_HEADER = "rasid-retry-of"


class KafkaUnavailable(OperatorError):
    """Kafka cannot be reached, or a topic of the namespace is missing."""


def _bootstrap(settings: Settings) -> list[str]:
    return [s.strip() for s in settings.kafka_bootstrap.split(",") if s.strip()]


def _kafka_client(cls_name: str, settings: Settings, timeout_s: float, **kw: Any):
    """A kafka-python client of ``cls_name`` for ops commands; a clear error when Kafka is not there."""
    import kafka
    from kafka.errors import KafkaError

    try:
        return getattr(kafka, cls_name)(
            bootstrap_servers=_bootstrap(settings),
            **settings.kafka_python_kwargs(),
            client_id="rasid-ops",
            bootstrap_timeout_ms=int(timeout_s * 1000),
            **kw,
        )
    except (KafkaError, OSError) as e:
        raise KafkaUnavailable(f"Kafka at {settings.kafka_bootstrap} is unavailable: {e}") from None


def kafka_consumer(settings: Settings, timeout_s: float = 10.0, **kw: Any):
    """A group-less consumer: it reads by assignment and commits nothing."""
    return _kafka_client("KafkaConsumer", settings, timeout_s, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", request_timeout_ms=max(int(timeout_s * 1000), 5000), **kw)


def kafka_admin(settings: Settings, timeout_s: float = 10.0):
    return _kafka_client("KafkaAdminClient", settings, timeout_s,
                         request_timeout_ms=max(int(timeout_s * 1000), 5000))


def kafka_producer(settings: Settings, timeout_s: float = 10.0):
    """An idempotent, fully acknowledged producer for re-injected records."""
    return _kafka_client("KafkaProducer", settings, timeout_s, acks="all", linger_ms=20,
                         max_request_size=max(settings.kafka_max_message_bytes, 1_048_576))


def topic_partitions(consumer, topic: str) -> list:
    from kafka import TopicPartition

    parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise KafkaUnavailable(f"topic {topic} does not exist (run `rasid init`?)")
    return [TopicPartition(topic, p) for p in sorted(parts)]


def offsets_at(consumer, tps: list, when: datetime) -> dict:
    """First offset per partition whose timestamp is >= ``when`` (end offset when none is)."""
    found = consumer.offsets_for_times({tp: _ms(when) for tp in tps})
    ends = consumer.end_offsets(tps)
    return {tp: (found[tp].offset if found.get(tp) is not None else ends[tp]) for tp in tps}


def read_range(consumer, starts: dict, ends: dict, *, idle_timeout_s: float = 30.0) -> Iterator:
    """Yield every record with ``starts[tp] <= offset < ends[tp]``, partition by partition in offset order.

    Stops when every partition reached its end; raises TimeoutError if nothing
    moves for ``idle_timeout_s`` (broker gone), rather than hanging an operator's shell.
    """
    todo = {tp for tp in starts if starts[tp] < ends.get(tp, 0)}
    consumer.assign(sorted(todo, key=lambda t: (t.topic, t.partition)))
    for tp in todo:
        consumer.seek(tp, starts[tp])
    last_progress = time.monotonic()
    while todo:
        batch = consumer.poll(timeout_ms=500, max_records=1000)
        for tp, recs in batch.items():
            for r in recs:
                if r.offset >= ends[tp]:
                    break
                yield r
            last_progress = time.monotonic()
        for tp in list(todo):
            if consumer.position(tp) >= ends[tp]:
                todo.discard(tp)
                consumer.pause(tp)
        if todo and time.monotonic() - last_progress > idle_timeout_s:
            raise TimeoutError(f"no records from {sorted(str(t) for t in todo)} for {idle_timeout_s:.0f}s")


def list_namespace_groups(admin, namespace: str) -> list[str]:
    """Consumer groups whose id starts with the namespace (faust app id, sink group, ...)."""
    groups = admin.list_groups()
    out = []
    for g in groups:
        gid = g.get("group_id") if isinstance(g, dict) else g[0]
        if gid == namespace or gid.startswith((namespace + "-", namespace + ".", namespace + "_")):
            out.append(gid)
    return sorted(out)


def group_offsets(admin, group_id: str) -> dict:
    """Committed offsets of a group: {TopicPartition: offset} (partitions without a commit left out)."""
    if hasattr(admin, "list_group_offsets"):
        res = admin.list_group_offsets({group_id: None}).get(group_id, {})
    else:  # kafka-python 2.x
        res = admin.list_consumer_group_offsets(group_id)
    return {tp: om.offset for tp, om in res.items() if om.offset is not None and om.offset >= 0}


def describe_group(admin, group_id: str) -> dict:
    """{state, members: [{client_id, host, assignment: {topic: [partitions]}}]}."""
    if hasattr(admin, "describe_groups"):
        d = admin.describe_groups([group_id]).get(group_id, {})
        members = []
        for m in d.get("members", []):
            assignment: dict[str, list[int]] = {}
            a = m.get("member_assignment")
            for t in getattr(a, "assigned_partitions", None) or getattr(a, "assignment", None) or []:
                try:
                    name, parts = (t.topic, t.partitions) if hasattr(t, "topic") else (t[0], t[1])
                    assignment[name] = sorted(parts)
                except (TypeError, IndexError, AttributeError):
                    continue
            members.append({"client_id": m.get("client_id"), "host": m.get("client_host"), "assignment": assignment})
        return {"state": d.get("group_state") or d.get("state"), "members": members}
    d = admin.describe_consumer_groups([group_id])[0]  # kafka-python 2.x
    return {
        "state": d.state,
        "members": [{"client_id": m.client_id, "host": m.client_host, "assignment": {}} for m in d.members],
    }


# --------------------------------------------------------------------------------------------------
# Records → views (what an operator wants to see of each kind)


def decode_value(value: bytes | None) -> dict | None:
    """The JSON object of a message, or None for anything else (poison stays visible, never crashes)."""
    if value is None:
        return None
    try:
        obj = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None



# The faust table of the dedupe agent (article id → story, duplicate_of, time, sketch); its
# changelog topic is ``<workers group>-dedupe-state-changelog``.
DEDUPE_TABLE = "dedupe-state"
# The story monitor's table (story id -> members, fired rules; spike counters; alerts awaiting
# Kafka's confirmation), written by the dedupe agent, and the webhook agent's (alert id and
# webhook -> delivered), so neither a restart nor a replay sends an alert twice.
STORIES_TABLE = "story-state"
DELIVERIES_TABLE = "alert-deliveries"


def workers_group(settings: Settings) -> str:
    """The workers' faust app id, which is also their consumer group."""
    return f"{settings.namespace}-workers"


def internal_topics(settings: Settings) -> list[dict[str, Any]]:
    """Topics the workers need beyond raw/articles/deadletter: the single-partition ``<ns>.dedupe``
    (the one serialisation point of story assignment) and the changelogs of the dedupe, story and
    delivered-alerts tables. faust creates them at start; creating them beforehand is harmless with
    these partition counts."""
    return [
        {"name": settings.topic("dedupe"), "partitions": 1,
         "config": {"retention.ms": str(7 * DAY_MS),
                    "max.message.bytes": str(settings.kafka_max_message_bytes + MESSAGE_OVERHEAD)}},
        {"name": f"{workers_group(settings)}-{DEDUPE_TABLE}-changelog", "partitions": 1,
         "config": {"cleanup.policy": "compact"}},
        {"name": f"{workers_group(settings)}-{STORIES_TABLE}-changelog", "partitions": 1,
         "config": {"cleanup.policy": "compact"}},
        {"name": f"{workers_group(settings)}-{DELIVERIES_TABLE}-changelog", "partitions": 1,
         "config": {"cleanup.policy": "compact"}},
    ]


# Room for the JSON envelope around a page of `kafka_max_message_bytes`.
MESSAGE_OVERHEAD = 64 * 1024
DAY_MS = 24 * 3600 * 1000


# --------------------------------------------------------------------------- Kafka


def topic_specs(settings: Settings) -> dict[str, dict[str, Any]]:
    """Name -> {partitions, configs} for every topic the namespace needs."""
    max_bytes = str(settings.kafka_max_message_bytes + MESSAGE_OVERHEAD)
    common = {"max.message.bytes": max_bytes}
    return {
        settings.raw_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {**common, "retention.ms": str(7 * DAY_MS)},
        },
        settings.articles_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {**common, "retention.ms": str(7 * DAY_MS)},
        },
        settings.deadletter_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {**common, "retention.ms": str(30 * DAY_MS)},
        },
        # story documents keyed by story id, written whole as stories grow: the latest is all that counts
        settings.stories_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {**common, "cleanup.policy": "compact", "segment.ms": str(DAY_MS),
                        "min.cleanable.dirty.ratio": "0.2"},
        },
        # alerts keyed by alert id; one partition: few records, one webhook agent, one delivered-table
        settings.alerts_topic: {
            "partitions": 1,
            "configs": {**common, "retention.ms": str(30 * DAY_MS)},
        },
        # latest entry per key (URL id) is all the connectors need; compaction keeps it bounded
        settings.seen_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {
                **common,
                "cleanup.policy": "compact",
                "segment.ms": str(DAY_MS),
                "min.cleanable.dirty.ratio": "0.2",
            },
        },
    }


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> dict[str, list[str]]:
    """Create the namespace's missing topics and wait until every partition has a leader.

    Existing topics are left as they are; a partition count different from
    ``kafka_partitions`` is reported (changing it would move keys between partitions).
    """
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    specs = topic_specs(settings)
    admin = kafka_admin(settings, timeout_s=15.0)
    created: list[str] = []
    try:
        existing = set(admin.list_topics())
        missing = {name: spec for name, spec in specs.items() if name not in existing}
        if missing:
            request = {
                name: {
                    "num_partitions": spec["partitions"],
                    "replication_factor": settings.kafka_replication,
                    "configs": spec["configs"],
                }
                for name, spec in missing.items()
            }
            response = None
            try:
                response = admin.create_topics(request, timeout_ms=int(timeout_s * 1000), raise_errors=False)
            except TopicAlreadyExistsError:
                pass  # a concurrent init won the race
            # A busy broker can answer CreateTopics before its metadata lists the new topics:
            # wait for them rather than fail on the first listing.
            deadline = time.monotonic() + timeout_s
            while True:
                existing = set(admin.list_topics())
                failed = [n for n in missing if n not in existing]
                if not failed or time.monotonic() >= deadline:
                    break
                time.sleep(0.25)
            if failed:
                raise SetupError(f"Kafka did not create topics {failed} within {timeout_s:.0f}s (check broker log "
                                     f"and replication factor {settings.kafka_replication}); it answered: {response}")
            created = sorted(missing)
        _wait_for_leaders(admin, list(specs), timeout_s)
        mismatched = _partition_mismatches(admin, specs)
    except KafkaError as e:
        raise SetupError(f"Kafka at {settings.kafka_bootstrap} refused topic setup: {e}") from None
    finally:
        admin.close()
    for name, have in mismatched.items():
        log.warning(
            "topic %s has %d partitions, settings ask for %d; left unchanged",
            name,
            have,
            specs[name]["partitions"],
            extra={"stage": "init"},
        )
    return {"created": created, "existing": sorted(set(specs) - set(created)), "mismatched": sorted(mismatched)}


def _describe(admin, names: list[str]) -> list[dict[str, Any]]:
    """describe_topics, with the key names of kafka-python 2.x and 3.x made uniform."""
    out = []
    for t in admin.describe_topics(names):
        out.append(
            {
                "topic": t.get("name") or t.get("topic"),
                "error_code": t.get("error_code", 0),
                "partitions": [
                    {"leader": p.get("leader_id", p.get("leader", -1))} for p in t.get("partitions") or []
                ],
            }
        )
    return out


def _wait_for_leaders(admin, names: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            topics = _describe(admin, names)
            ready = {
                t["topic"]
                for t in topics
                if t.get("error_code", 0) == 0
                and t.get("partitions")
                and all((p["leader"] if p["leader"] is not None else -1) >= 0 for p in t["partitions"])
            }
        except Exception:  # metadata can lag right after creation
            ready = set()
        if ready >= set(names):
            return
        if time.monotonic() > deadline:
            raise SetupError(f"topics without leaders after {timeout_s:.0f}s: {sorted(set(names) - ready)}")
        time.sleep(0.2)


def _partition_mismatches(admin, specs: dict[str, dict[str, Any]]) -> dict[str, int]:
    out = {}
    for t in _describe(admin, list(specs)):
        have = len(t.get("partitions") or [])
        if have and have != specs[t["topic"]]["partitions"]:
            out[t["topic"]] = have
    return out
