"""Table state on local disk: a faust store that keeps each entry in SQLite, not in the heap.

Why: the dedupe table keeps an entry per article and the story table one per story for
``dedupe_retention_days`` (90 days, so that any replay stays idempotent). In faust's memory store
every entry is a Python dict (0.5–2 KB with its strings) for those 90 days, plus a key → partition
entry: a worker's memory grew with every article it had seen. Here the entries live in a
:class:`pipeline.core.diskmap.DiskMapping` under the app's table dir.

The file is a cache of the table's changelog, exactly as the memory store's dict is: it is emptied
when the store opens and filled by faust's recovery from the changelog, so a restart or a SIGKILL
behaves as before. Within one process the store knows the changelog offset its rows reflect (the
last record recovered or written, per partition: ``persisted_offset``, as faust's RocksDB store
does), so a rebalance that leaves a partition here reads only the records written since, not the
whole changelog again: with the memory store every rebalance (a broker restart, a worker joining)
re-read every entry of the retention, millions after months, through the heap. ``changes`` counts
the rows that came from elsewhere (recovery, partition cleanup): a cache built over the table (the
dedupe index) is still valid while it stays the same.

Selected with ``RASID_TABLE_STORE`` (``disk``, the default, or ``memory``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

from faust import stores
from faust.stores import memory

from pipeline.core.diskmap import DiskMapping

SCHEME = "rasid-disk"
# Changelog records faust's recovery holds, decoded, before it hands them to the store (its default
# is 1000). A story entry decodes into thousands of small objects (up to 500 members): a thousand of
# them at once was the largest part of a restarted worker's peak, and the heap it left fragmented
# stayed resident. A hundred costs a few more (unsynced) SQLite transactions.
RECOVERY_BUFFER = 100


class DiskStore(memory.Store):
    """faust's memory store with its dict replaced by a :class:`DiskMapping` under the app's table dir."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # (the app and table name are known only after it)
        self.data: DiskMapping = DiskMapping(Path(self.app.conf.tabledir) / f"{self.table_name}.sqlite")
        self._key_partition: dict = {}  # kept in the file's rows instead
        self._offsets: dict[Any, int] = {}  # changelog TP -> offset of the last record in the rows
        self.changes = 0

    def persisted_offset(self, tp: Any) -> int | None:
        return self._offsets.get(tp)

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        """faust calls this when a write of this worker reached the changelog."""
        self._offsets[tp] = max(offset, self._offsets.get(tp, -1))

    def apply_changelog_batch(self, batch: Iterable[Any], to_key: Callable[[Any], Any],
                              to_value: Callable[[Any], Any]) -> None:
        last: dict[Any, int] = {}

        def rows():
            for ev in batch:
                msg = ev.message
                last[msg.tp] = max(msg.offset, last.get(msg.tp, -1))
                self.changes += 1
                yield to_key(ev.key), msg.partition, None if msg.value is None else to_value(ev.value)

        self.data.apply(rows())
        for tp, offset in last.items():
            self.set_persisted_offset(tp, offset)

    async def on_recovery_completed(self, active_tps: set, standby_tps: set) -> None:
        keep = {tp.partition for tp in active_tps}
        self.changes += self.data.keep_partitions(keep)
        for tp in [tp for tp in self._offsets if tp.partition not in keep]:
            del self._offsets[tp]  # its rows are gone: a later assignment recovers it in full

    def _clear(self) -> None:
        self.data.clear()
        self._offsets.clear()
        self.changes += 1


def store_url(kind: str) -> str:
    """The faust store URL of ``RASID_TABLE_STORE`` (``disk`` or ``memory``)."""
    return f"{SCHEME}://local" if kind == "disk" else "memory://"  # (a URL with no host is falsy: faust would ignore it)


stores.STORES.aliases.setdefault(SCHEME, f"{__name__}:DiskStore")
