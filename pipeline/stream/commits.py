"""Corrections to faust-streaming's offset bookkeeping that the no-loss invariant depends on.

faust commits, per partition, up to the first gap in the offsets acked so far. Three
things in it can commit a message no agent ever processed:

1. ``Consumer._new_offset`` guards against a gap at the head of the acked list with
   ``min(acked) - committed > 1``; ``committed`` is already the *next* offset to read,
   so one missing message passes the guard, and the guard is skipped altogether while
   nothing is committed (faust stores offset 0 as ``None``). The rule here: never
   commit past an offset that was not acked (:func:`new_offset`).
2. After a rebalance, messages fetched in the old generation are skipped by the
   streams *and acked*, although the partition was just sought back and they will be
   read again. An ack of an old-generation message is ignored here (:func:`ack`), so
   the commit waits for the copy that is really processed.
3. A message can be read and then neither delivered nor read again: the fetch loop
   cancels delivery when a rebalance starts yet moves its read offset past it, and a
   fetch batch from before the seek can push the read offset past the re-read
   records, which it then drops. With rule 1 that partition's commit would stall for
   good; :class:`Repairer` finds such holes (read past, not acked, not in flight, not
   buffered; at the tail of a quiet partition too, where nothing acked after them
   shows the gap) and seeks the partition back to them, so they are read again. A record
   read twice is harmless (article ids make every later stage idempotent); one never
   processed is not.
4. On stop, faust's last commit does nothing when a periodic commit is already under
   way (it waits for that one, which took its offsets before the last acks), so a clean
   stop could leave acked messages uncommitted and have them read again by the next
   worker; :func:`commit_and_end_transactions` commits once more.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any, Iterable, Optional

from faust.transport import consumer as _consumer
from faust.utils.functional import consecutive_numbers

log = logging.getLogger("rasid.offsets")

_ORIGINAL_NEW_OFFSET = _consumer.Consumer._new_offset
_ORIGINAL_ACK = _consumer.Consumer.ack
_ORIGINAL_COMMIT_AND_END = _consumer.Consumer.commit_and_end_transactions


def _floors(consumer: Any) -> dict:
    """Where each partition without a committed offset starts (its earliest offset), filled by :class:`Repairer`."""
    floors = getattr(consumer, "_rasid_floors", None)
    if floors is None:
        floors = consumer._rasid_floors = {}
    return floors


def floor_of(consumer: Any, tp: Any) -> Optional[int]:
    """The first offset of ``tp`` not yet committed, or None while unknown."""
    committed = consumer._committed_offset[tp]
    if committed is not None:
        return committed
    return _floors(consumer).get(tp)


def _fill_known_gaps(consumer: Any, tp: Any, acked: list[int]) -> None:
    """Offsets faust knows to be absent from the log (e.g. transaction markers) count as acked."""
    gap_for_tp = consumer._gap[tp]
    if not gap_for_tp:
        return
    max_offset = max(acked)
    candidates = sorted(gap_for_tp.overlap(0, max_offset), key=lambda x: x.begin)
    if candidates:
        filler: list[int] = []
        for entry in candidates:
            filler.extend(range(entry.begin, entry.end))
        acked.extend(filler)
        gap_for_tp.chop(0, max(filler[-1], max_offset + 1))


def new_offset(self: Any, tp: Any) -> Optional[int]:
    """The offset to commit for ``tp``: one past the run of acked offsets that starts at the
    first uncommitted offset; None while that offset is not acked (or not known)."""
    acked = self._acked[tp]
    if not acked:
        return None
    _fill_known_gaps(self, tp, acked)
    acked.sort()
    floor = floor_of(self, tp)
    if floor is None:
        return None
    if acked[0] < floor:  # already committed (e.g. acked again after a re-read)
        stale = [o for o in acked if o < floor]
        acked[: len(stale)] = []
        self._acked_index[tp].difference_update(stale)
        if not acked:
            return None
    if acked[0] != floor:
        return None  # the message at `floor` has not been acked yet
    batch = next(consecutive_numbers(acked))
    acked[: len(batch)] = []
    self._acked_index[tp].difference_update(batch)
    return batch[-1] + 1


def ack(self: Any, message: Any) -> bool:
    """faust's ack, except for a message fetched in an earlier consumer generation: that one
    is only forgotten (it was sought back over and will be read again)."""
    gen = getattr(message, "generation_id", None)
    current = getattr(self.app, "consumer_generation_id", None)
    if gen is not None and current is not None and gen != current and not message.acked:
        message.acked = True
        self._unacked_messages.discard(message)
        return False
    return _ORIGINAL_ACK(self, message)


def holes(floor: int, acked: Iterable[int], read_end: Optional[int], in_flight: Iterable[int]) -> list[int]:
    """Offsets from ``floor`` up to the first acked one that were read (below ``read_end``,
    one past the last offset known to be read) but are neither acked nor in flight:
    messages faust lost track of. With nothing acked they run up to ``read_end`` (the tail
    of a partition that has gone quiet: nothing later will be acked to show the hole)."""
    if read_end is None:
        return []
    head = min((o for o in acked if o >= floor), default=read_end)
    busy = set(in_flight)
    return [o for o in range(floor, min(head, read_end)) if o not in busy]


def _in_flight(app: Any, consumer: Any) -> tuple[dict, bool]:
    """Offsets per partition handed to a stream and not acked, or buffered for one; and
    whether a stream's buffer is full (delivery of the next message may be waiting on it)."""
    out: dict = defaultdict(set)
    full = False
    for m in list(consumer._unacked_messages):
        out[m.tp].add(m.offset)
    for tp, chans in list(getattr(app.topics, "_tp_index", {}).items()):
        for chan in list(chans):
            queue = getattr(chan, "queue", None)
            q = getattr(queue, "_queue", None)
            for ev in list(q or ()):
                msg = getattr(ev, "message", None)
                if msg is not None and msg.tp == tp:
                    out[tp].add(msg.offset)
            full = full or bool(getattr(queue, "full", lambda: False)())
    return out, full


async def _read_end(consumer: Any, tp: Any, floor: int, acked: Iterable[int], busy: set, full: bool) -> Optional[int]:
    """One past the last offset of ``tp`` known to have been read.

    faust's read offset is the last offset delivered, except after a seek, when it is the
    next offset to read; so that offset itself counts as read only when the consumer's
    position is past it. Asked only when it matters: nothing acked from ``floor`` on,
    nothing of ``tp`` in flight and no stream buffer full (a message waiting to be
    buffered is in no list), i.e. a quiet partition whose last message may be the lost one."""
    read = consumer._read_offset.get(tp)
    if read is None:
        return None
    if read < floor or read in busy or full or any(o >= floor for o in acked):
        return read
    try:  # (waits while the position is being reset; raises once the partition is revoked)
        position = await asyncio.wait_for(consumer.position(tp), 2.0)
    except Exception:  # noqa: BLE001 - not known now: next round
        return read
    return read + 1 if position is not None and position > read else read


class Repairer:
    """Called every few seconds in a worker: seeks a partition back to a lost hole once the
    same hole has been seen twice in a row (so a message between two hands is never mistaken
    for a lost one)."""

    def __init__(self, app: Any, on_repair: Any = None) -> None:
        self.app = app
        self.on_repair = on_repair
        self._suspects: dict = {}
        self.repairs = 0

    async def tick(self) -> int:
        app = self.app
        consumer = app.consumer
        if getattr(app, "rebalancing", False) or not getattr(consumer, "flow_active", True):
            self._suspects.clear()
            return 0
        if _consumer.CONSUMER_COMMITTING in getattr(getattr(consumer, "diag", None), "flags", ()):
            # acked offsets leave the list before the commit lands: they would look lost
            return 0
        acking = app.topics.acking_topics
        tps = [tp for tp in consumer.assignment() if tp.topic in acking]
        floors = _floors(consumer)
        unknown = [tp for tp in tps if consumer._committed_offset[tp] is None and tp not in floors]
        if unknown:
            try:
                floors.update(await consumer.earliest_offsets(*unknown))
            except Exception as e:  # broker busy: next tick
                log.info("earliest offsets not available yet: %s", e)
        for tp in list(floors):
            if tp not in tps:
                floors.pop(tp, None)
        busy, full = _in_flight(app, consumer)
        seen: dict = {}
        repaired = 0
        for tp in tps:
            floor = floor_of(consumer, tp)
            if floor is None:
                continue
            acked = consumer._acked.get(tp) or ()
            pending = busy.get(tp, set())
            lost = holes(floor, acked, await _read_end(consumer, tp, floor, acked, pending, full), pending)
            if not lost:
                continue
            key = (floor, lost[0])
            seen[tp] = key
            if self._suspects.get(tp) != key:
                continue
            log.warning("re-reading %s[%d] from offset %d: %d message(s) read but never acknowledged",
                        tp.topic, tp.partition, lost[0], len(lost),
                        extra={"stage": "offsets", "topic": tp.topic, "partition": tp.partition,
                               "offset": lost[0], "lost": len(lost)})
            await consumer.seek(tp, lost[0])
            repaired += 1
            seen.pop(tp, None)
            if self.on_repair is not None:
                self.on_repair(tp, lost)
        self._suspects = seen
        self.repairs += repaired
        return repaired


async def commit_and_end_transactions(self: Any) -> None:
    """faust's final commit, then one more: the first may only have waited for a commit that
    began before the last acks (and committed nothing itself); with nothing left, the second
    finds nothing to commit."""
    await _ORIGINAL_COMMIT_AND_END(self)
    await self.commit(start_new_transaction=False)


def apply() -> None:
    """Install the corrected rules (idempotent)."""
    _consumer.Consumer._new_offset = new_offset
    _consumer.Consumer.ack = ack
    _consumer.Consumer.commit_and_end_transactions = commit_and_end_transactions
