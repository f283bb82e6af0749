"""``rasid kibana``: the Kibana saved objects that ship in config/kibana/.

``rasid kibana import --url URL [--namespace NS]`` posts
config/kibana/saved_objects.ndjson to Kibana's saved-objects import API
(``overwrite=true``, so re-running is safe), after rewriting the ``rasid-``
ids and the data view titles (``rasid-articles``, ``-stories``, ``-alerts``) for the namespace, so several
deployments can share one Kibana. ``rasid kibana check`` validates the file
offline (the same checks the unit tests run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import click

from pipeline.core.settings import CONFIG_DIR

DEFAULT_FILE = CONFIG_DIR / "kibana" / "saved_objects.ndjson"
BASE_NS = "rasid"
DEFAULT_KIBANA_URL = "http://127.0.0.1:5601"


def load_objects(path: Path = DEFAULT_FILE) -> list[dict[str, Any]]:
    """Parse the NDJSON file; a bad line is reported with its number."""
    objs = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            objs.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not JSON: {e}") from None
    return objs


def _panels(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(obj["attributes"].get("panelsJSON") or "[]")


def validate_objects(objs: Iterable[dict[str, Any]]) -> list[str]:
    """Structural problems of a saved-objects list (empty list = fine)."""
    objs = list(objs)
    problems: list[str] = []
    seen: dict[tuple[str, str], dict] = {}
    for o in objs:
        for k in ("id", "type", "attributes"):
            if k not in o:
                problems.append(f"object without {k!r}: {str(o)[:80]}")
        key = (o.get("type"), o.get("id"))
        if key in seen:
            problems.append(f"duplicate {key}")
        seen[key] = o
    ids = [o.get("id") for o in objs]
    if len(ids) != len(set(ids)):
        problems.append("ids are not unique across types")
    for o in objs:
        names = set()
        for ref in o.get("references", []):
            if (ref.get("type"), ref.get("id")) not in seen:
                problems.append(f"{o.get('id')}: reference {ref} does not resolve")
            if ref.get("name") in names:
                problems.append(f"{o.get('id')}: duplicate reference name {ref.get('name')}")
            names.add(ref.get("name"))
        attrs = o.get("attributes", {})
        if o.get("type") == "search":
            ss = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            if ss.get("indexRefName") not in names:
                problems.append(f"{o['id']}: indexRefName {ss.get('indexRefName')} has no reference")
        if o.get("type") == "lens":
            layers = attrs["state"]["datasourceStates"]["formBased"]["layers"]
            for layer_id in layers:
                if f"indexpattern-datasource-layer-{layer_id}" not in names:
                    problems.append(f"{o['id']}: layer {layer_id} has no data view reference")
        if o.get("type") == "map":
            for layer in json.loads(attrs["layerListJSON"]):
                ref = (layer.get("sourceDescriptor") or {}).get("indexPatternRefName")
                if ref and ref not in names:
                    problems.append(f"{o['id']}: map layer ref {ref} has no reference")
        if o.get("type") == "dashboard":
            refs = {r["name"]: r for r in o.get("references", [])}
            for p in _panels(o):
                idx, ref_name = p.get("panelIndex"), p.get("panelRefName")
                if not ref_name:
                    continue
                ref = refs.get(f"{idx}:{ref_name}") or refs.get(ref_name)
                if ref is None:
                    problems.append(f"{o['id']}: panel {idx} ({ref_name}) has no reference")
                elif ref["type"] != p.get("type"):
                    problems.append(f"{o['id']}: panel {idx} type {p.get('type')} != reference {ref['type']}")
    return problems


def localize(objs: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """Rewrite ``rasid-`` ids, references and the data view title for ``namespace``."""
    if namespace == BASE_NS:
        return objs

    def nid(i: str) -> str:
        return namespace + i[len(BASE_NS):] if i.startswith(BASE_NS + "-") else i

    out = []
    for o in objs:
        o = json.loads(json.dumps(o))  # deep copy
        o["id"] = nid(o["id"])
        for ref in o.get("references", []):
            ref["id"] = nid(ref["id"])
        attrs = o["attributes"]
        if o["type"] == "index-pattern":
            attrs["title"] = nid(attrs["title"])
            attrs["name"] = f"{attrs.get('name', attrs['title'])} [{namespace}]"
        elif "title" in attrs:
            attrs["title"] = f"{attrs['title']} [{namespace}]"
        out.append(o)
    return out


def to_ndjson(objs: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")


def import_objects(url: str, objs: list[dict[str, Any]], settings: Any, timeout: float = 60.0) -> dict[str, Any]:
    """POST the objects to ``{url}/api/saved_objects/_import?overwrite=true`` (multipart, kbn-xsrf)."""
    import httpx

    headers = {"kbn-xsrf": "rasid"}
    auth = None
    if settings.es_api_key is not None:
        headers["Authorization"] = f"ApiKey {settings.es_api_key.get_secret_value()}"
    elif settings.es_username:
        pw = settings.es_password.get_secret_value() if settings.es_password else ""
        auth = httpx.BasicAuth(settings.es_username, pw)
    verify: Any = True
    if url.startswith("https://"):
        verify = str(settings.es_ca_file) if settings.es_ca_file else settings.es_verify_certs
    files = {"file": ("saved_objects.ndjson", to_ndjson(objs), "application/ndjson")}
    with httpx.Client(timeout=timeout, verify=verify, auth=auth, trust_env=False) as client:
        resp = client.post(url.rstrip("/") + "/api/saved_objects/_import", params={"overwrite": "true"},
                           headers=headers, files=files)
    try:
        body = resp.json()
    except ValueError:
        body = {"raw": resp.text[:500]}
    if resp.status_code >= 400:
        raise click.ClickException(f"Kibana refused the import: HTTP {resp.status_code} {str(body)[:500]}")
    return body


@click.group("kibana")
def kibana_group() -> None:
    """Kibana saved objects (data view, saved searches, dashboard, map)."""


@kibana_group.command("import")
@click.option("--url", envvar="RASID_KIBANA_URL", default=DEFAULT_KIBANA_URL, show_default=True,
              help="Kibana base URL (env RASID_KIBANA_URL).")
@click.option("--namespace", default=None, help="Deployment namespace (default: RASID_NAMESPACE).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_FILE, show_default=True)
def import_cmd(url: str, namespace: str | None, path: Path) -> None:
    """Import the saved objects into Kibana (overwrites earlier versions)."""
    from pipeline.core.settings import get_settings

    settings = get_settings()
    ns = namespace or settings.namespace
    objs = load_objects(path)
    problems = validate_objects(objs)
    if problems:
        raise click.ClickException("invalid saved objects:\n  " + "\n  ".join(problems))
    import httpx

    try:
        body = import_objects(url, localize(objs, ns), settings)
    except httpx.HTTPError as e:
        raise click.ClickException(f"Kibana at {url} is not reachable: {type(e).__name__}") from None
    if not body.get("success", False):
        errs = body.get("errors") or body
        raise click.ClickException(f"import had errors: {json.dumps(errs, ensure_ascii=False)[:2000]}")
    click.echo(f"imported {body.get('successCount', len(objs))} saved objects into {url} (namespace {ns})")


@kibana_group.command("check")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DEFAULT_FILE)
def check_cmd(path: Path) -> None:
    """Validate the saved-objects file offline."""
    objs = load_objects(path)
    problems = validate_objects(objs)
    if problems:
        raise click.ClickException("\n".join(problems))
    click.echo(f"{path}: {len(objs)} objects, references resolve")
