"""``rasid sources check``: fetch each endpoint once and say whether it works, honestly.

Uses the same polite client and parsers as the connectors (robots.txt, per-host limits, byte
cap), no Kafka. Each endpoint ends ``ok`` (answered and listed articles), ``blocked`` (the outlet
refuses our client: 401/403/451, a WAF challenge, refused or reset connections; the URL may well be
right) or ``broken`` (404, not a feed, no article links, timeouts...), and says whether any check
has ever seen it answer (``never_answered``). Endpoints found by discovery (the connectors', kept in
``<state_dir>/discovered.json``) are checked and shown with the YAML to paste; a source with
``discovery: true`` whose configured endpoints are all broken, or that lists none, gets a discovery
of its own here. Closed and archived outlets are listed, not fetched.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Callable

from connectors.autodiscover import DiscoveryState, is_broken, rediscover_after
from connectors.base import ParseError
from connectors.blocking import challenge_marker
from connectors.discovery import EndpointFinder, Found, Outcome, Reading, endpoints_yaml
from connectors.kinds import discovery_for
from connectors.http import FetchError, PoliteClient
from connectors.registry import Endpoint, Kind, Source, VerificationState
from pipeline.core.settings import Settings


@dataclass
class CheckResult(Reading):
    source: str
    kind: str  # feed | sitemap | section; "source" for a closed/archived outlet, "discovery" when none was found
    url: str
    ok: bool
    error: str | None = None
    state: str = "broken"  # ok | blocked | broken | closed | archive
    blocked: bool = False
    never_answered: bool = False  # no check has ever seen it answer (filled in from the state file)
    discovered: bool = False  # found by endpoint discovery, not listed in the registry
    via: str | None = None  # how discovery found it
    yaml: str | None = None  # for a discovered endpoint: the lines to paste under the source

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def counts_as_failure(self) -> bool:
        return self.state in ("blocked", "broken")


def _failed(res: CheckResult, reason: str, *, blocked: bool) -> CheckResult:
    res.error = reason
    res.blocked = blocked
    res.state = "blocked" if blocked else "broken"
    return res


async def check_endpoint(client: PoliteClient, source: Source, kind: Kind, endpoint: Endpoint) -> CheckResult:
    res = CheckResult(source=source.id, kind=kind, url=endpoint.url, ok=False)
    try:
        resp = await client.get(endpoint.url, source=source.id, kind=kind, retries=0)
    except FetchError as e:
        res.status = e.status
        return _failed(res, e.reason, blocked=e.blocked)
    res.status = resp.status
    res.latency_s = round(resp.elapsed, 3)
    if challenge_marker(resp.status, resp.headers, resp.body):
        return _failed(res, "waf_challenge", blocked=True)
    try:
        found = await asyncio.to_thread(discovery_for(kind, source, endpoint).parse, resp.body, resp.final_url,
                                        resp.content_type)
    except ParseError as e:
        return _failed(res, e.reason, blocked=False)
    res.entries = found.entries
    res.articles = len(found.candidates)
    res.children = len(found.children)
    lp = found.last_published()
    res.last_published = lp.isoformat() if lp else None
    res.ok = bool(found.candidates or found.children)
    if not res.ok:
        return _failed(res, "no_article_links" if found.entries else "no_entries", blocked=False)
    res.state = "ok"
    return res


def _from_found(source: Source, f: Found, when: str) -> CheckResult:
    """The check result of an endpoint discovery has just validated (no second fetch)."""
    return CheckResult(source=source.id, kind=f.kind, url=f.url, ok=True, status=f.status, latency_s=f.latency_s,
                       entries=f.entries, articles=f.articles, children=f.children, last_published=f.last_published,
                       state="ok", discovered=True, via=f.via, yaml=endpoints_yaml([f], when))


def _due(state: DiscoveryState, source: Source, settings: Settings) -> bool:
    rec = state.get(source.id)
    outcome = state.outcome(source)
    if outcome is None or rec is None:
        return True
    return time.time() - float(rec.get("ts") or 0.0) > rediscover_after(outcome, settings)


async def check_sources(
    settings: Settings,
    sources: list[Source],
    *,
    on_result: Callable[[CheckResult], None] | None = None,
    save: bool = True,
    discover: bool = True,
) -> list[CheckResult]:
    state = VerificationState(settings.state_dir)
    found_state = DiscoveryState(settings.state_dir)
    results: list[CheckResult] = []

    def emit(r: CheckResult, record: bool = True) -> None:
        if record:
            state.record(r.url, r.as_dict())
            r.never_answered = state.never_answered(r.url)
        results.append(r)
        if on_result is not None:
            on_result(r)

    async with PoliteClient(settings) as client:

        async def one(src: Source, kind: Kind, ep: Endpoint, *, found: Found | None = None,
                      when: str = "") -> CheckResult:
            r = await check_endpoint(client, src, kind, ep)
            if found is not None:  # found by an earlier discovery: its evidence line, today's figures
                r.discovered, r.via = True, found.via
                r.yaml = endpoints_yaml([Found(kind=kind, url=ep.url, via=found.via, seen_on=found.seen_on,
                                               articles=r.articles or found.articles,
                                               last_published=r.last_published)], when)
            emit(r)
            return r

        async def source_check(src: Source) -> None:
            if not src.live:
                emit(CheckResult(source=src.id, kind="source", url=src.homepage, ok=False,
                                 state=src.status if src.status != "active" else "disabled"), record=False)
                return
            own = await asyncio.gather(*(one(src, k, e) for k, e in src.endpoints()))
            known = found_state.outcome(src)
            configured = {e.url for _, e in src.endpoints()}
            if known is not None and known.found:
                await asyncio.gather(*(one(src, f.kind, Endpoint(url=f.url), found=f, when=known.at)
                                       for f in known.found if f.url not in configured))
            all_broken = all(not r.ok and is_broken(r.error or "") for r in own)
            if not (discover and src.discovery and all_broken and _due(found_state, src, settings)):
                return
            outcome: Outcome = await EndpointFinder(client, src, exclude=configured).find(
                [e.url for k, e in src.endpoints() if k == "section"])
            found_state.put(src.id, outcome, trigger="sources check", handled=[r.url for r in own])
            for f in outcome.found:
                emit(_from_found(src, f, outcome.at))
            if not outcome.found:
                r = CheckResult(source=src.id, kind="discovery", url=src.homepage, ok=False)
                emit(_failed(r, outcome.error or "none_found", blocked=outcome.blocked), record=False)

        await asyncio.gather(*(source_check(s) for s in sources))
    if save:
        state.save()
        found_state.save()
    order = {s.id: i for i, s in enumerate(sources)}
    ep_order = {(s.id, e.url): i for s in sources for i, (_, e) in enumerate(s.endpoints())}
    results.sort(key=lambda r: (order.get(r.source, 0), r.discovered, r.kind == "discovery",
                                ep_order.get((r.source, r.url), 0)))
    return results
