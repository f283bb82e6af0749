"""The dedupe agent's link to the story monitor (:mod:`pipeline.stages.monitor`).

Story ids are assigned in one place, the single-partition dedupe agent, so that is where every
article is seen once and in order. Once a batch's articles carry their ``story_id`` the agent calls
:meth:`StoryHook.outs_after` on its output records; the story documents and alerts come back as
more output records of the same batch (``<ns>.stories`` keyed by story id, ``<ns>.alerts`` keyed
by alert id), so Kafka confirms them before the batch is acked (:mod:`pipeline.stream.delivery`);
then :meth:`StoryHook.settled` marks the alerts as sent. The monitor's state is a faust Table with a
changelog (like the dedupe table), so a restart, a rebalance or a SIGKILL resumes it exactly.

A failure here never costs an article: it is logged and counted, and the article goes on.
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.core import metrics
from pipeline.core.kafka import STORIES_TABLE
from pipeline.core.log import get_logger
from pipeline.core.settings import SettingsError
from pipeline.core.yamlfile import ConfigError
from pipeline.stages.alert_rules import AlertConfig, alerts_in_force
from pipeline.stages.monitor import StoryMonitor
from pipeline.stream.delivery import Out
from pipeline.stream.tablestore import RECOVERY_BUFFER, store_url

log = get_logger("rasid.stories")


class StoryHook:
    """Story documents and alerts of the dedupe agent's batches (see the module doc)."""

    def __init__(self, app: Any, table: Any) -> None:
        self.app = app
        self.table = table
        self.settings = app.settings
        self.monitor: StoryMonitor | None = None
        self.generation: int | None = None
        self._docs: dict[str, dict] = {}
        self._sent: list[str] = []

    def config(self) -> AlertConfig:
        """The rules in force (the file is looked at every few seconds; a broken edit keeps the last)."""
        return alerts_in_force(self.settings.alerts_file, fresh=False)

    def get(self) -> StoryMonitor:
        """The monitor over the table, made again after a rebalance (the table may have moved)."""
        gen = getattr(self.app, "consumer_generation_id", None)
        if self.monitor is None or gen != self.generation:
            self.monitor = StoryMonitor(self.table, self.config,
                                        retention_s=self.settings.dedupe_retention_days * 86400)
            self.generation = gen
            pending = len(self.monitor.pending())
            log.info("story state loaded", extra={"stage": "stories", "pending_alerts": pending})
        return self.monitor

    def observe(self, art: dict) -> None:
        """Add one article (its ``story_id`` set) to its story; never raises."""
        try:
            obs = self.get().observe(art)
        except Exception:  # noqa: BLE001 - the articles path never stops for a story document
            metrics.DROPPED.labels(stage="stories", reason="internal_error").inc()
            log.exception("story monitor failed on an article", extra={"stage": "stories",
                                                                       "article_id": art.get("id")})
            return
        self._docs.update(obs.also)
        self._docs[obs.story_id] = obs.doc
        for a in obs.alerts:
            metrics.ALERTS_FIRED.labels(rule=a["rule"], kind=a["kind"]).inc()
            log.info("alert fired", extra={"stage": "stories", "rule": a["rule"], "kind": a["kind"],
                                           "story_id": a["story_id"], "alert_id": a["id"]})

    def outs_after(self, outs: list[Out]) -> list[Out]:
        """The story documents and alerts of a dedupe batch's output: each article record (in
        order, ``story_id`` set) is observed, then :meth:`outs`. Never raises."""
        topic = self.settings.articles_topic
        for o in outs:
            if o.topic != topic:
                continue
            try:
                art = orjson.loads(o.value)
            except ValueError:
                continue
            self.observe(art)
        return self.outs()

    def outs(self) -> list[Out]:
        """This batch's story documents (the last of each story) and every alert not yet confirmed."""
        s = self.settings
        outs = [Out(s.stories_topic, sid.encode("utf-8"), orjson.dumps(doc)) for sid, doc in self._docs.items()]
        self._docs = {}
        try:
            pending = self.get().pending()
        except Exception:  # noqa: BLE001 - they stay pending and go with a later batch
            log.exception("reading pending alerts failed", extra={"stage": "stories"})
            pending = []
        outs += [Out(s.alerts_topic, a["id"].encode("utf-8"), orjson.dumps(a)) for a in pending]
        self._sent = [a["id"] for a in pending]
        return outs

    def settled(self) -> None:
        """Kafka confirmed the last :meth:`outs`: those alerts are never produced again."""
        if self._sent:
            try:
                self.get().confirm(self._sent)
            except Exception:  # noqa: BLE001 - at worst sent once more (same id: delivered once)
                log.exception("confirming alerts failed", extra={"stage": "stories"})
            self._sent = []


def attach(app: Any) -> StoryHook:
    """The story table and hook of a worker app (``app.story_hook``); an invalid alerts file
    stops the worker at start, naming the file and line."""
    try:
        alerts_in_force(app.settings.alerts_file)
    except ConfigError as e:
        raise SettingsError(f"invalid alerts file: {e}") from None
    table = app.Table(
        STORIES_TABLE,
        default=None,
        partitions=1,
        key_type=str,  # keys and values travel as JSON on the changelog
        use_partitioner=True,  # written while handling a whole batch, like the dedupe table
        store=store_url(app.settings.table_store),
        recovery_buffer_size=RECOVERY_BUFFER,
        help="story id -> members, representative, fired rules; spike counters; alerts awaiting Kafka",
    )
    hook = StoryHook(app, table)
    app.story_table = table
    app.story_hook = hook
    return hook
