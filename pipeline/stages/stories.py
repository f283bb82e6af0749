"""Event-level story assignment: an article joins the story of the event it reports, across outlets.

Near-copies are linked by :mod:`pipeline.stages.dedupe` (MinHash); two outlets that report one
event in their own words share few 4-word shingles but the same *rare* words, numbers, places
and names. So each article is reduced to its most telling keys (:func:`event_features`) and
compared with the articles of the time window that share the rarest of them:

- Keys: light-stemmed content words of the match form (title words and the lead weigh more,
  function words and month names dropped), counts (not dates), and the enrich stage's places,
  organisations and people (a one-word name is keyed once, as the name). At most ``MAX_KEYS`` per
  article, the rarest first by a background corpus (``story_background.txt``, :mod:`pipeline.stages.story_keys`), stored as 32-bit
  hashes with a weight and flags (count, name, in the headline): ~330 bytes on the changelog.
- Retrieval: an inverted index key → the newest ``common_df`` article serials holding it. Keys
  held by more live articles than that are too common to tell events apart and are skipped, so a
  lookup reads at most ``query_keys × common_df`` postings whatever the number of live articles;
  then only the ``max_candidates`` best are scored.
- Score: cosine of TF-IDF vectors (document frequencies over the live articles), times a time
  factor (publication times more than ``window`` apart never join; the score decays within it),
  times a headline factor (two outlets' headlines of one event share at least two keys; one or
  none lowers the score: the same actors in another event), lowered when both state counts and
  share none, zero for the same wording with other figures on another day (a ministry's daily
  statement), and lowered when only names are shared (the same town hit again). A story is scored
  by its best member (half anchored on its first article, so chains cannot drift) and as a whole
  (its newest members' vectors summed: together they cover the event's words better than one
  outlet). The article joins the best story at or above ``threshold`` (chosen on
  ``tests/quality/stories/tune``), else starts one. Ties go to the smaller story id: the same input
  order gives the same ids.
- The index is a cache: the state lives in the dedupe store entries (``"w"`` = encoded features,
  ``"s"`` = story), so a restart rebuilds it from the changelog and answers as before.
"""

from __future__ import annotations

import math

import numpy as np

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
    "ENTITY_FLAG",
    "ENTITY_PREFIX",
    "MAX_KEYS",
    "MAX_WEIGHT",
    "NUMBER_FLAG",
    "TITLE_FLAG",
    "EventIndex",
    "article_features",
    "background",
    "decode_features",
    "encode_features",
    "encoded_article_features",
    "event_features",
    "grown",
    "key_hash",
    "stem",
]


def _hashes(keys: bytes) -> np.ndarray:
    return np.frombuffer(keys, dtype="<u4")


def grown(a: np.ndarray, cap: int, touch: bool) -> np.ndarray:
    """``a`` with room for ``cap`` rows, the new ones unset. ``touch`` writes every page now (the
    worker claims its live window's memory at start); else they stay calloc'd, unresident until used."""
    b = (np.ones if touch else np.zeros)((cap,) + a.shape[1:], dtype=a.dtype)
    b[:len(a)] = a
    return b


_LOG_W = np.array([0.0] + [1.0 + math.log(w) for w in range(1, MAX_WEIGHT + 1)], dtype=np.float32)


class EventIndex:
    """The live articles' event keys: candidate retrieval and scoring (see the module doc).

    Pure memory: the caller (:class:`pipeline.stages.dedupe.DedupeIndex`) stores the features in its
    entries and adds/drops articles here as they enter/leave its live window, oldest first.

    Layout (numpy, so scoring 64 candidates is a few array operations): each live key hash gets a
    small integer id (reused once no live article holds it) with its document frequency in
    ``_df``; each live article a row (slot) of ``_ids`` (key ids, -1 padded), ``_lw`` (1 + ln
    weight), ``_num`` (the key is a count) and ``_t``. Postings: key id → the newest
    ``common_df + 1`` article serials (ascending)."""

    def __init__(self, *, threshold: float = 0.06, window_s: float = 48 * 3600.0, common_df: int = 200,
                 query_keys: int = 16, max_candidates: int = 48, number_penalty: float = 0.75,
                 full_until_s: float = 12 * 3600.0, decay_at_window: float = 0.75, seed_weight: float = 0.5,
                 formula_score: float = 0.3, use_background: bool = False, min_content: float = 0.5,
                 title_factors: tuple[float, ...] = (0.3, 0.6), centroid_members: int = 16,
                 use_centroid: bool = True) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.common_df = common_df
        self.query_keys = query_keys
        self.max_candidates = max_candidates
        self.number_penalty = number_penalty
        self.formula_score = formula_score
        self.min_content = min_content
        self.title_factors = tuple(title_factors)
        self.centroid_members = centroid_members
        self.use_centroid = use_centroid
        self.full_until_s = full_until_s
        self.decay_at_window = decay_at_window
        self.seed_weight = seed_weight
        # keys
        self._kid: dict[int, int] = {}  # key hash -> key id
        self._hash_of: list[int] = []  # key id -> key hash
        self._free_kid: list[int] = []
        self._df = np.zeros(1024, dtype=np.int32)  # live articles holding the key
        self._bg_n, self._bg = background() if use_background else (0, {})
        self._bdf = np.zeros(1024, dtype=np.int32)  # the key's background document frequency
        self._post: dict[int, list[int]] = {}  # key id -> serials
        # articles
        cap = 64
        self._ids = np.full((cap, MAX_KEYS), -1, dtype=np.int32)
        self._lw = np.zeros((cap, MAX_KEYS), dtype=np.float32)
        self._num = np.zeros((cap, MAX_KEYS), dtype=bool)
        self._ent = np.zeros((cap, MAX_KEYS), dtype=bool)
        self._tit = np.zeros((cap, MAX_KEYS), dtype=bool)
        self._t = np.zeros(cap, dtype=np.float64)
        self._free_slot: list[int] = []
        self._used = 0
        self._slot_of: dict[str, int] = {}  # article id -> slot
        self._aid: list[str | None] = [None] * cap
        self._story: list[str | None] = [None] * cap
        self._serial_slot: dict[int, int] = {}  # serial -> slot
        self._members: dict[str, list[int]] = {}  # story -> slots of its newest live members
        self._serial_of = np.zeros(cap, dtype=np.int64)
        self._serial = 0
        self.last_candidates = 0  # how many articles the last lookup scored (tests, benchmark)

    def __len__(self) -> int:
        return len(self._slot_of)

    # -- membership ------------------------------------------------------------------------
    def _grow(self) -> None:
        self.reserve(2 * len(self._t), touch=False)

    def reserve(self, cap: int, touch: bool = True) -> None:
        """Room for ``cap`` article rows (a row is written in full by :meth:`add` before it is read).
        ``touch``: see :func:`grown`."""
        if cap <= len(self._t):
            return
        self._ids, self._lw, self._num, self._ent, self._tit, self._t, self._serial_of = (
            grown(a, cap, touch) for a in (self._ids, self._lw, self._num, self._ent, self._tit, self._t,
                                           self._serial_of))
        self._aid += [None] * (cap - len(self._aid))
        self._story += [None] * (cap - len(self._story))

    def _key_id(self, h: int) -> int:
        kid = self._kid.get(h)
        if kid is None:
            if self._free_kid:
                kid = self._free_kid.pop()
            else:
                kid = len(self._hash_of)
                self._hash_of.append(h)
                if kid >= len(self._df):
                    self._df = np.concatenate([self._df, np.zeros_like(self._df)])
                    self._bdf = np.concatenate([self._bdf, np.zeros_like(self._bdf)])
            self._hash_of[kid] = h
            self._bdf[kid] = self._bg.get(h, 0)
            self._kid[h] = kid
        return kid

    def add(self, aid: str, story: str, t: float, features: str | tuple[bytes, bytes]) -> None:
        keys, ws = decode_features(features) if isinstance(features, str) else features
        if aid in self._slot_of or not ws:
            return
        if self._free_slot:
            slot = self._free_slot.pop()
        else:
            slot = self._used
            self._used += 1
            if slot >= len(self._t):
                self._grow()
        self._serial += 1
        s = self._serial
        pairs = dict(zip(_hashes(keys).tolist(), ws))  # (a hash collision inside one article: once)
        hashes = list(pairs)[:MAX_KEYS]
        w = np.array([pairs[h] for h in hashes], dtype=np.uint8)
        cap = self.common_df + 1
        kids = []
        for h in hashes:
            kid = self._key_id(h)
            kids.append(kid)
            self._df[kid] += 1
            post = self._post.get(kid)
            if post is None:
                self._post[kid] = [s]
            else:
                post.append(s)
                if len(post) > cap:
                    del post[0]
        k = len(kids)
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
        self._t[slot] = t
        self._serial_of[slot] = s
        self._aid[slot], self._story[slot] = aid, story
        members = self._members.setdefault(story, [])
        members.append(slot)
        if len(members) > self.centroid_members:
            del members[0]
        self._slot_of[aid] = slot
        self._serial_slot[s] = slot

    def drop(self, aid: str) -> None:
        slot = self._slot_of.pop(aid, None)
        if slot is None:
            return
        serial = int(self._serial_of[slot])
        del self._serial_slot[serial]
        for kid in self._ids[slot][self._ids[slot] >= 0].tolist():
            self._df[kid] -= 1
            if self._df[kid] <= 0:  # no live article holds the key: its id is free again
                self._df[kid] = 0
                self._post.pop(kid, None)
                del self._kid[self._hash_of[kid]]
                self._free_kid.append(kid)
            else:
                post = self._post.get(kid)
                if post and post[0] == serial:
                    del post[0]
        self._ids[slot] = -1
        members = self._members.get(self._story[slot])
        if members is not None:
            if slot in members:
                members.remove(slot)
            if not members:
                del self._members[self._story[slot]]
        self._aid[slot] = self._story[slot] = None
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

    def _query(self, features: str | tuple[bytes, bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(key ids or -1, TF-IDF weights, count mask, norm) of a query article."""
        keys, ws = decode_features(features) if isinstance(features, str) else features
        n = len(self._slot_of) + 1 + self._bg_n
        w = np.frombuffer(ws, dtype=np.uint8)
        hs = _hashes(keys).tolist()
        kids = np.array([self._kid.get(h, -1) for h in hs], dtype=np.int64)
        bdf = np.array([self._bg.get(h, 0) for h in hs], dtype=np.int64)
        df = np.where(kids >= 0, self._df[np.maximum(kids, 0)], 0) + bdf + 1  # + the query itself
        qw = _LOG_W[w & MAX_WEIGHT] * np.log1p(n / df)
        return (kids, qw.astype(np.float64), (w & NUMBER_FLAG) != 0, float(np.sqrt((qw * qw).sum())),
                (w & TITLE_FLAG) != 0)

    def candidates(self, features: str | tuple[bytes, bytes], t: float) -> tuple[tuple, np.ndarray]:
        """(the query, slots of the best-sharing live articles within the window: at most
        ``max_candidates``, found through at most ``query_keys`` keys of ``common_df`` postings)."""
        q = self._query(features)
        kids, qw = q[0], q[1]
        ok = (kids >= 0)
        ok[ok] = self._df[kids[ok]] <= self.common_df
        order = np.flatnonzero(ok)
        order = order[np.lexsort((kids[order], -qw[order]))][: self.query_keys]
        serials, weights = [], []
        for i in order.tolist():
            post = self._post.get(int(kids[i]), ())
            serials.extend(post)
            weights.extend([qw[i]] * len(post))
        if not serials:
            return q, np.zeros(0, dtype=np.int64)
        uniq, inv = np.unique(np.array(serials, dtype=np.int64), return_inverse=True)
        acc = np.bincount(inv, weights=np.array(weights))
        slots = np.array([self._serial_slot.get(int(x), -1) for x in uniq], dtype=np.int64)
        live = slots >= 0
        slots, acc, uniq = slots[live], acc[live], uniq[live]
        near = np.abs(self._t[slots] - t) <= self.window_s
        slots, acc, uniq = slots[near], acc[near], uniq[near]
        best = np.lexsort((uniq, -acc))[: self.max_candidates]  # most shared weight, then oldest
        return q, slots[best]

    def _tfidf(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(key ids, which are real keys, TF-IDF weights) of the articles in ``slots``, one row each."""
        n = len(self._slot_of) + 1 + self._bg_n
        ids = self._ids[slots]
        valid = ids >= 0
        safe = np.maximum(ids, 0)
        df = np.where(valid, self._df[safe] + self._bdf[safe], 1)
        return ids, valid, np.where(valid, self._lw[slots] * np.log1p(n / np.maximum(df, 1)), 0.0)

    def scores(self, q: tuple, slots: np.ndarray, t: float) -> np.ndarray:
        """Cosine of the TF-IDF vectors × time factor × the count penalty, for each slot."""
        if len(slots) == 0:
            return np.zeros(0)
        kids, qw, qnum, qn, qtit = q
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
            sc = np.where((norms > 0) & (qn > 0), dot / (norms * qn), 0.0)
            # shared names alone (the same town, the same minister) are not the same event: the share of
            # the evidence carried by words and counts must reach ``min_content``
            content = np.where(dot > 0, np.where(self._ent[slots], 0.0, prod).sum(axis=1) / dot, 0.0)
        if self.min_content:
            sc = sc * np.minimum(1.0, content / self.min_content)
        if self.title_factors:
            # two outlets' headlines of one event share its core (who, what, where): count shared title keys
            qt = set(kids[known & qtit].tolist())
            tshared = np.fromiter((k in qt for k in flat), dtype=bool, count=len(flat)).reshape(ids.shape)
            n_t = (tshared & self._tit[slots] & valid).sum(axis=1)
            f = np.array(self.title_factors + (1.0,))
            sc = sc * f[np.minimum(n_t, len(self.title_factors))]
        sc *= np.array([self.time_factor(x) for x in (self._t[slots] - t).tolist()])
        if qnum.any():  # the query states counts (known to the index or not)
            cnum = self._num[slots] & valid
            has = cnum.any(axis=1)
            shared = np.fromiter((k in qnmap for k in flat), dtype=bool, count=len(flat)).reshape(ids.shape) & cnum
            conflict = has & ~shared.any(axis=1)
            # another day, the same wording, other figures: a recurring statement (a ministry's daily
            # tally), not a follow-up (those reword the report; they are never this close)
            far = np.abs(self._t[slots] - t) > self.full_until_s
            formula = conflict & far & (sc >= self.formula_score)
            sc = np.where(formula, 0.0, np.where(conflict, sc * self.number_penalty, sc))
        return sc

    def best_story(self, features: str | tuple[bytes, bytes], t: float, cands: tuple | None = None
                   ) -> tuple[str, str, float] | None:
        """(story id, best member id, score) of the best story at or above the threshold, else None."""
        q, slots = cands if cands is not None else self.candidates(features, t)
        self.last_candidates = len(slots)
        if not len(slots):
            return None
        sc = self.scores(q, slots, t)
        by_story: dict[str, tuple[float, str]] = {}
        for slot, x in zip(slots.tolist(), sc.tolist()):
            story, aid = self._story[slot], self._aid[slot]
            old = by_story.get(story)
            if old is None or x > old[0] or (x == old[0] and aid < old[1]):
                by_story[story] = (x, aid)
        best: tuple[float, str, str] | None = None
        for story, (x, aid) in by_story.items():
            if x < self.threshold:
                continue
            if self.seed_weight:
                # anchored to the story's first article: a chain of follow-ups cannot drift to another event
                seed = self._slot_of.get(story)
                seed_x = x if seed is None or story == aid else float(self.scores(q, np.array([seed]), t)[0])
                x = (1 - self.seed_weight) * x + self.seed_weight * seed_x
                if x < self.threshold:
                    continue
            if best is None or x > best[0] or (x == best[0] and story < best[1]):
                best = (x, story, aid)
        if self.use_centroid:
            # a story of several articles is compared as a whole too: its members' words together
            # cover the event better than any one outlet's wording
            for story in sorted(by_story):
                members = self._members.get(story) or []
                if len(members) < 2:
                    continue
                x = self.centroid_score(q, members, t)
                if x >= self.threshold and (best is None or x > best[0] or (x == best[0] and story < best[1])):
                    best = (x, story, by_story[story][1])
        return (best[1], best[2], best[0]) if best else None

    def centroid_score(self, q: tuple, members: list[int], t: float) -> float:
        """Cosine of the query with the sum of the members' normalised TF-IDF vectors, with the same
        time, count, content and title factors as :meth:`scores` (taken against the story as a whole)."""
        kids, qw, qnum, qn, qtit = q
        slots = np.array(members, dtype=np.int64)
        ids, valid, cw = self._tfidf(slots)
        norms = np.sqrt((cw * cw).sum(axis=1, keepdims=True))
        cw = np.where(norms > 0, cw / np.maximum(norms, 1e-12), 0.0)
        cent: dict[int, float] = {}
        ent: set[int] = set()
        tit: set[int] = set()
        nums: set[int] = set()
        for row_ids, row_w, row_e, row_t, row_n in zip(ids.tolist(), cw.tolist(), self._ent[slots].tolist(),
                                                      self._tit[slots].tolist(), self._num[slots].tolist()):
            for k, w, e, ti, nu in zip(row_ids, row_w, row_e, row_t, row_n):
                if k < 0:
                    continue
                cent[k] = cent.get(k, 0.0) + w
                if e:
                    ent.add(k)
                if ti:
                    tit.add(k)
                if nu:
                    nums.add(k)
        cn = math.sqrt(sum(v * v for v in cent.values()))
        if not cn or not qn:
            return 0.0
        known = kids >= 0
        dot = dot_words = 0.0
        for k, w in zip(kids[known].tolist(), qw[known].tolist()):
            c = cent.get(k)
            if c:
                dot += w * c
                if k not in ent:
                    dot_words += w * c
        if dot <= 0:
            return 0.0
        sc = dot / (cn * qn) * self.time_factor(float(np.min(np.abs(self._t[slots] - t))))
        if self.min_content:
            sc *= min(1.0, dot_words / dot / self.min_content)
        if qnum.any() and nums and not (nums & set(kids[known & qnum].tolist())):
            sc *= self.number_penalty
        if self.title_factors:
            n_t = len(tit & set(kids[known & qtit].tolist()))
            sc *= (self.title_factors + (1.0,))[min(n_t, len(self.title_factors))]
        return sc

    def candidate_ids(self, cands: tuple) -> list[str]:
        return [self._aid[s] for s in cands[1].tolist()]
