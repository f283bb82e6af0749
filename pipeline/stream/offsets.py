"""The worker's watch over its offsets, every ``RASID_OFFSET_CHECK_S`` (2 s):

- **lost messages** (read, not acked, not in flight, not buffered; at the tail of a quiet partition
  too): the partition is sought back to them once the same hole was seen in two checks in a row, so
  they are read again (``rasid_offset_repairs_total``);
- **a stalled commit**: acked offsets above a first offset that stays unacked for more than two
  checks (``rasid_commit_stalled_total`` and a warning, in production too);
- **an unread partition**: assigned, messages waiting on the broker past its floor, and nothing of it
  read, in flight or buffered, in two checks in a row (seen once in CI's SIGKILL fault test: a
  partition whose first reader died before committing anything was not fetched again after the
  restart, for minutes): it is sought to its floor, so the fetch starts (``rasid_offset_repairs_total``
  counts the waiting messages);
- **a stuck commit**: the broker's committed offset below what the worker recorded as committed, in
  two checks in a row (faust-streaming #316, see :mod:`pipeline.stream.commits`): a warning,
  ``rasid_commit_stuck_total``, and the partition is read again from the broker's offset;
- ``rasid_consumer_lag{topic,partition}`` from the broker's committed offsets (what another worker
  would resume from), every ``RASID_LAG_REPORT_S``.

Each check can log its view of every partition (floor, committed in the worker and on the broker,
read offset, acked, in flight, buffered): at DEBUG, or at INFO with ``RASID_OFFSET_TRACE=true``.
"""

from __future__ import annotations

import logging
from typing import Any

from faust.transport import consumer as _consumer

from pipeline.core import metrics
from pipeline.core.settings import Settings
from pipeline.stream.commits import floor_of, floors_of, holes, offsets_in_flight, read_end_of

log = logging.getLogger("rasid.offsets")


def _span(offsets: Any) -> str:
    xs = sorted(offsets or ())
    return f"{len(xs)}:{xs[0]}..{xs[-1]}" if xs else "0"


class OffsetWatch:
    """One worker's checks (see the module docstring); ``tick()`` runs one round."""

    def __init__(self, app: Any, settings: Settings, broker_offsets: Any = None) -> None:
        self.app = app
        # the group's committed offsets on the broker: tps -> {tp: offset} (injectable for tests)
        self.broker_offsets = broker_offsets or self._broker_offsets
        self.trace_level = logging.INFO if settings.offset_trace else logging.DEBUG
        self.repairs = 0
        self._suspects: dict = {}  # tp -> (floor, first lost offset) seen last round
        self._stalled: dict = {}  # tp -> (floor, first acked offset) seen last round
        self._stuck: dict = {}  # tp -> (broker committed, worker committed) seen last round
        self._unread: dict = {}  # tp -> (floor, broker end offset) of an assigned partition never read, last round
        self.broker_committed: dict = {}  # tp -> offset, from the last round that could ask
        self._stalled_warned: set = set()  # partitions warned about in the stall they are in

    def _skip(self) -> str | None:
        app, consumer = self.app, self.app.consumer
        if getattr(app, "rebalancing", False) or not getattr(consumer, "flow_active", True):
            self._suspects.clear()
            self._stalled.clear()
            self._stuck.clear()
            self._unread.clear()
            return "rebalancing"
        if _consumer.CONSUMER_COMMITTING in getattr(getattr(consumer, "diag", None), "flags", ()):
            return "committing"  # acked offsets leave the list before the commit lands: they would look lost
        return None

    async def _broker_offsets(self, tps: list) -> dict:
        """The group's committed offsets on the broker (one OffsetFetch request)."""
        thread = self.app.consumer._thread
        aio = thread._ensure_consumer()
        got = await thread.call_thread(aio._coordinator.fetch_committed_offsets, tps)
        return {tp: om.offset for tp, om in got.items() if om is not None and om.offset >= 0}

    async def tick(self) -> int:
        why = self._skip()
        if why:
            log.log(self.trace_level, "offset check skipped: %s", why, extra={"stage": "offsets"})
            return 0
        app, consumer = self.app, self.app.consumer
        acking = app.topics.acking_topics
        tps = sorted(tp for tp in consumer.assignment() if tp.topic in acking)
        floors = floors_of(consumer)
        unknown = [tp for tp in tps if consumer._committed_offset[tp] is None and tp not in floors]
        if unknown:
            try:
                floors.update(await consumer.earliest_offsets(*unknown))
            except Exception as e:  # noqa: BLE001 - broker busy: next round
                log.info("earliest offsets not available yet: %s", e)
        for tp in list(floors):
            if tp not in tps:
                floors.pop(tp, None)
        try:
            broker = await self.broker_offsets(tps) if tps else {}
            self.broker_committed = broker
            metrics.DEPENDENCY_UP.labels(dependency="kafka").set(1)
        except Exception as e:  # noqa: BLE001 - the coordinator is moving: next round
            broker = None
            metrics.DEPENDENCY_UP.labels(dependency="kafka").set(0)
            log.info("committed offsets not available from the broker: %s", e)
        busy, full = offsets_in_flight(app, consumer)
        repaired = 0
        suspects, stalled, stuck = {}, {}, {}
        for tp in tps:
            floor = floor_of(consumer, tp)
            acked = consumer._acked.get(tp) or ()
            pending = busy.get(tp, set())
            end = await read_end_of(consumer, tp, floor, acked, pending, full) if floor is not None else None
            lost = holes(floor, acked, end, pending) if floor is not None else []
            on_broker = broker.get(tp) if broker is not None else None
            if log.isEnabledFor(self.trace_level):
                log.log(self.trace_level, "offsets %s[%d]: floor=%s committed=%s broker=%s read=%s read_end=%s "
                        "acked=%s in_flight=%s buffer_full=%s lost=%s", tp.topic, tp.partition, floor,
                        consumer._committed_offset.get(tp), on_broker, consumer._read_offset.get(tp), end,
                        _span(acked), _span(pending), full, _span(lost), extra={"stage": "offsets"})
            if lost:
                key = (floor, lost[0])
                if self._suspects.get(tp) == key:
                    await self._repair(tp, lost)
                    repaired += 1
                else:
                    suspects[tp] = key
            head = min((o for o in acked if floor is not None and o >= floor), default=None)
            if floor is not None and head is not None and head > floor:
                stalled[tp] = (floor, head)
                if self._stalled.get(tp) == (floor, head) and tp not in self._stalled_warned:
                    self._stalled_warned.add(tp)
                    metrics.COMMIT_STALLED.labels(topic=tp.topic).inc()
                    log.warning("commit of %s[%d] held at %d for two checks: offsets from %d are acked, %d is "
                                "not", tp.topic, tp.partition, floor, head, floor,
                                extra={"stage": "offsets", "topic": tp.topic, "partition": tp.partition,
                                       "offset": floor})
            else:
                self._stalled_warned.discard(tp)
            mine = consumer._committed_offset.get(tp)
            if on_broker is not None and mine is not None and on_broker < mine:
                stuck[tp] = (on_broker, mine)
                if self._stuck.get(tp) == (on_broker, mine):
                    await self._unstick(tp, on_broker, mine)
                    stuck.pop(tp)
        self._suspects, self._stalled, self._stuck = suspects, stalled, stuck
        repaired += await self._wake_unread(consumer, tps, busy, full)
        self.repairs += repaired
        return repaired

    async def _wake_unread(self, consumer: Any, tps: list, busy: dict, full: bool) -> int:
        """Seek an assigned partition that has messages waiting and was never read to its floor."""
        unread = [tp for tp in tps if consumer._read_offset.get(tp) is None and not busy.get(tp)
                  and floor_of(consumer, tp) is not None]
        seen: dict = {}
        woken = 0
        if unread and not full:
            try:
                ends = await consumer.highwaters(*unread)
            except Exception as e:  # noqa: BLE001 - the broker is busy: next round
                log.info("end offsets not available from the broker: %s", e)
                ends = {}
            for tp in unread:
                floor, end = floor_of(consumer, tp), ends.get(tp)
                if end is None or end <= floor:
                    continue
                if self._unread.get(tp) == (floor, end):
                    log.warning("%s[%d] never read: %d message(s) from offset %d wait on the broker; reading from "
                                "there", tp.topic, tp.partition, end - floor, floor,
                                extra={"stage": "offsets", "topic": tp.topic, "partition": tp.partition,
                                       "offset": floor, "lost": end - floor})
                    await consumer.seek(tp, floor)
                    metrics.OFFSET_REPAIRS.labels(topic=tp.topic).inc(end - floor)
                    woken += 1
                else:
                    seen[tp] = (floor, end)
        self._unread = seen
        return woken

    async def _repair(self, tp: Any, lost: list[int]) -> None:
        log.warning("re-reading %s[%d] from offset %d: %d message(s) read but never acknowledged",
                    tp.topic, tp.partition, lost[0], len(lost),
                    extra={"stage": "offsets", "topic": tp.topic, "partition": tp.partition,
                           "offset": lost[0], "lost": len(lost)})
        await self.app.consumer.seek(tp, lost[0])
        metrics.OFFSET_REPAIRS.labels(topic=tp.topic).inc(len(lost))

    async def _unstick(self, tp: Any, on_broker: int, mine: int) -> None:
        """The broker never got a commit the worker recorded as done: read again from the broker's."""
        consumer = self.app.consumer
        log.warning("commit of %s[%d] stuck: the broker has %d, the worker recorded %d; re-reading from %d",
                    tp.topic, tp.partition, on_broker, mine, on_broker,
                    extra={"stage": "offsets", "topic": tp.topic, "partition": tp.partition,
                           "offset": on_broker, "recorded": mine})
        metrics.COMMIT_STUCK.labels(topic=tp.topic).inc()
        consumer._committed_offset[tp] = on_broker
        acked, index = consumer._acked[tp], consumer._acked_index[tp]
        acked[:] = [o for o in acked if o >= on_broker]
        index.intersection_update(acked)
        await consumer.seek(tp, on_broker)

    async def report_lag(self) -> None:
        """``rasid_consumer_lag`` of this worker's partitions: end offset minus the broker's commit."""
        consumer = self.app.consumer
        tps = sorted(consumer.assignment())
        if not tps:
            return
        ends = await consumer.highwaters(*tps)
        for tp in tps:
            start = self.broker_committed.get(tp)
            if start is None:
                start = floor_of(consumer, tp)
            if start is None or tp not in ends:
                continue
            metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(max(0, ends[tp] - start))


def install(app: Any, settings: Settings) -> OffsetWatch:
    """The watch's timers on a worker app (``app.offset_watch``)."""
    watch = OffsetWatch(app, settings)
    app.offset_watch = watch

    @app.timer(settings.offset_check_s)
    async def check_offsets() -> None:
        try:
            await watch.tick()
        except Exception:  # noqa: BLE001 - one failed round must not stop the next
            log.exception("offset check failed; next round in %.0fs", settings.offset_check_s)

    @app.timer(settings.lag_report_s)
    async def report_lag() -> None:
        try:
            await watch.report_lag()
        except Exception as e:  # noqa: BLE001 - the broker is busy or gone: next round
            log.info("consumer lag not updated: %s", e)

    return watch
