"""The processing agents: they only wire the stages (pure functions elsewhere) to Kafka.

process  ``<ns>.raw`` → process pool (decode → extract → clean → classify →
         enrich → sketch, :func:`pipeline.stages.process.process_raw`) → ``<ns>.dedupe``
dedupe   ``<ns>.dedupe`` (one partition) → :class:`pipeline.stages.dedupe.DedupeIndex`
         over a faust Table → ``<ns>.articles`` keyed by article id
index    ``<ns>.articles`` → Elasticsearch (:mod:`pipeline.stream.sink`)

No agent ever raises out of its loop (faust would ack the message anyway):
every failure becomes a :class:`pipeline.core.schema.DeadLetter` on
``<ns>.deadletter``. A batch's events are acked only after all its output
records are confirmed by Kafka, so a crash re-delivers instead of losing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Callable, Iterable

import orjson

from pipeline.core import metrics
from pipeline.core.log import get_logger
from pipeline.core.schema import DEADLETTER_MAX_PAYLOAD, DeadLetter

log = get_logger("rasid.agents")

PROCESS_STAGES = ("extract", "clean", "classify", "enrich")
# The dedupe agent yields to the event loop after this much work on a batch (an
# article takes well under a millisecond: yielding after each one cost more than it).
DEDUPE_SLICE_S = 0.02


@dataclass
class Out:
    """One record to produce for a batch, and what to do if Kafka refuses it for good."""

    topic: str
    key: bytes | None
    value: bytes
    # builds the dead letter sent instead when the record itself is refused (too large);
    # built only then: making one per record up front cost more than the record's own send
    fallback: Callable[[], DeadLetter] | None = None


def _key(ev: Any) -> str | None:
    k = ev.key
    if isinstance(k, (bytes, bytearray)):
        return bytes(k).decode("utf-8", "replace")
    return k


def dead_letter_for(ev: Any, *, stage: str, reason: str, detail: str = "", url: str | None = None,
                    source: str | None = None, article_id: str | None = None) -> DeadLetter:
    """A dead letter of event ``ev``; the payload is kept when small enough, else only the URL."""
    msg = ev.message
    value = ev.value
    payload = value if isinstance(value, (bytes, str)) and len(value) <= DEADLETTER_MAX_PAYLOAD else None
    return DeadLetter.build(
        stage=stage,
        reason=reason,
        detail=(detail or "")[:2000],
        payload=payload,
        source_topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=article_id or _key(ev),
        url=url,
        source=source,
    ).model_copy(update={"payload_truncated": payload is None and value is not None})


def count_stages(failed_stage: str | None, reason: str | None = None) -> None:
    """Per-stage metrics for one record of the process agent (counted here: pool children
    cannot reach this process's Prometheus registry)."""
    for st in PROCESS_STAGES:
        metrics.RECEIVED.labels(stage=st).inc()
        if st == failed_stage:
            metrics.DROPPED.labels(stage=st, reason=reason or "unknown").inc()
            return
        metrics.EMITTED.labels(stage=st).inc()


async def produce_all(app: Any, outs: list[Out], *, max_delay: float = 30.0) -> None:
    """Produce every record and wait until Kafka confirmed each one.

    A record Kafka refuses for good (too large, invalid) is replaced by its
    dead letter; a transient failure (broker away, leader election) is retried
    with capped backoff for as long as it takes — the batch stays unacked
    meanwhile, so nothing is lost if the worker dies.
    """
    from aiokafka.errors import (
        InvalidTopicError,
        MessageSizeTooLargeError,
        RecordTooLargeError,
    )

    permanent = (MessageSizeTooLargeError, RecordTooLargeError, InvalidTopicError, ValueError, TypeError)

    def refused_for_good(exc: BaseException) -> bool:
        # faust wraps what the client raises in send() (e.g. a record over max_request_size)
        # in ProducerSendError: judge the cause, or the record would be retried forever
        return isinstance(exc, permanent) or isinstance(exc.__cause__, permanent)
    pending = list(outs)
    attempt = 0
    while pending:
        futs: list[Any] = []
        for o in pending:
            try:
                futs.append(await app.producer.send(o.topic, o.key, o.value, None, None, None))
            except BaseException as e:  # noqa: BLE001 - kept per record, judged below
                if isinstance(e, asyncio.CancelledError):
                    raise
                futs.append(e)
        results = []
        for f in futs:
            if isinstance(f, BaseException):
                results.append(f)
                continue
            try:
                results.append(await f)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                results.append(e)
        retry: list[Out] = []
        transient = 0
        for o, r in zip(pending, results):
            if not isinstance(r, BaseException):
                continue
            if refused_for_good(r) and o.fallback is not None:
                dl = o.fallback()
                log.warning("record refused by Kafka, dead-lettering: %r", r,
                            extra={"stage": dl.stage, "article_id": dl.key})
                metrics.DROPPED.labels(stage=dl.stage, reason=dl.reason).inc()
                retry.append(Out(app.settings.deadletter_topic, o.key, dl.to_json()))
            elif refused_for_good(r):
                # a dead letter refused for good: drop its payload, keep the facts
                try:
                    dl = json.loads(o.value)
                except ValueError:
                    dl = None
                if not isinstance(dl, dict) or dl.get("payload") is None:
                    log.error("record refused by Kafka and cannot shrink; dropped: %r", r)
                    continue
                dl.update(payload=None, payload_truncated=True)
                retry.append(Out(o.topic, o.key, json.dumps(dl, ensure_ascii=False).encode("utf-8")))
            else:
                transient += 1
                retry.append(o)
        if transient:
            delay = min(max_delay, 0.5 * (2 ** min(attempt, 8))) * (0.5 + random.random() / 2)
            log.warning("Kafka did not confirm %d record(s); retrying in %.1fs", transient, delay)
            await asyncio.sleep(delay)
            attempt += 1
        pending = retry


async def produce_safely(app: Any, outs: list[Out]) -> None:
    """:func:`produce_all`, retried after unexpected errors: the batch stays unacked until it is out."""
    attempt = 0
    while True:
        try:
            await produce_all(app, outs)
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - never raise out of an agent
            delay = min(30.0, 0.5 * 2 ** min(attempt, 6))
            log.exception("producing a batch failed; retrying in %.1fs", delay)
            await asyncio.sleep(delay)
            attempt += 1


def _internal_error(app: Any, ev: Any, stage: str, exc: BaseException) -> Out:
    metrics.DROPPED.labels(stage=stage, reason="internal_error").inc()
    dl = dead_letter_for(ev, stage=stage, reason="internal_error", detail=f"{type(exc).__name__}: {exc}")
    return Out(app.settings.deadletter_topic, (_key(ev) or "").encode("utf-8") or None, dl.to_json())


# --------------------------------------------------------------------------- process

def _process_outs(app: Any, events: list[Any], outcomes: list[Any]) -> list[Out]:
    s = app.settings
    outs: list[Out] = []
    for ev, oc in zip(events, outcomes):
        if not oc.ok:  # the pool itself failed this item (crash/timeout twice)
            res = {"ok": False, "stage": "extract", "reason": oc.reason, "detail": oc.detail}
        else:
            res = oc.value
        if res.get("ok"):
            count_stages(None)
            aid = res["id"]
            fallback = partial(dead_letter_for, ev, stage="enrich", reason="too_large_output",
                               detail="processed article larger than the Kafka message limit",
                               url=res.get("url"), source=res.get("source"), article_id=aid)
            outs.append(Out(app.dedupe_topic.get_topic_name(), aid.encode("utf-8"), res["envelope"], fallback))
            if log.isEnabledFor(logging.DEBUG):  # (its fields are not built per article otherwise)
                log.debug("processed", extra={"stage": "enrich", "source": res.get("source"), "article_id": aid})
        else:
            stage, reason = res.get("stage") or "extract", res.get("reason") or "unknown"
            count_stages(stage, reason)
            dl = dead_letter_for(ev, stage=stage, reason=reason, detail=res.get("detail", ""),
                                 url=res.get("url"), source=res.get("source"), article_id=res.get("id"))
            log.warning("dead-lettered: %s %s", reason, (res.get("detail") or "")[:300],
                        extra={"stage": stage, "source": res.get("source"), "article_id": res.get("id"),
                               "partition": ev.message.partition, "offset": ev.message.offset})
            outs.append(Out(s.deadletter_topic, (res.get("id") or _key(ev) or "").encode("utf-8") or None,
                            dl.to_json()))
    return outs


async def _acquire_slot(slots: asyncio.Semaphore, finisher: asyncio.Future) -> None:
    """Wait for a free batch slot; re-raise if the task that frees slots died (never expected)."""
    if not slots.locked():
        await slots.acquire()
        return
    acquiring = asyncio.ensure_future(slots.acquire())
    try:
        await asyncio.wait({acquiring, finisher}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        acquiring.cancel()
        raise
    if not acquiring.done():
        acquiring.cancel()
        finisher.result()  # raises what stopped it
        raise RuntimeError("the batch finisher stopped")


def register_process(app: Any) -> Any:
    from pipeline.stages.process import ChainConfig, process_raw, warm_up
    from pipeline.stream.pool import StagePool

    s = app.settings
    config = ChainConfig.from_settings(s)
    task = partial(process_raw, config=config)

    @app.agent(app.raw_topic, name="process", concurrency=1)
    async def process(stream: Any) -> None:
        pool = StagePool(s.process_pool_size, timeout_s=s.process_timeout_s, context="forkserver",
                         initializer=warm_up, initargs=(config,), max_tasks_per_child=2000)
        app.process_pool = pool
        try:
            await app.dedupe_topic.maybe_declare()
        except Exception as e:  # noqa: BLE001 - faust declares it again on demand; sends retry meanwhile
            log.warning("could not declare %s yet: %s", app.dedupe_topic.get_topic_name(), e)
        log.info("process agent started", extra={"stage": "extract", "pool_size": pool.size,
                                                  "batches_in_flight": s.process_batches_in_flight})
        # Batch N+1 is already in the pool while batch N's results are produced and
        # acked here, so the processes do not wait for the event loop. Batches are
        # finished (produced, then acked) strictly in the order they were taken.
        slots = asyncio.Semaphore(s.process_batches_in_flight)
        queue: asyncio.Queue = asyncio.Queue()

        async def finish_batches() -> None:
            while True:
                events, mapped = await queue.get()
                try:
                    try:
                        outs = _process_outs(app, events, await mapped)
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:  # noqa: BLE001 - a bug here must not crash the agent (faust would ack)
                        log.exception("process batch failed; dead-lettering it", extra={"stage": "extract"})
                        outs = [_internal_error(app, ev, "extract", e) for ev in events]
                    await produce_safely(app, outs)
                    for ev in events:
                        await stream.ack(ev)
                finally:
                    slots.release()

        finisher = asyncio.ensure_future(finish_batches())
        try:
            async for events in stream.noack_take(s.batch_size, within=s.batch_timeout_s):
                await _acquire_slot(slots, finisher)
                mapped = asyncio.ensure_future(pool.map(task, [ev.value for ev in events]))
                queue.put_nowait((events, mapped))
        finally:
            # stopping (or a rebalance that ends this stream): batches not acked yet are read again
            tasks = [finisher]
            while not queue.empty():
                tasks.append(queue.get_nowait()[1])
            for t in tasks:
                t.cancel()
            pool.close()
            await asyncio.wait(tasks, timeout=5)

    return process


# --------------------------------------------------------------------------- dedupe

class DedupeState:
    """The DedupeIndex over the faust Table, rebuilt after every rebalance (the table may have moved)."""

    def __init__(self, app: Any, table: Any) -> None:
        self.app = app
        self.table = table
        self.index = None
        self.generation: int | None = None

    def get(self):
        from pipeline.stages.dedupe import index_from_settings

        gen = self.app.consumer_generation_id
        if self.index is None or gen != self.generation:
            self.index = index_from_settings(self.table, settings=self.app.settings)
            self.generation = gen
            log.info("dedupe state loaded", extra={"stage": "dedupe", "entries": len(self.index),
                                                   "live": self.index.live})
        return self.index


def dedupe_one(index: Any, value: bytes) -> tuple[str, bytes, dict]:
    """Envelope → (article id, article JSON with story_id/duplicate_of, article dict); raises on bad input."""
    env = orjson.loads(value)
    art = env["article"]
    aid = art["id"]
    if not isinstance(aid, str) or not aid:
        raise ValueError("article without id")
    when = datetime.fromisoformat(env["when"]) if env.get("when") else None
    verdict = index.assign(aid, env.get("sketch"), when)
    art["story_id"] = verdict.story_id
    art["duplicate_of"] = verdict.duplicate_of
    return aid, orjson.dumps(art), art


async def _dedupe_batch(app: Any, state: DedupeState, events: list[Any]) -> list[Out]:
    s = app.settings
    index = state.get()
    outs: list[Out] = []
    yielded = time.monotonic()
    for ev in events:
        metrics.RECEIVED.labels(stage="dedupe").inc()
        try:
            aid, value, art = dedupe_one(index, ev.value)
        except Exception as e:  # noqa: BLE001 - a bad envelope never stops the agent
            reason = "bad_envelope" if isinstance(e, (ValueError, KeyError, TypeError)) else "internal_error"
            metrics.DROPPED.labels(stage="dedupe", reason=reason).inc()
            log.warning("dead-lettered: %s %s", reason, e, extra={"stage": "dedupe", "article_id": _key(ev)})
            dl = dead_letter_for(ev, stage="dedupe", reason=reason, detail=f"{type(e).__name__}: {e}")
            outs.append(Out(s.deadletter_topic, (_key(ev) or "").encode("utf-8") or None, dl.to_json()))
            continue
        metrics.EMITTED.labels(stage="dedupe").inc()
        fallback = partial(dead_letter_for, ev, stage="dedupe", reason="too_large_output",
                           detail="article larger than the Kafka message limit",
                           url=art.get("url"), source=art.get("source"), article_id=aid)
        outs.append(Out(s.articles_topic, aid.encode("utf-8"), value, fallback))
        if log.isEnabledFor(logging.INFO):  # (its fields are not built per article otherwise)
            log.info("article", extra={"stage": "dedupe", "source": art.get("source"), "article_id": aid,
                                       "story_id": art["story_id"], "duplicate_of": art["duplicate_of"],
                                       "topics": ",".join(t["id"] for t in art.get("topics") or [])})
        if time.monotonic() - yielded > DEDUPE_SLICE_S:  # let heartbeats and other agents run now and then
            await asyncio.sleep(0)
            yielded = time.monotonic()
    return outs


def register_dedupe(app: Any) -> Any:
    s = app.settings
    from pipeline.stream.app import DEDUPE_TABLE

    table = app.Table(
        DEDUPE_TABLE,
        default=None,
        partitions=1,
        key_type=str,  # keys and values travel as JSON on the changelog
        # writes go to the changelog's single partition without needing the
        # current event (we write while handling a whole batch)
        use_partitioner=True,
        help="article id -> story id, duplicate_of, time and MinHash sketch",
    )
    state = DedupeState(app, table)
    app.dedupe_table = table
    app.dedupe_state = state

    @app.agent(app.dedupe_topic, name="dedupe", concurrency=1)
    async def dedupe(stream: Any) -> None:
        log.info("dedupe agent started", extra={"stage": "dedupe"})
        async for events in stream.noack_take(max(s.batch_size, 100), within=s.dedupe_batch_timeout_s):
            try:
                outs = await _dedupe_batch(app, state, events)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - e.g. the state could not be loaded; never crash
                log.exception("dedupe batch failed; dead-lettering it", extra={"stage": "dedupe"})
                outs = [_internal_error(app, ev, "dedupe", e) for ev in events]
            await produce_safely(app, outs)
            for ev in events:
                await stream.ack(ev)

    return dedupe


# --------------------------------------------------------------------------- wiring

def register(app: Any, names: Iterable[str]) -> None:
    """Register the named agents on ``app`` (a RasidApp)."""
    names = tuple(names)
    if "process" in names:
        register_process(app)
    if "dedupe" in names:
        register_dedupe(app)
    if "index" in names:
        try:
            from pipeline.stream.sink import register as register_sink
        except ImportError as e:  # the index helper's module is part of this build; say so clearly if not
            raise RuntimeError(f"the index agent is unavailable: {e}") from e
        register_sink(app, app.settings, app.articles_topic)
