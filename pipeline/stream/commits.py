"""Corrections to faust-streaming 0.15.3's offset bookkeeping that the no-loss invariant depends on,
the start-up check that they still fit, and the worker timers that watch commits.

faust commits, per partition, up to the first gap in the offsets acked so far. Upstream facts:

- **#606** (open; fix PR #707 not released): ``Consumer._new_offset`` guards a gap at the head of
  the acked list with ``min(acked) - committed > 1``; ``committed`` is already the *next* offset,
  so one missing message passes, and the guard is skipped while nothing is committed (faust keeps
  offset 0 as None); it also counts as acked the "gaps" it records when a delivered offset jumps
  past the read offset (after a seek), which are messages still to come. Here: never commit past
  an offset that was not acked, gaps not counted (:func:`new_offset`).
- **#527** (open): an event is acked even when the agent raised. Rasid's agents never raise (see
  :mod:`pipeline.stream.delivery`); after a rebalance faust also skips *and acks* messages fetched
  in the old generation although the partition was sought back: such an ack is ignored here
  (:func:`ack`), so the commit waits for the copy that is really processed.
- **#316** (in 0.15.3's code): ``_commit_offsets`` records the offsets as committed even when the
  commit failed (``CommitFailedError`` "already rebalanced" returns False without a crash). The
  acked offsets are already off the list by then, so that partition's commit stays behind the
  broker for good while the worker believes it is done (the stuck partition of the kill -9 fault
  test: every article indexed, raw's committed offset below the end, no hole to repair). Here the
  recorded offset is put back and the acks restored (:func:`commit_offsets`), and
  :class:`CommitAuditor` compares the worker's view with the broker's committed offsets, warns, counts
  and re-reads when they differ for two checks in a row.
- A message can be read and then neither delivered nor read again (delivery cancelled by a
  rebalance that moved the read offset past it, or a fetch batch from before a seek):
  :class:`Repairer` finds such holes and seeks back to them, so they are read again.
- On stop, faust's last commit only waits for a periodic commit already under way (which took its
  offsets before the last acks): :func:`commit_and_end_transactions` commits once more.

When they can go: once a faust-streaming release contains PR #707 and fixes #316 and #527, pin it,
remove :func:`apply`'s replacements one at a time and keep the fault suite (``tests/faults``) green;
:func:`check` refuses to start on any other version until then.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any, Iterable, Optional

import faust
from aiokafka.consumer.group_coordinator import GroupCoordinator
from faust.transport import consumer as _consumer
from faust.utils.functional import consecutive_numbers

from pipeline.core.errors import OperatorError

log = logging.getLogger("rasid.offsets")

FAUST_VERSION = "0.15.3"
# What the corrections replace on faust's Consumer, and what they read of a consumer, its thread and
# the app: if any of it is missing the corrections no longer fit the code they correct.
REPLACED = ("_new_offset", "ack", "commit_and_end_transactions", "_commit_offsets")
CONSUMER_READS = ("_acked", "_acked_index", "_gap", "_committed_offset", "_read_offset", "_unacked_messages",
                  "diag", "flow_active", "assignment", "position", "seek", "earliest_offsets", "highwaters",
                  "_thread")
THREAD_READS = ("call_thread", "_ensure_consumer")
APP_READS = ("consumer_generation_id", "rebalancing", "topics")

_ORIGINAL_NEW_OFFSET = _consumer.Consumer._new_offset
_ORIGINAL_ACK = _consumer.Consumer.ack
_ORIGINAL_COMMIT_AND_END = _consumer.Consumer.commit_and_end_transactions
_ORIGINAL_COMMIT_OFFSETS = _consumer.Consumer._commit_offsets


class IncompatibleFaust(OperatorError):
    """The installed faust-streaming is not the one the offset corrections were written for."""


def check(app: Any) -> None:
    """Refuse to start (:class:`IncompatibleFaust`, naming what differs) unless faust is the pinned
    version and has every attribute the corrections read or replace."""
    problems = []
    if faust.__version__ != FAUST_VERSION:
        problems.append(f"faust-streaming {faust.__version__} is installed; the corrections are for {FAUST_VERSION}")
    problems += [f"faust Consumer.{a}" for a in REPLACED if not callable(getattr(_consumer.Consumer, a, None))]
    if not hasattr(_consumer, "CONSUMER_COMMITTING"):
        problems.append("faust.transport.consumer.CONSUMER_COMMITTING")
    consumer = app.consumer
    problems += [f"consumer.{a}" for a in CONSUMER_READS if not hasattr(consumer, a)]
    thread = getattr(consumer, "_thread", None)
    problems += [f"consumer._thread.{a}" for a in THREAD_READS if thread is not None and not hasattr(thread, a)]
    problems += [f"app.{a}" for a in APP_READS if not hasattr(app, a)]
    if not callable(getattr(GroupCoordinator, "fetch_committed_offsets", None)):
        problems.append("aiokafka GroupCoordinator.fetch_committed_offsets")
    topics = getattr(app, "topics", None)
    problems += [f"app.topics.{a}" for a in ("acking_topics", "_tp_index") if topics is not None and not hasattr(topics, a)]
    if problems:
        raise IncompatibleFaust("the offset corrections of pipeline.stream.commits do not fit this faust: "
                                + "; ".join(problems) + " (see docs/ARCHITECTURE.md, delivery contract)")


def floors_of(consumer: Any) -> dict:
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
    return floors_of(consumer).get(tp)


def new_offset(self: Any, tp: Any) -> Optional[int]:
    """The offset to commit for ``tp``: one past the run of acked offsets that starts at the
    first uncommitted offset; None while that offset is not acked (or not known).

    faust's "gaps" are not counted as acked: faust records one whenever a delivered offset jumps
    past the read offset (after a seek, or a fetch batch from before it), so a gap names offsets
    that will be delivered and processed later, not offsets absent from the log (Rasid's topics
    have no transaction markers and are not compacted). Counting them let the commit pass messages
    not processed yet (#606) and, acked again on delivery, left duplicates in the list that cut
    every commit to one offset. The gaps are dropped; a message never delivered is a hole the
    offset watch finds and reads again (:mod:`pipeline.stream.offsets`)."""
    acked = self._acked[tp]
    gaps = self._gap.get(tp)
    if gaps:
        gaps.clear()
    if not acked:
        return None
    if len(self._acked_index[tp]) != len(acked):  # duplicates: keep each offset once
        acked[:] = sorted(set(acked))
    else:
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


def offsets_in_flight(app: Any, consumer: Any) -> tuple[dict, bool]:
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


async def read_end_of(consumer: Any, tp: Any, floor: int, acked: Iterable[int], busy: set, full: bool) -> Optional[int]:
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


async def commit_offsets(self: Any, offsets: Any, start_new_transaction: bool = True) -> bool:
    """faust's commit, except that a commit that did not happen is not recorded as done (#316): the
    committed offset recorded before it is put back and its acks restored, so the next commit
    tries again."""
    before = {tp: (self._committed_offset.get(tp), floor_of(self, tp)) for tp in offsets}
    did = await _ORIGINAL_COMMIT_OFFSETS(self, offsets, start_new_transaction)
    if did:
        return True
    assigned = self.assignment()
    for tp, offset in offsets.items():
        recorded, floor = before[tp]
        if self._committed_offset.get(tp) != offset:
            continue  # not recorded (revoked, or nothing was committable): nothing to undo
        self._committed_offset[tp] = recorded
        if tp not in assigned or floor is None:
            continue
        index = self._acked_index[tp]
        back = [o for o in range(floor, offset) if o not in index]
        self._acked[tp].extend(back)
        index.update(back)
        log.warning("commit of %s[%d] up to %d failed; it will be tried again", tp.topic, tp.partition, offset,
                    extra={"stage": "offsets", "topic": tp.topic, "partition": tp.partition, "offset": offset})
    return False


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
    _consumer.Consumer._commit_offsets = commit_offsets
