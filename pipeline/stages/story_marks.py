"""The marks beside an article's event keys, and the story rules that read them.

An article's features (:mod:`pipeline.stages.story_keys`) carry, beside its keys, where its headline says
the event happened (or near where), the people and countries the headline names, every country the
article names, and the kinds of act the headline reports, by whom and by what means. The event index
(:class:`pipeline.stages.stories.EventIndex`) keeps them per article row; the functions here decode them and
decide the vetoes (:func:`vetoes`, read by the hand product the pair score is gated by): two incidents
towns apart (:func:`min_km`), one official in two meetings (:func:`two_meetings`), past the first hours
another kind of act, another weekday named as the event's, and at any hour other means of attack or
another party striking (:func:`other_event`); and the headlines that frame two kinds of act in the first hours,
which the stage counts only at a higher probability (:func:`other_framing`).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from pipeline.stages.gazetteer import MAX_INCIDENT_PLACES
from pipeline.stages.story_keys import (ACT_KINDS, ACT_MASK, AGENT_MASK, AGENT_SHIFT, AGENTS, COUNTRY_MARK, DAY_BITS,
                                        DAY_MARK, KIND_MARK, MARK_FLAG, MEANS_KINDS, MEANS_SHIFT, MENTION_MARK, NEAR_MARK,
                                        OUTLET_MARK, PERSON_MARK, POINT_MARK, unpack_point)


MAX_POINTS = MAX_INCIDENT_PLACES  # incident points an article row holds: as many as the headline gives
EARTH_KM = 6371.0
NO_PARTIES: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())
MEETING = 1 << ACT_KINDS.index("meeting")
# the kinds of act that frame an event: a vow or a speech is how a party answers one (the vow to respond to the
# strike), and a headline's deal or truce is as often the one a statement speaks of («the truce in Idlib depends on
# the militants», «the SDF must honour the March agreement») as the event itself: neither frames one of its own
FRAMING_ACTS = ACT_MASK & ~(1 << ACT_KINDS.index("speech")) & ~(1 << ACT_KINDS.index("agreement"))


def split_marks(keys: bytes, ws: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                  tuple[frozenset[int], frozenset[int]], int, int, int]:
    """(key hashes, their weights, headline points (n, 2) in degrees, which of them are landmarks the
    event happened near, which keys are people the headline names, (the countries the headline names,
    every country the article names), the kinds of act the headline reports (a bit mask,
    ``story_keys.ACT_KINDS``), the weekdays its lead names (a bit mask, ``story_keys.WEEKDAYS``), its outlet (the
    hash of :func:`story_keys.outlet_of`, 0: unknown)) of encoded features."""
    hs, w = np.frombuffer(keys, dtype="<u4"), np.frombuffer(ws, dtype=np.uint8)
    mark = (w & MARK_FLAG) == MARK_FLAG
    at = np.flatnonzero(mark & ((w == POINT_MARK) | (w == NEAR_MARK)))[:MAX_POINTS]
    pts = np.array([unpack_point(h) for h in hs[at].tolist()], dtype=np.float64).reshape(-1, 2)
    hs_k, w_k = hs[~mark], w[~mark]
    headline = frozenset(hs[mark & (w == COUNTRY_MARK)].tolist())
    countries = (headline, headline | frozenset(hs[mark & (w == MENTION_MARK)].tolist())) if mark.any() else NO_PARTIES
    acts = int(np.bitwise_or.reduce(hs[mark & (w == KIND_MARK)], initial=0))
    days = int(np.bitwise_or.reduce(hs[mark & (w == DAY_MARK)], initial=0))
    outlet = hs[mark & (w == OUTLET_MARK)]
    return (hs_k, w_k, pts, w[at] == NEAR_MARK, np.isin(hs_k, hs[mark & (w == PERSON_MARK)]), countries, acts, days,
            int(outlet[0]) if len(outlet) else 0)


def other_acts(a: int, b: np.ndarray) -> np.ndarray:
    """Where both headlines name the kind of act they report, and no kind is the same (masks)."""
    return (a != 0) & (b != 0) & ((b & a) == 0)


def other_framing(q_acts: int, acts: np.ndarray) -> np.ndarray:
    """Where both headlines frame their event as a kind of act (:data:`FRAMING_ACTS`) and no kind is the same:
    within the first hours one event's reports may (the army takes the town / the clashes in it), but more often
    they are two events of one place or party that day (the aid handed out / the shelling counted)."""
    return other_acts(q_acts & FRAMING_ACTS, np.asarray(acts) & FRAMING_ACTS)


def other_event(q_acts: int, q_days: int, acts: np.ndarray, days: np.ndarray, late: np.ndarray | bool) -> np.ndarray:
    """Where what a query's headline and lead say makes it another event than the reports (masks, as
    :func:`split_marks` gives them): another kind of act once ``late`` (past the first hours: the landing
    the day after the strike), other means of attack or another party striking (:func:`_other_agents`) at any
    hour, or another weekday named as the event's (the same town hit again) when neither lead names the other's
    day at all (a funeral on Wednesday «for the victims of the bombing on
    Tuesday evening» refers back to Tuesday's event)."""
    day, named = q_days & _DAY, q_days >> DAY_BITS
    days, acts = np.asarray(days), np.asarray(acts)
    other_day = other_acts(day, days & _DAY) & ((days >> DAY_BITS & day) == 0) & ((days & _DAY & named) == 0)
    # how the blow was struck (a drone, a guided missile) and by whom, at any hour: one attack's reports agree
    other_means = other_acts(q_acts >> MEANS_SHIFT, acts >> MEANS_SHIFT)
    other_agents = _other_agents(q_acts, acts)
    return (late & other_acts(q_acts & ACT_MASK, acts & ACT_MASK)) | other_day | other_means | other_agents


_AIR = 1 << MEANS_KINDS.index("air") + MEANS_SHIFT
_STATE_OR_RUSSIA = sum(1 << AGENTS.index(k) + AGENT_SHIFT for k in ("state", "russia"))


def _other_agents(q_acts: int, acts: np.ndarray) -> np.ndarray:
    """Where both headlines say who struck and no party is the same; but two raids from the air, one the
    regime's and one Russia's, may be one (outlets give one raid on Idlib to either air force)."""
    qa, a = q_acts & AGENT_MASK, acts & AGENT_MASK
    either_air_force = ((q_acts & _AIR) != 0) & ((acts & _AIR) != 0) & ((qa & _STATE_OR_RUSSIA) != 0) & (
        (a & _STATE_OR_RUSSIA) != 0)
    return other_acts(qa, a) & ~either_air_force


_DAY = (1 << DAY_BITS) - 1


Parties = tuple[set[int], set[int], frozenset[int], frozenset[int]]  # people, keys, countries, mentioned


class Query(NamedTuple):
    """A query article as every score of one lookup reads it: computed once per lookup."""

    kids: np.ndarray  # key ids in the index, -1 where it does not know the key
    weights: np.ndarray  # their TF-IDF weights
    counts: np.ndarray  # which keys are counts
    norm: float
    title: np.ndarray  # which keys are in the headline
    points: np.ndarray  # the headline's incident points (n, 2), degrees
    slack: np.ndarray  # their slack (km): a landmark's radius
    parties: tuple[Parties, int] | None  # for :func:`two_meetings`; None when the headline names fewer than two
    acts: int  # the kinds of act the headline reports
    days: int  # the weekdays the lead names
    outlet: int = 0  # its outlet's hash (0: unknown)


def vetoes(q: Query, acts: np.ndarray, days: np.ndarray, late: np.ndarray | bool, points: np.ndarray,
           slack: np.ndarray, parties: Callable[[], list[Parties | None]], apart_km: float) -> np.ndarray:
    """How many of the rules that tell two events apart each row meets against the query (0: none):
    another act past the first hours or another day (:func:`other_event`), headline towns more than
    ``apart_km`` apart (:func:`min_km`; ``points`` (rows, k, 2) in degrees), the same official in two
    meetings (:func:`two_meetings`, where either headline reports a meeting). A row is one article.
    ``parties`` gives each row's parties (None: fewer than two); it is called only when the query names
    two and a meeting is reported."""
    n = np.zeros(len(acts), dtype=np.int64)
    if not (q.acts or q.days or len(q.points) or q.parties is not None):
        return n
    if q.acts or q.days:
        n += other_event(q.acts, q.days, acts, days, late)
    if len(q.points):
        d = min_km(points.astype(np.float64), q.points, slack, q.slack)
        n += np.isfinite(d) & (d > apart_km)
    # ... where one of the two headlines reports a meeting (not a veto Nebenzia explains)
    meets = ((q.acts | acts) & MEETING) != 0 if q.parties is not None else None
    if meets is not None and meets.any():
        n += meets & np.fromiter((p is not None and two_meetings(q.parties, p) for p in parties()), dtype=bool,
                                 count=len(acts))
    return n


def query_parties(kids: np.ndarray, qper: np.ndarray, countries: tuple[frozenset[int], frozenset[int]]
                   ) -> tuple[Parties, int]:
    """((key ids of the people the query's headline names that the index knows, every key id of the
    query the index knows, the countries its headline names, every country it names), how many of the
    headline's people the index does not know): what :func:`two_meetings` compares."""
    known = kids >= 0
    return (set(kids[qper & known].tolist()), set(kids[known].tolist()), *countries), int((qper & ~known).sum())


def two_meetings(query: tuple[Parties, int], other: Parties) -> bool:
    """Both headlines name two parties or more (people, countries), one of them the same, and each names
    one the other report never mentions: the same official in two meetings (al-Sharaa with Erdoğan,
    then with the US envoy; with Kuwait's minister, then with Ukraine's), not one meeting in two words."""
    (q_people, q_keys, q_countries, q_mentioned), q_unknown = query
    people, keys, countries, mentioned = other
    return (len(q_people) + q_unknown + len(q_countries) >= 2 and len(people) + len(countries) >= 2
            and bool(q_people & people or q_countries & countries)
            and (q_unknown > 0 or bool(q_people - keys) or bool(q_countries - mentioned))
            and bool(people - q_keys or countries - q_mentioned))


def min_km(a: np.ndarray, b: np.ndarray, slack_a: np.ndarray, slack_b: np.ndarray) -> np.ndarray:
    """Least distance (km) between the points of ``a`` (..., k, 2) and ``b`` (m, 2), in degrees, less
    each point's slack (km: a landmark's radius, ``slack_a`` (..., k), ``slack_b`` (m,)); inf where
    either has none (NaN rows). Equirectangular: exact enough at tens of km."""
    if not len(b):
        return np.full(a.shape[:-2], np.inf)
    ra, rb = np.radians(a)[..., :, None, :], np.radians(b)
    dlat = ra[..., 0] - rb[:, 0]
    dlon = (ra[..., 1] - rb[:, 1]) * np.cos((ra[..., 0] + rb[:, 0]) / 2)
    d = EARTH_KM * np.hypot(dlat, dlon) - slack_a[..., :, None] - slack_b
    return np.where(np.isnan(d), np.inf, d).min(axis=(-2, -1))
