"""Near-duplicate detection: MinHash sketches of word shingles of the match text.

Every copy of a story is kept and indexed; de-duplication only *links* them:
``duplicate_of`` is the id of the most similar earlier article (within the
time window), ``story_id`` is the id of the first article of the story.

Why these choices:

- Shingles of ``SHINGLE_WORDS`` consecutive match-form tokens (folded, no
  diacritics, censor breaks repaired), so spelling noise between outlets does
  not split a story. Measured on realistic pairs (tests/unit/pipeline/
  test_dedupe.py): a wire story republished with a new headline, a paragraph
  dropped or added and a few reworded sentences has J ≈ 0.5–0.6 with 4-word
  shingles; statements of the same centre or minister on other days, sharing
  the formula sentences and the outlet's background paragraphs, J ≈ 0.1–0.25.
  Hence a Jaccard threshold of 0.4 (0.5 would miss copies that both drop and
  add a paragraph), plus a containment rule for shortened copies (the first
  paragraphs of the story only: J ≈ 0.2–0.4, but ≈ 100 % contained; the
  hard negatives are ≈ 45 % contained).
- Every live sketch is compared (one numpy scan of a signature matrix, see
  :class:`DedupeIndex` for why not banded LSH); a candidate is accepted only
  when both articles' *publication* times are within ``window`` of each
  other, so a recurring formula months apart never links unrelated days —
  and a backfill of old news groups like the live run did.
- The whole state lives in a ``MutableMapping[str, dict]`` of JSON-able
  entries (a faust Table in the stream — changelog-backed, so it survives
  restarts and follows its partition — or a dict in ``rasid process``). The
  signature matrix is a cache rebuilt from it, so a restarted worker answers
  exactly as before.
- Idempotent: an id already in the state gets its stored verdict back, so a
  replayed or redelivered article keeps its ``story_id``/``duplicate_of``.
- Bounded by *arrival* time: sketches that arrived more than ``window`` ago
  (or beyond ``max_entries``) stop being matchable; the small id → verdict
  entry stays for ``retention`` (far longer than the raw topic's retention,
  so every replay of it is idempotent).
"""

from __future__ import annotations

import base64
import importlib.util
import sys
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import MutableMapping

import numpy as np

from pipeline.core import arabic
from pipeline.core.settings import Settings
from pipeline.stages.packed import ArrivalLog, KeyTable, LiveQueue, Names, grown, id_hash
from pipeline.stages.stories import EventIndex, decode_features, encode_features

NUM_PERM = 128
SHINGLE_WORDS = 4
SCHEME = "affine32"  # datasketch >= 2: uint32 hash values, stable across versions of this scheme
DEFAULT_THRESHOLD = 0.4
DEFAULT_CONTAINMENT = 0.8
# A future publication date beyond this is a parsing accident; it must not
# push the window forward and evict everything.
MAX_FUTURE = timedelta(days=1)

_PERMUTATIONS = None
_MINHASH: type | None = None  # datasketch's MinHash class, once imported


def _minhash_class() -> type:
    """``datasketch.minhash.MinHash``, imported without the rest of datasketch.

    ``datasketch/__init__`` imports every sketch of the library, and its LSH
    modules import scipy: ~38 MB and ~1 s in every pool process, for a class
    that needs only numpy. The package is registered bare (its ``__init__``
    not run) while ``datasketch.minhash`` loads, then unregistered, so a later
    ``import datasketch`` anywhere runs the real ``__init__`` and reuses the
    already loaded ``datasketch.minhash`` (the same class).
    """
    if "datasketch" in sys.modules or "datasketch.minhash" in sys.modules:
        from datasketch.minhash import MinHash

        return MinHash
    spec = importlib.util.find_spec("datasketch")
    if spec is None:
        raise ImportError("datasketch is not installed")
    sys.modules["datasketch"] = importlib.util.module_from_spec(spec)
    try:
        from datasketch.minhash import MinHash
    finally:
        del sys.modules["datasketch"]
    return MinHash


def _new_minhash():
    """A fresh datasketch MinHash (imported on first use: a one-file ``rasid process``
    that de-duplicates nothing never pays for it)."""
    global _PERMUTATIONS, _MINHASH
    if _MINHASH is None:
        _MINHASH = _minhash_class()
    MinHash = _MINHASH
    if _PERMUTATIONS is None:
        _PERMUTATIONS = MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations
    # CRC-32 as the shingle hash: stable across processes and versions, 4× cheaper
    # than the default SHA-1; collisions among a page's shingles are harmless here.
    return MinHash(num_perm=NUM_PERM, permutations=_PERMUTATIONS, scheme=SCHEME, hashfunc=zlib.crc32)


def shingles(text: str, k: int = SHINGLE_WORDS, *, normalized: bool = False) -> set[bytes]:
    """Word k-shingles of the match form of ``text``.

    ``normalized=True`` says ``text`` already is a match form (``Cleaned.match_text``):
    splitting it is 40× cheaper than normalising again, with the same tokens.
    """
    toks = text.split() if normalized else arabic.tokens(text)
    if not toks:
        return set()
    if len(toks) < k:
        return {" ".join(toks).encode("utf-8")}
    return {" ".join(toks[i:i + k]).encode("utf-8") for i in range(len(toks) - k + 1)}


@dataclass(frozen=True)
class Sketch:
    """A text's MinHash signature (uint32[NUM_PERM]) and its number of distinct shingles."""

    sig: np.ndarray
    size: int

    def encode(self) -> str:
        """Compact text form ``"<size>:<base64 of little-endian uint32>"`` (~690 chars)."""
        return f"{self.size}:" + base64.b64encode(np.asarray(self.sig, dtype="<u4").tobytes()).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> "Sketch":
        size, _, b64 = text.partition(":")
        arr = np.frombuffer(base64.b64decode(b64), dtype="<u4")
        if arr.size != NUM_PERM or not size.isdigit():
            raise ValueError(f"bad sketch ({arr.size} values, size {size!r})")
        return cls(arr.astype(np.uint32), int(size))


def sketch(text: str, k: int = SHINGLE_WORDS, *, normalized: bool = False) -> Sketch | None:
    """The sketch of a text, None when it has no words (such an article starts its own story)."""
    sh = shingles(text, k, normalized=normalized)
    if not sh:
        return None
    m = _new_minhash()
    m.update_batch(sh)
    return Sketch(m.hashvalues.astype(np.uint32, copy=False), len(sh))


def jaccard(a: Sketch, b: Sketch) -> float:
    """Jaccard estimate of two sketches."""
    return float(np.count_nonzero(a.sig == b.sig)) / NUM_PERM


def containment(a: Sketch, b: Sketch, j: float | None = None) -> float:
    """Share of the smaller text's shingles found in the other (from Jaccard and the set sizes)."""
    j = jaccard(a, b) if j is None else j
    inter = j / (1.0 + j) * (a.size + b.size)
    return min(1.0, inter / max(1, min(a.size, b.size)))


def _epoch(when: datetime | None, now: datetime) -> float:
    if when is None:
        when = now
    elif when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return min(when, now + MAX_FUTURE).timestamp()


@dataclass(frozen=True)
class Verdict:
    story_id: str
    duplicate_of: str | None
    similarity: float | None = None  # Jaccard estimate with duplicate_of
    replay: bool = False  # the id was already known: its stored verdict is returned
    event_score: float | None = None  # joined an event's story (not a near-copy): the score
    event_of: str | None = None  # ... through this member
    follows: str | None = None  # starts a story: the earlier story it follows on from (see EventIndex.best_story)

    def stamp(self, art: dict) -> None:
        """Write the verdict on an article record (the stream's and ``rasid process``'s alike)."""
        art["story_id"], art["duplicate_of"], art["story_follows"] = self.story_id, self.duplicate_of, self.follows


class DedupeIndex:
    """Assigns story ids over a stream of (id, sketch, time); the state lives in ``store``.

    ``store`` maps article id → ``{"s": story_id, "d": duplicate_of, ("c": the story it follows,) "t": epoch
    seconds of the article (publication), "a": epoch seconds of its arrival
    here, "h": encoded sketch or None once out of the window}``. Entries are replaced, never mutated in place (a faust Table only
    logs assignments to its changelog).

    A candidate is a near-duplicate when, within ``window`` of each other,
    Jaccard ≥ ``threshold`` (small edits), or the smaller text (≥
    ``MIN_CONTAINED`` shingles) lies ≥ ``containment`` inside the other (a
    shortened copy of the wire story).

    Matching scans a signature matrix with numpy instead of banding with
    datasketch's MinHashLSH: the LSH needs ~9–13 KB per entry at the low band
    threshold shortened copies require (a set per band and entry), the matrix
    512 bytes, it has no banding misses, and a scan of 50 000 live sketches
    takes ~5 ms — far below the cost of extracting one page.
    """

    MIN_CONTAINED = 30

    def __init__(
        self,
        store: MutableMapping[str, dict] | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        containment: float = DEFAULT_CONTAINMENT,
        window: timedelta = timedelta(days=7),
        max_entries: int = 50_000,
        retention: timedelta = timedelta(days=90),
        events: EventIndex | None = None,
        preallocate: bool = False,
    ) -> None:
        self.store: MutableMapping[str, dict] = {} if store is None else store
        # event-level stories (pipeline/stages/stories.py): live with the sketches, fed from "w"
        self.events = EventIndex() if events is None else events
        self.threshold = threshold
        self.containment = containment
        self.window_s = window.total_seconds()
        self.retention_s = max(retention, window).total_seconds()
        self.max_entries = max_entries
        # live sketches: one matrix row per slot; freed slots are reused. At most max_entries + 1 are
        # live at once (an article is added, then the oldest evicted), so the arrays never outgrow that.
        # ``preallocate`` (the worker) sizes them for it at once and writes every page: the window's
        # memory is claimed at start, like a JVM with -Xms = -Xmx, so a worker does not grow for days
        # while its window fills (a leak shows from the first hour) and no doubling copies ~70 MB later.
        self._mat = np.zeros((0, NUM_PERM), dtype=np.uint32)
        self._t = np.zeros(0, dtype=np.float64)  # NaN = free slot
        self._n = np.zeros(0, dtype=np.int64)  # shingle counts
        self._ids = Names()  # slot -> article id
        self._used = 0  # slots ever used
        self._slot = KeyTable()  # article id hash -> slot
        self._free: list[int] = []
        self._queue = LiveQueue()  # live slots by (arrival, id hash): the eviction order
        if preallocate:
            self._reserve(self.max_entries + 1, touch=True)
            self.events.reserve(self.max_entries + 1)
        self._ids_log = ArrivalLog()  # every stored id by arrival
        self._now = float("-inf")  # latest arrival seen
        self._rebuild()

    # -- state -------------------------------------------------------------
    def _rebuild(self) -> None:
        """Recreate the matching cache from the stored entries (start, restart, rebalance).

        The store holds every id of the retention (months: millions of entries), so it is read once
        as a stream and only (arrival, id) kept, packed in the arrival log; the live entries (at
        most the window) are then read again one at a time, in arrival order (then id), as they were
        assigned, so the event index's postings and document frequencies are those of the
        uninterrupted run. Decoding every entry at once made a restart's peak, and the heap it
        leaves fragmented, grow with the retention."""
        live: list[tuple[float, str]] = []

        def arrivals():
            for key, entry in self.store.items():
                try:
                    a = float(entry.get("a", entry["t"]))
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue  # an unreadable entry only costs one missed link
                self._now = max(self._now, a)
                if entry.get("h"):
                    live.append((a, key))
                yield a, key

        self._ids_log.load(arrivals())
        live.sort()
        for a, key in live:
            entry = self.store.get(key) or {}
            try:
                t = float(entry["t"])
                sk = Sketch.decode(entry["h"])
                feats = decode_features(entry["w"]) if entry.get("w") else None
            except (KeyError, TypeError, ValueError):
                continue
            self._add_live(key, sk, t, a)
            if feats is not None:
                self.events.add(key, entry.get("s") or key, t, feats)
        del live
        self._evict()

    def _add_live(self, key: str, sk: Sketch, t: float, a: float) -> None:
        if self._free:
            slot = self._free.pop()
        else:
            slot = self._used
            self._used += 1
            if slot >= len(self._t):
                self._reserve(max(slot + 1, min(max(64, 2 * len(self._t)), self.max_entries + 1)))
        h = id_hash(key)
        self._mat[slot] = sk.sig
        self._t[slot] = t
        self._n[slot] = sk.size
        self._ids[slot] = key
        self._slot.put(h, slot)
        self._queue.push(a, h, slot)

    def _reserve(self, cap: int, touch: bool = False) -> None:
        """Room for ``cap`` slots (rows past the used ones are never read before they are written)."""
        if cap > len(self._t):
            self._mat, self._t, self._n = (grown(a, cap, touch) for a in (self._mat, self._t, self._n))
            self._ids.reserve(cap, touch)
            self._queue.reserve(cap, touch)
            if touch:
                self._slot.reserve(cap)

    def _drop_live(self, slot: int) -> str:
        key = self._ids[slot]
        self.events.drop(key)
        self._slot.pop(id_hash(key))
        self._t[slot] = np.nan
        self._ids.clear(slot)
        self._free.append(slot)
        return key

    def __len__(self) -> int:
        return len(self.store)

    @property
    def live(self) -> int:
        """Sketches currently matchable."""
        return len(self._slot)

    @property
    def ids_retained(self) -> int:
        """Stored ids waiting in the arrival log for the retention sweep."""
        return len(self._ids_log)

    # -- the one operation ---------------------------------------------------
    def _best_match(self, sk: Sketch, t: float, rows: list[str] | None = None) -> tuple[str, float] | None:
        """The closest near-copy among every live sketch, or only among ``rows`` (article ids: the
        event index's candidates, which bounds the cost whatever the number of live sketches)."""
        used = self._used
        if not len(self._slot) or not used:
            return None
        if rows is None:
            idx = slice(0, used)
            slot_at = np.arange(used)
        else:
            slots = [x for x in (self._slot.get(id_hash(r)) for r in rows) if x >= 0]
            if not slots:
                return None
            idx = slot_at = np.array(slots, dtype=np.int64)
        j = np.count_nonzero(self._mat[idx] == sk.sig, axis=1) / NUM_PERM
        times = self._t[idx]
        with np.errstate(invalid="ignore"):
            near = np.abs(times - t) <= self.window_s  # NaN (free) → False
        sizes = self._n[idx]
        smaller = np.minimum(sizes, sk.size)
        inter = j / (1.0 + j) * (sizes + sk.size)
        contained = (smaller >= self.MIN_CONTAINED) & (inter >= self.containment * np.maximum(smaller, 1))
        ok = near & ((j >= self.threshold) | contained)
        if not ok.any():
            return None
        cand = np.flatnonzero(ok)
        # most similar first, then the earliest
        best = cand[np.lexsort((times[cand], -j[cand]))[0]]
        return self._ids[int(slot_at[best])], float(j[best])

    def assign(
        self,
        article_id: str,
        sk: Sketch | str | None,
        when: datetime | None = None,
        *,
        now: datetime | None = None,
        features: str | dict | None = None,
    ) -> Verdict:
        """Link ``article_id`` to the story of its most similar earlier article, or start one.

        ``when`` is the article's time (publication, else fetch); ``now`` its
        arrival here (default: the clock). With ``features``
        (:func:`pipeline.stages.stories.event_features`, or encoded) the story is the *event's*:
        a near-copy among the event candidates keeps ``duplicate_of`` as before, else the best
        event story above the threshold; without them only near-copies join (the old behaviour).
        """
        known = self.store.get(article_id)
        if known is not None:
            return Verdict(known.get("s") or article_id, known.get("d"), None, replay=True, follows=known.get("c"))
        now = now or datetime.now(timezone.utc)
        t = _epoch(when, now)
        a = now.timestamp()
        if isinstance(sk, str):
            sk = Sketch.decode(sk)

        if isinstance(features, dict):
            features = encode_features(features) if features else None
        decoded = decode_features(features) if features and sk is not None else None
        event = None
        if decoded is not None:
            cands = self.events.candidates(decoded, t)
            match = self._best_match(sk, t, rows=self.events.candidate_ids(cands))
            if match is None:
                event = self.events.best_story(decoded, t, cands)
        else:
            match = self._best_match(sk, t) if sk is not None else None
        if match is not None:
            dup, j = match
            story = (self.store.get(dup) or {}).get("s") or dup
            verdict = Verdict(story, dup, j)
        elif event is not None:
            verdict = Verdict(event[0], None, None, event_score=event[2], event_of=event[1])
        else:
            follows = self.events.last_follows if decoded is not None else None
            verdict = Verdict(article_id, None, None, follows=follows)

        self.store[article_id] = {
            "s": verdict.story_id,
            "d": verdict.duplicate_of,
            "t": t,
            "a": a,
            "h": sk.encode() if sk is not None else None,
            "w": features if decoded is not None else None,
            **({"c": verdict.follows} if verdict.follows else {}),
        }
        self._ids_log.push(a, article_id)
        if sk is not None:
            self._add_live(article_id, sk, t, a)
            if decoded is not None:
                self.events.add(article_id, verdict.story_id, t, decoded)
        self._now = max(self._now, a)
        self._evict()
        return verdict

    def _evict(self) -> None:
        live_floor = self._now - self.window_s
        while len(self._queue) and (self._queue.oldest() < live_floor or len(self._slot) > self.max_entries):
            key = self._drop_live(self._queue.pop())
            entry = self.store.get(key)
            if entry is not None and entry.get("h"):
                self.store[key] = {**entry, "h": None, "w": None}
        ids_floor = self._now - self.retention_s
        for a, key in self._ids_log.pop_older(ids_floor):
            entry = self.store.get(key)
            # not if the id was stored again since (a later arrival; it has its own place in the log)
            if entry is not None and id_hash(key) not in self._slot and float(entry.get("a", entry.get("t", a))) <= a:
                del self.store[key]


def index_from_settings(store: MutableMapping[str, dict] | None = None, *, settings: Settings,
                        preallocate: bool = False) -> DedupeIndex:
    """A DedupeIndex configured from Settings: the same parameters in the stream and offline (the
    worker preallocates its live window; a command over a few files does not)."""
    return DedupeIndex(
        store,
        threshold=settings.dedupe_threshold,
        containment=settings.dedupe_containment,
        window=timedelta(days=settings.dedupe_window_days),
        max_entries=settings.dedupe_max_entries,
        retention=timedelta(days=settings.dedupe_retention_days),
        events=EventIndex(threshold=settings.story_threshold, window_s=settings.story_window_hours * 3600.0,
                          common_df=settings.story_common_df),
        preallocate=preallocate,
    )
