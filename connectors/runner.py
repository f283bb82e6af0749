"""The connector loop: poll every endpoint on its own adaptive schedule, fetch new articles, produce.

``run_connectors(settings, stop_event, source_ids=None, once=False)`` is the
whole thing as one coroutine, so ``rasid connect`` and ``rasid run`` (in-process
or as a child) start it the same way. Each endpoint is an independent task: a
failing or slow feed backs off alone and never holds up the others.

Validators (ETag / Last-Modified) of a listing are kept only once every link it
listed was handled; a poll cut short (stop, ownership moved, transient errors)
keeps the old validators, so the next poll re-reads the listing instead of
getting a 304 and never seeing those links again. They are saved under
``state_dir`` so a restart's first poll is conditional too.

Fairness: an article waits in its own host's lane (``per_host_concurrency`` articles of a host
at a time) and, inside the client, for its host's turn before it takes one of the
``fetch_concurrency`` global slots; a trickling or Crawl-delayed outlet delays only its own
articles. Listings and pages are parsed on a small pool of their own threads, so parsing never
starves the event loop's DNS lookups.

Only live sources are polled (``status: active``, enabled): a closed or archived outlet keeps its id
in the registry but gets no task. An endpoint whose server refuses us (``connectors.blocking``) is
*blocked*, polled again hours later; one that is *broken* (404, not a feed, no article links) makes
a source with ``discovery: true`` look for other endpoints (``connectors.autodiscover``), which are
then polled by the same endpoint loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.autodiscover import AutoDiscovery, is_broken
from connectors.base import Candidate, Discovered, ParseError
from connectors.blocking import BlockedEndpoints, challenge_marker
from connectors.cadence import Cadence
from connectors.failures import FailureDigest
from connectors.fetcher import build_raw_page, encode_within_limit, prepare
from connectors.http import FetchError, PoliteClient, Response
from connectors.kafka import (
    GroupCoordinator,
    KafkaSetupError,
    Ownership,
    SeenEntry,
    SeenStore,
    ensure_topics_exist,
    make_producer,
    seen_value,
)
from connectors.kinds import discovery_for
from connectors.polling import PollSchedule
from connectors.registry import Endpoint, Kind, Source, load_registry
from pipeline.core import memtrim
from pipeline.core.deadletters import send_dead_letter
from pipeline.core.errors import BadRecord
from pipeline.core.ids import article_id
from pipeline.core.log import get_logger
from pipeline.core.metrics import (
    CONNECTOR_ERRORS,
    DROPPED,
    EMITTED,
    LISTINGS_RECOVERED,
    RECEIVED,
    SOURCE_LAST_SUCCESS,
)
from pipeline.core.schema import DeadLetter
from pipeline.core.settings import Settings
from pipeline.core.statefile import read_entries, write_entries
from pipeline.core.urls import UnsafeURL, canonicalize, host_of

log = get_logger("rasid.connectors")

# HTTP statuses after which an article URL is not worth fetching again.
PERMANENT = {404, 410, 451}
# Listing warnings that mean "malformed but read": counted apart from errors (the source works).
RECOVERED = frozenset({"recovered_malformed_feed", "recovered_malformed_xml", "feed_in_sitemap_slot"})
# Transient article failures tolerated (per process) before a URL is given up until restart.
MAX_ARTICLE_ATTEMPTS = 3
STOP_GRACE_S = 10.0  # at a stop, the longest wait for commits under way


@dataclass
class Stats:
    polls: int = 0
    not_modified: int = 0
    poll_errors: int = 0
    discovered: int = 0  # links found in listings (before the seen check)
    new: int = 0  # links not seen before
    fetched: int = 0
    produced: int = 0
    updates: int = 0
    deadlettered: int = 0
    skipped: int = 0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "started"}
        d["elapsed_s"] = round(time.monotonic() - self.started, 3)
        return d


class _Abandon(Exception):
    """Work on an article stopped on purpose (stop requested, ownership moved)."""


class ConnectorRunner:
    def __init__(
        self,
        settings: Settings,
        sources: list[Source],
        stop_event: asyncio.Event,
        *,
        once: bool = False,
        coordinate: bool = True,
    ) -> None:
        self.settings = settings
        self.sources = [s for s in sources if s.live]  # closed and archived outlets are never polled
        for s in sources:
            if not s.live:
                log.info("source not polled", extra={"stage": "fetch", "source": s.id,
                                                     "reason": s.status if s.enabled else "disabled"})
        self.stop_event = stop_event
        self.once = once
        self.coordinate = coordinate
        self.stats = Stats()
        self.client = PoliteClient(settings)
        self.producer: Any = None  # created in run(), once Kafka is known to answer
        self.seen = SeenStore(settings)
        self.own = Ownership()
        self.group: GroupCoordinator | None = None
        self.lanes: dict[str, asyncio.Semaphore] = {}  # per host: articles of that host in progress
        self.parse_pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="rasid-parse")
        self.inflight: set[str] = set()
        self.attempts: dict[str, int] = {}
        self.given_up: set[str] = set()
        self.validators: dict[str, dict[str, str]] = {}
        self.blocked = BlockedEndpoints(settings.blocked_backoff_s, settings.blocked_backoff_max_s)
        self.discovery = AutoDiscovery(self)
        self.cadence = Cadence()
        self.failures = FailureDigest(settings.failure_summary_s)
        self._commit_tasks: set[asyncio.Task[None]] = set()
        self._validators_file = Path(settings.state_dir) / f"validators-{settings.namespace}.json"

    # --- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> Stats:
        try:
            await ensure_topics_exist(self.settings)
        except BaseException:
            await self.client.aclose()
            raise
        self.producer = make_producer(self.settings)
        try:
            await self.producer.start()
        except Exception as e:  # noqa: BLE001 - the operator needs the cause, not a traceback
            await self.client.aclose()
            try:
                await self.producer.stop()
            except Exception:  # noqa: BLE001
                pass
            raise KafkaSetupError(f"cannot start a Kafka producer on {self.settings.kafka_bootstrap}: {e}") from None
        digest: asyncio.Future[Any] | None = None
        try:
            await self.seen.start()
            log.info("seen state loaded", extra={"stage": "fetch", "entries": self.seen.loaded})
            if self.coordinate:
                self.group = GroupCoordinator(self.settings, self.seen, self.own)
                await self.group.start()
                ready = asyncio.create_task(self.own.ready.wait())
                stop = asyncio.create_task(self.stop_event.wait())
                await asyncio.wait({ready, stop}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                stop.cancel()
            self._load_validators()
            tasks = self.schedule()
            digest = asyncio.gather(self._summarise_failures(), memtrim.trim_every(self.settings.memory_trim_s))
            self.stats.started = time.monotonic()  # rates measure polling, not start-up
            log.info("connectors started", extra={
                "stage": "fetch", "sources": len(self.sources), "endpoints": len(tasks), "once": self.once})
            if tasks:
                all_done = asyncio.gather(*tasks, return_exceptions=True)
                stop_wait = asyncio.create_task(self.stop_event.wait())
                await asyncio.wait({all_done, stop_wait}, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[arg-type]
                stop_wait.cancel()
                if not all_done.done():
                    # Stop: fetches under way are dropped (nothing is seen before Kafka confirms it); commits end first
                    await self.own.idle(STOP_GRACE_S)
                    for t in tasks:  # (no await since the wait: no commit can have begun)
                        t.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                await asyncio.gather(all_done, return_exceptions=True)
        finally:
            if digest is not None:
                digest.cancel()
                # collected, so a stop does not end with asyncio's "exception was never retrieved" ERROR
                await asyncio.gather(digest, return_exceptions=True)
            if self._commit_tasks:
                await asyncio.gather(*self._commit_tasks, return_exceptions=True)
            self._save_validators()
            if self.group is not None:
                await self.group.stop()
            await self.seen.stop()
            await self.producer.stop()  # flushes
            await self.client.aclose()
            self.parse_pool.shutdown(wait=False, cancel_futures=True)
            log.info("connectors stopped", extra={"stage": "fetch", **self.stats.as_dict()})
        return self.stats

    def schedule(self) -> list[asyncio.Task[Any]]:
        """One task per endpoint of every live source, and one per source with discovery on (it
        polls what it finds itself)."""
        tasks: list[asyncio.Task[Any]] = []
        for src in self.sources:
            own = [asyncio.create_task(self._endpoint_loop(src, kind, ep), name=f"{src.id}:{kind}:{ep.url}")
                   for kind, ep in src.endpoints()]
            tasks += own
            if src.discovery:
                tasks.append(asyncio.create_task(self.discovery.run_source(src, own), name=f"{src.id}:discovery"))
        return tasks

    def _load_validators(self) -> None:
        self.validators = read_entries(self._validators_file)

    def _save_validators(self) -> None:
        try:  # merged with what another instance sharing the state dir wrote meanwhile
            write_entries(self._validators_file, self.validators)
        except OSError:
            log.warning("could not save feed validators", exc_info=True, extra={"stage": "fetch"})

    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def lane(self, url: str) -> asyncio.Semaphore:
        """The queue of ``url``'s host: its articles wait here, holding nothing global."""
        host = host_of(url)
        sem = self.lanes.get(host)
        if sem is None:
            sem = self.lanes[host] = asyncio.Semaphore(self.settings.per_host_concurrency)
        return sem

    async def parse(self, fn: Any, *args: Any) -> Any:
        """Run a parser on the parse threads (not the loop's default executor, which resolves names)."""
        return await asyncio.get_running_loop().run_in_executor(self.parse_pool, functools.partial(fn, *args))

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop_event.wait(), timeout=seconds)
        except TimeoutError:
            pass

    # --- endpoints -----------------------------------------------------------------------------

    async def _endpoint_loop(self, source: Source, kind: Kind, endpoint: Endpoint, discovered: bool = False) -> None:
        """Poll one endpoint on its own schedule until stopped (one round when ``once``)."""
        lo, hi = source.interval_bounds()
        sched = PollSchedule(source.poll_interval, lo, hi)
        while not self.stopping():
            if not self.own.owns(source.id):
                if self.once:
                    return
                self.own.changed.clear()
                await self._wait_ownership()
                continue
            delay: float
            try:
                was_healthy = sched.healthy
                new, complete = await self.poll_endpoint(source, kind, endpoint)
                delay = sched.on_success(new) if new or complete else sched.interval
                if self.blocked.on_answer(source.id, endpoint.url) or not was_healthy:
                    log.debug("endpoint healthy again", extra={
                        "stage": "fetch", "source": source.id, "url": endpoint.url})
                self.failures.succeeded(source.id, endpoint.url)
            except (FetchError, ParseError) as e:
                self.stats.poll_errors += 1
                CONNECTOR_ERRORS.labels(source.id, e.reason).inc()
                if isinstance(e, FetchError) and e.blocked:
                    # refused by the outlet (403, WAF challenge, refused connection): not broken, hours apart
                    delay = self.blocked.on_blocked(source.id, endpoint.url)
                    self.failures.failed(source.id, endpoint.url, e.reason, delay, blocked=True, detail=str(e))
                else:
                    delay = sched.on_failure()
                    # told once per source, then summarised (connectors.failures); the detail at DEBUG
                    self.failures.failed(source.id, endpoint.url, e.reason, delay, detail=str(e))
                    if source.discovery and is_broken(e.reason):
                        self.discovery.trigger(source, endpoint.url, e.reason, discovered=discovered)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - a bug on one endpoint must not stop the others
                delay = sched.on_failure()
                self.stats.poll_errors += 1
                CONNECTOR_ERRORS.labels(source.id, "internal_error").inc()
                log.exception("endpoint poll crashed", extra={
                    "stage": "fetch", "source": source.id, "url": endpoint.url, "error": type(e).__name__})
            if self.once:
                return
            await self._sleep(PollSchedule.jittered(delay))

    async def _summarise_failures(self) -> None:
        while True:
            await asyncio.sleep(self.failures.summary_s)
            self.failures.summarise()

    async def _wait_ownership(self) -> None:
        changed = asyncio.create_task(self.own.changed.wait())
        stop = asyncio.create_task(self.stop_event.wait())
        await asyncio.wait({changed, stop}, return_when=asyncio.FIRST_COMPLETED)
        changed.cancel()
        stop.cancel()

    async def poll_endpoint(self, source: Source, kind: Kind, endpoint: Endpoint) -> tuple[int, bool]:
        """Poll one endpoint (and a sitemap index's children); returns (new links, fully handled).

        A failure of the endpoint itself raises; a failing child sitemap is logged and counted
        and only makes the round incomplete."""
        disc = discovery_for(kind, source, endpoint)
        new_total, complete = await self._poll_listing(source, kind, disc, endpoint.url, depth=0)
        return new_total, complete

    async def _poll_listing(self, source: Source, kind: Kind, disc: Any, url: str, depth: int) -> tuple[int, bool]:
        if self.stopping():
            return 0, False
        v = self.validators.get(url, {})
        self.stats.polls += 1
        resp = await self.client.get(url, source=source.id, kind=kind,
                                     etag=v.get("etag"), last_modified=v.get("last_modified"))
        children: list[str]
        new_total = 0
        complete = True
        if resp.not_modified:
            self.stats.not_modified += 1
            SOURCE_LAST_SUCCESS.labels(source.id).set_to_current_time()
            children = list(v.get("children") or [])
        else:
            if challenge_marker(resp.status, resp.headers, resp.body):
                raise FetchError("waf_challenge", url, status=resp.status, detail="challenge page instead of a listing")
            found: Discovered = await self.parse(disc.parse, resp.body, resp.final_url, resp.content_type)
            if depth == 0 and not found.candidates and not found.children and (found.entries or kind == "section"):
                raise ParseError("no_article_links", f"{found.entries} entries, none an article link")
            for href, reason in found.rejected:
                CONNECTOR_ERRORS.labels(source.id, "unsafe_link").inc()
                log.info("link refused", extra={
                    "stage": "fetch", "source": source.id, "url": url, "link": href, "reason": reason})
            for w in found.warnings:
                if w in RECOVERED:  # malformed but read: counted, one line, not a failure
                    LISTINGS_RECOVERED.labels(source.id, kind, w).inc()
                    log.info("malformed listing read leniently", extra={
                        "stage": "fetch", "source": source.id, "url": url, "reason": w})
                    continue
                CONNECTOR_ERRORS.labels(source.id, w).inc()
                log.warning("listing read with problems", extra={
                    "stage": "fetch", "source": source.id, "url": url, "reason": w})
            children = found.children if depth == 0 else []
            self.stats.discovered += len(found.candidates)
            new_total, complete = await self._handle_candidates(source, found.candidates)
            SOURCE_LAST_SUCCESS.labels(source.id).set_to_current_time()
            if complete:
                entry: dict[str, Any] = {
                    k: resp.headers[h] for k, h in (("etag", "etag"), ("last_modified", "last-modified"))
                    if h in resp.headers
                }
                if children:
                    entry["children"] = children  # re-polled (conditionally) even when the index is a 304
                self.validators[url] = entry
        for child in children:
            try:
                n, ok = await self._poll_listing(source, kind, disc, child, depth + 1)
            except (FetchError, ParseError) as e:
                CONNECTOR_ERRORS.labels(source.id, e.reason).inc()
                log.warning("child sitemap failed", extra={
                    "stage": "fetch", "source": source.id, "url": child, "index": url, "reason": e.reason,
                    "detail": str(e)[:300]})
                n, ok = 0, False
            new_total += n
            complete = complete and ok
        return new_total, complete

    # --- articles ------------------------------------------------------------------------------

    async def _handle_candidates(self, source: Source, candidates: list[Candidate]) -> tuple[int, bool]:
        results = await asyncio.gather(*(self._guarded(source, c) for c in candidates))
        new = sum(1 for r in results if r != "seen")
        ok = all(r in ("seen", "done") for r in results)
        return new, ok

    async def _guarded(self, source: Source, cand: Candidate) -> str:
        """Handle one candidate; returns 'seen' | 'done' | 'retry' (not handled, try again next poll)."""
        try:
            return await self.handle_candidate(source, cand)
        except _Abandon:
            return "retry"
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001
            CONNECTOR_ERRORS.labels(source.id, "internal_error").inc()
            log.exception("article handling crashed", extra={
                "stage": "fetch", "source": source.id, "url": cand.url, "error": type(e).__name__})
            return "retry"

    def _due_for_update(self, source: Source, entry: SeenEntry) -> bool:
        return (source.track_updates and entry.status in ("produced", "alias")
                and time.time() - entry.produced_at >= source.update_recheck_s)

    async def handle_candidate(self, source: Source, cand: Candidate) -> str:
        try:
            listed_id = article_id(canonicalize(cand.url))
        except UnsafeURL as e:
            CONNECTOR_ERRORS.labels(source.id, "unsafe_link").inc()
            log.info("link refused", extra={"stage": "fetch", "source": source.id, "url": cand.url, "reason": e.reason})
            return "done"
        entry = self.seen.get(listed_id)
        if entry is not None and entry.status == "alias" and entry.canonical_id:
            target = self.seen.get(entry.canonical_id)
            if target is not None:
                entry = target
        update_check = entry is not None and self._due_for_update(source, entry)
        if entry is not None and not update_check:
            return "seen"
        if listed_id in self.given_up:
            return "done"
        if listed_id in self.inflight:
            return "done"
        self.inflight.add(listed_id)
        try:
            async with self.lane(cand.url):  # the host's queue; global fetch slots are taken inside the client
                if self.stopping() or not self.own.owns(source.id):
                    raise _Abandon()
                if listed_id in self.seen and not update_check:  # another instance/task got there first
                    return "seen"
                self.stats.new += 0 if update_check else 1
                return await self._fetch_and_produce(source, cand, listed_id, entry if update_check else None)
        finally:
            self.inflight.discard(listed_id)

    async def _fetch_and_produce(
        self, source: Source, cand: Candidate, listed_id: str, previous: SeenEntry | None,
    ) -> str:
        RECEIVED.labels("fetch").inc()
        try:
            resp = await self.client.get(
                cand.url, source=source.id, kind="article",
                etag=previous.etag if previous else None,
                last_modified=previous.last_modified if previous else None,
            )
        except FetchError as e:
            return await self._article_fetch_failed(source, cand, listed_id, e)
        self.stats.fetched += 1
        if not resp.not_modified and challenge_marker(resp.status, resp.headers, resp.body):
            return await self._article_fetch_failed(source, cand, listed_id, FetchError(
                "waf_challenge", cand.url, transient=True, status=resp.status, detail="challenge page"))
        if resp.not_modified:
            if previous is not None:
                previous.produced_at = time.time()  # checked: unchanged
            return "done"
        try:
            prepared = await self.parse(prepare, resp)
        except BadRecord as e:
            await self._reject(source, cand.url, listed_id, e.reason, e.detail)
            return "done"
        page_id = prepared.id
        update = False
        if previous is not None:
            if previous.content_hash == prepared.content_hash:
                previous.produced_at = time.time()
                return "done"
            update = True
        elif page_id != listed_id and (page_id in self.seen or page_id in self.inflight):
            # Another listing URL of an article we already have: remember the alias, produce nothing.
            await self._write_seen(listed_id, seen_value(url=cand.url, source=source.id, status="alias",
                                                         canonical_id=page_id))
            self.stats.skipped += 1
            return "done"
        page = build_raw_page(resp, prepared, source=source.id, listing=cand.listing, update=update,
                              timezone=source.local_timezone())
        try:
            data = encode_within_limit(page, self.settings.kafka_max_message_bytes)
        except BadRecord as e:
            await self._reject(source, cand.url, listed_id, e.reason, e.detail, status="too_large")
            return "done"
        if page_id != listed_id:
            self.inflight.add(page_id)
        try:
            await self._commit(source, page, data, listed_id, cand.url, resp)
        finally:
            if page_id != listed_id:
                self.inflight.discard(page_id)
        return "done"

    async def _commit(self, source: Source, page: Any, data: bytes, listed_id: str, listed_url: str,
                      resp: Response) -> None:
        """Produce the raw record, then its seen record(s); shielded so a stop cannot split the pair."""
        if not await self.own.begin_commit(source.id):
            raise _Abandon()
        task = asyncio.create_task(self._commit_inner(source, page, data, listed_id, listed_url, resp))
        self._commit_tasks.add(task)
        task.add_done_callback(self._commit_tasks.discard)
        try:
            await asyncio.shield(task)
        finally:
            if task.done():
                await self.own.end_commit(source.id)
            else:
                task.add_done_callback(lambda _t: asyncio.ensure_future(self.own.end_commit(source.id)))

    async def _commit_inner(self, source: Source, page: Any, data: bytes, listed_id: str, listed_url: str,
                            resp: Response) -> None:
        await self.producer.send_and_wait(self.settings.raw_topic, key=page.id.encode(), value=data)
        value = seen_value(url=page.url, source=source.id, status="produced", canonical_id=page.id,
                           content_hash=page.content_hash, etag=resp.headers.get("etag"),
                           last_modified=resp.headers.get("last-modified"))
        await self._write_seen(page.id, value)
        if listed_id != page.id:
            await self._write_seen(listed_id, seen_value(url=listed_url, source=source.id, status="alias",
                                                         canonical_id=page.id))
        EMITTED.labels("fetch").inc()
        self.stats.produced += 1
        if page.update:
            self.stats.updates += 1
        else:
            self.cadence.new_article(source.id)
        log.info("article produced", extra={
            "stage": "fetch", "source": source.id, "article_id": page.id, "url": page.url,
            "update": page.update, "charset": page.charset, "bytes": len(resp.body)})

    async def _write_seen(self, key: str, value: dict[str, Any]) -> None:
        self.seen.remember(key, value)
        await self.producer.send_and_wait(self.settings.seen_topic, key=key.encode(),
                                          value=json.dumps(value, ensure_ascii=False).encode())

    async def _send_dead_letter(self, key: bytes | None, value: bytes) -> None:
        await self.producer.send_and_wait(self.settings.deadletter_topic, key=key, value=value)

    async def _reject(self, source: Source, url: str, listed_id: str, reason: str, detail: str,
                      *, status: str = "rejected") -> None:
        """A page that can never be produced: counter, log, dead letter (URL only), and remember it."""
        CONNECTOR_ERRORS.labels(source.id, reason).inc()
        DROPPED.labels("fetch", reason).inc()
        self.stats.deadlettered += 1
        log.warning("article dead-lettered", extra={
            "stage": "fetch", "source": source.id, "url": url, "article_id": listed_id, "reason": reason,
            "detail": detail[:300]})
        if not await self.own.begin_commit(source.id):
            raise _Abandon()
        try:
            dl = DeadLetter.build(stage="fetch", reason=reason, detail=detail, key=listed_id, url=url, source=source.id)
            await send_dead_letter(self._send_dead_letter, dl, base=self.settings.http_backoff_s,
                                   cap=self.settings.http_backoff_max_s, should_stop=self.stopping, stopped=_Abandon)
            await self._write_seen(listed_id, seen_value(url=url, source=source.id, status=status))
        finally:
            await self.own.end_commit(source.id)

    async def _article_fetch_failed(self, source: Source, cand: Candidate, listed_id: str, e: FetchError) -> str:
        CONNECTOR_ERRORS.labels(source.id, e.reason).inc()
        extra = {"stage": "fetch", "source": source.id, "url": cand.url, "article_id": listed_id,
                 "reason": e.reason, "detail": e.detail[:300]}
        if e.reason == "too_large":
            await self._reject(source, cand.url, listed_id, "too_large", e.detail, status="too_large")
            return "done"
        if e.status in PERMANENT:
            log.info("article gone", extra=extra)
            if await self.own.begin_commit(source.id):
                try:
                    await self._write_seen(listed_id, seen_value(url=cand.url, source=source.id, status="gone"))
                finally:
                    await self.own.end_commit(source.id)
            return "done"
        if not e.transient:
            # robots, unsafe redirects, other 4xx, decoding errors: not worth retrying in this process.
            log.info("article skipped", extra=extra)
            self.given_up.add(listed_id)
            self.stats.skipped += 1
            return "done"
        n = self.attempts.get(listed_id, 0) + 1
        self.attempts[listed_id] = n
        if n >= MAX_ARTICLE_ATTEMPTS:
            log.warning("article given up after repeated transient errors", extra={**extra, "attempts": n})
            self.given_up.add(listed_id)
            return "done"
        log.warning("article fetch failed, will retry next poll", extra={**extra, "attempts": n})
        return "retry"


async def run_connectors(
    settings: Settings,
    stop_event: asyncio.Event,
    source_ids: list[str] | tuple[str, ...] | None = None,
    once: bool = False,
    *,
    coordinate: bool = True,
) -> Stats:
    """Run the connectors until ``stop_event`` is set (or one round when ``once``); returns counters."""
    registry = load_registry(settings.sources_file)
    sources = registry.select(list(source_ids) if source_ids else None)
    runner = ConnectorRunner(settings, sources, stop_event, once=once, coordinate=coordinate)
    return await runner.run()
