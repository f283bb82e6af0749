"""The corrected commit-offset rule: never commit past an offset that was not acked."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from intervaltree import IntervalTree

from pipeline import faust_fixes

TP = ("rasid.raw", 3)


def _consumer(acked: list[int], committed: int | None):
    return SimpleNamespace(
        _acked=defaultdict(list, {TP: list(acked)}),
        _acked_index=defaultdict(set, {TP: set(acked)}),
        _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None, {TP: committed}),
    )


def test_single_missing_message_holds_the_commit():
    # committed 7 = offset 7 is the next to process; 8.. acked but 7 is not
    assert faust_fixes.new_offset(_consumer([8, 9, 10], committed=7), TP) is None


def test_original_faust_rule_skips_that_message():
    c = _consumer([8, 9, 10], committed=7)
    assert faust_fixes._ORIGINAL(c, TP) == 11  # the loss this module exists to prevent


def test_contiguous_acks_commit_to_the_first_gap():
    c = _consumer([7, 8, 9, 12, 13], committed=7)
    assert faust_fixes.new_offset(c, TP) == 10
    assert c._acked[TP] == [12, 13]


def test_known_gaps_count_as_acked():
    c = _consumer([7, 8, 11], committed=7)
    c._gap[TP].addi(9, 11)
    assert faust_fixes.new_offset(c, TP) == 12


def test_nothing_acked_commits_nothing():
    assert faust_fixes.new_offset(_consumer([], committed=5), TP) is None


def test_apply_installs_the_rule():
    from faust.transport.consumer import Consumer

    import pipeline.app  # noqa: F401  (applies on import)

    assert Consumer._new_offset is faust_fixes.new_offset
