"""A string-keyed mapping of JSON values in a SQLite file: long-lived state kept off the heap.

Why: state that holds one entry per article for weeks (the dedupe and story tables, the connectors'
seen URLs) grows a process's memory by ~0.5–2 KB an article for as long as it is kept when each
entry is a Python object. In a SQLite file an entry is one orjson row: SQLite's own page cache is
bounded (``cache_kib``), the rest lives in the OS page cache, which the kernel can reclaim and
which is not the process's memory. Lookups cost a few microseconds.

Every user keeps the truth elsewhere (a Kafka changelog or compacted topic) and fills the file
again at start, so the file is a cache: it is emptied when opened, never synced and has no
journal. ``path=None`` makes a private temporary file that SQLite removes itself, even after a
SIGKILL. Values come back as JSON gives them (tuples as lists).
"""

from __future__ import annotations

import sqlite3
from collections.abc import ItemsView, Iterable, Iterator, MutableMapping, ValuesView
from pathlib import Path
from typing import Any

import orjson

PAGE = 1000  # rows read per query while iterating (entries may change between pages)
_OPTS = orjson.OPT_NON_STR_KEYS


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=_OPTS)


class DiskMapping(MutableMapping[str, Any]):
    """A ``MutableMapping[str, JSON value]`` in one SQLite file (``None``: a private temporary file).

    Each key also carries the partition it was recovered from (-1 when written live), so that
    entries of partitions this worker no longer owns can be dropped after a recovery."""

    def __init__(self, path: Path | None = None, *, cache_kib: int = 4096) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            for leftover in (path, path.with_name(path.name + "-journal")):
                leftover.unlink(missing_ok=True)  # a cache: the changelog fills it again
        self.path = path
        self._db = sqlite3.connect("" if path is None else str(path), isolation_level=None,
                                   check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                       f"cache_size=-{int(cache_kib)}", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, p INTEGER NOT NULL DEFAULT -1, v BLOB NOT NULL)"
                         " WITHOUT ROWID")

    # -- mapping --------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        row = self._db.execute("SELECT v FROM kv WHERE k = ?", (self._key(key),)).fetchone()
        if row is None:
            raise KeyError(key)
        return orjson.loads(row[0])

    def __setitem__(self, key: str, value: Any) -> None:
        self._db.execute("INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                         (self._key(key), _dumps(value)))

    def __delitem__(self, key: str) -> None:
        if self._db.execute("DELETE FROM kv WHERE k = ?", (self._key(key),)).rowcount == 0:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._db.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM kv").fetchone()[0]

    def __iter__(self) -> Iterator[str]:
        for k, _ in self._pages("k"):
            yield k

    def items(self) -> ItemsView[str, Any]:
        return _Items(self)

    def values(self) -> ValuesView[Any]:
        return _Values(self)

    def clear(self) -> None:
        self._db.execute("DELETE FROM kv")

    def __repr__(self) -> str:
        return f"<DiskMapping {self.path or 'temporary'}: {len(self)} entries>"

    # -- what faust's recovery needs ------------------------------------------------------
    def apply(self, rows: Iterable[tuple[str, int, Any]]) -> None:
        """Changelog records in order: (key, partition, value, or None for a deletion), in one transaction."""
        db = self._db
        db.execute("BEGIN")
        try:
            for key, partition, value in rows:
                if value is None:
                    db.execute("DELETE FROM kv WHERE k = ?", (self._key(key),))
                else:
                    db.execute("INSERT INTO kv (k, p, v) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE"
                               " SET p = excluded.p, v = excluded.v", (self._key(key), int(partition), _dumps(value)))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def keep_partitions(self, partitions: set[int]) -> int:
        """Drop the recovered entries of every other partition; how many went."""
        marks = ",".join("?" * len(partitions))
        sql = "DELETE FROM kv WHERE p >= 0" + (f" AND p NOT IN ({marks})" if partitions else "")
        return self._db.execute(sql, tuple(partitions)).rowcount

    def close(self) -> None:
        self._db.close()

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _key(key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError(f"table keys are strings here, not {type(key).__name__}")
        return key

    def _pages(self, columns: str) -> Iterator[tuple]:
        """Rows in key order, a page at a time (a write between pages does not break the iteration)."""
        rows = self._db.execute(f"SELECT k, {columns} FROM kv ORDER BY k LIMIT ?", (PAGE,)).fetchall()
        while rows:
            yield from rows
            if len(rows) < PAGE:
                return
            rows = self._db.execute(f"SELECT k, {columns} FROM kv WHERE k > ? ORDER BY k LIMIT ?",
                                    (rows[-1][0], PAGE)).fetchall()


class _Items(ItemsView):
    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for k, _, v in self._mapping._pages("k, v"):
            yield k, orjson.loads(v)


class _Values(ValuesView):
    def __iter__(self) -> Iterator[Any]:
        for _, v in self._mapping._pages("v"):
            yield orjson.loads(v)
