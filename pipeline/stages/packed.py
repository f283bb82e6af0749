"""Fixed-size numpy structures for the live window (dedupe sketches, event keys, stories).

Why: the worker keeps up to ``dedupe_max_entries`` live articles. Kept in dicts and lists, each
article cost ~1.3 KB of Python objects (its id string, dict entries, postings lists, ints, heap
tuples) and each dict doubled in one step (+5, +10, +21 MB) while the window filled: a worker's RSS
climbed for the days the window takes to fill, and grew in steps after it, so a leak could not be
told from the window arriving. Here the same maps live in numpy arrays sized for the window at
start (:meth:`KeyTable.reserve`, :func:`grown` with ``touch``): filling the window allocates nothing.
"""

from __future__ import annotations

import hashlib
import heapq
from array import array
from collections import deque
from typing import Iterable

import numpy as np

_FIB = 0x9E3779B97F4A7C15  # 2**64 / golden ratio: spreads any key over the table's high bits
_M64 = (1 << 64) - 1


def grown(a: np.ndarray, cap: int, touch: bool) -> np.ndarray:
    """``a`` with room for ``cap`` rows, the new ones zero. ``touch`` writes every page now (the
    worker claims its live window's memory at start); else they stay calloc'd, unresident until used."""
    b = np.zeros((cap,) + a.shape[1:], dtype=a.dtype)
    if touch and b.size:
        b.reshape(-1).view(np.uint8).fill(0)  # a write, not calloc's promise: the pages are resident now
    b[:len(a)] = a
    return b


def id_hash(s: str) -> int:
    """64 bits of an id (blake2b: ids made by tests and tools are not random). Two live ids sharing
    them (p ≈ n²/2⁶⁵, 10⁻¹⁰ at 50,000 live) would share a slot."""
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")


class KeyTable:
    """uint64 key → int ≥ 0 in two numpy arrays: open addressing, linear probing, deletion by
    backward shift (no tombstones, so months of churn never slow it or make it grow). Load ≤ 1/2;
    past that it doubles (a rehash: :meth:`reserve` for the expected size avoids it)."""

    def __init__(self, cap: int = 32) -> None:
        self._n = 0
        self._alloc(cap, touch=False)

    def _alloc(self, cap: int, touch: bool) -> None:
        size = 1 << max(4, (2 * max(cap, 1) - 1).bit_length())
        self._shift = 64 - (size.bit_length() - 1)
        self._mask = size - 1
        self._keys = grown(np.zeros(0, dtype=np.uint64), size, touch)
        self._vals = grown(np.zeros(0, dtype=np.int32), size, touch)  # value + 1; 0 = empty

    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        """Entries it holds without growing."""
        return len(self._vals) // 2

    def reserve(self, cap: int, touch: bool = True) -> None:
        if cap > self.capacity:
            self._rehash(cap, touch)

    def _rehash(self, cap: int, touch: bool) -> None:
        live = np.flatnonzero(self._vals)
        keys, vals = self._keys[live].tolist(), (self._vals[live] - 1).tolist()
        self._alloc(cap, touch)
        self._n = 0
        for k, v in zip(keys, vals):
            self.put(k, v)

    def _home(self, k: int) -> int:
        return ((k * _FIB) & _M64) >> self._shift

    def _find(self, k: int) -> int:
        """The position holding ``k``, else -(the first empty position on its probe path) - 1."""
        keys, vals, mask = self._keys, self._vals, self._mask
        i = self._home(k)
        while True:
            if not vals[i]:
                return -i - 1
            if int(keys[i]) == k:
                return i
            i = (i + 1) & mask

    def get(self, k: int, default: int = -1) -> int:
        i = self._find(k)
        return int(self._vals[i]) - 1 if i >= 0 else default

    def __contains__(self, k: int) -> bool:
        return self._find(k) >= 0

    def put(self, k: int, v: int) -> None:
        i = self._find(k)
        if i < 0:
            if self._n >= self.capacity:
                self._rehash(2 * self.capacity, touch=False)
                i = self._find(k)
            self._n += 1
            i = -i - 1
            self._keys[i] = k
        self._vals[i] = v + 1

    def pop(self, k: int, default: int = -1) -> int:
        i = self._find(k)
        if i < 0:
            return default
        keys, vals, mask = self._keys, self._vals, self._mask
        v = int(vals[i]) - 1
        vals[i] = 0
        self._n -= 1
        j = i
        while True:  # pull back the entries whose probe path crossed the hole
            j = (j + 1) & mask
            if not vals[j]:
                return v
            if ((j - self._home(int(keys[j]))) & mask) >= ((j - i) & mask):
                keys[i], vals[i] = keys[j], vals[j]
                vals[j] = 0
                i = j


class Names:
    """slot → id string, packed: ids of up to 32 ASCII characters (every article and story id) in
    an ``S32`` array (32 bytes, no string object per article); any other in a small dict."""

    WIDTH = 32

    def __init__(self, cap: int = 0) -> None:
        self._a = np.zeros(cap, dtype=f"S{self.WIDTH}")
        self._odd: dict[int, str] = {}

    def reserve(self, cap: int, touch: bool = False) -> None:
        if cap > len(self._a):
            self._a = grown(self._a, cap, touch)

    def __len__(self) -> int:
        return len(self._a)

    def __getitem__(self, slot: int) -> str:
        odd = self._odd.get(slot) if self._odd else None
        return odd if odd is not None else self._a[slot].decode("ascii")

    def __setitem__(self, slot: int, name: str) -> None:
        if self._odd:
            self._odd.pop(slot, None)
        if len(name) <= self.WIDTH and name.isascii() and not name.endswith("\0"):
            self._a[slot] = name.encode("ascii")
        else:
            self._odd[slot] = name
            self._a[slot] = b""

    def clear(self, slot: int) -> None:
        if self._odd:
            self._odd.pop(slot, None)
        self._a[slot] = b""


class LiveQueue:
    """Live slots ordered by (arrival, id hash), oldest first: the window's eviction order, the same
    whatever order they were pushed in (a restart pushes them sorted, the stream as they come).
    Three numpy arrays used from ``_lo`` to ``_hi``; a push normally lands at the end (arrivals come
    in order), else it is shifted into place."""

    def __init__(self) -> None:
        self._a = np.zeros(64, dtype=np.float64)
        self._h = np.zeros(64, dtype=np.uint64)
        self._s = np.zeros(64, dtype=np.int32)
        self._lo = self._hi = 0

    def __len__(self) -> int:
        return self._hi - self._lo

    def reserve(self, cap: int, touch: bool = False) -> None:
        """Room for ``cap`` live slots, compacted at most every ``cap`` pushes."""
        if 2 * cap > len(self._a):
            self._a, self._h, self._s = (grown(x, 2 * cap, touch) for x in (self._a, self._h, self._s))

    def push(self, a: float, h: int, slot: int) -> None:
        if self._hi == len(self._a):
            n = len(self)
            if 2 * n > len(self._a):
                self.reserve(max(n, 32) * 2)
            for x in (self._a, self._h, self._s):  # compact: the live part to the front
                x[:n] = x[self._lo:self._hi]
            self._lo, self._hi = 0, n
        lo, hi = self._lo, self._hi
        pos = hi
        if hi > lo and (a < self._a[hi - 1] or (a == self._a[hi - 1] and h < int(self._h[hi - 1]))):
            left = lo + int(np.searchsorted(self._a[lo:hi], a, side="left"))
            right = lo + int(np.searchsorted(self._a[lo:hi], a, side="right"))
            pos = left + int(np.searchsorted(self._h[left:right], np.uint64(h), side="right"))
            for x in (self._a, self._h, self._s):
                x[pos + 1:hi + 1] = x[pos:hi]
        self._a[pos], self._h[pos], self._s[pos] = a, h, slot
        self._hi += 1

    def oldest(self) -> float:
        return float(self._a[self._lo])

    def pop(self) -> int:
        """The oldest slot, removed."""
        slot = int(self._s[self._lo])
        self._lo += 1
        return slot


class ArrivalLog:
    """Keys by time, oldest first, for a retention sweep: the dedupe table's article ids by arrival,
    the story monitor's story ids by creation (then by last change, :meth:`requeue`).

    It spans ``retention`` (90 days): as ``(time, str)`` tuples in a heap that is ~170 bytes an id,
    hundreds of MB after months. Here ids of up to 32 ASCII characters (every article id: 32 hex
    digits) sit in chunks of a float64 and an ``S32`` array, 40 bytes an id; any other key in a
    small heap. Pushed times are kept non-decreasing (a clock stepping back keeps an id a little
    longer); :meth:`requeue` keeps its exact time, in the heap."""

    CHUNK = 4096
    WIDTH = 32

    def __init__(self) -> None:
        self._t: deque[np.ndarray] = deque()
        self._k: deque[np.ndarray] = deque()
        self._head = 0  # first unread position in the oldest chunk
        self._fill = self.CHUNK  # used positions in the newest chunk (CHUNK: a new one is needed)
        self._last = float("-inf")
        self._odd: list[tuple[float, str]] = []
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def push(self, a: float, key: str) -> None:
        a = self._last = max(a, self._last)
        self._n += 1
        if len(key) > self.WIDTH or not key.isascii():
            heapq.heappush(self._odd, (a, key))
            return
        if self._fill == self.CHUNK:
            self._t.append(np.empty(self.CHUNK, dtype=np.float64))
            self._k.append(np.empty(self.CHUNK, dtype=f"S{self.WIDTH}"))
            self._fill = 0
        self._t[-1][self._fill] = a
        self._k[-1][self._fill] = key.encode("ascii")
        self._fill += 1

    def load(self, pairs: Iterable[tuple[float, str]]) -> None:
        """Add (time, id) pairs in any order, sorted by (time, id): a restart reads the store's
        millions of ids in key order. Packed while read (~40 bytes an id), never as tuples."""
        at = array("d")
        ks = bytearray()
        for a, key in pairs:
            if len(key) > self.WIDTH or not key.isascii():
                heapq.heappush(self._odd, (max(a, self._last), key))
                self._n += 1
                continue
            at.append(a)
            ks += key.encode("ascii").ljust(self.WIDTH, b"\0")
        if not at:
            return
        t = np.frombuffer(at, dtype=np.float64)
        k = np.frombuffer(ks, dtype=f"S{self.WIDTH}")
        order = np.lexsort((k, t))
        t, k = np.maximum.accumulate(np.maximum(t[order], self._last)), k[order]
        self._last = float(t[-1])
        self._n += len(t)
        if self._t and self._fill < self.CHUNK:  # top up the newest chunk first
            n = min(self.CHUNK - self._fill, len(t))
            self._t[-1][self._fill:self._fill + n] = t[:n]
            self._k[-1][self._fill:self._fill + n] = k[:n]
            self._fill += n
            t, k = t[n:], k[n:]
        for i in range(0, len(t), self.CHUNK):
            n = min(self.CHUNK, len(t) - i)
            self._t.append(np.empty(self.CHUNK, dtype=np.float64))
            self._k.append(np.empty(self.CHUNK, dtype=f"S{self.WIDTH}"))
            self._t[-1][:n], self._k[-1][:n] = t[i:i + n], k[i:i + n]
            self._fill = n

    def requeue(self, a: float, key: str) -> None:
        """``key`` back in at its exact time ``a``, which may be older than the last push: an entry
        found still in use when its time came (a story updated since it was logged). These wait in
        the small heap, so the log stays ordered without clamping them to the newest time."""
        self._n += 1
        heapq.heappush(self._odd, (a, key))

    def pop_older(self, floor: float) -> list[tuple[float, str]]:
        """Remove and return the (time, id) pairs older than ``floor``."""
        out = []
        while self._odd and self._odd[0][0] < floor:
            out.append(heapq.heappop(self._odd))
        while self._t:
            t, k = self._t[0], self._k[0]
            end = self._fill if len(self._t) == 1 else self.CHUNK
            i = self._head + int(np.searchsorted(t[self._head:end], floor, side="left"))
            out += zip(t[self._head:i].tolist(), (x.decode("ascii") for x in k[self._head:i].tolist()))
            if i < end:
                self._head = i
                break
            self._t.popleft()
            self._k.popleft()
            self._head = 0
            if not self._t:
                self._fill = self.CHUNK
        self._n -= len(out)
        return out
