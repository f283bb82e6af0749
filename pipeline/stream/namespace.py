"""A namespace's Kafka topics and Elasticsearch indices together: set up (``rasid init``, ``rasid run``,
tests, benchmarks) and dropped (tests and throw-away deployments)."""

from __future__ import annotations

import logging
from typing import Any

from pipeline.core.errors import OperatorError
from pipeline.core.kafka import ensure_topics, kafka_admin
from pipeline.core.retry import retry_sync
from pipeline.core.settings import Settings
from pipeline.stream.es import SIDE_FILES, ensure_es, es_client, side_alias, template_name

log = logging.getLogger("rasid.setup")


def setup_namespace(settings: Settings, attempts: int = 4) -> dict[str, Any]:
    """Create the namespace's topics, then its index template, monthly index and alias (idempotent).

    Each is tried ``attempts`` times: right after the servers start a broker can answer a topic
    creation before its metadata lists the topic; a setup that keeps failing raises its message."""

    def warn(e: BaseException, delay: float) -> None:
        log.warning("setup failed, retrying in %.1fs: %s", delay, e, extra={"stage": "setup"})

    kafka = retry_sync(lambda: ensure_topics(settings), retry_on=(OperatorError,), attempts=attempts, base=2.0,
                       on_retry=warn)
    es = retry_sync(lambda: ensure_es(settings), retry_on=(OperatorError,), attempts=attempts, base=2.0,
                    on_retry=warn)
    return {"kafka": kafka, "es": es}


def drop_namespace(settings: Settings, es=None) -> dict[str, list[str]]:
    """Delete every topic, index and template of a namespace. For tests and throw-away deployments."""
    from elasticsearch import ApiError

    ns = settings.namespace
    dropped: dict[str, list[str]] = {"topics": [], "indices": [], "templates": []}
    admin = kafka_admin(settings, timeout_s=15.0)
    try:
        topics = [t for t in admin.list_topics() if t.startswith((f"{ns}.", f"{ns}-", f"{ns}_"))]
        if topics:
            admin.delete_topics(topics, timeout_ms=30_000, raise_errors=False)
        dropped["topics"] = sorted(topics)
    finally:
        admin.close()
    own_client = es is None
    es = es or es_client(settings)
    try:
        indices = list(es.indices.get(index=f"{ns}-*", expand_wildcards="all", ignore_unavailable=True, allow_no_indices=True))
        if indices:
            es.indices.delete(index=",".join(indices), ignore_unavailable=True)
        dropped["indices"] = sorted(indices)
        for name in [template_name(settings), *(side_alias(settings, k) for k in SIDE_FILES)]:
            try:
                es.indices.delete_index_template(name=name)
                dropped["templates"].append(name)
            except ApiError as e:
                if e.meta.status != 404:
                    raise
    finally:
        if own_client:
            es.close()
    return dropped
