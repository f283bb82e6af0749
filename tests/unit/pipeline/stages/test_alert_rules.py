"""config/alerts.yaml: what a valid file gives, every error names file and line, the last valid rules
stay in force while an edit is broken."""

from __future__ import annotations

import os
import time

import pytest

from pipeline.core.settings import CONFIG_DIR
from pipeline.core.yamlfile import parse_yaml_lines
from pipeline.stages.alert_rules import AlertsError, alerts_in_force, build_alerts, load_alerts, parse_alerts

GOOD = """\
webhooks:
  - id: desk
    url: https://example.org/hook
    secret_env: RASID_WEBHOOK_SECRET
rules:
  - id: idlib-observation-posts
    kind: match
    topics: [turkish_role]
    places: [إدلب]
    notify: [desk]
  - id: convoy-terms
    kind: match
    terms: {2: [رتل*, تعزيزات عسكرية]}
    not: [تدريب*]
    threshold: 2
  - id: breaking
    kind: breaking
    min_sources: 3
    within_minutes: 60
    notify: [desk]
  - id: spike
    kind: spike
    notify: [desk]
"""


def build(text: str, src: str = "alerts.yaml"):
    return build_alerts(parse_yaml_lines(text, src), src)


def test_a_valid_file():
    c = build(GOOD)
    assert [r.id for r in c.rules] == ["idlib-observation-posts", "convoy-terms", "breaking", "spike"]
    assert c.webhooks["desk"].url == "https://example.org/hook" and c.webhooks["desk"].secret_env == "RASID_WEBHOOK_SECRET"
    m = c.rule("idlib-observation-posts")
    assert m.topics == {"turkish_role"} and m.places == {"ادلب"}  # place names in match form: إدلب = ادلب
    assert c.rule("breaking").min_sources == 3 and c.rule("breaking").within_s == 3600
    sp = c.rule("spike")
    assert (sp.factor, sp.min_count, sp.baseline_hours, sp.on) == (3.0, 5, 24, ("topics", "places"))
    assert c.breaking == (3, 3600)
    assert [t.id for t in c.terms.topics] == ["convoy-terms"]


def test_the_shipped_file_is_valid():
    c = parse_alerts(CONFIG_DIR / "alerts.yaml")
    assert c.of_kind("breaking")


def test_term_criteria_score_like_topics_yaml():
    from pipeline.stages.classify import classify

    c = build(GOOD)
    hits = classify("رتل عسكري تركي يدخل إدلب", "دخلت تعزيزات عسكرية تركية جديدة إلى ريف إدلب.", c.terms)
    assert [h.id for h in hits] == ["convoy-terms"]
    assert classify("رتل للتدريب", "رتل عسكري في تدريبات مشتركة", c.terms) == []  # vetoed by not


@pytest.mark.parametrize("edit, line, words", [
    (("notify: [desk]\n  - id: convoy", "notify: [dsek]\n  - id: convoy"), 10, "unknown webhook 'dsek'"),
    (("kind: spike", "kind: spiek"), 22, "kind must be one of"),
    (("min_sources: 3", "min_sources: 1"), 16, "min_sources must be >= 2"),
    (("within_minutes: 60", "within_minutes: soon"), 19, "within_minutes must be a number"),
    (("threshold: 2", "threshold: 2\n    colour: red"), 11, "unknown key 'colour'"),
    (("  - id: spike", "  - id: breaking"), 21, "defined twice (first on line 16)"),
    (("terms: {2: [رتل*, تعزيزات عسكرية]}", "terms: {2: [رتل*, \"(\"]}"), 13, "convoy-terms"),
    (("url: https://example.org/hook", "url: ftp://example.org/hook"), 3, "http(s)"),
    (("secret_env: RASID_WEBHOOK_SECRET", "secret_env: my secret"), 4, "environment variable"),
    (("    topics: [turkish_role]\n    places: [إدلب]\n", ""), 6, "needs topics, places, sources or terms"),
    (("kind: breaking\n", "kind: breaking\n    kind: match\n"), 18, "duplicate key 'kind'"),
])
def test_errors_name_file_and_line(tmp_path, edit, line, words):
    p = tmp_path / "alerts.yaml"
    p.write_text(GOOD.replace(*edit), encoding="utf-8")
    with pytest.raises(AlertsError) as e:
        parse_alerts(p)
    assert str(e.value).startswith(f"{p}:{line}:"), str(e.value)
    assert words in str(e.value)


def test_a_broken_edit_keeps_the_last_valid_rules(tmp_path, caplog):
    p = tmp_path / "alerts.yaml"
    p.write_text(GOOD, encoding="utf-8")
    assert len(load_alerts(p).rules) == 4
    p.write_text(GOOD.replace("kind: spike", "kind: nonsense"), encoding="utf-8")
    os.utime(p, (time.time() + 5, time.time() + 5))
    assert len(load_alerts(p).rules) == 4  # the previous rules stay in force
    assert f"{p}:22:" in caplog.text
    p.write_text(GOOD.replace("  - id: spike\n    kind: spike\n    notify: [desk]\n", ""), encoding="utf-8")
    os.utime(p, (time.time() + 10, time.time() + 10))
    assert [r.id for r in load_alerts(p).rules] == ["idlib-observation-posts", "convoy-terms", "breaking"]


def test_a_missing_file_means_no_rules_but_a_broken_one_stops_at_first_load(tmp_path):
    assert alerts_in_force(tmp_path / "none.yaml").rules == []
    p = tmp_path / "broken.yaml"
    p.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(AlertsError, match=r"broken.yaml:\d+: YAML error"):
        alerts_in_force(p)
