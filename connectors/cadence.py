"""Each source's publishing cadence, for the "source went silent" alert.

An outlet that moves its feed does not fail: it just stops producing. The Prometheus rule
``RasidSourceSilent`` compares the time since a source's last new article with its usual gap, so
the connectors export both: ``rasid_source_last_article_timestamp`` and
``rasid_source_article_gap_seconds`` (an exponential moving average of the gaps between new
articles). Updates of known articles do not count: they say nothing about new publishing.
"""

from __future__ import annotations

import time
from typing import Callable

from pipeline.core.metrics import SOURCE_ARTICLE_GAP, SOURCE_LAST_ARTICLE

# Weight of the newest gap: about the last ten gaps make the average, so one quiet night moves it
# but does not replace it.
ALPHA = 0.2
# Several articles found in one poll arrive together; gaps shorter than this are one burst, not a
# cadence (otherwise a source polled every 5 minutes would look like it publishes every second).
MIN_GAP_S = 30.0


class Cadence:
    """Per-source last-article time and moving-average gap, mirrored into the gauges."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.last: dict[str, float] = {}
        self.gap: dict[str, float] = {}

    def new_article(self, source: str) -> None:
        now = self.clock()
        before = self.last.get(source)
        if before is not None and now - before < MIN_GAP_S:
            return  # same burst: neither the last time nor the gap moves
        self.last[source] = now
        SOURCE_LAST_ARTICLE.labels(source).set(now)
        if before is None:
            return
        g = now - before
        avg = self.gap.get(source)
        self.gap[source] = g if avg is None else (1 - ALPHA) * avg + ALPHA * g
        SOURCE_ARTICLE_GAP.labels(source).set(round(self.gap[source], 1))
