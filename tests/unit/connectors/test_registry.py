from pathlib import Path

import pytest

from connectors.registry import RegistryError, VerificationState, load_registry, parse_registry, pattern_problem

PROJECT = Path(__file__).resolve().parents[3]


def test_shipped_registry_is_valid_and_covers_the_seed_outlets():
    reg = load_registry(PROJECT / "config" / "sources.yaml")
    ids = {s.id for s in reg.sources}
    assert {"orient-news", "npa-syria", "aawsat", "enab-baladi", "syria-tv"} <= ids
    assert len(reg.sources) >= 20
    for s in reg.sources:
        assert s.endpoints(), s.id
        assert s.language == "ar"
        # nothing was verified from here: no internet when the registry was written
        assert all(not e.verified for _, e in s.endpoints()), s.id


def test_defaults_apply_and_bare_urls_are_accepted():
    reg = parse_registry({
        "defaults": {"poll_interval": 120, "language": "ar"},
        "sources": [{"id": "a-1", "name": "أ", "homepage": "https://a.example/", "feeds": ["https://a.example/rss"]}],
    })
    s = reg.sources[0]
    assert s.poll_interval == 120
    assert s.feeds[0].url == "https://a.example/rss" and s.feeds[0].verified is False
    assert s.interval_bounds() == (30.0, 960.0)


@pytest.mark.parametrize(
    "entry, needle",
    [
        ({"feeds": ["file:///etc/passwd"]}, "field feeds.0.url"),
        ({"feeds": ["https://u:p@a.example/rss"]}, "credentials_in_url"),
        ({"poll_interval": -5}, "field poll_interval"),
        ({"poll_interval": 0}, "field poll_interval"),
        ({"poll_interval": float("inf")}, "field poll_interval"),
        ({"poll_interval": 10 * 86_400}, "field poll_interval"),
        ({"max_interval": 30 * 86_400}, "field max_interval"),
        ({"max_items": 0}, "field max_items"),
        ({"max_items": 1_000_000}, "field max_items"),
        ({"feeds": [f"https://a.example/rss{i}" for i in range(51)]}, "field feeds"),
        ({"sections": [{"url": "https://a.example/s", "pattern": "(\\w+\\s?)+$"}]}, "backtracks catastrophically"),
        ({"sections": [{"url": "https://a.example/s", "pattern": ".*-.*-.*-.*x"}]}, "backtracks catastrophically"),
        ({"sections": [{"url": "https://a.example/s", "pattern": "a" * 501}]}, "longer than 500"),
        ({"sections": [{"url": "https://a.example/s", "pattern": "(["}]}, "not a valid regular expression"),
        ({"feeds": [], "sitemaps": [], "sections": []}, "needs at least one of feeds"),
        ({"bogus": 1}, "field bogus"),
    ],
)
def test_errors_name_source_and_field(entry, needle):
    base = {"id": "bad-one", "name": "x", "homepage": "https://a.example/", "feeds": ["https://a.example/rss"]}
    base.update(entry)
    with pytest.raises(RegistryError) as ei:
        parse_registry({"sources": [{"id": "ok", "name": "y", "homepage": "https://b.example/",
                                     "feeds": ["https://b.example/rss"]}, base]}, "sources.yaml")
    msg = str(ei.value)
    assert "source 'bad-one' (entry #2)" in msg
    assert needle in msg


def test_duplicate_ids_and_unknown_selection():
    entry = {"id": "dup", "name": "x", "homepage": "https://a.example/", "feeds": ["https://a.example/rss"]}
    with pytest.raises(RegistryError, match="duplicate source id"):
        parse_registry({"sources": [entry, entry]})
    reg = parse_registry({"sources": [entry]})
    with pytest.raises(RegistryError, match="unknown source id"):
        reg.select(["nope"])


def test_verification_state_roundtrip(tmp_path):
    reg = parse_registry({"sources": [{"id": "v", "name": "v", "homepage": "https://a.example/",
                                       "feeds": ["https://a.example/rss", "https://a.example/rss2"]}]})
    ep1, ep2 = reg.sources[0].feeds
    st = VerificationState(tmp_path)
    assert not st.verified(ep1)
    st.record(ep1.url, {"ok": True, "status": 200})
    st.record(ep2.url, {"ok": False, "status": 404})
    st.save()
    again = VerificationState(tmp_path)
    assert again.verified(ep1) and not again.verified(ep2)


def test_duplicate_yaml_keys_are_errors_with_file_and_line(tmp_path):
    f = tmp_path / "sources.yaml"
    f.write_text("""sources:
  - id: a-1
    name: أ
    homepage: https://a.example/
    feeds: [https://a.example/rss]
    poll_interval: 300
    poll_interval: 3
""", encoding="utf-8")
    with pytest.raises(RegistryError) as ei:
        load_registry(f)
    msg = str(ei.value)
    assert f"{f}:7:" in msg and "duplicate key 'poll_interval'" in msg
    f.write_text("sources: []\nsources: []\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"sources.yaml:2: .*duplicate key 'sources'"):
        load_registry(f)


def test_validation_errors_name_the_line_of_the_source(tmp_path):
    f = tmp_path / "sources.yaml"
    f.write_text("""sources:
  - id: a-1
    name: أ
    homepage: https://a.example/
    feeds: [https://a.example/rss]
  - id: b-2
    name: ب
    homepage: https://b.example/
    feeds: [https://b.example/rss]
    max_items: 0
""", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"source 'b-2' \(line 6, entry #2\), field max_items"):
        load_registry(f)


@pytest.mark.parametrize("pattern", [
    r"^/(?:ar/)?\d{4}/\d{2}/[^/]+-\d+/?$", r"/[a-z0-9]+(?:-[a-z0-9]+)*$", r"^/article/[^/?#]+", r"/middle_east/\d+",
    r"/archives/\d{5,}", r"(?:news|akhbar)/.+\.html?$",
])
def test_usual_patterns_are_accepted(pattern):
    assert pattern_problem(pattern) is None


def test_a_pattern_is_cut_at_run_time_too():
    import regex

    from connectors.section import _search
    from connectors.base import Discovered

    out = Discovered()
    rx = regex.compile(r"(x+x+)+y")
    assert _search(rx, "/" + "x" * 5000, out) is False
    assert out.warnings == ["pattern_timeout"]
