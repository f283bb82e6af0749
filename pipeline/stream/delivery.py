"""The workers' delivery contract, in one place: produce, wait for the broker's confirmation, then ack.

Every agent takes its input in batches with ``stream.noack_take`` (which never acks by itself) and
hands the batch's output records here. :meth:`Delivery.settle` produces them all, waits until Kafka
confirmed each one, and only then acks the batch's input events; faust commits an offset once every
earlier offset of the partition is acked (see :mod:`pipeline.stream.commits` for the corrections that
make this hold in faust-streaming 0.15.3). A worker killed mid-batch therefore reads the batch again;
article ids as Kafka keys and Elasticsearch ``_id`` make the second pass harmless.

- A record Kafka refuses for good (too large, invalid) is replaced by its dead letter; a dead letter
  refused for its size goes without its payload.
- Transient trouble (broker away, leader election) is retried with the backoff of
  :mod:`pipeline.core.retry` for as long as it takes; the batch stays unacked meanwhile.
- No agent raises out of its loop (faust would ack the message anyway, upstream #527): every failure
  becomes a dead letter built by :meth:`dead_letter` (the one constructor,
  :meth:`pipeline.core.schema.DeadLetter.build`).
- A batch abandoned because the worker stops is :meth:`released <Delivery.release>`: forgotten
  without an ack, so its offsets stay uncommitted and the next worker reads it again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from pipeline.core import metrics
from pipeline.core.deadletters import refused_for_good, send_dead_letter, without_payload
from pipeline.core.retry import backoff_delay
from pipeline.core.schema import DeadLetter

log = logging.getLogger("rasid.delivery")


class Abandoned(Exception):
    """The worker is stopping while a batch still waits for Kafka or Elasticsearch: leave it unacked."""


@dataclass
class Out:
    """One record to produce for a batch, and what to do if Kafka refuses it for good."""

    topic: str
    key: bytes | None
    value: bytes
    # builds the dead letter sent instead when the record itself is refused (too large);
    # built only then: making one per record up front cost more than the record's own send
    fallback: Callable[[], DeadLetter] | None = None


def event_key(ev: Any) -> str | None:
    k = ev.key
    if isinstance(k, (bytes, bytearray)):
        return bytes(k).decode("utf-8", "replace")
    return k


class Delivery:
    """Produce → confirm → ack for the agents of one worker app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.settings = app.settings

    # -- dead letters ------------------------------------------------------------------------
    def dead_letter(self, ev: Any, *, stage: str, reason: str, detail: str = "", url: str | None = None,
                    source: str | None = None, article_id: str | None = None) -> DeadLetter:
        """The dead letter of input event ``ev`` (its topic, partition, offset and payload)."""
        msg = ev.message
        value = ev.value
        return DeadLetter.build(
            stage=stage, reason=reason, detail=detail,
            payload=value if isinstance(value, (bytes, str)) else None,
            source_topic=msg.topic, partition=msg.partition, offset=msg.offset,
            key=article_id or event_key(ev), url=url, source=source,
        )

    def dead_letter_out(self, ev: Any, **kw: Any) -> Out:
        """The dead letter of ``ev`` as an output record of its batch (counted as dropped by its stage)."""
        dl = self.dead_letter(ev, **kw)
        metrics.DROPPED.labels(stage=dl.stage, reason=dl.reason).inc()
        return Out(self.settings.deadletter_topic, dl.key_bytes(), dl.to_json())

    async def send_dead_letter(self, dl: DeadLetter) -> None:
        """One dead letter, confirmed by Kafka; waited out while Kafka is away (:class:`Abandoned` when
        the worker stops meanwhile)."""
        producer = self.app.producer
        topic = self.settings.deadletter_topic

        async def send(key: bytes | None, value: bytes) -> None:
            await producer.send_and_wait(topic, key, value, None, None, None)

        await send_dead_letter(
            send, dl, base=self.settings.bulk_backoff_s, cap=self.settings.bulk_backoff_max_s,
            should_stop=lambda: self.app.should_stop, stopped=lambda: Abandoned("dead letter not delivered"),
            on_retry=lambda e, d: metrics.BULK_RETRIES.labels(reason="deadletter").inc())
        metrics.DROPPED.labels(stage=dl.stage, reason=dl.reason).inc()

    # -- produce, confirm, ack --------------------------------------------------------------------
    async def _produce_once(self, outs: list[Out]) -> tuple[list[Out], int]:
        """Send every record and wait for each confirmation; the records to send again, and how many
        of them failed for a transient reason."""
        futs: list[Any] = []
        for o in outs:
            try:
                futs.append(await self.app.producer.send(o.topic, o.key, o.value, None, None, None))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - kept per record, judged below
                futs.append(e)
        retry: list[Out] = []
        transient = 0
        for o, f in zip(outs, futs):
            err: BaseException | None = f if isinstance(f, BaseException) else None
            if err is None:
                try:
                    await f
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # noqa: BLE001
                    err = e
            if err is None:
                continue
            if not refused_for_good(err):
                transient += 1
                retry.append(o)
            elif o.fallback is not None:
                dl = o.fallback()
                log.warning("record refused by Kafka, dead-lettering: %r", err,
                            extra={"stage": dl.stage, "article_id": dl.key})
                metrics.DROPPED.labels(stage=dl.stage, reason=dl.reason).inc()
                retry.append(Out(self.settings.deadletter_topic, o.key, dl.to_json()))
            else:
                smaller = without_payload(o.value)  # a dead letter refused for its size
                if smaller is None:
                    log.error("record refused by Kafka and cannot shrink; dropped: %r", err)
                    continue
                retry.append(Out(o.topic, o.key, smaller))
        if transient:
            log.warning("Kafka did not confirm %d record(s); trying again", transient)
        return retry, transient

    async def produce(self, outs: list[Out]) -> None:
        """Every record produced and confirmed by Kafka; returns only then (retried for as long as it
        takes, with backoff; unexpected errors too: the batch stays unacked until it is out)."""
        pending = list(outs)
        attempt = 0
        while pending:
            try:
                left, transient = await self._produce_once(pending)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - never raise out of an agent
                log.exception("producing a batch failed; trying again")
                left, transient = pending, len(pending)
            if transient:  # Kafka away or busy: wait before the next try
                await asyncio.sleep(backoff_delay(attempt, 0.5, 30.0))
                attempt += 1
            pending = left

    async def settle(self, stream: Any, events: Iterable[Any], outs: list[Out]) -> None:
        """The contract: produce ``outs``, wait for Kafka's confirmation of each, then ack ``events``."""
        await self.produce(outs)
        for ev in events:
            await stream.ack(ev)

    def release(self, topics: Iterable[str]) -> None:
        """Forget this worker's in-flight messages of ``topics`` without acking them.

        faust's shutdown waits until every message handed to a stream is acked; an abandoned batch
        (and the next message already waiting to join the take buffer) never will be. Their offsets
        stay uncommitted, so the next worker reads them again."""
        names = set(topics)
        unacked = getattr(self.app.consumer, "_unacked_messages", None)
        if unacked is not None:
            for m in list(unacked):
                if m.topic in names:
                    unacked.discard(m)
