"""`rasid init`: create the namespace's Kafka topics and install the Elasticsearch index template.

Everything here is idempotent and cheap when nothing is missing, so workers, `rasid run` and
tests call :func:`ensure_topics` / :func:`ensure_es` at start instead of relying on an operator
having run `rasid init` first.

Topics (``<ns>.`` prefix): ``raw``, ``articles``, ``deadletter`` with ``kafka_partitions``
partitions (the faust app uses the same count) and the compacted ``seen`` topic that holds the
connectors' seen-URL state. Elasticsearch: the composable template ``<ns>-articles`` for the
monthly indices ``<ns>-articles-YYYY.MM`` (all behind the read alias ``<ns>-articles``), plus the
current month's index so the alias exists from the start.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from pipeline.core.settings import CONFIG_DIR, Settings, get_settings

log = logging.getLogger("rasid.bootstrap")

TEMPLATE_FILE = CONFIG_DIR / "elasticsearch" / "template.json"

# Room for the JSON envelope around a page of `kafka_max_message_bytes`.
MESSAGE_OVERHEAD = 64 * 1024
DAY_MS = 24 * 3600 * 1000


class BootstrapError(click.ClickException):
    """Kafka or Elasticsearch refused the setup; the message says which and why."""


# --------------------------------------------------------------------------- Kafka


def topic_specs(settings: Settings) -> dict[str, dict[str, Any]]:
    """Name -> {partitions, configs} for every topic the namespace needs."""
    max_bytes = str(settings.kafka_max_message_bytes + MESSAGE_OVERHEAD)
    common = {"max.message.bytes": max_bytes}
    return {
        settings.raw_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {**common, "retention.ms": str(7 * DAY_MS)},
        },
        settings.articles_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {**common, "retention.ms": str(7 * DAY_MS)},
        },
        settings.deadletter_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {**common, "retention.ms": str(30 * DAY_MS)},
        },
        # latest entry per key (URL id) is all the connectors need; compaction keeps it bounded
        settings.seen_topic: {
            "partitions": settings.kafka_partitions,
            "configs": {
                **common,
                "cleanup.policy": "compact",
                "segment.ms": str(DAY_MS),
                "min.cleanable.dirty.ratio": "0.2",
            },
        },
    }


def _admin(settings: Settings, timeout_s: float = 15.0):
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        return KafkaAdminClient(
            bootstrap_servers=[s.strip() for s in settings.kafka_bootstrap.split(",") if s.strip()],
            client_id=f"rasid-init-{settings.namespace}",
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
        )
    except (KafkaError, OSError) as e:
        raise BootstrapError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {e}") from None


def ensure_topics(settings: Settings | None = None, timeout_s: float = 30.0) -> dict[str, list[str]]:
    """Create the namespace's missing topics and wait until every partition has a leader.

    Existing topics are left as they are; a partition count different from
    ``kafka_partitions`` is reported (changing it would move keys between partitions).
    """
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    settings = settings or get_settings()
    specs = topic_specs(settings)
    admin = _admin(settings)
    created: list[str] = []
    try:
        existing = set(admin.list_topics())
        missing = {name: spec for name, spec in specs.items() if name not in existing}
        if missing:
            request = {
                name: {
                    "num_partitions": spec["partitions"],
                    "replication_factor": settings.kafka_replication,
                    "configs": spec["configs"],
                }
                for name, spec in missing.items()
            }
            response = None
            try:
                response = admin.create_topics(request, timeout_ms=int(timeout_s * 1000), raise_errors=False)
            except TopicAlreadyExistsError:
                pass  # a concurrent init won the race
            # A busy broker can answer CreateTopics before its metadata lists the new topics:
            # wait for them rather than fail on the first listing.
            deadline = time.monotonic() + timeout_s
            while True:
                existing = set(admin.list_topics())
                failed = [n for n in missing if n not in existing]
                if not failed or time.monotonic() >= deadline:
                    break
                time.sleep(0.25)
            if failed:
                raise BootstrapError(f"Kafka did not create topics {failed} within {timeout_s:.0f}s (check broker log "
                                     f"and replication factor {settings.kafka_replication}); it answered: {response}")
            created = sorted(missing)
        _wait_for_leaders(admin, list(specs), timeout_s)
        mismatched = _partition_mismatches(admin, specs)
    except KafkaError as e:
        raise BootstrapError(f"Kafka at {settings.kafka_bootstrap} refused topic setup: {e}") from None
    finally:
        admin.close()
    for name, have in mismatched.items():
        log.warning(
            "topic %s has %d partitions, settings ask for %d; left unchanged",
            name,
            have,
            specs[name]["partitions"],
            extra={"stage": "init"},
        )
    return {"created": created, "existing": sorted(set(specs) - set(created)), "mismatched": sorted(mismatched)}


def _describe(admin, names: list[str]) -> list[dict[str, Any]]:
    """describe_topics, with the key names of kafka-python 2.x and 3.x made uniform."""
    out = []
    for t in admin.describe_topics(names):
        out.append(
            {
                "topic": t.get("name") or t.get("topic"),
                "error_code": t.get("error_code", 0),
                "partitions": [
                    {"leader": p.get("leader_id", p.get("leader", -1))} for p in t.get("partitions") or []
                ],
            }
        )
    return out


def _wait_for_leaders(admin, names: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            topics = _describe(admin, names)
            ready = {
                t["topic"]
                for t in topics
                if t.get("error_code", 0) == 0
                and t.get("partitions")
                and all((p["leader"] if p["leader"] is not None else -1) >= 0 for p in t["partitions"])
            }
        except Exception:  # metadata can lag right after creation
            ready = set()
        if ready >= set(names):
            return
        if time.monotonic() > deadline:
            raise BootstrapError(f"topics without leaders after {timeout_s:.0f}s: {sorted(set(names) - ready)}")
        time.sleep(0.2)


def _partition_mismatches(admin, specs: dict[str, dict[str, Any]]) -> dict[str, int]:
    out = {}
    for t in _describe(admin, list(specs)):
        have = len(t.get("partitions") or [])
        if have and have != specs[t["topic"]]["partitions"]:
            out[t["topic"]] = have
    return out


# --------------------------------------------------------------------------- Elasticsearch


def template_name(settings: Settings) -> str:
    return settings.es_alias


def load_template(settings: Settings, path: Path = TEMPLATE_FILE) -> dict[str, Any]:
    """The composable index template for this namespace (patterns, alias and replicas filled in)."""
    body = json.loads(path.read_text(encoding="utf-8"))
    body = copy.deepcopy(body)
    body["index_patterns"] = [f"{settings.es_alias}-*"]
    tmpl = body.setdefault("template", {})
    tmpl["aliases"] = {settings.es_alias: {}}
    index_settings = tmpl.setdefault("settings", {}).setdefault("index", {})
    index_settings["number_of_shards"] = settings.es_shards
    index_settings["number_of_replicas"] = settings.es_replicas
    body.setdefault("_meta", {})["namespace"] = settings.namespace
    return body


def es_client(settings: Settings):
    from elasticsearch import Elasticsearch

    return Elasticsearch(**settings.es_client_kwargs())


def current_index(settings: Settings, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return settings.es_index_for(now.year, now.month)


def ensure_es(settings: Settings | None = None, es=None, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Install or upgrade the index template and make sure the alias has an index behind it.

    The template is replaced when its ``version`` differs from the file's; indices created
    before keep their settings (new monthly indices pick the new template up), and additive
    mapping changes are also applied to them where Elasticsearch accepts them. ``template``
    replaces the body from :func:`load_template` (tests of the upgrade path).
    """
    from elasticsearch import ApiError, TransportError

    settings = settings or get_settings()
    own_client = es is None
    es = es or es_client(settings)
    name = template_name(settings)
    body = template if template is not None else load_template(settings)
    result: dict[str, Any] = {"template": name, "template_version": body.get("version")}
    try:
        current = None
        if es.indices.exists_index_template(name=name):
            got = es.indices.get_index_template(name=name)["index_templates"]
            current = got[0]["index_template"].get("version") if got else None
        if current != body.get("version"):
            es.indices.put_index_template(name=name, **body)
            result["template_action"] = "installed" if current is None else f"upgraded from {current}"
            if current is not None:
                result["mapping_update"] = _update_existing_mappings(es, settings, body)
        else:
            result["template_action"] = "unchanged"
        index = current_index(settings)
        if not es.indices.exists(index=index):
            try:
                es.indices.create(index=index)
                result["index_action"] = f"created {index}"
            except ApiError as e:
                if e.error != "resource_already_exists_exception":
                    raise
                result["index_action"] = f"{index} exists"
        else:
            result["index_action"] = f"{index} exists"
        if not es.indices.exists_alias(name=settings.es_alias):
            es.indices.put_alias(index=index, name=settings.es_alias)
        es.cluster.health(index=index, wait_for_status="yellow", timeout="30s")
    except (ApiError, TransportError) as e:
        raise BootstrapError(f"Elasticsearch at {settings.es_url} refused the setup: {e}") from None
    finally:
        if own_client:
            es.close()
    return result


def _update_existing_mappings(es, settings: Settings, body: dict[str, Any]) -> str:
    from elasticsearch import ApiError

    mappings = body["template"].get("mappings", {})
    try:
        es.indices.put_mapping(index=f"{settings.es_alias}-*", allow_no_indices=True, **mappings)
        return "applied to existing indices"
    except ApiError as e:
        log.warning("template mappings not applied to existing indices: %s", e, extra={"stage": "init"})
        return f"not applied to existing indices ({e.error})"


# --------------------------------------------------------------------------- teardown (tests, ops)


def drop_namespace(settings: Settings, es=None) -> dict[str, list[str]]:
    """Delete every topic, index and template of a namespace. For tests and throw-away deployments."""
    from elasticsearch import ApiError

    ns = settings.namespace
    dropped: dict[str, list[str]] = {"topics": [], "indices": [], "templates": []}
    admin = _admin(settings)
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
        try:
            es.indices.delete_index_template(name=template_name(settings))
            dropped["templates"] = [template_name(settings)]
        except ApiError as e:
            if e.meta.status != 404:
                raise
    finally:
        if own_client:
            es.close()
    return dropped


# --------------------------------------------------------------------------- CLI


@click.command("init")
@click.option("--kafka/--no-kafka", default=True, help="Create the Kafka topics.")
@click.option("--es/--no-es", "with_es", default=True, help="Install the Elasticsearch template and alias.")
def init_cmd(kafka: bool, with_es: bool) -> None:
    """Create the namespace's Kafka topics and Elasticsearch template/alias (idempotent)."""
    settings = get_settings()
    if kafka:
        t = time.monotonic()
        res = ensure_topics(settings)
        click.echo(
            f"kafka {settings.kafka_bootstrap}: created {res['created'] or 'none'}, "
            f"existing {res['existing'] or 'none'} ({time.monotonic() - t:.1f}s)"
        )
        for name in res["mismatched"]:
            click.echo(f"  warning: {name} has a partition count different from RASID_KAFKA_PARTITIONS={settings.kafka_partitions}")
    if with_es:
        t = time.monotonic()
        res = ensure_es(settings)
        click.echo(
            f"elasticsearch {settings.es_url}: template {res['template']} v{res['template_version']} {res['template_action']}, "
            f"{res['index_action']}, alias {settings.es_alias} ({time.monotonic() - t:.1f}s)"
        )
        if res.get("mapping_update"):
            click.echo(f"  mappings: {res['mapping_update']}")
