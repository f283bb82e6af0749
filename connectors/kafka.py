"""Kafka side of the connectors: the producer, the shared seen-URL state and work partitioning.

Seen state
    ``<ns>.seen`` is a compacted topic keyed by article id; its latest value per
    key says what happened to that URL (produced, alias of another id, gone,
    rejected). A process reads it to the end at start (``SeenStore.start``), then
    keeps tailing it, so it also learns what other instances produce. A seen
    record is written only after the raw record it describes was acknowledged
    (acks=all): a crash between the two can re-produce that one article on
    restart (harmless downstream: the ES ``_id`` is the article id); a clean
    stop cannot.

Work partitioning (two instances never both produce the same article)
    Instances join the consumer group ``<ns>.connectors`` subscribed to the seen
    topic. Kafka's group protocol hands each member a disjoint set of the topic's
    partitions; an instance works on a source only while it owns partition
    ``crc32(source id) % partitions``. On a rebalance, the revoke callback first
    drops ownership (so nothing new is produced for those sources) and then waits
    for produce+seen writes already under way to finish; only then does the group
    move on. The new owner reads the seen topic to its current end before it
    starts, so it sees everything the previous owner wrote. (With more instances
    than partitions the extra ones idle as hot standbys.)
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections import defaultdict
from dataclasses import astuple, dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from pipeline.core.diskmap import DiskMapping
from pipeline.core.errors import OperatorError
from pipeline.core.kafka import ensure_topics
from pipeline.core.log import get_logger
from pipeline.core.settings import Settings

log = get_logger("rasid.connectors.kafka")


class KafkaSetupError(SystemExit):
    """Kafka is unreachable or the topics are missing; the message says what to run."""


def make_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        **settings.aiokafka_kwargs(),
        client_id=f"{settings.namespace}-connectors",
        acks="all",
        enable_idempotence=True,
        compression_type=settings.kafka_compression_type,
        linger_ms=5,
        max_request_size=settings.kafka_max_message_bytes + 64_000,
        request_timeout_ms=30_000,
    )


async def ensure_topics_exist(settings: Settings) -> None:
    """Create the namespace's topics when missing (idempotent); the operator's message when Kafka refuses."""
    try:
        await asyncio.to_thread(ensure_topics, settings)
    except OperatorError as e:
        raise KafkaSetupError(str(e)) from None


@dataclass(slots=True)
class SeenEntry:
    status: str  # produced | alias | gone | rejected | too_large
    canonical_id: str | None = None
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    produced_at: float = 0.0  # epoch seconds


def seen_value(
    *,
    url: str,
    source: str,
    status: str,
    canonical_id: str | None = None,
    content_hash: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> dict[str, Any]:
    return {
        "schema": 1,
        "url": url,
        "source": source,
        "status": status,
        "canonical_id": canonical_id,
        "content_hash": content_hash,
        "etag": etag,
        "last_modified": last_modified,
        "produced_at": datetime.now(timezone.utc).isoformat(),
    }


def _entry_from(value: bytes | None) -> SeenEntry | None:
    if value is None:
        return None
    try:
        v = json.loads(value)
        at = v.get("produced_at")
        ts = datetime.fromisoformat(at).timestamp() if at else 0.0
        return SeenEntry(
            status=str(v.get("status") or "produced"),
            canonical_id=v.get("canonical_id"),
            content_hash=v.get("content_hash"),
            etag=v.get("etag"),
            last_modified=v.get("last_modified"),
            produced_at=ts,
        )
    except (ValueError, TypeError, AttributeError):
        return SeenEntry(status="produced")  # unreadable value: the key alone means "seen"


class SeenStore:
    """Local view of ``<ns>.seen``, kept current by tailing the topic.

    One entry per article ever seen (the topic is compacted, never expired): held as Python objects
    that grew a connector's memory by ~600 bytes an article for good, so they live in a private
    temporary SQLite file (:class:`pipeline.core.diskmap.DiskMapping`, rows of the entry's fields)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.seen_topic
        self.entries = DiskMapping()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.partitions: list[TopicPartition] = []
        self.loaded = 0

    def __contains__(self, article_id: str) -> bool:
        return article_id in self.entries

    def get(self, article_id: str) -> SeenEntry | None:
        row = self.entries.get(article_id)
        return None if row is None else SeenEntry(*row)

    def remember(self, article_id: str, value: dict[str, Any]) -> None:
        """Apply our own write immediately (the tail would bring it back a moment later)."""
        e = _entry_from(json.dumps(value).encode())
        if e is not None:
            self.entries[article_id] = astuple(e)

    def _apply(self, records: Iterable[Any]) -> None:
        """Records of the topic, in order, in one write (a deletion for a tombstone)."""
        rows = []
        for r in records:
            if r.key is not None:
                e = _entry_from(r.value)
                rows.append((r.key.decode("utf-8", "replace"), -1, None if e is None else astuple(e)))
        self.entries.apply(rows)

    async def start(self) -> None:
        c = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            **self.settings.aiokafka_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"{self.settings.namespace}-connectors-seen",
            max_poll_records=5000,
        )
        try:
            await c.start()
            topics = await c.topics()
        except Exception as e:  # noqa: BLE001
            await c.stop()
            raise KafkaSetupError(f"cannot reach Kafka at {self.settings.kafka_bootstrap}: {e}") from None
        if self.topic not in topics:
            await c.stop()
            raise KafkaSetupError(f"Kafka topic {self.topic} missing — run `rasid init` first")
        # Without a group, subscribing assigns every partition once metadata for the topic arrives.
        c.subscribe([self.topic])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not c.assignment():
            if loop.time() > deadline:
                await c.stop()
                raise KafkaSetupError(f"no partitions of {self.topic} were assigned within 30 s")
            await asyncio.sleep(0.05)
        self.partitions = sorted(c.assignment(), key=lambda tp: tp.partition)
        await c.seek_to_beginning(*self.partitions)
        self._consumer = c
        await self.catch_up()
        self.loaded = len(self.entries)
        self._task = asyncio.create_task(self._tail(), name="seen-tail")

    async def catch_up(self) -> None:
        """Read until every partition's position reaches the end offset as of now."""
        assert self._consumer is not None
        c = self._consumer
        async with self._lock:
            ends = await c.end_offsets(self.partitions)
            while True:
                behind = [tp for tp in self.partitions if await c.position(tp) < ends[tp]]
                if not behind:
                    return
                batch = await c.getmany(*behind, timeout_ms=500)
                for records in batch.values():
                    self._apply(records)

    async def _tail(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                async with self._lock:
                    batch = await self._consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    self._apply(records)
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep tailing through broker hiccups
                log.warning("seen topic tail error", exc_info=True, extra={"stage": "fetch"})
                await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self._consumer is not None:
            await self._consumer.stop()


def partition_for(source_id: str, partitions: int) -> int:
    return zlib.crc32(source_id.encode("utf-8")) % partitions if partitions else 0


class Ownership:
    """Which sources this instance may work on; "everything" when not coordinating."""

    def __init__(self) -> None:
        self.partitions: int = 0
        self.owned: set[int] | None = None  # None = own everything
        self.changed = asyncio.Event()
        self.ready = asyncio.Event()
        self._commits: dict[str, int] = defaultdict(int)
        self._idle = asyncio.Condition()

    def owns(self, source_id: str) -> bool:
        if self.owned is None:
            return True
        return partition_for(source_id, self.partitions) in self.owned

    # A "commit" is the produce of a raw record plus its seen record; ownership may not move mid-commit.
    async def begin_commit(self, source_id: str) -> bool:
        if not self.owns(source_id):
            return False
        self._commits[source_id] += 1
        return True

    async def end_commit(self, source_id: str) -> None:
        async with self._idle:
            self._commits[source_id] -= 1
            if self._commits[source_id] <= 0:
                del self._commits[source_id]
            self._idle.notify_all()

    async def idle(self, timeout: float) -> None:
        """Return once no commit is under way, or after ``timeout`` seconds (a stop: commits must not be cut in two,
        and a fetch under way may be, since nothing is remembered as seen before its record is confirmed)."""
        async def none_left() -> None:
            async with self._idle:
                await self._idle.wait_for(lambda: not self._commits)
        try:
            await asyncio.wait_for(none_left(), timeout)
        except TimeoutError:
            log.warning("stopping with commits still under way", extra={"stage": "fetch", "sources": len(self._commits)})

    async def wait_commits(self, partitions: set[int]) -> None:
        async with self._idle:
            await self._idle.wait_for(
                lambda: not any(partition_for(s, self.partitions) in partitions for s in self._commits)
            )


class _Listener(ConsumerRebalanceListener):
    def __init__(self, coord: "GroupCoordinator") -> None:
        self.coord = coord

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:  # type: ignore[override]
        await self.coord._revoked({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:  # type: ignore[override]
        await self.coord._assigned({tp.partition for tp in assigned})


class GroupCoordinator:
    """Consumer-group membership that decides which sources this instance owns (see module doc)."""

    def __init__(
        self,
        settings: Settings,
        seen: SeenStore,
        ownership: Ownership,
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.seen = seen
        self.own = ownership
        self.group_id = f"{settings.namespace}.connectors"
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._on_change = on_change

    async def start(self) -> None:
        self.own.partitions = len(self.seen.partitions)
        self.own.owned = set()
        c = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            **self.settings.aiokafka_kwargs(),
            group_id=self.group_id,
            client_id=f"{self.settings.namespace}-connectors-group",
            enable_auto_commit=False,
            auto_offset_reset="latest",
            heartbeat_interval_ms=500,
            session_timeout_ms=10_000,
            rebalance_timeout_ms=30_000,
            max_poll_interval_ms=60_000,
        )
        await c.start()
        c.subscribe([self.settings.seen_topic], listener=_Listener(self))
        self._consumer = c
        self._task = asyncio.create_task(self._poll(), name="connectors-group")

    async def _poll(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                # Records are ignored (SeenStore tails the topic); polling keeps the membership alive.
                await self._consumer.getmany(timeout_ms=500, max_records=100)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.warning("connector group poll error", exc_info=True, extra={"stage": "fetch"})
                await asyncio.sleep(1)

    async def _revoked(self, parts: set[int]) -> None:
        if self.own.owned is not None:
            self.own.owned -= parts
        await self.own.wait_commits(parts)
        log.info("connector partitions revoked", extra={"stage": "fetch", "partitions": sorted(parts)})

    async def _assigned(self, parts: set[int]) -> None:
        await self.seen.catch_up()
        self.own.owned = set(parts)
        self.own.ready.set()
        self.own.changed.set()
        log.info("connector partitions assigned", extra={"stage": "fetch", "partitions": sorted(parts)})
        if self._on_change is not None:
            await self._on_change()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self._consumer is not None:
            await self._consumer.stop()  # leaves the group: the others take over at once
