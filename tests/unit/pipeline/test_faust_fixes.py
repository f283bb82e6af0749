"""The corrected offset rules: never commit past a message that was not processed, forget acks
of old-generation messages, and find messages faust read but lost track of."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace

from faust.types import TP as FaustTP
from intervaltree import IntervalTree

from pipeline.stream import commits as faust_fixes

TP = FaustTP("rasid.raw", 3)


def _consumer(acked: list[int], committed: int | None, floor: int | None = None):
    c = SimpleNamespace(
        _acked=defaultdict(list, {TP: list(acked)}),
        _acked_index=defaultdict(set, {TP: set(acked)}),
        _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None, {TP: committed}),
        _read_offset={},
        _unacked_messages=set(),
    )
    if floor is not None:
        c._rasid_floors = {TP: floor}
    return c


def test_single_missing_message_holds_the_commit():
    # committed 7 = offset 7 is the next to process; 8.. are acked but 7 is not
    assert faust_fixes.new_offset(_consumer([8, 9, 10], committed=7), TP) is None


def test_faust_own_rule_skips_that_message():
    c = _consumer([8, 9, 10], committed=7)
    assert faust_fixes._ORIGINAL_NEW_OFFSET(c, TP) == 11  # the loss this module exists to prevent


def test_nothing_committed_yet_uses_the_partition_start():
    # faust keeps "nothing committed" and "committed 0" both as None: the floor is the earliest offset
    assert faust_fixes.new_offset(_consumer([1, 2], committed=None, floor=0), TP) is None
    c = _consumer([0, 1, 2, 5], committed=None, floor=0)
    assert faust_fixes.new_offset(c, TP) == 3
    # unknown start: hold rather than guess
    assert faust_fixes.new_offset(_consumer([0, 1], committed=None), TP) is None


def test_contiguous_acks_commit_to_the_first_gap():
    c = _consumer([7, 8, 9, 12, 13], committed=7)
    assert faust_fixes.new_offset(c, TP) == 10
    assert c._acked[TP] == [12, 13]
    assert c._acked_index[TP] == {12, 13}


def test_acks_below_the_commit_are_dropped():
    c = _consumer([3, 4, 7, 8], committed=7)
    assert faust_fixes.new_offset(c, TP) == 9
    assert c._acked[TP] == []


def test_known_gaps_count_as_acked():
    c = _consumer([7, 8, 11], committed=7)
    c._gap[TP].addi(9, 11)
    assert faust_fixes.new_offset(c, TP) == 12


def test_nothing_acked_commits_nothing():
    assert faust_fixes.new_offset(_consumer([], committed=5), TP) is None


class _Msg(SimpleNamespace):
    __hash__ = object.__hash__


def _msg(offset: int, gen: int):
    return _Msg(tp=TP, offset=offset, topic=TP.topic, generation_id=gen, acked=False)


def test_ack_of_an_old_generation_message_is_forgotten_not_counted():
    c = _consumer([], committed=5)
    c.app = SimpleNamespace(consumer_generation_id=4)
    old = _msg(5, gen=3)
    c._unacked_messages.add(old)
    assert faust_fixes.ack(c, old) is False
    assert old.acked and old not in c._unacked_messages
    assert c._acked[TP] == []


def test_holes_are_read_unacked_and_not_in_flight():
    # floor 10, acked from 13, read up to 20; 11 is still being processed
    assert faust_fixes.holes(10, [13, 14], read_end=20, in_flight=[11]) == [10, 12]
    # not read yet: nothing is lost
    assert faust_fixes.holes(10, [13], read_end=None, in_flight=[]) == []
    assert faust_fixes.holes(10, [13], read_end=10, in_flight=[]) == []
    # no head gap
    assert faust_fixes.holes(10, [10, 11], read_end=20, in_flight=[]) == []


def test_holes_at_the_tail_of_a_quiet_partition():
    # nothing acked after the hole shows it: everything read from the floor on is lost
    assert faust_fixes.holes(10, [], read_end=13, in_flight=[]) == [10, 11, 12]
    assert faust_fixes.holes(10, [], read_end=13, in_flight=[10, 11, 12]) == []
    # acks below the floor (already committed) say nothing about it
    assert faust_fixes.holes(10, [4, 5], read_end=12, in_flight=[]) == [10, 11]


class _FakeConsumer:
    def __init__(self) -> None:
        self._committed_offset = defaultdict(lambda: None, {TP: 10})
        self._acked = {TP: [12, 13]}
        self._read_offset = {TP: 13}
        self._unacked_messages: set = set()
        self.flow_active = True
        self.seeks: list = []
        self.position_ = 14
        self.diag = SimpleNamespace(flags=set())

    def assignment(self):
        return {TP}

    async def position(self, tp):
        return self.position_

    async def earliest_offsets(self, *tps):
        return {tp: 0 for tp in tps}

    async def seek(self, tp, offset):
        self.seeks.append((tp, offset))
        self._read_offset[tp] = offset


def test_repairer_seeks_back_only_after_seeing_the_same_hole_twice():
    consumer = _FakeConsumer()
    topics = SimpleNamespace(acking_topics={TP.topic}, _tp_index={})
    app = SimpleNamespace(consumer=consumer, topics=topics, rebalancing=False)
    repaired = []
    r = faust_fixes.Repairer(app, on_repair=lambda tp, lost: repaired.append((tp, lost)))

    async def run():
        assert await r.tick() == 0  # first sighting: maybe a message between two hands
        assert await r.tick() == 1
        assert consumer.seeks == [(TP, 10)]
        assert repaired == [(TP, [10, 11])]
        assert await r.tick() == 0  # read offset is back at 10: nothing read past the hole now

    asyncio.run(run())


def test_repairer_leaves_buffered_messages_alone():
    consumer = _FakeConsumer()
    ev = SimpleNamespace(message=SimpleNamespace(tp=TP, offset=10))
    ev2 = SimpleNamespace(message=SimpleNamespace(tp=TP, offset=11))
    chan = SimpleNamespace(queue=SimpleNamespace(_queue=[ev, ev2]))
    _assert_never_repairs(faust_fixes.Repairer(_app(consumer, [chan])), consumer, ticks=2)


def _quiet(read: int, position: int) -> _FakeConsumer:
    """Committed up to 10, nothing acked: the partition's last message read is ``read``."""
    consumer = _FakeConsumer()
    consumer._acked = {TP: []}
    consumer._read_offset = {TP: read}
    consumer.position_ = position
    return consumer


def _app(consumer, chans=()) -> SimpleNamespace:
    topics = SimpleNamespace(acking_topics={TP.topic}, _tp_index={TP: list(chans)} if chans else {})
    return SimpleNamespace(consumer=consumer, topics=topics, rebalancing=False)


def _assert_never_repairs(r: faust_fixes.Repairer, consumer: _FakeConsumer, ticks: int = 3) -> None:
    """Several rounds (a hole is repaired on its second sighting) and no seek."""

    async def run():
        for _ in range(ticks):
            assert await r.tick() == 0
        assert consumer.seeks == []

    asyncio.run(run())


def test_repairer_re_reads_the_lost_tail_of_a_quiet_partition():
    consumer = _quiet(read=12, position=13)
    r = faust_fixes.Repairer(_app(consumer))
    seen = []
    r.on_repair = lambda tp, lost: seen.append(lost)

    async def run():
        assert await r.tick() == 0
        assert await r.tick() == 1
        assert consumer.seeks == [(TP, 10)]
        assert seen == [[10, 11, 12]]  # the last message read (12) is among them

    asyncio.run(run())


def test_repairer_does_not_count_a_sought_offset_as_read():
    # after a seek to 10 the read offset names the next message to read, not one read
    consumer = _quiet(read=10, position=10)
    _assert_never_repairs(faust_fixes.Repairer(_app(consumer)), consumer)


def test_repairer_waits_while_a_stream_buffer_is_full():
    # the message at the read offset may be waiting for room in the buffer: not lost
    consumer = _quiet(read=10, position=11)
    chan = SimpleNamespace(queue=SimpleNamespace(_queue=[], full=lambda: True))
    _assert_never_repairs(faust_fixes.Repairer(_app(consumer, [chan])), consumer)


def test_repairer_waits_while_a_commit_is_under_way():
    # a commit takes the acked offsets off the list before it lands: they only look lost
    consumer = _quiet(read=12, position=13)
    consumer.diag.flags.add("COMMITTING")
    r = faust_fixes.Repairer(_app(consumer))

    async def run():
        for _ in range(3):
            assert await r.tick() == 0
        consumer.diag.flags.clear()
        assert await r.tick() == 0
        assert await r.tick() == 1

    asyncio.run(run())


class _Committer:
    """faust's own commit() around a fake force_commit that commits whatever is acked then."""

    from faust.transport.consumer import Consumer as _C

    commit = _C.commit
    maybe_wait_for_commit_to_finish = _C.maybe_wait_for_commit_to_finish

    def __init__(self) -> None:
        self.app = SimpleNamespace(client_only=False)
        self.loop = asyncio.get_running_loop()
        self._commit_fut = None
        self.acked: list[int] = []
        self.committed: list[int] = []

    async def force_commit(self, topics=None, start_new_transaction=True) -> bool:
        self.committed = list(self.acked)
        return bool(self.acked)


def test_final_commit_is_not_lost_to_a_commit_under_way():
    async def run(final):
        c = _Committer()
        fut = c._commit_fut = asyncio.Future()  # a periodic commit, begun before the last acks
        c.acked = [7, 8, 9]

        def finish():  # as faust's commit() ends: clears its future, then notifies the waiters
            c._commit_fut = None
            fut.set_result(None)

        asyncio.get_running_loop().call_later(0.05, finish)
        await final(c)
        return c.committed

    assert asyncio.run(run(faust_fixes._ORIGINAL_COMMIT_AND_END)) == []  # faust alone: nothing committed
    assert asyncio.run(run(faust_fixes.commit_and_end_transactions)) == [7, 8, 9]


def test_apply_installs_the_rules():
    from faust.transport.consumer import Consumer

    import pipeline.stream.app  # noqa: F401  (applies on import)

    assert Consumer._new_offset is faust_fixes.new_offset
    assert Consumer.ack is faust_fixes.ack
    assert Consumer.commit_and_end_transactions is faust_fixes.commit_and_end_transactions
