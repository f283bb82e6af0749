"""A correction to faust-streaming's offset bookkeeping that our no-loss invariant depends on.

faust's ``Consumer._new_offset`` decides how far a partition may be committed from
the offsets acked so far. Its guard against a gap at the head of the acked list
compares ``min(acked) - committed > 1``, but ``committed`` is already the *next*
offset to read, so a single missing message (acked ``8, 9, …`` with committed
``7``) passes the guard and offset 7 is committed without ever being processed.
The benchmark saw exactly this with two workers starting on a backlog (one
message per partition lost in a rebalance). Here a head gap of any size holds
the commit back until the missing offsets are acked (or re-read after a restart
or rebalance): at worst a redelivery, which the Elasticsearch ``_id`` makes
harmless, never a loss.
"""

from __future__ import annotations

from typing import Any, Optional

from faust.transport import consumer as _consumer
from faust.utils.functional import consecutive_numbers

_ORIGINAL = _consumer.Consumer._new_offset


def new_offset(self: Any, tp: Any) -> Optional[int]:
    acked = self._acked[tp]
    if not acked:
        return None
    max_offset = max(acked)
    gap_for_tp = self._gap[tp]
    if gap_for_tp:
        # offsets faust knows to be absent (e.g. transaction markers) count as acked
        candidates = sorted(gap_for_tp.overlap(0, max_offset), key=lambda x: x.begin)
        if candidates:
            filler: list[int] = []
            for entry in candidates:
                filler.extend(range(entry.begin, entry.end))
            acked.extend(filler)
            gap_for_tp.chop(0, max(filler[-1], max_offset + 1))
    acked.sort()
    committed = self._committed_offset[tp]
    if committed is not None and acked[0] > committed:
        return None  # the message at `committed` has not been acked yet
    batch = next(consecutive_numbers(acked))
    acked[: len(batch)] = []
    self._acked_index[tp].difference_update(batch)
    return batch[-1] + 1


def apply() -> None:
    """Install the corrected ``_new_offset`` (idempotent)."""
    _consumer.Consumer._new_offset = new_offset
