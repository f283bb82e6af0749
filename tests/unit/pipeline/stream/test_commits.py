"""The offset corrections (pipeline.stream.commits) on a real faust-streaming Consumer of the pinned
version: never commit past a message that was not processed, forget acks of old-generation
messages, never record a failed commit as done, commit once more on stop, refuse another faust."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from unittest import mock

import faust
import pytest
from faust.types import TP as FaustTP

from pipeline.stream import commits

TP = FaustTP("rasid.raw", 3)
commits.apply()


@pytest.fixture
def consumer():
    """A real faust (aiokafka driver) Consumer: no broker is contacted until it starts."""
    app = faust.App("commits-unit", broker="kafka://127.0.0.1:1", autodiscover=False)
    return app.consumer


def state(c, acked: list[int], committed: int | None, floor: int | None = None):
    c._acked[TP] = list(acked)
    c._acked_index[TP] = set(acked)
    c._committed_offset[TP] = committed
    if floor is not None:
        commits.floors_of(c)[TP] = floor
    return c


def test_the_corrections_fit_the_installed_faust(consumer):
    commits.check(consumer.app)  # raises IncompatibleFaust naming what differs


def test_another_faust_version_is_refused(consumer):
    with mock.patch.object(faust, "__version__", "0.16.0"):
        with pytest.raises(commits.IncompatibleFaust, match="0.16.0 is installed"):
            commits.check(consumer.app)


def test_a_missing_attribute_is_named(consumer):
    del consumer._acked_index
    with pytest.raises(commits.IncompatibleFaust, match=r"consumer\._acked_index"):
        commits.check(consumer.app)


def test_apply_installs_the_rules():
    from faust.transport.consumer import Consumer

    assert Consumer._new_offset is commits.new_offset
    assert Consumer.ack is commits.ack
    assert Consumer.commit_and_end_transactions is commits.commit_and_end_transactions
    assert Consumer._commit_offsets is commits.commit_offsets


def test_single_missing_message_holds_the_commit(consumer):
    # committed 7 = offset 7 is the next to process; 8.. are acked but 7 is not
    assert state(consumer, [8, 9, 10], committed=7)._new_offset(TP) is None


def test_faust_own_rule_skips_that_message(consumer):
    state(consumer, [8, 9, 10], committed=7)
    assert commits._ORIGINAL_NEW_OFFSET(consumer, TP) == 11  # upstream #606: the loss this module prevents


def test_nothing_committed_yet_uses_the_partition_start(consumer):
    # faust keeps "nothing committed" and "committed 0" both as None: the floor is the earliest offset
    assert state(consumer, [1, 2], committed=None, floor=0)._new_offset(TP) is None
    assert state(consumer, [0, 1, 2, 5], committed=None, floor=0)._new_offset(TP) == 3


def test_unknown_start_holds_rather_than_guesses(consumer):
    assert state(consumer, [0, 1], committed=None)._new_offset(TP) is None


def test_contiguous_acks_commit_to_the_first_gap(consumer):
    c = state(consumer, [7, 8, 9, 12, 13], committed=7)
    assert c._new_offset(TP) == 10
    assert c._acked[TP] == [12, 13] and c._acked_index[TP] == {12, 13}


def test_acks_below_the_commit_are_dropped(consumer):
    c = state(consumer, [3, 4, 7, 8], committed=7)
    assert c._new_offset(TP) == 9 and c._acked[TP] == []


def test_a_recorded_gap_is_not_counted_as_acked(consumer):
    """faust records a gap when a delivered offset jumps past the read offset (after a seek): those
    messages are still to come. Counted as acked (faust's rule) the commit passes them."""
    c = state(consumer, [7, 8, 11], committed=7)
    c._gap[TP].addi(9, 11)
    assert commits._ORIGINAL_NEW_OFFSET(c, TP) == 12  # faust: 9 and 10 committed, never processed
    c = state(consumer, [7, 8, 11], committed=7)
    c._gap[TP].addi(9, 11)
    assert c._new_offset(TP) == 9 and not c._gap[TP]  # up to the first unprocessed message; gaps dropped


def test_duplicate_acks_do_not_slow_the_commit(consumer):
    """A message acked twice (re-read after a repair) must not cut the commit to one offset at a time
    (the lag the kill -9 test once saw shrink by one offset per commit)."""
    c = state(consumer, [], committed=33)
    c._acked[TP] = [33, 33, 34, 34, 35, 35, 36]
    c._acked_index[TP] = {33, 34, 35, 36}
    assert c._new_offset(TP) == 37 and c._acked[TP] == []


def test_nothing_acked_commits_nothing(consumer):
    assert state(consumer, [], committed=5)._new_offset(TP) is None


class _Msg(SimpleNamespace):
    __hash__ = object.__hash__


def test_ack_of_an_old_generation_message_is_forgotten_not_counted(consumer):
    c = state(consumer, [], committed=5)
    c.app.consumer_generation_id = 4
    old = _Msg(tp=TP, offset=5, topic=TP.topic, generation_id=3, acked=False)
    c._unacked_messages.add(old)
    assert c.ack(old) is False
    assert old.acked and old not in c._unacked_messages
    assert c._acked[TP] == []


def _committing(c, did: bool):
    """``c`` as faust's _commit_offsets meets it: the commit request answers ``did`` (False is what
    aiokafka's CommitFailedError "already rebalanced" turns into, without a crash)."""
    c._commit = mock.AsyncMock(return_value=did)
    c.assignment = lambda: {TP}
    c.app = SimpleNamespace(producer=SimpleNamespace(flush=mock.AsyncMock()), in_transaction=False,
                            tables=SimpleNamespace(on_commit=lambda offsets: None),
                            monitor=SimpleNamespace(on_tp_commit=lambda offsets: None),
                            consumer_generation_id=1)
    return c


def test_a_failed_commit_is_not_recorded_as_done(consumer):
    """faust-streaming #316: the cause of the stuck partition of the kill -9 fault test."""
    c = _committing(state(consumer, [45, 46, 47], committed=45), did=False)

    async def run(commit):
        return await commit(c, {TP: c._new_offset(TP)})

    assert asyncio.run(run(commits._ORIGINAL_COMMIT_OFFSETS)) is False
    assert c._committed_offset[TP] == 48 and c._acked[TP] == []  # faust alone: "done", nothing left to retry

    state(consumer, [45, 46, 47], committed=45)
    assert asyncio.run(run(commits.commit_offsets)) is False
    assert c._committed_offset[TP] == 45  # as on the broker
    assert sorted(c._acked[TP]) == [45, 46, 47]  # the acks are back: the next commit tries again
    c._commit.return_value = True
    assert asyncio.run(run(commits.commit_offsets)) is True and c._committed_offset[TP] == 48


def test_a_successful_commit_is_recorded(consumer):
    c = _committing(state(consumer, [45, 46], committed=45), did=True)
    assert asyncio.run(commits.commit_offsets(c, {TP: c._new_offset(TP)})) is True
    assert c._committed_offset[TP] == 47 and c._acked[TP] == []


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

    assert asyncio.run(run(commits._ORIGINAL_COMMIT_AND_END)) == []  # faust alone: nothing committed
    assert asyncio.run(run(commits.commit_and_end_transactions)) == [7, 8, 9]


def test_holes_are_read_unacked_and_not_in_flight():
    # floor 10, acked from 13, read up to 20; 11 is still being processed
    assert commits.holes(10, [13, 14], read_end=20, in_flight=[11]) == [10, 12]
    assert commits.holes(10, [13], read_end=None, in_flight=[]) == []  # not read yet: nothing lost
    assert commits.holes(10, [13], read_end=10, in_flight=[]) == []
    assert commits.holes(10, [10, 11], read_end=20, in_flight=[]) == []  # no head gap


def test_holes_at_the_tail_of_a_quiet_partition():
    # nothing acked after the hole shows it: everything read from the floor on is lost
    assert commits.holes(10, [], read_end=13, in_flight=[]) == [10, 11, 12]
    assert commits.holes(10, [], read_end=13, in_flight=[10, 11, 12]) == []
    assert commits.holes(10, [4, 5], read_end=12, in_flight=[]) == [10, 11]  # acks below the floor say nothing
