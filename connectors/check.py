"""``rasid sources check``: fetch each endpoint once and say whether it works.

Uses the same polite client and parsers as the connectors (robots.txt, per-host
limits, byte cap), no Kafka. An endpoint that answers 2xx and parses is marked
verified in the state file; ``sources list`` shows the result.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Callable

from connectors.base import ParseError
from connectors.kinds import discovery_for
from connectors.http import FetchError, PoliteClient
from connectors.registry import Endpoint, Kind, Source, VerificationState
from pipeline.core.settings import Settings


@dataclass
class CheckResult:
    source: str
    kind: str
    url: str
    ok: bool
    status: int | None = None
    latency_s: float | None = None
    entries: int = 0
    articles: int = 0
    children: int = 0
    last_published: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def check_endpoint(client: PoliteClient, source: Source, kind: Kind, endpoint: Endpoint) -> CheckResult:
    res = CheckResult(source=source.id, kind=kind, url=endpoint.url, ok=False)
    try:
        resp = await client.get(endpoint.url, source=source.id, kind=kind, retries=0)
    except FetchError as e:
        res.status = e.status
        res.error = e.reason
        return res
    res.status = resp.status
    res.latency_s = round(resp.elapsed, 3)
    try:
        found = await asyncio.to_thread(discovery_for(kind, source, endpoint).parse, resp.body, resp.final_url,
                                        resp.content_type)
    except ParseError as e:
        res.error = e.reason
        return res
    res.entries = found.entries
    res.articles = len(found.candidates)
    res.children = len(found.children)
    lp = found.last_published()
    res.last_published = lp.isoformat() if lp else None
    res.ok = bool(found.candidates or found.children)
    if not res.ok:
        res.error = "no_entries"
    return res


async def check_sources(
    settings: Settings,
    sources: list[Source],
    *,
    on_result: Callable[[CheckResult], None] | None = None,
    save: bool = True,
) -> list[CheckResult]:
    state = VerificationState(settings.state_dir)
    results: list[CheckResult] = []
    async with PoliteClient(settings) as client:

        async def one(src: Source, kind: Kind, ep: Endpoint) -> None:
            r = await check_endpoint(client, src, kind, ep)
            results.append(r)
            state.record(ep.url, r.as_dict())
            if on_result is not None:
                on_result(r)

        await asyncio.gather(*(one(s, k, e) for s in sources for k, e in s.endpoints()))
    if save:
        state.save()
    order = {(s.id, e.url): i for i, s in enumerate(sources) for e in (x[1] for x in s.endpoints())}
    results.sort(key=lambda r: order.get((r.source, r.url), 0))
    return results
