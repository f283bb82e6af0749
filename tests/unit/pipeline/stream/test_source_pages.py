"""``rasid_source_pages_total``: each page the process agent reads counts for its source, by outcome; a
source id no registry would accept counts as «unknown» (a poisoned record cannot mint label values)."""

from __future__ import annotations

from pipeline.core import metrics
from pipeline.stream.agents import count_source_page


def _value(source: str, outcome: str) -> float:
    return metrics.SOURCE_PAGES.labels(source=source, outcome=outcome)._value.get()


def test_pages_count_per_source_and_outcome():
    before = {k: _value(*k) for k in (("npa", "processed"), ("npa", "dead_lettered"), ("unknown", "dead_lettered"))}
    count_source_page("npa", True)
    count_source_page("npa", False)
    count_source_page("npa", False)
    for bad in (None, 42, "", "NPA<script>", "x" * 65, "عنب"):
        count_source_page(bad, False)
    assert _value("npa", "processed") - before[("npa", "processed")] == 1
    assert _value("npa", "dead_lettered") - before[("npa", "dead_lettered")] == 2
    assert _value("unknown", "dead_lettered") - before[("unknown", "dead_lettered")] == 6


def test_a_utc_page_clock_is_counted_and_told_once_per_source(caplog):
    import logging

    from pipeline.stream import agents

    agents._UTC_CLOCK_TOLD.discard("utc-cms")
    before = metrics.PAGE_CLOCK_UTC.labels(source="utc-cms")._value.get()
    with caplog.at_level(logging.INFO, logger="rasid.agents"):
        for _ in range(3):
            count_source_page("utc-cms", True, utc_clock=True)
        count_source_page("utc-cms", True)
    assert metrics.PAGE_CLOCK_UTC.labels(source="utc-cms")._value.get() - before == 3
    told = [r for r in caplog.records if "utc-cms writes its page times in UTC" in r.getMessage()]
    assert len(told) == 1 and "timezone: UTC" in told[0].getMessage()
