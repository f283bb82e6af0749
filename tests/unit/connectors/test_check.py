"""``rasid sources check`` (connectors/check.py) against a local outlet: ok, blocked and broken endpoints,
never-answered ones, discovered endpoints with their YAML, closed outlets listed and not fetched."""

from __future__ import annotations

import yaml

from connectors.autodiscover import DiscoveryState
from connectors.check import check_sources
from connectors.registry import Source, VerificationState, parse_registry
from devstack.outlet import Outlet, Route
from pipeline.core.settings import load_settings

from .test_discovery import serve_moved_outlet


def settings_for(o: Outlet, tmp_path):
    return load_settings(per_host_delay_s=0, http_retries=0, http_connect_timeout_s=2, http_read_timeout_s=5,
                         fetch_allow_hosts=o.allow, state_dir=tmp_path / "state")


async def test_check_reports_blocked_broken_discovered_and_closed(tmp_path):
    with Outlet("127.0.0.1") as o:
        serve_moved_outlet(o)
        o.add("/forbidden.xml", Route(status=403, body=b"no"))
        moved = Source(id="moved", name="م", homepage=o.base + "/", feeds=[o.url("/old.rss")], discovery=True)
        refusing = Source(id="refusing", name="ر", homepage=o.base + "/", feeds=[o.url("/forbidden.xml")],
                          discovery=True)
        closed = Source(id="closed-one", name="ك", homepage=o.base + "/", status="archive", discovery=True)
        s = settings_for(o, tmp_path)
        results = await check_sources(s, [moved, refusing, closed])
        hits_after_first = len(o.hits("/"))
        again = await check_sources(s, [moved])
    by = {(r.source, r.url): r for r in results}
    old = by[("moved", o.url("/old.rss"))]
    assert (old.state, old.error, old.never_answered, old.discovered) == ("broken", "http_404", True, False)
    feed = by[("moved", o.url("/feeds/main.xml"))]
    assert feed.ok and feed.discovered and feed.via == "link_alternate" and feed.articles == 3
    sitemap = by[("moved", o.url("/maps/news.xml"))]
    assert sitemap.ok and sitemap.discovered and sitemap.via == "robots_sitemap"
    pasted = yaml.safe_load("sources:\n  - id: moved\n    name: م\n    homepage: https://x.example/\n"
                            + feed.yaml + "\n" + sitemap.yaml)
    reg = parse_registry(pasted)
    assert reg.sources[0].feeds[0].url == feed.url and reg.sources[0].sitemaps[0].url == sitemap.url
    blocked = by[("refusing", o.url("/forbidden.xml"))]
    assert (blocked.state, blocked.error, blocked.blocked, blocked.never_answered) == ("blocked", "http_403", True,
                                                                                        True)
    assert not [r for r in results if r.source == "refusing" and r.discovered]  # no discovery behind a refusal
    [arch] = [r for r in results if r.source == "closed-one"]
    assert (arch.kind, arch.state, arch.counts_as_failure) == ("source", "archive", False)
    assert [r.state for r in results].count("ok") == 2
    # kept for list and for the connectors; a second check reuses it instead of discovering again
    assert DiscoveryState(tmp_path / "state").get("moved")["trigger"] == "sources check"
    assert len(o.hits("/")) == hits_after_first
    assert {(r.url, r.discovered) for r in again} == {(o.url("/old.rss"), False), (o.url("/feeds/main.xml"), True),
                                                       (o.url("/maps/news.xml"), True)}
    st = VerificationState(tmp_path / "state")
    assert st.state(o.url("/forbidden.xml")) == "blocked" and st.never_answered(o.url("/forbidden.xml"))
    assert st.state(o.url("/feeds/main.xml")) == "ok" and not st.never_answered(o.url("/feeds/main.xml"))


def test_an_endpoint_that_once_answered_is_not_never_answered(tmp_path):
    st = VerificationState(tmp_path)
    st.record("u", {"ok": True})
    st.record("u", {"ok": False, "state": "broken"})
    assert st.state("u") == "broken" and not st.never_answered("u")
    assert st.state("v") == "never checked" and st.never_answered("v")
