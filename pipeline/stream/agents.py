"""The agents of a worker: thin wiring of the stages (pure functions) to Kafka.

process  ``<ns>.raw`` → process pool (decode → extract → clean → classify → enrich → sketch,
         :func:`pipeline.stages.process.process_raw`) → ``<ns>.dedupe``
dedupe   ``<ns>.dedupe`` (one partition) → :class:`pipeline.stages.dedupe.DedupeIndex` (near-copies) and
         its :class:`pipeline.stages.stories.EventIndex` (event stories) over a faust Table →
         ``<ns>.articles`` keyed by article id
index    ``<ns>.articles`` → Elasticsearch (:mod:`pipeline.stream.sink`); ``<ns>.stories`` and
         ``<ns>.alerts`` → their indices (:mod:`pipeline.stream.storysink`)
alerts   ``<ns>.alerts`` → webhooks (:mod:`pipeline.stream.webhooks`)

The dedupe agent also hands each batch's articles to the story monitor
(:mod:`pipeline.stream.storyhook`): story documents and alerts go out with the batch.

Each agent takes a batch, computes its output records and hands them with the batch to
:meth:`pipeline.stream.delivery.Delivery.settle` (produce, confirm, then ack). No agent raises out
of its loop: every failure becomes a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime
from functools import partial
from typing import Any, Iterable

import orjson

from pipeline.core import metrics
from pipeline.core.ids import SOURCE_ID_RE
from pipeline.core.kafka import DEDUPE_TABLE
from pipeline.core.log import get_logger
from pipeline.stream.delivery import Delivery, Out, event_key
from pipeline.stream.sink import register as register_sink
from pipeline.stream.storyhook import attach as attach_story_hook
from pipeline.stream.storysink import register as register_story_sink
from pipeline.stream.tablestore import RECOVERY_BUFFER, store_url
from pipeline.stream.webhooks import register as register_webhooks

log = get_logger("rasid.agents")

AGENT_NAMES = ("process", "dedupe", "index", "alerts")
PROCESS_STAGES = ("extract", "clean", "classify", "enrich", "claims")
# The dedupe agent yields to the event loop after this much work on a batch (an
# article takes well under a millisecond: yielding after each one cost more than it).
DEDUPE_SLICE_S = 0.02


_SOURCE_LABEL = re.compile(SOURCE_ID_RE)


_UTC_CLOCK_TOLD: set[str] = set()  # sources whose UTC page clock this process has logged


def source_label(source: Any) -> str:
    """A source id as a metric label: one a registry would not accept (a bad record's) is «unknown», so a
    poisoned message cannot mint label values."""
    return source if isinstance(source, str) and _SOURCE_LABEL.fullmatch(source) else "unknown"


def count_source_page(source: Any, ok: bool, utc_clock: bool = False) -> None:
    """``rasid_source_pages_total`` for one page, and ``rasid_page_clock_utc_total`` when its time was read
    as UTC (logged once per source and process: the operator may set the source's ``timezone``)."""
    label = source_label(source)
    metrics.SOURCE_PAGES.labels(source=label, outcome="processed" if ok else "dead_lettered").inc()
    if utc_clock:
        metrics.PAGE_CLOCK_UTC.labels(source=label).inc()
        if label not in _UTC_CLOCK_TOLD:
            _UTC_CLOCK_TOLD.add(label)
            log.info("source %s writes its page times in UTC without an offset: read as UTC where its feed dates "
                     "the page; `timezone: UTC` in the registry places its undated listings too", label,
                     extra={"stage": "extract", "source": label})


def count_stages(failed_stage: str | None, reason: str | None = None) -> None:
    """Per-stage metrics for one record of the process agent (counted here: pool children
    cannot reach this process's Prometheus registry)."""
    for st in PROCESS_STAGES:
        metrics.RECEIVED.labels(stage=st).inc()
        if st == failed_stage:
            metrics.DROPPED.labels(stage=st, reason=reason or "unknown").inc()
            return
        metrics.EMITTED.labels(stage=st).inc()


def _internal_error(delivery: Delivery, ev: Any, stage: str, exc: BaseException) -> Out:
    return delivery.dead_letter_out(ev, stage=stage, reason="internal_error", detail=f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- process

def _process_outs(app: Any, delivery: Delivery, events: list[Any], outcomes: list[Any]) -> list[Out]:
    outs: list[Out] = []
    for ev, oc in zip(events, outcomes):
        if not oc.ok:  # the pool itself failed this item (crash/timeout twice)
            res = {"ok": False, "stage": "extract", "reason": oc.reason, "detail": oc.detail}
        else:
            res = oc.value
        count_source_page(res.get("source"), bool(res.get("ok")), bool(res.get("utc_clock")))
        if res.get("ok"):
            count_stages(None)
            aid = res["id"]
            fallback = partial(delivery.dead_letter, ev, stage="enrich", reason="too_large_output",
                               detail="processed article larger than the Kafka message limit",
                               url=res.get("url"), source=res.get("source"), article_id=aid)
            outs.append(Out(app.dedupe_topic.get_topic_name(), aid.encode("utf-8"), res["envelope"], fallback))
            if log.isEnabledFor(logging.DEBUG):  # (its fields are not built per article otherwise)
                log.debug("processed", extra={"stage": "enrich", "source": res.get("source"), "article_id": aid})
        else:
            stage, reason = res.get("stage") or "extract", res.get("reason") or "unknown"
            count_stages(stage, reason)
            dl = delivery.dead_letter(ev, stage=stage, reason=reason, detail=res.get("detail", ""),
                                      url=res.get("url"), source=res.get("source"), article_id=res.get("id"))
            log.warning("dead-lettered: %s %s", reason, (res.get("detail") or "")[:300],
                        extra={"stage": stage, "source": res.get("source"), "article_id": res.get("id"),
                               "partition": ev.message.partition, "offset": ev.message.offset})
            outs.append(Out(app.settings.deadletter_topic, dl.key_bytes(), dl.to_json()))
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
    delivery = Delivery(app)

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
                        outs = _process_outs(app, delivery, events, await mapped)
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:  # noqa: BLE001 - a bug here must not crash the agent (faust would ack)
                        log.exception("process batch failed; dead-lettering it", extra={"stage": "extract"})
                        outs = [_internal_error(delivery, ev, "extract", e) for ev in events]
                    await delivery.settle(stream, events, outs)
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
    """The DedupeIndex over the faust Table, rebuilt after a rebalance that changed the table (it may
    have moved). A store that counts the changes it did not make itself (``changes``: the disk store)
    spares the rebuild when a rebalance left the table as it was (a broker restart, a worker that
    joined and took other partitions): the index already holds what it holds."""

    def __init__(self, app: Any, table: Any) -> None:
        self.app = app
        self.table = table
        self.index = None
        self.generation: int | None = None
        self.changes: int | None = None

    def _store_changes(self) -> int | None:
        return getattr(getattr(self.table, "data", None), "changes", None)

    def get(self):
        from pipeline.stages.dedupe import index_from_settings

        gen = self.app.consumer_generation_id
        changes = self._store_changes()
        if self.index is None or (gen != self.generation and (changes is None or changes != self.changes)):
            self.index = None  # (the old one goes before the new one is built: one at a time in memory)
            self.index = index_from_settings(self.table, settings=self.app.settings, preallocate=True)
            self.changes = changes  # (the rebuild's own writes, evictions, are not counted)
            log.info("dedupe state loaded", extra={"stage": "dedupe", "entries": len(self.index),
                                                   "live": self.index.live})
        self.generation = gen
        return self.index


def dedupe_one(index: Any, value: bytes) -> tuple[str, bytes, dict]:
    """Envelope → (article id, article JSON with story_id/duplicate_of/story_follows, article dict); raises on bad input."""
    env = orjson.loads(value)
    art = env["article"]
    aid = art["id"]
    if not isinstance(aid, str) or not aid:
        raise ValueError("article without id")
    when = datetime.fromisoformat(env["when"]) if env.get("when") else None
    features = env.get("event")
    if features is None and env.get("sketch") and aid not in index.store:  # an envelope of an older worker
        from pipeline.stages.stories import encoded_article_features

        features = encoded_article_features(art)
    verdict = index.assign(aid, env.get("sketch"), when, features=features)
    verdict.stamp(art)
    return aid, orjson.dumps(art), art


async def _dedupe_batch(app: Any, delivery: Delivery, state: DedupeState, events: list[Any]) -> list[Out]:
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
            log.warning("dead-lettered: %s %s", reason, e, extra={"stage": "dedupe", "article_id": event_key(ev)})
            outs.append(delivery.dead_letter_out(ev, stage="dedupe", reason=reason, detail=f"{type(e).__name__}: {e}"))
            continue
        metrics.EMITTED.labels(stage="dedupe").inc()
        fallback = partial(delivery.dead_letter, ev, stage="dedupe", reason="too_large_output",
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
    metrics.STATE_ENTRIES.labels(state="dedupe_live").set(index.live)
    metrics.STATE_ENTRIES.labels(state="story_live").set(len(index.events))
    metrics.STATE_ENTRIES.labels(state="ids_retained").set(index.ids_retained)
    return outs


def register_dedupe(app: Any) -> Any:
    s = app.settings
    delivery = Delivery(app)
    table = app.Table(
        DEDUPE_TABLE,
        default=None,
        partitions=1,
        key_type=str,  # keys and values travel as JSON on the changelog
        # writes go to the changelog's single partition without needing the
        # current event (we write while handling a whole batch)
        use_partitioner=True,
        store=store_url(s.table_store),
        recovery_buffer_size=RECOVERY_BUFFER,
        help="article id -> story id, duplicate_of, time, MinHash sketch and event keys",
    )
    state = DedupeState(app, table)
    app.dedupe_table = table
    app.dedupe_state = state
    stories = attach_story_hook(app)  # story documents and alerts (pipeline.stream.storyhook)

    @app.agent(app.dedupe_topic, name="dedupe", concurrency=1)
    async def dedupe(stream: Any) -> None:
        log.info("dedupe agent started", extra={"stage": "dedupe"})
        async for events in stream.noack_take(max(s.batch_size, 100), within=s.dedupe_batch_timeout_s):
            try:
                outs = await _dedupe_batch(app, delivery, state, events)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - e.g. the state could not be loaded; never crash
                log.exception("dedupe batch failed; dead-lettering it", extra={"stage": "dedupe"})
                outs = [_internal_error(delivery, ev, "dedupe", e) for ev in events]
            outs += stories.outs_after(outs)  # never raises
            await delivery.settle(stream, events, outs)
            stories.settled()

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
        register_sink(app, app.settings, app.articles_topic)
        register_story_sink(app)
    if "alerts" in names:
        register_webhooks(app)
