"""Table state on local disk: a faust store that keeps each entry in SQLite, not in the heap.

Why: the dedupe table keeps an entry per article and the story table one per story for
``dedupe_retention_days`` (90 days, so that any replay stays idempotent). In faust's memory store
every entry is a Python dict (0.5–2 KB with its strings) for those 90 days, plus a key → partition
entry: a worker's memory grew with every article it had seen. Here the entries live in a
:class:`pipeline.core.diskmap.DiskMapping` under the app's table dir.

The file is a cache of the table's changelog, exactly as the memory store's dict is: it is emptied
when the store opens and filled by faust's recovery from the changelog (``persisted_offset`` is
None, as in memory), so a restart, a rebalance or a SIGKILL behaves as before.

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


class DiskStore(memory.Store):
    """faust's memory store with its dict replaced by a :class:`DiskMapping` under the app's table dir."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # (the app and table name are known only after it)
        self.data: DiskMapping = DiskMapping(Path(self.app.conf.tabledir) / f"{self.table_name}.sqlite")
        self._key_partition: dict = {}  # kept in the file's rows instead

    def apply_changelog_batch(self, batch: Iterable[Any], to_key: Callable[[Any], Any],
                              to_value: Callable[[Any], Any]) -> None:
        self.data.apply((to_key(ev.key), ev.message.partition,
                         None if ev.message.value is None else to_value(ev.value)) for ev in batch)

    async def on_recovery_completed(self, active_tps: set, standby_tps: set) -> None:
        self.data.keep_partitions({partition for _, partition in active_tps})

    def _clear(self) -> None:
        self.data.clear()


def store_url(kind: str) -> str:
    """The faust store URL of ``RASID_TABLE_STORE`` (``disk`` or ``memory``)."""
    return f"{SCHEME}://local" if kind == "disk" else "memory://"  # (a URL with no host is falsy: faust would ignore it)


stores.STORES.aliases.setdefault(SCHEME, f"{__name__}:DiskStore")
