"""The vetoes that tell two events apart (pipeline/stages/story_marks.py): one function counts them for a
member row and for a story as a whole, so the two scores cannot drift apart."""

from __future__ import annotations

import numpy as np

from pipeline.stages.story_keys import ACT_KINDS, AGENT_SHIFT, AGENTS, DAY_BITS, MEANS_KINDS, MEANS_SHIFT, WEEKDAYS
from pipeline.stages.story_marks import MEETING, Query, other_event, vetoes

STRIKE = 1 << ACT_KINDS.index("violence")
MON, TUE, WED = (1 << WEEKDAYS.index(d) for d in ("الاثنين", "الثلاثاء", "الأربعاء"))
AIR, GROUND, BOMB, GUN = (1 << MEANS_KINDS.index(k) + MEANS_SHIFT for k in ("air", "ground", "bomb", "gun"))
STATE, RUSSIA, ISIS, US = (1 << AGENTS.index(k) + AGENT_SHIFT for k in ("state", "russia", "isis", "us"))
IDLIB, ALEPPO = (35.93, 36.63), (36.20, 37.16)  # about 70 km apart


def query(acts: int = 0, days: int = 0, points: tuple = (), parties=None) -> Query:
    pts = np.array(points, dtype=np.float64).reshape(-1, 2)
    return Query(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=bool), 1.0, np.zeros(0, dtype=bool),
                 pts, np.zeros(len(pts)), parties, acts, days)


def rows(n: int, acts=0, days=0, points=None):
    pts = np.full((n, 1, 2), np.nan) if points is None else np.array(points, dtype=np.float64).reshape(n, -1, 2)
    return (np.full(n, acts, dtype=np.int64) if np.isscalar(acts) else np.array(acts, dtype=np.int64),
            np.full(n, days, dtype=np.int64) if np.isscalar(days) else np.array(days, dtype=np.int64),
            pts, np.zeros(pts.shape[:2]))


def no_parties() -> list:
    raise AssertionError("parties are read only when the query names two")


def test_another_act_counts_only_past_the_first_hours() -> None:
    acts, days, pts, slack = rows(2, acts=[MEETING, STRIKE])
    late = np.array([True, True])
    assert vetoes(query(acts=STRIKE), acts, days, late, pts, slack, no_parties, 15.0).tolist() == [1, 0]
    assert vetoes(query(acts=STRIKE), acts, days, np.array([False, False]), pts, slack, no_parties, 15.0).tolist() == [0, 0]


def test_towns_apart_and_another_day_add_up() -> None:
    acts, days, pts, slack = rows(3, days=[TUE, MON, TUE], points=[ALEPPO, ALEPPO, IDLIB])
    n = vetoes(query(days=MON, points=(IDLIB,)), acts, days, False, pts, slack, no_parties, 15.0)
    assert n.tolist() == [2, 1, 1]


def test_a_lead_naming_the_other_day_refers_back_to_it() -> None:
    # Wednesday's funeral «for the victims of Tuesday's bombing»: its lead names Tuesday as well
    funeral = WED | (TUE << DAY_BITS)
    assert other_event(0, funeral, np.array([STRIKE]), np.array([TUE]), False).tolist() == [False]
    assert other_event(0, WED, np.array([STRIKE]), np.array([TUE]), False).tolist() == [True]


def test_two_meetings_of_one_official_count_once() -> None:
    sharaa, erdogan, envoy = 1, 2, 3
    parties = (({sharaa, erdogan}, {sharaa, erdogan}, frozenset(), frozenset()), 0)
    acts, days, pts, slack = rows(2)
    theirs = [({sharaa, envoy}, {sharaa, envoy}, frozenset(), frozenset()),
              ({sharaa, erdogan}, {sharaa, erdogan}, frozenset(), frozenset())]
    assert vetoes(query(acts=MEETING, parties=parties), acts, days, False, pts, slack, lambda: theirs,
                  15.0).tolist() == [1, 0]
    # ... only where a meeting is reported: Russia's veto and Nebenzia explaining it name other parties too
    assert vetoes(query(parties=parties), acts, days, False, pts, slack, lambda: theirs, 15.0).tolist() == [0, 0]


def test_another_means_counts_at_any_hour_and_only_when_both_say() -> None:
    """A drone on a car and a guided missile on farmers in the next village, the same morning: two events.
    A report that says only «قصف» (no means) or names the same means stays open."""
    acts, days, pts, slack = rows(4, acts=[STRIKE | GROUND, STRIKE, STRIKE | AIR, STRIKE | AIR | GROUND])
    n = vetoes(query(acts=STRIKE | AIR), acts, days, False, pts, slack, no_parties, 15.0)
    assert n.tolist() == [1, 0, 0, 0]
    # the act part still counts only once late; the means do not make an act differ
    assert other_event(MEETING, 0, np.array([STRIKE | AIR]), np.array([0]), False).tolist() == [False]
    assert other_event(BOMB, 0, np.array([GUN]), np.array([0]), False).tolist() == [True]


def test_another_agent_counts_at_any_hour_but_one_air_raid_is_the_regimes_or_russias() -> None:
    acts, days, pts, slack = rows(4, acts=[STRIKE | US | AIR, STRIKE | ISIS, STRIKE | RUSSIA | AIR, STRIKE])
    assert vetoes(query(acts=STRIKE | ISIS | BOMB), acts, days, False, pts, slack, no_parties, 15.0).tolist() == [1, 0, 1, 0]
    assert other_event(STRIKE | ISIS, 0, acts, days, False).tolist() == [True, False, True, False]  # the agents alone
    # the regime's raid against Russia's raid: one; the regime's shelling against Russia's raid: two events
    assert other_event(STRIKE | STATE | AIR, 0, acts[2:3], days[2:3], False).tolist() == [False]
    assert other_event(STRIKE | STATE, 0, acts[2:3], days[2:3], False).tolist() == [True]
