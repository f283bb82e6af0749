from pathlib import Path

import pytest

from pipeline.core.dates import zone
from connectors.registry import RegistryError, VerificationState, load_registry, parse_registry, pattern_problem

PROJECT = Path(__file__).resolve().parents[3]


# The ids of the first registry: documents carry them as `source`, so they must survive every rewrite.
FIRST_IDS = {"orient-news", "npa-syria", "aawsat", "enab-baladi", "syria-tv", "aljazeera", "bbc-arabic", "asharq",
             "sana", "rt-arabic", "step-news", "zaman-alwasl", "nedaa-syria", "alarabiya", "skynews-arabia",
             "anadolu-ar", "france24-ar", "independent-arabia", "alquds-alarabi", "syrian-observatory", "dw-arabic"}
SHIPPED = PROJECT / "config" / "sources.yaml"


def test_shipped_registry_is_valid_and_covers_the_seed_outlets():
    reg = load_registry(SHIPPED)
    ids = {s.id for s in reg.sources}
    assert FIRST_IDS <= ids
    assert len(reg.sources) >= 80
    for s in reg.sources:
        assert s.discovery, s.id  # on for every outlet, through `defaults`
        assert s.category is not None, s.id
        assert s.language in ("ar", "en"), s.id
        # nothing was verified from here: no internet when the registry was written
        assert all(not e.verified for _, e in s.endpoints()), s.id
        # a page time without an offset is read on the outlet's clock: every shipped country has a zone
        assert s.country is None or zone(s.local_timezone()) is not None, s.id
    kinds = [k for s in reg.sources for k, _ in s.endpoints()]
    assert kinds.count("feed") >= 80 and kinds.count("sitemap") >= 1 and kinds.count("section") >= 10


def test_every_shipped_endpoint_says_where_it_was_seen():
    """Each endpoint is preceded by a `# seen:` comment (public evidence of the URL); a source
    without endpoints says that discovery alone finds them."""
    from pipeline.core.yamlfile import line_of, load_yaml_lines

    data = load_yaml_lines(SHIPPED)
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    missing = []
    for entry in data["sources"]:
        endpoints = [e for k in ("feeds", "sitemaps", "sections") for e in entry.get(k) or []]
        for e in endpoints:
            i, comments = line_of(e) - 2, []
            while i >= 0 and lines[i].lstrip().startswith("#"):
                comments.append(lines[i])
                i -= 1
            if not any("# seen:" in c for c in comments):
                missing.append((entry["id"], e["url"]))
        if not endpoints:
            start = line_of(entry) - 1
            end = next((j for j in range(start + 1, len(lines)) if lines[j].lstrip().startswith("- id:")), len(lines))
            if not any("no evidenced" in line for line in lines[start:end]):
                missing.append((entry["id"], "(no endpoint and no comment saying so)"))
    assert missing == []


def test_closed_and_archived_outlets_are_kept_but_not_live():
    reg = load_registry(SHIPPED)
    orient = reg.get("orient-news")
    assert orient.status == "archive" and not orient.live
    live = reg.live()
    assert orient not in live and all(s.status == "active" for s in live)
    assert len(live) == len([s for s in reg.sources if s.status == "active" and s.enabled])
    # the outlet facts issue 13 names
    assert [f.url for f in reg.get("zaman-alwasl").feeds] == ["https://www.zamanalwsl.net/rss"]
    nedaa = reg.get("nedaa-syria")
    assert nedaa.homepage == "https://nedaa-post.com/" and nedaa.sections[0].pattern.startswith("^/article/")
    discovery_only = [s for s in live if not s.endpoints()]
    assert discovery_only and all(s.discovery for s in discovery_only)


def test_new_fields_are_validated_and_homepage_only_needs_discovery():
    base = {"id": "x-1", "name": "x", "homepage": "https://a.example/"}
    s = parse_registry({"sources": [{**base, "discovery": True, "category": "agency", "status": "active",
                                     "blocked_hint": True, "note": "n"}]}).sources[0]
    assert s.live and s.blocked_hint and s.endpoints() == []
    assert not parse_registry({"sources": [{**base, "status": "closed"}]}).sources[0].live
    for bad, needle in (({"status": "dead"}, "field status"), ({"category": "blog"}, "field category"),
                        ({}, "discovery: true"), ({"country": "syria", "discovery": True}, "field country")):
        with pytest.raises(RegistryError, match=needle):
            parse_registry({"sources": [{**base, **bad}]}, "sources.yaml")


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
        ({"timezone": "Damascus"}, "field timezone"),
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


def test_a_sources_clock_is_its_own_zone_else_its_countrys():
    base = {"name": "x", "homepage": "https://a.example/", "feeds": ["https://a.example/rss"]}
    reg = parse_registry({"sources": [{"id": "sy", "country": "SY", **base},
                                      {"id": "ae-own", "country": "AE", "timezone": "Asia/Damascus", **base},
                                      {"id": "none", **base}]})
    zones = {s.id: s.local_timezone() for s in reg.select(["sy", "ae-own", "none"])}
    assert zones == {"sy": "Asia/Damascus", "ae-own": "Asia/Damascus", "none": None}


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
