"""Rasid's logging config: mode's overlap warning for Rasid's own timers is read as INFO."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from pipeline.core.log import logging_config


@pytest.fixture()
def captured():
    """Rasid's logging config, its handler writing to a buffer; the previous config restored after."""
    root = logging.getLogger()
    saved = (root.level, root.handlers[:], {n: (logging.getLogger(n).level, logging.getLogger(n).filters[:])
                                            for n in ("mode", "mode.timers")})
    cfg = logging_config("INFO", as_json=True)
    cfg["handlers"]["stderr"]["stream"] = buf = io.StringIO()
    logging.config.dictConfig(cfg)
    yield buf
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for n, (level, filters) in saved[2].items():
        logging.getLogger(n).setLevel(level)
        logging.getLogger(n).filters[:] = filters


def _lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_own_timer_overlap_is_info_and_still_logged(captured) -> None:
    logging.getLogger("mode.timers").warning("Timer %s is overlapping (interval=%r runtime=%r)",
                                             "pipeline.stream.offsets.install.<locals>.check_offsets", 2.0, 2.5)
    (line,) = _lines(captured)
    assert line["level"] == "INFO"
    assert "check_offsets is overlapping" in line["msg"]


def test_faust_timer_overlap_stays_a_warning(captured) -> None:
    logging.getLogger("mode.timers").warning("Timer %s is overlapping (interval=%r runtime=%r)",
                                             "faust.transport.consumer.Consumer._commit_livelock_detector", 1.0, 3.0)
    (line,) = _lines(captured)
    assert line["level"] == "WARNING"


def test_other_mode_timer_lines_keep_their_level(captured) -> None:
    timers = logging.getLogger("mode.timers")
    timers.info("Timer %s woke up too late, with a drift of +%r", "pipeline.x", 1.2)  # library INFO: hidden
    timers.error("Timer %s crashed", "pipeline.x")
    assert [(x["level"], x["msg"]) for x in _lines(captured)] == [("ERROR", "Timer pipeline.x crashed")]
