"""The alerts agent: ``<ns>.alerts`` → each alert POSTed, as the exact JSON bytes of its record, to
the webhooks its rule notifies (config/alerts.yaml).

- Its own agent on its own topic: a slow or dead receiver holds back alerts, never articles.
- Signed when the webhook names a ``secret_env``: ``X-Rasid-Signature: sha256=<hex HMAC-SHA256 of
  the body>`` (:func:`sign`); ``X-Rasid-Alert-Id`` lets a receiver drop a repeat.
- Retried with the one backoff rule (:mod:`pipeline.core.retry`, a ``Retry-After`` honoured) up to
  ``webhook_attempts`` POSTs or ``webhook_give_up_s``; then the delivery is dead-lettered (stage
  ``alerts``; ``rasid deadletter retry`` re-injects the alert, and only webhooks not yet
  delivered get it).
- An alert fired more than ``webhook_max_age_s`` ago (the backlog of a worker that was down) is
  dead-lettered as ``expired`` instead of reaching an analyst hours late as if it were news; re-injected
  by ``rasid deadletter retry`` (its ``RETRY_HEADER``), it is sent whatever its age.
- Delivered (alert, webhook) pairs are kept in a changelogged table and checked first, so a
  restart, a rebalance or a replay of ``<ns>.alerts`` does not POST again. A crash between a
  receiver's 2xx and that record being written can repeat one POST (same alert id).
- Webhook URLs are operator config: the connectors' private-address refusal does not apply, but
  only the configured URL is ever requested (no redirects followed, no proxy from the environment).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import orjson

from pipeline.core import metrics
from pipeline.core.kafka import DELIVERIES_TABLE, RETRY_HEADER
from pipeline.core.log import get_logger
from pipeline.core.retry import backoff_delay
from pipeline.core.settings import Settings
from pipeline.core.urls import redact
from pipeline.stages.alert_rules import Webhook, alerts_in_force
from pipeline.stages.monitor import timestamp_of
from pipeline.stream.delivery import Delivery, Out
from pipeline.stream.tablestore import RECOVERY_BUFFER, store_url

log = get_logger("rasid.alerts")
STAGE = "alerts"
BATCHES_IN_FLIGHT = 16


def sign(body: bytes, secret: bytes) -> str:
    """The ``X-Rasid-Signature`` value of ``body``: ``sha256=`` + hex HMAC-SHA256 with ``secret``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: bytes, header: str | None) -> bool:
    """What a receiver checks (constant-time comparison)."""
    return bool(header) and hmac.compare_digest(sign(body, secret), header or "")


@dataclass
class Outcome:
    ok: bool
    attempts: int
    status: int | None = None
    detail: str = ""
    reason: str = "webhook_failed"


class WebhookSender:
    """POSTs with retries and backoff; faust-free, so tests drive it against a local receiver."""

    def __init__(self, settings: Settings, client: Any, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.client = client
        self._sleep = sleep
        self._clock = clock

    async def deliver(self, hook: Webhook, alert_id: str, body: bytes) -> Outcome:
        s = self.settings
        headers = {"Content-Type": "application/json", "User-Agent": s.user_agent, "X-Rasid-Alert-Id": alert_id}
        if hook.secret_env:
            secret = hook.secret()
            if secret is None:
                return Outcome(False, 0, detail=f"environment variable {hook.secret_env} is not set",
                               reason="webhook_secret_missing")
            headers["X-Rasid-Signature"] = sign(body, secret)
        deadline = self._clock() + s.webhook_give_up_s
        attempt, status, detail = 0, None, ""
        while True:
            attempt += 1
            retry_after = None
            try:
                resp = await self.client.post(hook.url, content=body, headers=headers)
                status = resp.status_code
                if 200 <= status < 300:
                    return Outcome(True, attempt, status)
                detail = f"HTTP {status}"
                ra = resp.headers.get("Retry-After")
                retry_after = float(ra) if ra and ra.strip().isdigit() else None
            except Exception as e:  # noqa: BLE001 - connection refused, timeouts, TLS: all retried
                status, detail = None, f"{type(e).__name__}: {redact(str(e))[:200]}"
            delay = backoff_delay(attempt - 1, s.webhook_backoff_s, s.webhook_backoff_max_s, retry_after)
            if attempt >= s.webhook_attempts or self._clock() + delay > deadline:
                return Outcome(False, attempt, status, f"{detail} after {attempt} attempt(s)")
            metrics.WEBHOOK_DELIVERIES.labels(webhook=hook.id, outcome="retried").inc()
            log.warning("webhook %s failed (%s), retrying in %.1fs", hook.id, detail, delay,
                        extra={"stage": STAGE, "alert_id": alert_id})
            await self._sleep(delay)


def _key(alert_id: str, webhook_id: str) -> str:
    return f"{alert_id}|{webhook_id}"


def _retried(ev: Any) -> bool:
    """Re-injected by ``rasid deadletter retry``: an operator asked for it to be sent."""
    return RETRY_HEADER in (getattr(ev, "headers", None) or {})


async def deliver_batch(app: Any, delivery: Delivery, sender: WebhookSender, table: Any,
                        events: list[Any], busy: set[str] | None = None) -> list[Out]:
    """Deliver every alert of a batch to its webhooks, concurrently; the dead letters to produce.

    ``busy`` holds the (alert, webhook) pairs another batch in flight is delivering: an alert
    produced twice (sent again after a crash) is POSTed once."""
    s = app.settings
    busy = set() if busy is None else busy
    config = alerts_in_force(s.alerts_file, fresh=False)
    outs: list[Out] = []
    jobs: list[tuple[Any, str, Webhook]] = []
    now = time.time()
    for ev in events:
        metrics.RECEIVED.labels(stage=STAGE).inc()
        try:
            alert = orjson.loads(ev.value)
            alert_id = alert["id"]
            rule = config.rule(alert.get("rule") or "")
            notify = alert.get("notify") if isinstance(alert.get("notify"), list) else (rule.notify if rule else [])
        except Exception as e:  # noqa: BLE001 - a bad record is dead-lettered, never retried
            outs.append(delivery.dead_letter_out(ev, stage=STAGE, reason="bad_alert", detail=f"{type(e).__name__}: {e}"))
            continue
        fired = timestamp_of(alert.get("fired_at"))
        age = now - fired if fired is not None else 0.0
        if s.webhook_max_age_s and age > s.webhook_max_age_s and not _retried(ev):
            pending = [w for w in notify if table.get(_key(alert_id, w)) is None]
            for wid in pending:
                metrics.WEBHOOK_DELIVERIES.labels(webhook=wid, outcome="expired").inc()
            if pending:
                log.warning("alert fired %.0f min ago, past webhook_max_age_s: dead-lettered, not sent", age / 60,
                            extra={"stage": STAGE, "alert_id": alert_id})
                outs.append(delivery.dead_letter_out(
                    ev, stage=STAGE, reason="expired",
                    detail=f"fired {age / 60:.0f} min ago (max {s.webhook_max_age_s / 60:.0f}); not sent to "
                           f"{', '.join(pending)}; rasid deadletter retry sends it"))
            continue
        for wid in notify:
            if table.get(_key(alert_id, wid)) is not None or _key(alert_id, wid) in busy:
                metrics.WEBHOOK_DELIVERIES.labels(webhook=wid, outcome="skipped").inc()
                continue
            hook = config.webhooks.get(wid)
            if hook is None:
                outs.append(delivery.dead_letter_out(ev, stage=STAGE, reason="unknown_webhook",
                                                     detail=f"webhook {wid!r} is not in {s.alerts_file}"))
                continue
            busy.add(_key(alert_id, wid))
            jobs.append((ev, alert_id, hook))
    try:
        results = await asyncio.gather(*(sender.deliver(hook, aid, bytes(ev.value)) for ev, aid, hook in jobs))
    finally:
        busy.difference_update(_key(aid, hook.id) for _, aid, hook in jobs)
    for (ev, aid, hook), res in zip(jobs, results):
        if res.ok:
            table[_key(aid, hook.id)] = {"at": datetime.now(timezone.utc).isoformat(), "status": res.status,
                                         "attempts": res.attempts}
            metrics.WEBHOOK_DELIVERIES.labels(webhook=hook.id, outcome="delivered").inc()
            metrics.EMITTED.labels(stage=STAGE).inc()
            log.info("alert delivered", extra={"stage": STAGE, "alert_id": aid, "webhook": hook.id,
                                               "attempts": res.attempts})
        else:
            metrics.WEBHOOK_DELIVERIES.labels(webhook=hook.id, outcome="dead_lettered").inc()
            log.error("webhook %s: alert not delivered, dead-lettered: %s", hook.id, res.detail,
                      extra={"stage": STAGE, "alert_id": aid})
            outs.append(delivery.dead_letter_out(ev, stage=STAGE, reason=res.reason,
                                                 detail=f"webhook {hook.id}: {res.detail}"))
    return outs


def register(app: Any) -> Any:
    """The alerts agent and its delivered-table on a worker app."""
    import httpx

    s = app.settings
    delivery = Delivery(app)
    # on the disk store like the story tables: one entry per delivered alert, kept for the run, so
    # months of deliveries would otherwise sit in the heap
    table = app.Table(DELIVERIES_TABLE, default=None, partitions=1, key_type=str, use_partitioner=True,
                      store=store_url(s.table_store), recovery_buffer_size=RECOVERY_BUFFER,
                      help="alert id|webhook id -> when it was delivered")
    app.deliveries_table = table
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    topic = app.topic(s.alerts_topic, partitions=1, internal=False, **raw)

    @app.agent(topic, name="alerts", concurrency=1)
    async def alerts(stream: Any) -> None:
        log.info("alerts agent started", extra={"stage": STAGE})
        # Batches are delivered side by side and each is acked when its deliveries are done or
        # dead-lettered: a receiver that keeps failing holds its own alerts, not the next ones.
        slots = asyncio.Semaphore(BATCHES_IN_FLIGHT)
        busy: set[str] = set()
        tasks: set[asyncio.Future] = set()

        async def finish(events: list[Any], sender: WebhookSender) -> None:
            try:
                try:
                    outs = await deliver_batch(app, delivery, sender, table, events, busy)
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # noqa: BLE001 - never crash the agent (faust would ack)
                    log.exception("alerts batch failed; dead-lettering it", extra={"stage": STAGE})
                    outs = [delivery.dead_letter_out(ev, stage=STAGE, reason="internal_error",
                                                     detail=f"{type(e).__name__}: {e}") for ev in events]
                await delivery.settle(stream, events, outs)
            finally:
                slots.release()

        async with httpx.AsyncClient(timeout=s.webhook_timeout_s, follow_redirects=False, trust_env=False) as client:
            sender = WebhookSender(s, client, sleep=app.sleep)
            try:
                async for events in stream.noack_take(50, within=0.1):
                    await slots.acquire()
                    task = asyncio.ensure_future(finish(events, sender))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            finally:
                # stopping (or a rebalance): deliveries not finished stay unacked and are read again;
                # the delivered-table keeps the ones done from being POSTed twice
                for t in list(tasks):
                    t.cancel()
                if tasks:
                    await asyncio.wait(list(tasks), timeout=5)
                delivery.release([s.alerts_topic])

    return alerts
