"""malloc_trim hands freed medium allocations (the size of pages) back to the OS."""

from __future__ import annotations

from pipeline.core import memtrim


def test_freed_pages_go_back_to_the_os() -> None:
    memtrim.trim()
    base = memtrim.resident_mb()
    assert base is not None  # Linux: the CI and the deployments
    pages = [bytes([i % 251]) * 60_000 for i in range(3000)]  # ~180 MB of 60 KB "pages"
    keep = pages[-1:]  # the newest stays allocated at the heap's top, as in a running worker
    grown = memtrim.resident_mb()
    del pages
    before_trim = memtrim.resident_mb()
    assert memtrim.trim()
    after = memtrim.resident_mb()
    print(f"baseline {base:.0f} MB, with pages {grown:.0f}, freed {before_trim:.0f}, trimmed {after:.0f}")
    assert grown - base > 150
    assert after - base < 30, (base, grown, before_trim, after)
    assert keep
