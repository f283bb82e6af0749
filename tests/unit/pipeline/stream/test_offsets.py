"""The worker's offset watch (pipeline.stream.offsets): lost messages read again, a stalled commit
and a commit stuck behind the broker reported (and the stuck one read again)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from types import SimpleNamespace

from faust.types import TP as FaustTP

from prometheus_client import REGISTRY

from pipeline.core.settings import load_settings
from pipeline.stream.offsets import OffsetWatch

TP = FaustTP("rasid.raw", 3)
SETTINGS = load_settings()


class FakeConsumer:
    """Committed up to 10 (worker and broker), 12 and 13 acked, read up to 13."""

    def __init__(self) -> None:
        self._committed_offset = defaultdict(lambda: None, {TP: 10})
        self._acked = defaultdict(list, {TP: [12, 13]})
        self._acked_index = defaultdict(set, {TP: {12, 13}})
        self._read_offset = {TP: 13}
        self._unacked_messages: set = set()
        self.flow_active = True
        self.seeks: list = []
        self.position_ = 14
        self.diag = SimpleNamespace(flags=set())
        self.broker = {TP: 10}

    def assignment(self):
        return {TP}

    async def position(self, tp):
        return self.position_

    async def earliest_offsets(self, *tps):
        return {tp: 0 for tp in tps}

    async def seek(self, tp, offset):
        self.seeks.append((tp, offset))
        self._read_offset[tp] = offset

    async def highwaters(self, *tps):
        return {tp: 20 for tp in tps}


class Msg(SimpleNamespace):
    __hash__ = object.__hash__


def watch(consumer: FakeConsumer, chans=()) -> OffsetWatch:
    topics = SimpleNamespace(acking_topics={TP.topic}, _tp_index={TP: list(chans)} if chans else {})
    app = SimpleNamespace(consumer=consumer, topics=topics, rebalancing=False)

    async def broker_offsets(tps):
        return {tp: consumer.broker[tp] for tp in tps if tp in consumer.broker}

    return OffsetWatch(app, SETTINGS, broker_offsets=broker_offsets)


def ticks(w: OffsetWatch, n: int) -> list[int]:
    async def run():
        return [await w.tick() for _ in range(n)]

    return asyncio.run(run())


def quiet(read: int, position: int) -> FakeConsumer:
    """Committed up to 10, nothing acked: the partition's last message read is ``read``."""
    c = FakeConsumer()
    c._acked = defaultdict(list, {TP: []})
    c._acked_index = defaultdict(set, {TP: set()})
    c._read_offset = {TP: read}
    c.position_ = position
    return c


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_assigned_partition_never_read_is_sought_to_its_floor(caplog):
    """A first reader killed before committing anything: on restart nothing of the partition was read
    again although its messages wait on the broker (floor 0, end 20)."""
    c = FakeConsumer()
    c._committed_offset = defaultdict(lambda: None)
    c._acked = defaultdict(list)
    c._acked_index = defaultdict(set)
    c._read_offset = {}
    c.broker = {}
    with caplog.at_level(logging.WARNING, logger="rasid.offsets"):
        assert ticks(watch(c), 3) == [0, 1, 0]  # once could be a fetch under way; twice is stuck
    assert c.seeks == [(TP, 0)]
    assert "never read: 20 message(s) from offset 0" in caplog.text


def test_an_unread_partition_with_nothing_waiting_or_in_flight_is_left_alone():
    c = FakeConsumer()
    c._read_offset = {}
    c._acked = defaultdict(list)
    c._acked_index = defaultdict(set)

    async def at_floor(*tps):
        return {tp: 10 for tp in tps}  # the broker's end is the floor: nothing to read

    c.highwaters = at_floor
    assert ticks(watch(c), 3) == [0, 0, 0] and c.seeks == []
    c2 = FakeConsumer()
    c2._read_offset = {}
    ev = SimpleNamespace(message=SimpleNamespace(tp=TP, offset=10))
    w = watch(c2, [SimpleNamespace(queue=SimpleNamespace(_queue=[ev]))])  # buffered: being read
    assert ticks(w, 3) == [0, 0, 0] and c2.seeks == []


def test_a_hole_is_read_again_only_after_two_sightings():
    c = FakeConsumer()
    assert ticks(watch(c), 3) == [0, 1, 0]  # first sighting: maybe a message between two hands
    assert c.seeks == [(TP, 10)]


def test_buffered_messages_are_not_lost():
    c = FakeConsumer()
    ev = SimpleNamespace(message=SimpleNamespace(tp=TP, offset=10))
    ev2 = SimpleNamespace(message=SimpleNamespace(tp=TP, offset=11))
    w = watch(c, [SimpleNamespace(queue=SimpleNamespace(_queue=[ev, ev2]))])
    assert ticks(w, 3) == [0, 0, 0] and c.seeks == []


def test_the_lost_tail_of_a_quiet_partition_is_read_again():
    c = quiet(read=12, position=13)
    assert ticks(watch(c), 2) == [0, 1]
    assert c.seeks == [(TP, 10)]  # the last message read (12) is among the lost


def test_a_sought_offset_is_not_counted_as_read():
    # after a seek to 10 the read offset names the next message to read, not one read
    c = quiet(read=10, position=10)
    assert ticks(watch(c), 3) == [0, 0, 0] and c.seeks == []


def test_a_full_stream_buffer_holds_the_repair():
    # the message at the read offset may be waiting for room in the buffer: not lost
    c = quiet(read=10, position=11)
    w = watch(c, [SimpleNamespace(queue=SimpleNamespace(_queue=[], full=lambda: True))])
    assert ticks(w, 3) == [0, 0, 0] and c.seeks == []


def test_no_check_while_a_commit_is_under_way():
    # a commit takes the acked offsets off the list before it lands: they only look lost
    c = quiet(read=12, position=13)
    c.diag.flags.add("COMMITTING")
    w = watch(c)
    assert ticks(w, 3) == [0, 0, 0]
    c.diag.flags.clear()
    assert ticks(w, 2) == [0, 1]


def test_a_commit_held_below_acked_offsets_is_reported_once(caplog):
    c = FakeConsumer()
    c._read_offset = {TP: 11}  # 11 is in flight (read, not acked): no hole, but the commit is held at 10
    c._unacked_messages = {Msg(tp=TP, offset=10), Msg(tp=TP, offset=11)}
    before = sample("rasid_commit_stalled_total", topic=TP.topic)
    with caplog.at_level(logging.WARNING, logger="rasid.offsets"):
        ticks(watch(c), 4)
    assert sample("rasid_commit_stalled_total", topic=TP.topic) == before + 1
    assert sum("held at 10" in r.getMessage() for r in caplog.records) == 1


def test_a_commit_stuck_behind_the_broker_is_read_again(caplog):
    """The worker recorded 66 as committed, the broker has 45 (faust-streaming #316): after two
    checks the partition is read again from 45 and the worker's commit follows the broker's."""
    c = quiet(read=65, position=66)
    c._committed_offset[TP] = 66
    c.broker = {TP: 45}
    before = sample("rasid_commit_stuck_total", topic=TP.topic)
    with caplog.at_level(logging.WARNING, logger="rasid.offsets"):
        ticks(watch(c), 2)
    assert c.seeks == [(TP, 45)] and c._committed_offset[TP] == 45
    assert sample("rasid_commit_stuck_total", topic=TP.topic) == before + 1
    assert any("the broker has 45, the worker recorded 66" in r.getMessage() for r in caplog.records)


def test_lag_is_measured_from_the_broker_commit():
    c = quiet(read=15, position=16)
    c._committed_offset[TP] = 16  # what the worker believes
    c.broker = {TP: 12}  # what another worker would resume from
    w = watch(c)

    async def run():
        await w.tick()
        await w.report_lag()

    asyncio.run(run())
    assert sample("rasid_consumer_lag", topic=TP.topic, partition=str(TP.partition)) == 20 - 12


def test_each_check_can_log_its_view_of_every_partition(caplog):
    c = FakeConsumer()
    w = OffsetWatch(SimpleNamespace(consumer=c, topics=SimpleNamespace(acking_topics={TP.topic}, _tp_index={}),
                                    rebalancing=False), load_settings(offset_trace=True),
                    broker_offsets=lambda tps: asyncio.sleep(0, {TP: 10}))
    with caplog.at_level(logging.INFO, logger="rasid.offsets"):
        asyncio.run(w.tick())
    assert any("floor=10 committed=10 broker=10 read=13" in r.getMessage() for r in caplog.records)
