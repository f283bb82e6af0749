"""The Prometheus files in config/prometheus: every metric a rule names exists in Rasid's registry."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import pipeline.core.metrics  # noqa: F401 - registers every metric

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "prometheus" / "rules" / "rasid.yml"


def exposed_names() -> set[str]:
    """Names as Prometheus scrapes them (counters with _total, histograms with _bucket/_sum/_count)."""
    out = set()
    for fam in REGISTRY.collect():
        if not fam.name.startswith("rasid_"):
            continue
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(fam.type, [""])
        out.update(fam.name + s for s in suffixes)
    return out


def test_every_metric_the_rules_name_exists():
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert len(rules) >= 8
    named = {m for r in rules for m in re.findall(r"\brasid_[a-z_]+\b", r["expr"])}
    missing = named - exposed_names()
    assert named and not missing, f"rules name metrics Rasid does not have: {sorted(missing)}"


def test_the_alerts_operators_expect_are_there():
    names = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    assert {"RasidSourceSilent", "RasidConsumerLagRising", "RasidDeadLetters", "RasidBulkRejections",
            "RasidElasticsearchUnreachable", "RasidKafkaUnreachable", "RasidWorkerDown"} <= names


def test_scrape_configs_name_the_jobs_the_rules_use():
    for f in ("prometheus.yml", "prometheus.local.yml"):
        conf = yaml.safe_load((ROOT / "config" / "prometheus" / f).read_text())
        assert {j["job_name"] for j in conf["scrape_configs"]} == {"rasid-connectors", "rasid-workers"}
