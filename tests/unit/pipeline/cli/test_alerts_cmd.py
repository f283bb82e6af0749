"""``rasid alerts test FILE...``: which rules would fire on saved pages, offline."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from devstack.pages import SHAPES, load_articles, render
from pipeline.cli.alerts import alerts_group

RULES = """\
rules:
  - id: idlib-turkey
    kind: match
    topics: [turkish_role]
    places: [إدلب]
  - id: convoy-terms
    kind: match
    terms: {2: [رتل*, تعزيزات]}
    threshold: 2
  - id: breaking
    kind: breaking
    min_sources: 3
    within_minutes: 60
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Four outlets' copies of one report (another headline each, minutes apart) and an unrelated page."""
    d = tmp_path_factory.mktemp("pages")
    arts = {a["id"]: a for a in load_articles()}
    base, other = arts["aa-turkish-convoy-idlib"], arts["aa-sochi-agreement-idlib"]
    files = []
    for i, src in enumerate(["one", "two", "three", "four"]):
        a = dict(base, url=f"https://{src}.example/news/convoy", title=base["title"] + f" ({src})",
                 published_at=f"2025-03-01T10:{10 * i:02d}:00+00:00")
        p = d / f"{src}.html"
        p.write_bytes(render(a, SHAPES[i], noise=False, seed=i))
        files.append(str(p))
    p = d / "other.html"
    p.write_bytes(render(dict(other, url="https://one.example/news/sochi", published_at="2025-03-01T08:00:00+00:00"),
                         SHAPES[0], noise=False, seed=9))
    files.append(str(p))
    (d / "alerts.yaml").write_text(RULES, encoding="utf-8")
    return d, files


def test_which_rules_fire_on_saved_pages(pages):
    d, files = pages
    res = CliRunner().invoke(alerts_group, ["test", "--rules", str(d / "alerts.yaml"), "--json", *files])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.output.splitlines()]
    alerts, summary = lines[:-1], lines[-1]
    assert summary["files"] == 5 and summary["articles"] == 5 and summary["stories"] == 2
    fired = sorted((a["rule"], a["kind"]) for a in alerts)
    assert fired == [("breaking", "breaking"), ("convoy-terms", "match"), ("idlib-turkey", "match"),
                     ("idlib-turkey", "match")]
    (b,) = [a for a in alerts if a["kind"] == "breaking"]
    # the third source (in publication order) completes the window; the sources are the pages' hosts
    assert b["sources"] == ["one.example", "two.example", "three.example"]
    assert [f.rsplit("/", 1)[1] for f in b["files"]] == ["one.html", "two.html", "three.html"]


def test_human_output_and_config_errors(pages, tmp_path):
    d, files = pages
    res = CliRunner().invoke(alerts_group, ["test", "--rules", str(d / "alerts.yaml"), *files])
    assert res.exit_code == 0 and "breaking/breaking" in res.output and "4 alert(s)" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"rules": [{"id": "x", "kind": "breaking", "min_sources": 1}]}), encoding="utf-8")
    res = CliRunner().invoke(alerts_group, ["test", "--rules", str(bad), files[0]])
    assert res.exit_code != 0 and f"{bad}:" in res.output and "min_sources" in res.output
