"""Elasticsearch for the sink, setup and operators: clients, what may be logged about the connection,
the namespace's index template, monthly indices and read alias (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

import logging
import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from pipeline.core.errors import SetupError
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer

from pipeline.core.settings import CONFIG_DIR, Settings
from pipeline.core.urls import redact

log = logging.getLogger(__name__)


TEMPLATE_FILE = CONFIG_DIR / "elasticsearch" / "template.json"
# Story documents and alerts: one index each behind its alias (``<alias>-000001``), written by _id.
SIDE_FILES = {"stories": CONFIG_DIR / "elasticsearch" / "stories.json",
              "alerts": CONFIG_DIR / "elasticsearch" / "alerts.json"}




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


def side_alias(settings: Settings, kind: str) -> str:
    return settings.stories_alias if kind == "stories" else settings.alerts_alias


def load_side_template(settings: Settings, kind: str) -> dict[str, Any]:
    """The index template of ``kind`` (stories, alerts) for this namespace, with the Arabic analysis
    of the articles' template (one definition of it)."""
    body = copy.deepcopy(json.loads(SIDE_FILES[kind].read_text(encoding="utf-8")))
    alias = side_alias(settings, kind)
    body["index_patterns"] = [f"{alias}-*"]
    tmpl = body.setdefault("template", {})
    tmpl["aliases"] = {alias: {}}
    index = tmpl.setdefault("settings", {}).setdefault("index", {})
    index["number_of_shards"] = settings.es_shards
    index["number_of_replicas"] = settings.es_replicas
    articles = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    tmpl["settings"]["analysis"] = articles["template"]["settings"]["analysis"]
    body.setdefault("_meta", {})["namespace"] = settings.namespace
    return body


def _ensure_side(es, settings: Settings, kind: str) -> str:
    """Install or upgrade the ``kind`` template (by version) and create its first index; idempotent."""
    from elasticsearch import ApiError

    alias = side_alias(settings, kind)
    body = load_side_template(settings, kind)
    current = None
    if es.indices.exists_index_template(name=alias):
        got = es.indices.get_index_template(name=alias)["index_templates"]
        current = got[0]["index_template"].get("version") if got else None
    action = "unchanged"
    if current != body.get("version"):
        es.indices.put_index_template(name=alias, **body)
        action = "installed" if current is None else f"upgraded from {current}"
        if current is not None:  # additive mapping changes reach the existing index too
            try:
                es.indices.put_mapping(index=f"{alias}-*", allow_no_indices=True, **body["template"]["mappings"])
            except ApiError as e:
                log.warning("%s mappings not applied to the existing index: %s", kind, e, extra={"stage": "init"})
    if not es.indices.exists_alias(name=alias):
        try:
            es.indices.create(index=f"{alias}-000001")
        except ApiError as e:
            if e.error != "resource_already_exists_exception":
                raise
    return action


def es_client(settings: Settings):
    from elasticsearch import Elasticsearch

    return Elasticsearch(**settings.es_client_kwargs())


def current_index(settings: Settings, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return settings.es_index_for(now.year, now.month)


def ensure_es(settings: Settings, es=None, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Install or upgrade the index template and make sure the alias has an index behind it; the
    same for the story documents and the alerts (:func:`_ensure_side`).

    The template is replaced when its ``version`` differs from the file's; indices created
    before keep their settings (new monthly indices pick the new template up), and additive
    mapping changes are also applied to them where Elasticsearch accepts them. ``template``
    replaces the body from :func:`load_template` (tests of the upgrade path).
    """
    from elasticsearch import ApiError, TransportError

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
                result["timestamps_backfilled"] = backfill_timestamps(es, settings)
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
        for kind in SIDE_FILES:
            result[f"{kind}_template_action"] = _ensure_side(es, settings, kind)
        es.cluster.health(index=index, wait_for_status="yellow", timeout="30s")
    except (ApiError, TransportError) as e:
        raise SetupError(f"Elasticsearch at {describe_es(settings)['url']} refused the setup: {redact(str(e))}") from None
    finally:
        if own_client:
            es.close()
    return result


def backfill_timestamps(es, settings: Settings) -> int:
    """Give ``@timestamp`` to the article documents indexed before it existed (template version < 4), from
    their own ``published_at``/``fetched_at`` as the sink places them (:func:`pipeline.core.dates.placed_time`):
    without it they are in no Kibana time-filtered view. Partial updates by ``_id``, in Python (no scripts:
    the devstack has no painless); idempotent, and a no-op once every document has it. Returns how many."""
    from elasticsearch.helpers import bulk, scan

    from pipeline.core.dates import placed_time

    def when(v: Any) -> datetime | None:
        try:
            dt = datetime.fromisoformat(str(v).replace("Z", "+00:00")) if v else None
        except ValueError:
            return None
        return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt

    def actions():
        for hit in scan(es, index=settings.es_alias, _source=["published_at", "fetched_at"],
                        query={"query": {"bool": {"must_not": {"exists": {"field": "@timestamp"}}}}}):
            src = hit.get("_source") or {}
            at = placed_time(when(src.get("published_at")), when(src.get("fetched_at")))
            if at is not None:
                yield {"_op_type": "update", "_index": hit["_index"], "_id": hit["_id"],
                       "doc": {"@timestamp": at.astimezone(timezone.utc).isoformat()}}

    done, errors = bulk(es, actions(), raise_on_error=False, refresh=True)
    if errors:
        log.warning("@timestamp not set on %d older document(s) (the next upgrade tries again): %s", len(errors),
                    redact(str(errors[0]))[:300], extra={"stage": "init"})
    if done:
        log.info("@timestamp set on %d article document(s) indexed before it existed", done,
                 extra={"stage": "init"})
    return done


def _update_existing_mappings(es, settings: Settings, body: dict[str, Any]) -> str:
    from elasticsearch import ApiError

    mappings = body["template"].get("mappings", {})
    try:
        es.indices.put_mapping(index=f"{settings.es_alias}-*", allow_no_indices=True, **mappings)
        return "applied to existing indices"
    except ApiError as e:
        log.warning("template mappings not applied to existing indices: %s", e, extra={"stage": "init"})
        return f"not applied to existing indices ({e.error})"


def describe_es(settings: Settings) -> dict[str, Any]:
    """What may be logged about the Elasticsearch connection: URL without userinfo, auth kind."""
    parts = urlsplit(settings.es_url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    auth = "api_key" if settings.es_api_key else ("basic" if settings.es_username else "none")
    out: dict[str, Any] = {"url": urlunsplit((parts.scheme, netloc, parts.path, "", "")), "auth": auth}
    if settings.es_url.startswith("https://"):
        out["ca_file"] = str(settings.es_ca_file) if settings.es_ca_file else None
        out["verify_certs"] = settings.es_verify_certs
    return out


def async_es_client(settings: Settings, **overrides: Any) -> AsyncElasticsearch:
    """An async client for the sink: no transport-level retries (the writer retries with backoff)."""
    kw = settings.es_client_kwargs()
    kw.setdefault("max_retries", 0)
    kw.setdefault("retry_on_timeout", False)
    # orjson: serialising the bulk bodies with the json module was a tenth of the worker's main CPU
    kw.setdefault("serializer", OrjsonSerializer())
    kw.update(overrides)
    return AsyncElasticsearch(**kw)
