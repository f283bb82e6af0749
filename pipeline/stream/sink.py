"""The Elasticsearch sink: a faust agent on ``<ns>.articles`` that bulk-indexes articles.

Delivery contract (docs/ARCHITECTURE.md; acks and dead letters through :mod:`pipeline.stream.delivery`):

- a batch is taken with ``stream.noack_take(bulk_max_docs, within=bulk_max_wait_s)``
  and its events are acked one by one only after every record of the batch is
  either indexed or confirmed on ``<ns>.deadletter``; faust commits an offset
  only once every earlier offset of the partition is acked, so a crash, a
  SIGKILL or a SIGTERM while Elasticsearch is down leaves the offsets before
  the batch and the batch is consumed again (``take()`` would ack the batch
  in its ``finally`` even when the generator is closed on shutdown; ``noack_take``
  never acks by itself);
- Elasticsearch being down, slow, overloaded (429) or failing (5xx) is retried
  forever with capped exponential backoff: the agent waits, its take buffer and
  faust's stream buffer fill up, the consumer pauses — memory stays bounded;
- a document Elasticsearch rejects (mapping error, 400) goes to the dead letter
  with the reason, and the rest of the batch is indexed;
- ``_id`` is the article id, so redelivered records overwrite themselves; and an
  article re-processed into another month's index (its publication date changed in an
  update, or was found only by a later replay) has its copy in the earlier month's
  index removed once the new one is written, so it is counted once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Awaitable, Callable, Iterable

from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import async_streaming_bulk

from pipeline.core import metrics
from pipeline.core.errors import BadRecord
from pipeline.stream.index import parse_article, to_action
from pipeline.core.log import get_logger
from pipeline.core.schema import DeadLetter, utcnow
from pipeline.core.errors import OperatorError
from pipeline.core.retry import backoff_delay, retry_forever
from pipeline.core.settings import Settings
from pipeline.core.urls import redact
from pipeline.stream.delivery import Abandoned, Delivery
from pipeline.stream.es import async_es_client, describe_es, ensure_es

log = get_logger("rasid.sink")
STAGE = "index"

# Per-document statuses that are the cluster's problem, not the document's:
# overload, server errors, a missing index (template/auto-create trouble) and
# security refusals (credentials being rotated). They are retried, never dead-lettered.
RETRY_ITEM_STATUSES = frozenset({401, 403, 404, 408, 429})
# Whole-request statuses for which the request itself may be at fault (too large,
# malformed): the batch is split to single documents to find the culprit.
SPLIT_REQUEST_STATUSES = frozenset({400, 413})

DeadLetterFn = Callable[[DeadLetter], Awaitable[None]]


@dataclass
class Item:
    """One record of a batch: its decoded action (or why it has none) and where it came from."""

    payload: bytes | str | None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    action: dict[str, Any] | None = None
    article_id: str | None = None
    url: str | None = None
    source: str | None = None
    fetched_at: datetime | None = None
    bad: BadRecord | None = None
    stage: str = STAGE  # the stage that writes it (articles: index; story documents and alerts: stories)

    def deadletter(self, reason: str, detail: str) -> DeadLetter:
        return DeadLetter.build(
            stage=self.stage,
            reason=reason,
            detail=detail,
            payload=self.payload,
            source_topic=self.topic,
            partition=self.partition,
            offset=self.offset,
            key=self.key or self.article_id,
            url=self.url,
            source=self.source,
        )


def make_item(value: Any, settings: Settings, *, topic: str | None = None, partition: int | None = None,
              offset: int | None = None, key: Any = None) -> Item:
    """Decode one message into an :class:`Item`; undecodable input becomes an item marked ``bad``."""
    payload = value if isinstance(value, (bytes, str)) else (None if value is None else repr(value))
    k = key.decode("utf-8", "replace") if isinstance(key, (bytes, bytearray)) else key
    item = Item(payload=payload, topic=topic, partition=partition, offset=offset, key=k)
    try:
        article = parse_article(value)
        item.article_id, item.url, item.source = article.id, article.url, article.source
        item.fetched_at = article.fetched_at
        item.action = to_action(article, settings)
    except BadRecord as e:
        item.bad = e
    except Exception as e:  # noqa: BLE001 — bad input never stops the sink
        item.bad = BadRecord("invalid_article", f"{type(e).__name__}: {e}"[:500])
    return item


@dataclass
class WriteResult:
    indexed: int = 0
    dead: int = 0
    retries: int = 0
    stale_removed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def _error_text(info: dict[str, Any]) -> tuple[str, str]:
    """(reason slug, detail) of a per-document bulk error."""
    err = info.get("error")
    if isinstance(err, dict):
        etype = str(err.get("type") or "es_error")
        detail = str(err.get("reason") or "")
        cause = err.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            detail = f"{detail} (caused by {cause.get('type')}: {cause.get('reason')})"
        return etype, detail
    return "es_error", str(err or "")


def _retryable_status(status: int) -> bool:
    return status >= 500 or status in RETRY_ITEM_STATUSES


class BulkWriter:
    """Index a batch until every record is indexed or dead-lettered; waits out cluster trouble.

    Faust-independent so its retry and dead-letter rules are exercised directly
    against a real Elasticsearch in tests.
    """

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        deadletter: DeadLetterFn,
        *,
        backoff_s: float | None = None,
        backoff_max_s: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        should_stop: Callable[[], bool] = lambda: False,
        stage: str = STAGE,
        remove_stale: bool = True,
    ) -> None:
        self.es = es
        self.stage = stage
        # articles move between monthly indices; story documents and alerts live in one index each
        self.remove_stale = remove_stale
        self.settings = settings
        self._deadletter = deadletter
        self.backoff_s = settings.bulk_backoff_s if backoff_s is None else backoff_s
        self.backoff_max_s = settings.bulk_backoff_max_s if backoff_max_s is None else backoff_max_s
        self._sleep = sleep
        self._should_stop = should_stop
        self._alias_indices: set[str] | None = None  # the alias's indices, looked up now and then
        self._template_ready = False  # the namespace's index template checked (a worker may start before ES)
        self._alias_indices_at = 0.0

    async def _send_deadletter(self, item: Item, reason: str, detail: str, result: WriteResult) -> None:
        """Dead-letter one record; Kafka trouble is waited out like ES trouble (never drop)."""
        # any producer failure: wait and retry
        await self._until_done(lambda: self._deadletter(item.deadletter(reason, detail)), reason="deadletter",
                               what="dead letter not delivered", errors=(Exception,), article_id=item.article_id)
        result.dead += 1
        result.reasons[reason] = result.reasons.get(reason, 0) + 1
        metrics.DROPPED.labels(stage=self.stage, reason=reason).inc()
        log.warning("dead-lettered: %s %s", reason, detail[:300],
                    extra={"stage": self.stage, "article_id": item.article_id, "source": item.source})

    async def write(self, items: Iterable[Item]) -> WriteResult:
        """Index ``items``; return only when each is indexed or dead-lettered."""
        result = WriteResult()
        if not self._template_ready:  # never let a monthly index be created without the Arabic mappings
            await self._until_done(lambda: asyncio.to_thread(ensure_es, self.settings), reason="setup",
                                   what="the index template could not be checked", errors=(OperatorError,),
                                   result=result)
            self._template_ready = True
        pending: list[Item] = []
        for it in items:
            metrics.RECEIVED.labels(stage=self.stage).inc()
            if it.bad is not None or it.action is None:
                bad = it.bad or BadRecord("invalid_article", "no action")
                await self._send_deadletter(it, bad.reason, bad.detail, result)
            else:
                pending.append(it)

        attempt = 0
        solo = False  # after a whole-request 400/413: one document per request
        written: dict[str, str] = {}  # id → the index it was last written to in this batch
        superseded: set[tuple[str, str]] = set()  # (id, index) written here, then elsewhere
        while pending:
            retry: list[Item] = []
            done = 0
            reason = None
            settled_before = result.indexed + result.dead
            stamp = utcnow().isoformat()
            for it in pending:  # indexed_at says when it reached the index, not when it was first tried
                it.action["_source"]["indexed_at"] = stamp
            t0 = time.perf_counter()
            try:
                async for ok, info in async_streaming_bulk(
                    self.es,
                    (it.action for it in pending),
                    chunk_size=1 if solo else self.settings.bulk_max_docs,
                    max_chunk_bytes=self.settings.bulk_max_bytes,
                    raise_on_error=False,
                    raise_on_exception=True,
                    max_retries=0,
                    yield_ok=True,
                ):
                    it = pending[done]
                    done += 1
                    if done == 1:
                        metrics.DEPENDENCY_UP.labels(dependency="elasticsearch").set(1)
                    op = next(iter(info.values()))
                    status = int(op.get("status", 500))
                    if ok:
                        self._on_indexed(it, result)
                        doc_id, index = it.action["_id"], op.get("_index") or it.action["_index"]
                        earlier = written.get(doc_id)
                        if earlier is not None and earlier != index:
                            superseded.add((doc_id, earlier))
                        superseded.discard((doc_id, index))
                        written[doc_id] = index
                    elif _retryable_status(status):
                        retry.append(it)
                        reason = reason or f"item_{status}"
                    else:
                        etype, detail = _error_text(op)
                        await self._send_deadletter(it, "es_rejected", f"{status} {etype}: {detail}", result)
            except ApiError as e:
                status = int(e.status_code or 0)
                if status in SPLIT_REQUEST_STATUSES and (solo or len(pending) - done == 1):
                    # The one document in the request is what the cluster refuses.
                    it = pending[done]
                    done += 1
                    await self._send_deadletter(it, "es_rejected", f"{status} {e.message}: {str(e)[:500]}", result)
                elif status in SPLIT_REQUEST_STATUSES:
                    solo = True
                    reason = f"request_{status}"
                else:
                    reason = f"request_{status}" if status else "api_error"
                    log.warning("bulk request failed (%s), will retry: %s", status, e.message,
                                extra={"stage": self.stage})
            except TransportError as e:  # connection refused/reset, timeouts, TLS trouble
                metrics.DEPENDENCY_UP.labels(dependency="elasticsearch").set(0)
                reason = type(e).__name__.lower()
                log.warning("Elasticsearch unreachable (%s), will retry: %s", type(e).__name__,
                            redact(str(e))[:300], extra={"stage": self.stage})
            finally:
                metrics.BULK_LATENCY.observe(time.perf_counter() - t0)
            # Whatever came back before an exception is settled; the rest is tried again.
            retry.extend(pending[done:])
            pending = retry
            if pending and reason is None:
                continue  # only what followed a refused single document: send it now, no wait
            if pending:
                metrics.BULK_RETRIES.labels(reason=reason).inc()
                result.retries += 1
                delay = backoff_delay(attempt, self.backoff_s, self.backoff_max_s)
                log.info("retrying %d document(s) in %.1fs (%s)", len(pending), delay, reason,
                         extra={"stage": self.stage})
                await self._sleep(delay)
                if self._should_stop():
                    raise Abandoned(f"{len(pending)} document(s) not indexed")
                progressed = result.indexed + result.dead > settled_before
                attempt = 0 if progressed else attempt + 1
        if written and self.remove_stale:
            await self._remove_stale_copies(written, superseded, result)
        return result

    async def _remove_stale_copies(self, written: dict[str, str], superseded: set[tuple[str, str]],
                                   result: WriteResult) -> None:
        """Delete the copies of just-written articles that sit in another monthly index.

        Copies written earlier in this same batch are deleted by id (they may not be
        searchable yet); older ones are found by one ids search over the alias's other
        indices (cheap, and as nearly always it finds nothing) and deleted by id. A copy
        written by the previous batch less than a refresh interval ago is not found. Cluster
        trouble is waited out like the bulk itself: the batch is not acked before this is
        done, so a crash repeats it."""
        until_done = partial(self._until_done, reason="stale_copies",
                             what="removing copies left in other months failed")
        targets = set(written.values())
        others = sorted(await until_done(lambda: self._indices_of_alias(targets)) - targets)
        by_index: dict[str, list[str]] = {}
        for doc_id, index in written.items():
            by_index.setdefault(index, []).append(doc_id)
        query = {"bool": {"should": [
            {"bool": {"filter": [{"ids": {"values": ids}}], "must_not": [{"term": {"_index": index}}]}}
            for index, ids in by_index.items()], "minimum_should_match": 1}}
        page = min(10_000, 2 * len(written) + 10)
        alias = self.settings.es_alias

        async def find() -> set[tuple[str, str]]:
            found = await self.es.search(index=",".join(others), query=query, size=page, source=False,
                                         track_total_hits=False, ignore_unavailable=True, allow_no_indices=True)
            return {(h["_id"], h["_index"]) for h in found["hits"]["hits"]}

        async def delete(pairs: set[tuple[str, str]]) -> int:
            resp = await self.es.bulk(operations=[{"delete": {"_index": index, "_id": doc_id}}
                                                  for doc_id, index in sorted(pairs)])
            return sum(1 for i in resp["items"] if i["delete"].get("result") == "deleted")

        removed = await until_done(lambda: delete(superseded)) if superseded else 0
        for _ in range(5 if others else 0):  # more than a page only if an article had several stale copies
            stale = await until_done(find)
            if stale:
                removed += await until_done(lambda: delete(stale))
            if len(stale) < page:
                break
            await until_done(lambda: self.es.indices.refresh(index=alias))  # let the search see it
        if removed:
            result.stale_removed += removed
            metrics.STALE_COPIES_REMOVED.inc(removed)
            log.info("removed %d copy(ies) left in another month's index", removed, extra={"stage": STAGE})

    async def _indices_of_alias(self, needed: set[str]) -> set[str]:
        """The alias's indices, looked up again after a minute or when one just written is not
        among them (a new month), so the search skips the index being written, usually the only
        one with recent segments, and is not made at all while there is no other month."""
        stale = time.monotonic() - self._alias_indices_at > 60.0
        if self._alias_indices is None or stale or not needed <= self._alias_indices:
            try:
                resp = await self.es.indices.get_alias(name=self.settings.es_alias)
                self._alias_indices = set(resp.body)
            except NotFoundError:
                self._alias_indices = set()
            self._alias_indices_at = time.monotonic()
        return self._alias_indices

    async def _until_done(self, call: Callable[[], Awaitable[Any]], *, reason: str, what: str,
                          errors: tuple[type[BaseException], ...] = (ApiError, TransportError),
                          article_id: str | None = None, result: WriteResult | None = None) -> Any:
        """``call()``, retried with the backoff of :mod:`pipeline.core.retry` while it fails with
        ``errors`` (never given up; :class:`Abandoned` when the worker stops meanwhile)."""
        def warn(e: BaseException, delay: float) -> None:
            metrics.BULK_RETRIES.labels(reason=reason).inc()
            if result is not None:
                result.retries += 1
            log.warning("%s, will retry in %.1fs: %s", what, delay, redact(str(e))[:300],
                        extra={"stage": self.stage, "article_id": article_id})

        return await retry_forever(call, retry_on=errors, base=self.backoff_s, cap=self.backoff_max_s,
                                   on_retry=warn, should_stop=self._should_stop, stopped=lambda: Abandoned(what),
                                   sleep=self._sleep)

    def _on_indexed(self, it: Item, result: WriteResult) -> None:
        result.indexed += 1
        metrics.EMITTED.labels(stage=self.stage).inc()
        if it.fetched_at is not None:
            lag = (utcnow() - it.fetched_at).total_seconds()
            if lag >= 0:
                metrics.END_TO_END.observe(lag)


# --------------------------------------------------------------------- the faust agent

def items_from_events(events: Iterable[Any], settings: Settings) -> list[Item]:
    out = []
    for ev in events:
        msg = ev.message
        out.append(make_item(ev.value, settings, topic=msg.topic, partition=msg.partition,
                             offset=msg.offset, key=ev.key))
    return out


def register(app: Any, settings: Settings, articles_topic: Any | None = None, *, name: str = "index",
             stage: str = STAGE, items: Callable[[list[Any], Settings], list[Item]] = items_from_events,
             remove_stale: bool = True) -> Any:
    """Attach the sink agent to a faust ``app``; returns the agent.

    ``articles_topic`` defaults to a raw-bytes topic on ``settings.articles_topic``. The story
    documents' and alerts' sink (:mod:`pipeline.stream.storysink`) is this same agent with its own
    topics, ``name``, ``stage`` and ``items`` (records → bulk actions), and no stale-copy search.
    """
    topic = articles_topic or app.topic(settings.articles_topic, key_type=bytes, value_type=bytes,
                                        key_serializer="raw", value_serializer="raw")
    topic_names = set(getattr(topic, "topics", None) or [settings.articles_topic])
    delivery = Delivery(app)

    @app.agent(topic, name=f"{settings.namespace}-{name}", concurrency=1)
    async def index_articles(stream: Any) -> None:
        log.info("sink started", extra={"stage": stage, **{f"es_{k}": v for k, v in describe_es(settings).items()}})
        es = async_es_client(settings)
        writer = BulkWriter(es, settings, delivery.send_dead_letter, sleep=app.sleep,
                            should_stop=lambda: app.should_stop, stage=stage, remove_stale=remove_stale)
        try:
            async for events in stream.noack_take(settings.bulk_max_docs, within=settings.bulk_max_wait_s):
                try:
                    res = await writer.write(items(events, settings))
                except Abandoned as e:
                    log.warning("stopping with a batch not indexed (%s); its %d record(s) stay uncommitted "
                                "and will be read again", e, len(events), extra={"stage": stage})
                    delivery.release(topic_names)
                    # Park until faust cancels the agent. Leaving the loop would close the
                    # take generator, turn the stream's acks back on and let the background
                    # drainer ack (and so commit) messages nobody indexed.
                    await asyncio.Future()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # Not expected (bad input is dead-lettered, cluster trouble retried). Acking
                    # would lose the batch: leave it uncommitted and let the worker crash and restart.
                    log.exception("sink batch failed unexpectedly; not acking", extra={"stage": stage})
                    raise
                await delivery.settle(stream, events, [])  # indexed or dead-lettered: ack
                if res.dead or res.retries:
                    log.info("batch done", extra={"stage": stage, "indexed": res.indexed,
                                                  "dead": res.dead, "retries": res.retries})
        finally:
            await es.close()

    return index_articles
