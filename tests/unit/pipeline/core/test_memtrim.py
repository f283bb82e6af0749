"""malloc_trim hands freed medium allocations (the size of pages) back to the OS."""

from __future__ import annotations

import psutil

from pipeline.core import memtrim


def resident_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def test_freed_pages_go_back_to_the_os() -> None:
    memtrim.trim()
    base = resident_mb()
    pages = [bytes([i % 251]) * 60_000 for i in range(3000)]  # ~180 MB of 60 KB "pages"
    keep = pages[-1:]  # the newest stays allocated at the heap's top, as in a running worker
    grown = resident_mb()
    del pages
    before_trim = resident_mb()
    assert memtrim.trim()
    after = resident_mb()
    print(f"baseline {base:.0f} MB, with pages {grown:.0f}, freed {before_trim:.0f}, trimmed {after:.0f}")
    assert grown - base > 150
    assert after - base < 30, (base, grown, before_trim, after)
    assert keep
