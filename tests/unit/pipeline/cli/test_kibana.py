"""The shipped Kibana saved objects: valid NDJSON, references resolve, the wiring is complete;
``rasid kibana import`` sends what Kibana's import API expects (to a local HTTP server)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
import threading
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli.kibana import DEFAULT_FILE, kibana_group, load_objects, localize, validate_objects
from pipeline.core.settings import CONFIG_DIR

TOPIC_IDS = {
    "chemical_weapons", "military_escalation", "russian_role", "jihadist_factions", "white_helmets",
    "turkish_role", "displacement_humanitarian", "international_diplomacy", "regime_change",
}


@pytest.fixture(scope="module")
def objs():
    return load_objects(DEFAULT_FILE)


def by_type(objs, t):
    return [o for o in objs if o["type"] == t]


def test_every_line_is_json_and_ids_unique():
    lines = [l for l in DEFAULT_FILE.read_text(encoding="utf-8").splitlines() if l.strip()]
    parsed = [json.loads(l) for l in lines]
    ids = [o["id"] for o in parsed]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("rasid-") for i in ids)


def test_file_is_what_the_builder_writes():
    """The NDJSON is generated; a hand edit that the builder would undo is caught here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_so", CONFIG_DIR / "kibana" / "build_saved_objects.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert [json.loads(json.dumps(o)) for o in mod.build()] == load_objects(DEFAULT_FILE)


def test_structure_is_valid(objs):
    assert validate_objects(objs) == []


def test_every_reference_resolves(objs):
    known = {(o["type"], o["id"]) for o in objs}
    refs = [(o["id"], r) for o in objs for r in o.get("references", [])]
    assert refs, "objects should reference the data view"
    for oid, r in refs:
        assert (r["type"], r["id"]) in known, (oid, r)


def test_data_view(objs):
    views = {o["id"]: o for o in by_type(objs, "index-pattern")}
    assert set(views) == {"rasid-articles", "rasid-stories", "rasid-alerts"}
    dv = views["rasid-articles"]
    assert dv["attributes"]["title"] == "rasid-articles"
    # every document carries it (publication, else fetch), and the template maps it as a date
    assert dv["attributes"]["timeFieldName"] == "@timestamp"
    template = json.loads((Path(__file__).resolve().parents[4] / "config/elasticsearch/template.json").read_text())
    assert template["template"]["mappings"]["properties"]["@timestamp"]["type"] == "date"
    fmt = json.loads(dv["attributes"]["fieldFormatMap"])
    assert fmt["url"]["id"] == "url"  # the url column is a link to the article


def _articles_searches(objs):
    return [s for s in by_type(objs, "search") if s["references"][0]["id"] == "rasid-articles"]


def test_a_saved_search_per_topic(objs):
    searches = _articles_searches(objs)
    queries = {}
    for s in searches:
        ss = json.loads(s["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        queries[s["id"]] = ss["query"]["query"]
        assert s["attributes"]["sort"] == [["@timestamp", "desc"]]
        assert "url" in s["attributes"]["columns"] and "title" in s["attributes"]["columns"]
    for tid in TOPIC_IDS:
        assert queries.get(f"rasid-search-{tid}") == f'topic_ids : "{tid}"'


def test_topic_ids_match_the_taxonomy_file():
    data = yaml.safe_load((CONFIG_DIR / "topics.yaml").read_text(encoding="utf-8"))
    topics = data.get("topics", data) if isinstance(data, dict) else data
    ids = set(topics) if isinstance(topics, dict) else {t["id"] for t in topics}
    assert ids == TOPIC_IDS


def test_stories_and_alerts_views(objs):
    """Stories newest breaking first, a 'breaking now' panel and the alerts, all on the dashboard."""
    views = {o["id"]: o for o in by_type(objs, "index-pattern")}
    assert views["rasid-stories"]["attributes"]["title"] == "rasid-stories"
    assert views["rasid-alerts"]["attributes"]["timeFieldName"] == "fired_at"
    searches = {o["id"]: o for o in by_type(objs, "search")}
    stories, now, alerts = (searches[i] for i in ("rasid-search-stories", "rasid-search-breaking-now",
                                                   "rasid-search-alerts"))
    assert stories["attributes"]["sort"][0] == ["breaking_at", "desc"]
    assert stories["references"][0]["id"] == now["references"][0]["id"] == "rasid-stories"
    q = json.loads(now["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
    assert "breaking_at" in q and "now-" in q
    assert {"title", "source_count", "breaking_at"} <= set(stories["attributes"]["columns"])
    assert alerts["references"][0]["id"] == "rasid-alerts" and alerts["attributes"]["sort"] == [["fired_at", "desc"]]
    threads = searches["rasid-search-story-threads"]
    assert json.loads(threads["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"] == "follows:*"
    assert {"follows", "followed_by"} <= set(threads["attributes"]["columns"])
    assert threads["references"][0]["id"] == "rasid-stories"
    growing = searches["rasid-search-growing-stories"]
    assert growing["attributes"]["sort"][0] == ["articles_last_hour", "desc"]
    assert json.loads(growing["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"] == \
        "articles_last_hour >= 2"
    assert growing["references"][0]["id"] == "rasid-stories"
    (dash,) = by_type(objs, "dashboard")
    on_dash = {r["id"] for r in dash["references"]}
    assert {"rasid-search-stories", "rasid-search-breaking-now", "rasid-search-alerts",
            "rasid-search-growing-stories"} <= on_dash


def test_dashboard_panels(objs):
    (dash,) = by_type(objs, "dashboard")
    panels = json.loads(dash["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dash["references"]}
    known = {(o["type"], o["id"]): o for o in objs}
    kinds = []
    for p in panels:
        ref = refs[f"{p['panelIndex']}:{p['panelRefName']}"]
        target = known[(ref["type"], ref["id"])]
        assert target["type"] == p["type"]
        kinds.append(target)
        g = p["gridData"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 48 and g["i"] == p["panelIndex"]
    ids = {t["id"] for t in kinds}
    assert {"rasid-lens-topics-over-time", "rasid-lens-by-outlet", "rasid-lens-top-places",
            "rasid-lens-top-organizations", "rasid-lens-top-people", "rasid-map-places",
            "rasid-search-latest"} <= ids
    assert dash["attributes"]["timeRestore"] is True


def test_lens_fields(objs):
    fields = {}
    for o in by_type(objs, "lens"):
        (layer,) = o["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values()
        for col in layer["columns"].values():
            fields.setdefault(o["id"], set()).add(col.get("sourceField"))
        assert set(layer["columnOrder"]) == set(layer["columns"])
        vis = o["attributes"]["state"]["visualization"]
        if o["attributes"]["visualizationType"] == "lnsDatatable":  # a table: its columns are the layer's
            assert [c["columnId"] for c in vis["columns"]] == layer["columnOrder"]
            continue
        for lay in vis["layers"]:
            for acc in [lay["xAccessor"], *lay["accessors"], lay.get("splitAccessor")]:
                assert acc is None or acc in layer["columns"]
    assert {"@timestamp", "topic_ids"} <= fields["rasid-lens-topics-over-time"]
    assert "source" in fields["rasid-lens-by-outlet"]
    assert "places.name" in fields["rasid-lens-top-places"]
    assert {"claim_stances", "@timestamp"} <= fields["rasid-lens-claims"]  # who said what, and when last


def test_map_uses_location(objs):
    (m,) = by_type(objs, "map")
    layers = json.loads(m["attributes"]["layerListJSON"])
    geo = [l for l in layers if l["sourceDescriptor"].get("geoField")]
    assert geo and geo[0]["sourceDescriptor"]["geoField"] == "location"
    names = {r["name"] for r in m["references"]}
    assert geo[0]["sourceDescriptor"]["indexPatternRefName"] in names


def test_validator_catches_broken_wiring(objs):
    broken = json.loads(json.dumps(objs))
    dash = next(o for o in broken if o["type"] == "dashboard")
    dash["references"] = dash["references"][1:]
    broken.append(json.loads(json.dumps(broken[0])))  # duplicate data view
    problems = validate_objects(broken)
    assert any("has no reference" in p for p in problems)
    assert any("duplicate" in p for p in problems)


def test_localize_rewrites_ids_titles_and_references(objs):
    loc = localize(objs, "staging")
    assert validate_objects(loc) == []
    views = {o["id"]: o["attributes"]["title"] for o in by_type(loc, "index-pattern")}
    assert views == {"staging-articles": "staging-articles", "staging-stories": "staging-stories",
                     "staging-alerts": "staging-alerts"}
    assert all(o["id"].startswith("staging-") for o in loc)
    assert all(r["id"].startswith("staging-") for o in loc for r in o.get("references", []))
    assert localize(objs, "rasid") == objs


class _Kibana(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, dict(self.headers), body))
        out = json.dumps({"success": True, "successCount": body.count(b"\n")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


@pytest.fixture
def kibana():
    _Kibana.received = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Kibana)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Kibana.received
    srv.shutdown()


def test_import_command_posts_multipart_with_xsrf_and_auth(kibana, monkeypatch):
    url, received = kibana
    from pipeline.core.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("RASID_ES_USERNAME", "kib")
    monkeypatch.setenv("RASID_ES_PASSWORD", "pw-123")
    try:
        res = CliRunner().invoke(kibana_group, ["import", "--url", url, "--namespace", "ns7"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert "ns7" in res.output
    (path, headers, body) = received[0]
    assert path == "/api/saved_objects/_import?overwrite=true"
    h = {k.lower(): v for k, v in headers.items()}
    assert h["kbn-xsrf"]
    assert h["authorization"] == "Basic " + base64.b64encode(b"kib:pw-123").decode()
    msg = BytesParser(policy=email_policy).parsebytes(
        b"Content-Type: " + h["content-type"].encode() + b"\r\n\r\n" + body)
    (part,) = list(msg.iter_parts())
    assert part.get_filename().endswith(".ndjson")
    sent = [json.loads(l) for l in part.get_content().splitlines() if l.strip()]
    assert len(sent) == len(load_objects(DEFAULT_FILE))
    titles = {o["attributes"]["title"] for o in sent if o["type"] == "index-pattern"}
    assert titles == {"ns7-articles", "ns7-stories", "ns7-alerts"}


def test_import_reports_unreachable_kibana():
    res = CliRunner().invoke(kibana_group, ["import", "--url", "http://127.0.0.1:9"])
    assert res.exit_code != 0
    assert "not reachable" in res.output
