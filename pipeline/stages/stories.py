"""Event-level story assignment: an article joins the story of the event it reports, across outlets.

Near-copies are linked by :mod:`pipeline.stages.dedupe` (MinHash); two outlets that report one
event in their own words share few 4-word shingles but the same *rare* words, numbers, places
and names. So each article is reduced to its most telling keys (:func:`event_features`) and
compared with the articles of the time window that share the rarest of them:

- Keys: light-stemmed content words of the match form (title words and the lead weigh more,
  function words and month names dropped; the official and the other outlets' words for the dead,
  the armed groups and a capture as one concept key each, ``story_keys.CONCEPTS``), counts (not
  dates), and the enrich stage's places,
  organisations and people (a one-word name is keyed once, as the name). At most ``MAX_KEYS`` per
  article, the rarest first by a background corpus (``story_background.txt``, :mod:`pipeline.stages.story_keys`), stored as 32-bit
  hashes with a weight and flags (count, name, in the headline): ~330 bytes on the changelog.
- Retrieval: an inverted index key → the live articles holding it (linked lists in numpy arrays,
  :class:`EventIndex`). Keys held by more than ``common_df`` live articles are too common to tell
  events apart and are skipped, so a lookup reads at most ``query_keys × common_df`` postings
  whatever the number of live articles; then only the ``max_candidates`` best are scored.
- Hand product: cosine of TF-IDF vectors (document frequencies over the live articles), times a time
  factor (publication times more than ``window`` apart never join; the score is whole for 12 hours,
  then falls to 0.3 at the window's edge (24 hours): a follow-up comes within hours, the same words the next
  day or two are more often another event, so a story spans at most a day from its first report), times a headline factor (two outlets' headlines of one event share at least two keys; one or
  none lowers the score: the same actors in another event), lowered when both state counts and
  share none, zero for the same wording with other figures on another day (a ministry's daily
  statement), and lowered when only names are shared (the same town hit again). Two reports whose
  headlines each say where it happened (``Gazetteer.incident_places``: a Syrian town, city, camp, base
  or crossing, not a region), more than ``apart_km`` apart, never join: the same kind of event in two
  towns on one day is two events (the points ride in the features beside the keys). A town the
  headline says it happened *near* («قرب حارم», «بريف جسر الشغور») stands for anywhere within
  ``near_km`` of it.
  Nor do two reports whose headlines each name two parties or more (people, countries), one the same,
  and each one the other never mentions, one of them reporting a meeting: the same official in two meetings
  (:func:`pipeline.stages.story_marks.two_meetings`). Nor, past the first ``other_act_after_s`` (12 hours),
  do two reports whose headlines each name a kind of act (``story_keys.headline_acts``: violence, a meeting,
  an appointment, a truce…) and no kind the same: the landing a day after the strike there, the appointment
  the morning after the meeting that prepared it (within those hours one event's reports frame it as
  different acts, and a reaction names no act of its own). Nor do two reports whose leads name different
  weekdays as their event's (``story_keys.lead_days``) and neither names the other's (a follow-up names its event's
  day, «أمس الإثنين»), or headlines giving the blow to other means or parties (``headline_means``, ``headline_agents``).
  An article that starts a story but would have joined one begun more than a window before through a
  member of the last hours (its first report scoring nothing) records that story as the one it follows
  (``last_follows``; the story document's ``follows``).
- Score: where the hand product lets a pair through, the probability that both report one event, a logistic
  regression over the pair's evidence (:mod:`pipeline.stages.story_pairs`: cosine, headline keys, counts,
  hours…, fitted on the story splits read pair by pair); within ``headline_guard_s`` (3 hours) a pair whose
  headlines share fewer than two keys needs the hand product at ``hand_threshold`` too.
  A story is scored by its best member, half anchored on its first article, so chains cannot
  drift; never joined through a member when the first article scores nothing. (A story's members summed
  and compared as a whole were the main source of wrong joins, 212 of 1173 over the splits: gone.) Nor is
  it joined unless its scores with the story's newest ``recent_members`` (5) live members reach
  ``members_floor`` (0.5) on average: an article that takes after one member only reports another event that
  member or a wrong join brought close (the next attack in the province that day, the same minister's next
  meeting), and one wrong join no longer carries the rest of its event's reports in after it. Over the 46
  splits written blind: 0.852 / 0.923 pairwise P / R -> 0.913 / 0.906 (false pairs 780 -> 422, missed 377 ->
  456), above the curve a higher threshold draws (0.901 / 0.902 at 0.65, 0.918 / 0.894 at 0.7). A pair of
  one outlet's reports (``story_keys.outlet_of``: its source id, or a saved page's site) counts only at
  ``same_outlet_floor`` (0.9): the outlet's next report from the province in its own words was another event
  more often than an update of the first, which keeps its words (a higher toll). Over the 48 blind splits
  0.909 / 0.907 -> 0.927 / 0.901 (false pairs 463 -> 362, missed 473 -> 502; the threshold at 0.6: 0.913 /
  0.901). Within the first hours (past them a veto) two headlines that frame the event as different kinds of act
  (``story_marks.other_framing``: a vow, a speech or a deal frames none) count only at ``other_act_floor`` (0.8): they
  were more often two events of one place or party that day (the aid handed out, the shelling counted) than one
  event told two ways; over the 52 blind splits 0.927 / 0.903 -> 0.934 / 0.903 (false pairs 390 -> 353, missed 537 ->
  533). The article joins the best story at or above ``threshold`` (0.5), else starts one. Ties go to the smaller
  story id: the same input order gives the same ids.
- The index is a cache: the state lives in the dedupe store entries (``"w"`` = encoded features,
  ``"s"`` = story), so a restart rebuilds it from the changelog and answers as before.
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.stages.packed import KeyTable, Names, grown, id_hash
from pipeline.stages.story_pairs import HEADLINE_KEYS, HOURS, NAMES, WEIGHTS, join_probability, pair_features
from pipeline.stages.story_marks import (MAX_POINTS, NO_PARTIES, Parties, Query, other_framing, query_parties, split_marks,
                                         vetoes)

# the key functions are re-exported: callers name one module for the stage
from pipeline.stages.story_keys import (
    ENTITY_FLAG,
    ENTITY_PREFIX,
    MAX_KEYS,
    MAX_WEIGHT,
    NUMBER_FLAG,
    TITLE_FLAG,
    article_features,
    background,
    decode_features,
    encode_features,
    encoded_article_features,
    event_features,
    key_hash,
    stem,
)

__all__ = [
    "ENTITY_FLAG", "ENTITY_PREFIX", "MAX_KEYS", "MAX_WEIGHT", "NUMBER_FLAG", "TITLE_FLAG", "EventIndex",
    "article_features", "background", "decode_features", "encode_features", "encoded_article_features",
    "event_features", "key_hash", "stem",
]


_LOG_W = np.array([0.0] + [1.0 + math.log(w) for w in range(1, MAX_WEIGHT + 1)], dtype=np.float32)


class EventIndex:
    """The live articles' event keys: candidate retrieval and scoring (see the module doc).

    Pure memory: the caller (:class:`pipeline.stages.dedupe.DedupeIndex`) stores the features in its
    entries and adds/drops articles here as they enter/leave its live window, oldest first.

    Layout: numpy arrays only (:mod:`pipeline.stages.packed`), so scoring 64 candidates is a few
    array operations and a full window allocates nothing once :meth:`reserve` d. Each live key hash
    gets a small integer id (reused once no live article holds it, :class:`KeyTable` hash → id) with
    its document frequency in ``_df``; each live article a row (slot) of ``_ids`` (key ids, -1
    padded), ``_lw`` (1 + ln weight), ``_num`` (the key is a count) and ``_t``. Postings: each
    (slot, key position) cell links to the next older and newer cell holding the same key
    (``_nx``/``_pv``, doubly linked from ``_head[key id]``, the newest), so adding or dropping an
    article relinks its cells in place; a lookup walks the lists of keys held by at most
    ``common_df`` articles. Stories: id → a small story number, its live members counted in ``_refs``,
    the newest of them in ``_recent``."""

    KEYS_PER_ARTICLE = 8  # key ids reserved per article slot (new keys an article brings, on average, with margin)

    def __init__(self, *, threshold: float = 0.5, window_s: float = 24 * 3600.0, common_df: int = 200,
                 query_keys: int = 16, max_candidates: int = 48, number_penalty: float = 0.75,
                 full_until_s: float = 12 * 3600.0, decay_at_window: float = 0.3, seed_weight: float = 0.5,
                 formula_score: float = 0.3, use_background: bool = False, min_content: float = 0.5,
                 title_factors: tuple[float, ...] = (0.3, 0.6), apart_km: float = 15.0, apart_factor: float = 0.0,
                 near_km: float = 10.0, other_act_after_s: float = 12 * 3600.0,
                 pair_weights: np.ndarray | None = WEIGHTS, hand_threshold: float = 0.06,
                 headline_guard_s: float = 3 * 3600.0, headline_guard_keys: int = 2, recent_members: int = 5,
                 members_floor: float = 0.5, same_outlet_floor: float = 0.9, other_act_floor: float = 0.8) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.common_df = common_df
        self.query_keys = query_keys
        self.max_candidates = max_candidates
        self.number_penalty = number_penalty
        self.formula_score = formula_score
        self.min_content = min_content
        self.title_factors = tuple(title_factors)
        self.apart_km = apart_km
        self.apart_factor = apart_factor
        self.near_km = near_km
        self.other_act_after_s = other_act_after_s
        self.pair_weights = pair_weights
        self.hand_threshold = hand_threshold
        self.headline_guard_s = headline_guard_s
        self.headline_guard_keys = headline_guard_keys
        self.recent_members = recent_members
        self.members_floor = members_floor
        self.same_outlet_floor = same_outlet_floor
        self.other_act_floor = other_act_floor
        self.full_until_s = full_until_s
        self.decay_at_window = decay_at_window
        self.seed_weight = seed_weight
        self._bg_n, self._bg = background() if use_background else (0, {})
        # keys
        self._kid = KeyTable()  # key hash -> key id
        self._free_kid: list[int] = []
        self._kids = 0  # key ids ever handed out
        self._hash_of = np.zeros(1024, dtype=np.uint32)  # key id -> key hash
        self._df = np.zeros(1024, dtype=np.int32)  # live articles holding the key
        self._bdf = np.zeros(1024, dtype=np.int32)  # the key's background document frequency
        self._head = np.zeros(1024, dtype=np.int32)  # key id -> newest cell holding it (-1: none)
        # articles
        cap = 64
        self._ids = np.full((cap, MAX_KEYS), -1, dtype=np.int32)
        self._lw = np.zeros((cap, MAX_KEYS), dtype=np.float32)
        self._num = np.zeros((cap, MAX_KEYS), dtype=bool)
        self._ent = np.zeros((cap, MAX_KEYS), dtype=bool)
        self._tit = np.zeros((cap, MAX_KEYS), dtype=bool)
        self._pts = np.zeros((cap, MAX_POINTS, 2), dtype=np.float32)  # incident points, NaN: none
        self._slack = np.zeros((cap, MAX_POINTS), dtype=np.float32)  # km: near_km for a landmark, else 0
        self._per = np.zeros((cap, MAX_KEYS), dtype=bool)  # the key is a person the headline names
        self._acts = np.zeros(cap, dtype=np.int64)  # the kinds of act the headline reports (bit mask)
        self._days = np.zeros(cap, dtype=np.int64)  # the weekdays its lead names (bit mask)
        self._outlet = np.zeros(cap, dtype=np.uint32)  # its outlet's hash (0: unknown)
        self._countries: dict[int, tuple[frozenset[int], frozenset[int]]] = {}  # slot -> (headline's, all)
        self._t = np.zeros(cap, dtype=np.float64)
        self._nx = np.zeros((cap, MAX_KEYS), dtype=np.int32)  # cell -> next older cell of its key (-1: none)
        self._pv = np.zeros((cap, MAX_KEYS), dtype=np.int32)  # cell -> next newer cell of its key (-1: none)
        self._sid = np.zeros(cap, dtype=np.int32)  # slot -> story number
        self._serial_of = np.zeros(cap, dtype=np.int64)
        self._aid = Names(cap)
        self._slot_of = KeyTable()  # article id hash -> slot
        self._free_slot: list[int] = []
        self._used = 0
        self._serial = 0
        # stories
        self._sid_of = KeyTable()  # story id hash -> story number
        self._story = Names(cap)  # story number -> story id
        self._refs = np.zeros(cap, dtype=np.int32)  # its live members (the story number is freed at 0)
        self._recent = np.full((cap, max(1, recent_members)), -1, dtype=np.int32)  # its newest members' slots
        self._free_sid: list[int] = []
        self._sids = 0
        self.last_candidates = 0  # how many articles the last lookup scored (tests, benchmark)
        self.last_follows: str | None = None  # the earlier story the last lookup's article follows on from
        self.last_postings = 0  # how many postings it read

    def __len__(self) -> int:
        return len(self._slot_of)

    # -- membership ------------------------------------------------------------------------
    def _grow(self) -> None:
        self.reserve(2 * len(self._t), touch=False)

    def reserve(self, cap: int, touch: bool = True) -> None:
        """Room for ``cap`` article rows and their stories and keys (a row is written in full by
        :meth:`add` before it is read). ``touch``: see :func:`grown`."""
        if cap <= len(self._t):
            return
        self._ids, self._lw, self._num, self._ent, self._tit, self._pts, self._slack, self._per, self._acts, \
            self._days, self._outlet, self._t, self._nx, self._pv, self._sid, self._serial_of, self._refs, \
            self._recent = (
                grown(a, cap, touch) for a in (self._ids, self._lw, self._num, self._ent, self._tit, self._pts,
                                               self._slack, self._per, self._acts, self._days, self._outlet,
                                               self._t, self._nx, self._pv, self._sid, self._serial_of,
                                               self._refs, self._recent))
        self._aid.reserve(cap, touch)
        self._story.reserve(cap, touch)  # a live story has a live member: at most one story a slot
        if touch:
            self._slot_of.reserve(cap)
            self._sid_of.reserve(cap)
            self._kid.reserve(cap * self.KEYS_PER_ARTICLE)
            self._reserve_keys(cap * self.KEYS_PER_ARTICLE, touch)

    def _reserve_keys(self, n: int, touch: bool) -> None:
        if n > len(self._df):
            self._hash_of, self._df, self._bdf, self._head = (
                grown(a, n, touch) for a in (self._hash_of, self._df, self._bdf, self._head))

    def _key_id(self, h: int) -> int:
        kid = self._kid.get(h)
        if kid < 0:
            if self._free_kid:
                kid = self._free_kid.pop()
            else:
                kid = self._kids
                self._kids += 1
                if kid >= len(self._df):
                    self._reserve_keys(2 * len(self._df), touch=False)
            self._hash_of[kid] = h
            self._bdf[kid] = self._bg.get(h, 0)
            self._head[kid] = -1
            self._df[kid] = 0
            self._kid.put(h, kid)
        return kid

    def _story_number(self, story: str) -> int:
        h = id_hash(story)
        sid = self._sid_of.get(h)
        if sid < 0:
            if self._free_sid:
                sid = self._free_sid.pop()
            else:
                sid = self._sids
                self._sids += 1
            self._story[sid] = story
            self._refs[sid] = 0
            self._recent[sid] = -1
            self._sid_of.put(h, sid)
        return sid

    def add(self, aid: str, story: str, t: float, features: str | tuple[bytes, bytes]) -> None:
        keys, ws = decode_features(features) if isinstance(features, str) else features
        hs, wa, pts, near, per, countries, acts, days, outlet = split_marks(keys, ws)
        ah = id_hash(aid)
        if not len(wa) or ah in self._slot_of:
            return
        if self._free_slot:
            slot = self._free_slot.pop()
        else:
            slot = self._used
            self._used += 1
            if slot >= len(self._t):
                self._grow()
        self._serial += 1
        pairs = dict(zip(hs.tolist(), wa.tolist()))  # (a hash collision inside one article: once)
        people = set(hs[per].tolist())
        hashes = list(pairs)[:MAX_KEYS]
        w = np.array([pairs[h] for h in hashes], dtype=np.uint8)
        kids = np.array([self._key_id(h) for h in hashes], dtype=np.int64)  # distinct: one per hash
        k = len(kids)
        self._df[kids] += 1
        # link the article's cells at the head of their keys' lists
        cells = slot * MAX_KEYS + np.arange(k)
        heads = self._head[kids]
        nx, pv = self._nx.reshape(-1), self._pv.reshape(-1)
        nx[cells] = heads
        pv[cells] = -1
        older = heads >= 0
        pv[heads[older]] = cells[older]
        self._head[kids] = cells
        self._ids[slot] = -1
        self._ids[slot, :k] = kids
        self._lw[slot] = 0
        self._lw[slot, :k] = _LOG_W[w & MAX_WEIGHT]
        self._num[slot] = False
        self._num[slot, :k] = (w & NUMBER_FLAG) != 0
        self._ent[slot] = False
        self._ent[slot, :k] = (w & ENTITY_FLAG) != 0
        self._tit[slot] = False
        self._tit[slot, :k] = (w & TITLE_FLAG) != 0
        self._pts[slot] = np.nan
        self._pts[slot, :len(pts)] = pts
        self._slack[slot] = 0
        self._slack[slot, :len(pts)] = np.where(near, self.near_km, 0.0)
        self._per[slot] = False
        self._per[slot, :k] = [h in people for h in hashes]
        self._acts[slot] = acts
        self._days[slot] = days
        self._outlet[slot] = outlet
        if countries[1]:
            self._countries[slot] = countries
        else:
            self._countries.pop(slot, None)
        self._t[slot] = t
        self._serial_of[slot] = self._serial
        self._aid[slot] = aid
        sid = self._sid[slot] = self._story_number(story)
        self._refs[sid] += 1
        ring = self._recent[sid]  # newest first
        ring[1:] = ring[:-1].copy()
        ring[0] = slot
        self._slot_of.put(ah, slot)

    def drop(self, aid: str) -> None:
        slot = self._slot_of.pop(id_hash(aid))
        if slot < 0:
            return
        row = self._ids[slot]
        k = int(np.count_nonzero(row >= 0))
        kids = row[:k].astype(np.int64)
        # unlink its cells (each in another key's list, so they can be relinked at once)
        cells = slot * MAX_KEYS + np.arange(k)
        nx, pv = self._nx.reshape(-1), self._pv.reshape(-1)
        older, newer = nx[cells], pv[cells]
        has_newer = newer >= 0
        nx[newer[has_newer]] = older[has_newer]
        self._head[kids[~has_newer]] = older[~has_newer]
        has_older = older >= 0
        pv[older[has_older]] = newer[has_older]
        self._df[kids] -= 1
        for kid in kids[self._df[kids] <= 0].tolist():  # no live article holds the key: its id is free again
            self._df[kid] = 0
            self._kid.pop(int(self._hash_of[kid]))
            self._free_kid.append(kid)
        self._ids[slot] = -1
        sid = int(self._sid[slot])
        self._refs[sid] -= 1
        ring = self._recent[sid]
        ring[ring == slot] = -1
        if self._refs[sid] <= 0:
            self._sid_of.pop(id_hash(self._story[sid]))
            self._story.clear(sid)
            self._free_sid.append(sid)
        self._aid.clear(slot)
        self._countries.pop(slot, None)
        self._free_slot.append(slot)

    # -- scoring -----------------------------------------------------------------------------
    def time_factor(self, dt_s: float) -> float:
        """1 within ``full_until_s``, then down linearly to ``decay_at_window`` at the window's edge."""
        dt_s = abs(dt_s)
        if dt_s > self.window_s:
            return 0.0
        if dt_s <= self.full_until_s:
            return 1.0
        span = max(1.0, self.window_s - self.full_until_s)
        return 1.0 - (1.0 - self.decay_at_window) * (dt_s - self.full_until_s) / span

    def _query(self, features: str | tuple[bytes, bytes]) -> Query:
        """A query article as the scores of one lookup read it."""
        keys, ws = decode_features(features) if isinstance(features, str) else features
        n = len(self._slot_of) + 1 + self._bg_n
        hs, w, pts, near, per, countries, acts, days, outlet = split_marks(keys, ws)
        hs = hs.tolist()
        kids = np.array([self._kid.get(h) for h in hs], dtype=np.int64)
        bdf = np.array([self._bg.get(h, 0) for h in hs], dtype=np.int64)
        df = np.where(kids >= 0, self._df[np.maximum(kids, 0)], 0) + bdf + 1  # + the query itself
        qw = _LOG_W[w & MAX_WEIGHT] * np.log1p(n / df)
        parties = query_parties(kids, per, countries) if int(per.sum()) + len(countries[0]) >= 2 else None
        return Query(kids, qw.astype(np.float64), (w & NUMBER_FLAG) != 0, float(np.sqrt((qw * qw).sum())),
                     (w & TITLE_FLAG) != 0, pts, np.where(near, self.near_km, 0.0), parties, acts, days, outlet)

    def candidates(self, features: str | tuple[bytes, bytes], t: float) -> tuple[Query, np.ndarray]:
        """(the query, slots of the best-sharing live articles within the window: at most
        ``max_candidates``, found through at most ``query_keys`` keys of ``common_df`` postings)."""
        q = self._query(features)
        kids, qw = q[0], q[1]
        ok = (kids >= 0)
        ok[ok] = self._df[kids[ok]] <= self.common_df
        order = np.flatnonzero(ok)
        order = order[np.lexsort((kids[order], -qw[order]))][: self.query_keys]
        cells: list[int] = []
        weights: list[float] = []
        nx = self._nx.reshape(-1)
        for i in order.tolist():
            before = len(cells)
            c = int(self._head[kids[i]])
            while c >= 0:
                cells.append(c)
                c = int(nx[c])
            weights.extend([qw[i]] * (len(cells) - before))
        self.last_postings = len(cells)
        if not cells:
            return q, np.zeros(0, dtype=np.int64)
        slots, inv = np.unique(np.array(cells, dtype=np.int64) // MAX_KEYS, return_inverse=True)
        acc = np.bincount(inv, weights=np.array(weights))
        near = np.abs(self._t[slots] - t) <= self.window_s
        slots, acc = slots[near], acc[near]
        best = np.lexsort((self._serial_of[slots], -acc))[: self.max_candidates]  # most shared weight, then oldest
        return q, slots[best]

    def _tfidf(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(key ids, which are real keys, TF-IDF weights) of the articles in ``slots``, one row each."""
        n = len(self._slot_of) + 1 + self._bg_n
        ids = self._ids[slots]
        valid = ids >= 0
        safe = np.maximum(ids, 0)
        df = np.where(valid, self._df[safe] + self._bdf[safe], 1)
        return ids, valid, np.where(valid, self._lw[slots] * np.log1p(n / np.maximum(df, 1)), 0.0)

    def _parties(self, slots: np.ndarray, ids: np.ndarray, valid: np.ndarray) -> list[Parties | None]:
        """The parties (:class:`story_marks.Parties`) each of ``slots`` names, None where fewer than two."""
        per = self._per[slots] & valid
        theirs = [self._countries.get(s, NO_PARTIES) for s in slots.tolist()]
        n = per.sum(axis=1) + np.array([len(c[0]) for c in theirs])
        return [(set(ids[i][per[i]].tolist()), set(ids[i][valid[i]].tolist()), *theirs[i]) if n[i] >= 2 else None
                for i in range(len(theirs))]

    def scores(self, q: Query, slots: np.ndarray, t: float) -> np.ndarray:
        """For each slot, the probability that it reports the query's event (:mod:`story_pairs`), 0 where the
        hand product (:meth:`pair_terms`) sets the pair apart; or, without ``pair_weights``, the hand product.
        Within ``headline_guard_s`` a pair whose headlines share fewer than ``headline_guard_keys`` keys joins
        only when the hand product reaches ``hand_threshold`` too: the weights learned from the splits, where
        nearly every candidate minutes away reports the same event, that nearness and many shared keys say
        enough; a live stream carries other reports of one subject minutes apart (a convoy entering Idlib, a post
        being evacuated, the defence minister's warning), sharing many keys and a place name in the headline."""
        hand, x = self.pair_terms(q, slots, t)
        if self.pair_weights is None or not len(slots):
            return hand
        ok = (hand > 0) & ((x[:, HEADLINE_KEYS] >= self.headline_guard_keys) | (hand >= self.hand_threshold)
                           | (x[:, HOURS] * 24 * 3600 >= self.headline_guard_s))
        p = join_probability(x, self.pair_weights)
        if q.outlet and self.same_outlet_floor:
            # an outlet's own earlier report: its next report from there in its own words is another event
            # more often than an update of this one, which keeps the first one's words (a higher toll, the claim)
            ok &= (self._outlet[slots] != q.outlet) | (p >= self.same_outlet_floor)
        if q.acts and self.other_act_floor:
            # headlines that frame the event as different acts, within the first hours (past them a veto):
            # more often two events of one place or party that day than one event told two ways
            ok &= ~other_framing(q.acts, self._acts[slots]) | (p >= self.other_act_floor)
        return np.where(ok, p, 0.0)

    def pair_terms(self, q: Query, slots: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(the hand product: cosine of the TF-IDF vectors × time factor × headline factor × the count penalty,
        0 where a veto sets the pair apart; the pair features of :data:`story_pairs.NAMES`), per slot."""
        if len(slots) == 0:
            return np.zeros(0), np.zeros((0, len(NAMES)))
        kids, qw, qnum, qn, qtit = q[:5]
        ids, valid, cw = self._tfidf(slots)
        norms = np.sqrt((cw * cw).sum(axis=1))
        # the query's weights by key id, looked up for each candidate key
        known = kids >= 0
        qmap = dict(zip(kids[known].tolist(), qw[known].tolist()))
        qnmap = set(kids[known & qnum].tolist())
        flat = ids.ravel().tolist()
        qv = np.fromiter((qmap.get(k, 0.0) for k in flat), dtype=np.float64, count=len(flat)).reshape(ids.shape)
        prod = qv * cw
        dot = prod.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where((norms > 0) & (qn > 0), dot / (norms * qn), 0.0)
            # shared names alone (the same town, the same minister) are not the same event: the share of
            # the evidence carried by words and counts must reach ``min_content``
            content = np.where(dot > 0, np.where(self._ent[slots], 0.0, prod).sum(axis=1) / dot, 0.0)
        sc = cos * np.minimum(1.0, content / self.min_content) if self.min_content else cos
        # two outlets' headlines of one event share its core (who, what, where): count shared title keys
        qt = set(kids[known & qtit].tolist())
        tshared = np.fromiter((k in qt for k in flat), dtype=bool, count=len(flat)).reshape(ids.shape)
        c_titles = self._tit[slots] & valid
        n_t = (tshared & c_titles).sum(axis=1)
        if self.title_factors:
            sc = sc * np.array(self.title_factors + (1.0,))[np.minimum(n_t, len(self.title_factors))]
        # another kind of act past the first hours (a landing after the strike) or another day named; two
        # towns apart; the same official in two meetings
        late = np.abs(self._t[slots] - t) > self.other_act_after_s
        n = vetoes(q, self._acts[slots], self._days[slots], late, self._pts[slots], self._slack[slots],
                   lambda: self._parties(slots, ids, valid), self.apart_km)
        if n.any():
            sc = sc * self.apart_factor ** n
        cnum = self._num[slots] & valid
        if qnum.any():  # the query states counts (known to the index or not)
            has = cnum.any(axis=1)
            shared = np.fromiter((k in qnmap for k in flat), dtype=bool, count=len(flat)).reshape(ids.shape) & cnum
            conflict = has & ~shared.any(axis=1)
            # another day, the same wording, other figures: a recurring statement (a ministry's daily
            # tally), not a follow-up (those reword the report; they are never this close)
            # (the wording's score before the time decay: a day later the decay alone would hide it)
            far = np.abs(self._t[slots] - t) > self.full_until_s
            formula = conflict & far & (sc >= self.formula_score)
            sc = np.where(formula, 0.0, np.where(conflict, sc * self.number_penalty, sc))
        hand = sc * np.array([self.time_factor(x) for x in (self._t[slots] - t).tolist()])
        x = pair_features(cos, content, (qv > 0) & valid, prod, norms * qn, n_t, len(qt), c_titles.sum(axis=1),
                          self._ent[slots], cnum, bool(qnum.any()), np.abs(self._t[slots] - t) / 3600.0,
                          ~np.isnan(self._pts[slots][:, 0, 0]) & (len(q.points) > 0))
        return hand, x

    def best_story(self, features: str | tuple[bytes, bytes], t: float, cands: tuple[Query, np.ndarray] | None = None
                   ) -> tuple[str, str, float] | None:
        """(story id, best member id, score) of the best story at or above the threshold, else None."""
        q, slots = cands if cands is not None else self.candidates(features, t)
        self.last_candidates = len(slots)
        self.last_follows = None
        if not len(slots):
            return None
        sc = self.scores(q, slots, t)
        by_story: dict[str, tuple[float, str]] = {}
        for slot, x in zip(slots.tolist(), sc.tolist()):
            story, aid = self._story[int(self._sid[slot])], self._aid[slot]
            old = by_story.get(story)
            if old is None or x > old[0] or (x == old[0] and aid < old[1]):
                by_story[story] = (x, aid)
        best: tuple[float, str, str] | None = None
        cont: tuple[float, str] | None = None  # (member score, story) of a story this article follows on from
        # each story in reach is anchored on its first article (below): its score is the candidates' own when it is
        # one of them (a row's score does not depend on the other rows), the others' in one call
        seeds = {story: self._slot_of.get(id_hash(story)) for story, (x, aid) in by_story.items()
                 if x >= self.threshold and story != aid} if self.seed_weight else {}
        # and on its newest members: an article that takes after one of them only, not the others, reports
        # another event that member or a wrong join brought close (the next attack in the province that day)
        recent = {story: [s for s in self._recent[self._sid_of.get(id_hash(story))].tolist() if s >= 0]
                  for story, (x, aid) in by_story.items() if x >= self.threshold} if self.members_floor else {}
        scored_by_slot = dict(zip(slots.tolist(), sc.tolist()))
        missing = sorted({s for s in seeds.values() if s >= 0 and s not in scored_by_slot}
                         | {s for ss in recent.values() for s in ss if s not in scored_by_slot})
        if missing:
            scored_by_slot.update(zip(missing, self.scores(q, np.array(missing), t).tolist()))
        for story, (x, aid) in by_story.items():
            if x < self.threshold:
                continue
            if self.seed_weight:
                # anchored to the story's first article: a chain of follow-ups cannot drift to another event;
                # nor does an article join through a later member when it shares nothing with the first
                # report or a rule sets it apart from it (another day, act or town: the story began as
                # another event, and a member that names none carried the wrong article in)
                seed = seeds.get(story, -1)
                seed_x = x if seed < 0 else scored_by_slot[seed]
                if seed_x <= 0 <= seed and abs(t - float(self._t[seed])) > self.window_s and (
                        cont is None or x > cont[0] or (x == cont[0] and story < cont[1])):
                    cont = (x, story)  # a member of today's would take it, the first report is of another day
                x = (1 - self.seed_weight) * x + self.seed_weight * seed_x
                if x < self.threshold or seed_x <= 0:
                    continue
            members = recent.get(story, ())
            if len(members) > 1 and sum(scored_by_slot[s] for s in members) < self.members_floor * len(members):
                continue
            if best is None or x > best[0] or (x == best[0] and story < best[1]):
                best = (x, story, aid)
        # no story takes it, but one begun more than a window ago would through a member of the last hours: a
        # thread for analysts across the window's cut (the event's next day, or the next event there), not a join
        self.last_follows = cont[1] if cont is not None and best is None else None
        return (best[1], best[2], best[0]) if best else None

    def candidate_ids(self, cands: tuple[Query, np.ndarray]) -> list[str]:
        return [self._aid[s] for s in cands[1].tolist()]
