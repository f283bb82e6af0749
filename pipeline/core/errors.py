"""The small exception tree every stage and connector speaks.

- ``TransientError``: the world is briefly unwell (timeout, 5xx, broker away);
  retry with backoff, never dead-letter for it alone.
- ``BadRecord``: this input can never succeed; dead-letter it with ``reason``
  (a short stable slug used as a metric label) and move on.
- ``Backpressure``: a downstream asks us to slow down; wait ``retry_after``.
"""

from __future__ import annotations


class RasidError(Exception):
    """Base of every error Rasid raises on purpose."""


class TransientError(RasidError):
    """Retry later; the same input may succeed."""


class OperatorError(RasidError):
    """Something outside Rasid is missing or refuses it (Kafka unreachable, a topic not created,
    credentials refused); the message says what to do. Commands print it and exit with status 2."""


class SetupError(OperatorError):
    """Kafka or Elasticsearch refused the namespace's setup; the message says which and why."""


class BadRecord(RasidError):
    """The input is unusable; route it to the dead letter with a reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Backpressure(TransientError):
    """Downstream is saturated; wait ``retry_after`` seconds before retrying."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or f"backpressure, retry after {retry_after:.1f}s")
        self.retry_after = retry_after
