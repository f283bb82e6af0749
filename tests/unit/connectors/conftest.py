"""Shared helpers for connector unit tests (no network: fixtures are read from disk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.registry import Source, parse_registry

FIXTURES = Path(__file__).resolve().parents[3] / "devstack" / "site"
BASE = "https://outlet.example"


def fixture_bytes(name: str, base: str = BASE) -> bytes:
    return (FIXTURES / name).read_bytes().replace(b"{{BASE}}", base.encode())


def make_source(**kw) -> Source:
    entry = {"id": "test-outlet", "name": "منفذ تجريبي", "homepage": BASE + "/", "feeds": [BASE + "/rss.xml"],
             "sitemaps": [BASE + "/news-sitemap.xml"], "sections": [{"url": BASE + "/section/syria"}]}
    entry.update(kw)
    return parse_registry({"sources": [entry]}).sources[0]


@pytest.fixture
def source() -> Source:
    return make_source()
