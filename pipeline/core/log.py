"""Logs: lines for people on a terminal, JSON lines for machines.

JSON (one object per line, stable fields such as stage, source, article_id) when stdout is not a
terminal or ``RASID_LOG_FORMAT=json`` (docker-compose sets it); on a terminal a short line: time,
level, component, message and the few fields that matter. The libraries' own INFO chatter (faust,
aiokafka, Elasticsearch's transport, httpx, trafilatura) shows only with ``RASID_LOG_LEVEL=debug``.
One of their warnings is read as INFO (:class:`OwnTimerOverlap`): a round of Rasid's own timers that took
longer than its interval.
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from datetime import datetime, timezone
from typing import Any

_STD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}
# libraries whose INFO lines are theirs, not Rasid's: WARNING and above unless debugging
LIBRARIES = ("faust", "mode", "aiokafka", "kafka", "elastic_transport", "elasticsearch", "httpx", "httpcore",
             "trafilatura", "htmldate", "courlan", "urllib3", "asyncio")
# fields a console line shows after the message, in this order (the rest stay in JSON logs)
CONSOLE_FIELDS = ("source", "reason", "child", "topic", "partition", "offset", "url", "title")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STD and not k.startswith("_"):
                out[k] = v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """``12:04:05 WARN  connectors  endpoint failed  source=npa reason=http_503``"""

    LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO ", "WARNING": "WARN ", "ERROR": "ERROR", "CRITICAL": "CRIT "}

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        name = record.name.removeprefix("rasid.")
        msg = record.getMessage()
        fields = [f"{k}={getattr(record, k)}" for k in CONSOLE_FIELDS  # a value the message already shows: once
                  if getattr(record, k, None) not in (None, "") and str(getattr(record, k)) not in msg]
        line = f"{when} {self.LEVELS.get(record.levelname, record.levelname)} {name:<11} {msg}"
        if fields:
            line += "  " + " ".join(fields)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class OwnTimerOverlap(logging.Filter):
    """mode's «Timer … is overlapping» for Rasid's own timers (``pipeline.…``), as INFO, not WARNING.

    Those timers await the broker (the offset watch's OffsetFetch and end offsets; see
    :mod:`pipeline.stream.offsets`); at start-up, while the group settles, a round can take longer than
    its 2 s, and mode then warns on every start. Nothing is blocked: the next round starts when this one
    ends. A warning that comes with every start teaches operators to ignore warnings, so the line stays,
    at INFO. faust's own timers keep the warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (record.levelno == logging.WARNING and record.msg.startswith("Timer %s is overlapping")
                and isinstance(record.args, tuple) and record.args and str(record.args[0]).startswith("pipeline.")):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def wants_json(log_format: str, stream: Any = None) -> bool:
    """``json``/``console`` as set; ``auto``: JSON unless the stream (stdout) is a terminal."""
    if log_format in ("json", "console"):
        return log_format == "json"
    stream = stream if stream is not None else sys.stdout
    return not (hasattr(stream, "isatty") and stream.isatty())


def logging_config(level: str = "INFO", as_json: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for Rasid's processes (faust workers take it too)."""
    level = level.upper()
    formatter = {"()": f"{__name__}.{'JsonFormatter' if as_json else 'ConsoleFormatter'}"}
    quiet = "DEBUG" if level == "DEBUG" else "WARNING"
    loggers: dict[str, Any] = {name: {"level": quiet} for name in LIBRARIES}
    loggers["mode.timers"] = {"level": quiet, "filters": ["own_timer_overlap"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"own_timer_overlap": {"()": f"{__name__}.OwnTimerOverlap"}},
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "default"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": loggers,
    }


def setup_logging(level: str = "INFO", as_json: bool = True) -> None:
    logging.config.dictConfig(logging_config(level, as_json))


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
