"""Sending a dead letter: the one way, for every stage of the workers and for the connectors.

A record that can never succeed goes to ``<ns>.deadletter`` with its stage, reason, where it came
from and its payload (built by :meth:`pipeline.core.schema.DeadLetter.build`). Sending waits until
Kafka confirmed the dead letter: the input it replaces is acknowledged only after that, so a crash
in between re-reads the input instead of losing it. Kafka trouble is waited out with the backoff
of :mod:`pipeline.core.retry`, never given up; a dead letter Kafka refuses for its size is sent
again without its payload (the facts are kept).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable

from pipeline.core.retry import retry_forever
from pipeline.core.schema import DeadLetter

log = logging.getLogger("rasid.deadletter")

# Kafka's refusals of a record for good (by class name: the connectors' aiokafka and faust raise these)
TOO_LARGE = frozenset({"MessageSizeTooLargeError", "RecordTooLargeError"})
REFUSED = TOO_LARGE | {"InvalidTopicError"}

Send = Callable[[bytes | None, bytes], Awaitable[Any]]


def refused_for_good(exc: BaseException) -> bool:
    """Kafka will never take this record (too large, invalid topic, not serialisable). faust wraps
    what the client raises in ProducerSendError, so the cause is looked at too."""
    for e in (exc, exc.__cause__):
        if e is not None and (type(e).__name__ in REFUSED or isinstance(e, (ValueError, TypeError))):
            return True
    return False


def without_payload(value: bytes) -> bytes | None:
    """An encoded dead letter with its payload dropped (facts kept), or None when it has none to drop."""
    try:
        dl = json.loads(value)
    except ValueError:
        return None
    if not isinstance(dl, dict) or dl.get("payload") is None:
        return None
    dl.update(payload=None, payload_truncated=True)
    return json.dumps(dl, ensure_ascii=False).encode("utf-8")


async def send_dead_letter(send: Send, dl: DeadLetter, *, base: float = 0.5, cap: float = 30.0,
                           should_stop: Callable[[], bool] = lambda: False,
                           stopped: Callable[[], BaseException] | None = None,
                           on_retry: Callable[[BaseException, float], None] | None = None) -> None:
    """``await send(key, value)`` of ``dl`` until Kafka confirms it; a size refusal drops the payload.

    ``send`` must wait for the broker's confirmation. ``should_stop``/``stopped`` end the wait when
    the process is stopping (the input then stays unacknowledged and is read again)."""
    value = dl.to_json()

    async def attempt() -> None:
        nonlocal value
        try:
            await send(dl.key_bytes(), value)
        except Exception as e:
            if not refused_for_good(e):
                raise
            smaller = without_payload(value)
            if smaller is None:
                log.error("dead letter refused by Kafka and cannot shrink; dropped: %r", e,
                          extra={"stage": dl.stage, "article_id": dl.key})
                return
            value = smaller
            await send(dl.key_bytes(), value)

    def warn(e: BaseException, delay: float) -> None:
        log.warning("dead letter not delivered, will retry in %.1fs: %s", delay, e,
                    extra={"stage": dl.stage, "article_id": dl.key})
        if on_retry is not None:
            on_retry(e, delay)

    kw: dict[str, Any] = {} if stopped is None else {"stopped": stopped}
    await retry_forever(attempt, retry_on=(Exception,), base=base, cap=cap, on_retry=warn,
                        should_stop=should_stop, **kw)
