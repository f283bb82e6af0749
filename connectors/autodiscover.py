"""The connectors' side of endpoint discovery: when to look, what to keep, and polling what was found.

One task per source with ``discovery: true``. It looks for endpoints (``connectors.discovery``)

- at start, when the source lists none and nothing found earlier is still fresh;
- when one of its endpoints fails as *broken* (404/410, not a feed, no article links, disallowed
  by robots.txt), not when it is *blocked* (another URL of a refusing outlet is refused too) or
  merely unreachable for a while (timeouts and 5xx heal by themselves);
- when an endpoint it found fails too, and again once its results are ``discovery_ttl_s`` old
  (``discovery_retry_s`` when it found nothing).

What it finds is polled like any configured endpoint (the runner's own endpoint loop) and kept in
``<state_dir>/discovered.json`` with the trigger and the failing URLs it answered, so a restart
polls the same endpoints at once instead of discovering again, and ``rasid sources list|check``
show them with the YAML to paste into config/sources.yaml. Each discovery is one log line.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Coroutine, Protocol

from connectors.discovery import EndpointFinder, Outcome, endpoints_yaml
from connectors.http import PoliteClient
from connectors.registry import Endpoint, Kind, Source
from pipeline.core.log import get_logger
from pipeline.core.metrics import ENDPOINT_DISCOVERIES
from pipeline.core.settings import Settings
from pipeline.core.statefile import read_entries, write_entries

log = get_logger("rasid.connectors.discovery")

# Failures that say the URL itself is wrong: another endpoint of the outlet may work.
BROKEN_REASONS = frozenset({
    "http_400", "http_404", "http_405", "http_406", "http_410", "not_a_feed", "not_a_sitemap", "not_html",
    "no_article_links", "malformed_feed", "malformed_xml", "empty_body", "binary_body", "robots_disallowed",
    "too_many_redirects", "redirect_without_location", "unsupported_encoding",
})
MIN_GAP_S = 60.0  # between two discoveries of one source (a failing found endpoint re-triggers at once)
UNREACHABLE_RETRY_S = 1800.0  # the homepage did not answer (DNS, timeout, 5xx): soon, it may be passing


def is_broken(reason: str) -> bool:
    return reason in BROKEN_REASONS


def rediscover_after(outcome: Outcome, settings: Settings) -> float:
    """How long an outcome stands: found endpoints ``discovery_ttl_s``; a refusing outlet the blocked
    backoff; an unanswering homepage half an hour; a homepage that offered nothing ``discovery_retry_s``."""
    if outcome.found:
        return settings.discovery_ttl_s
    if outcome.blocked:
        return settings.blocked_backoff_s
    if outcome.error:
        return min(settings.discovery_retry_s, UNREACHABLE_RETRY_S)
    return settings.discovery_retry_s


class DiscoveryState:
    """What discovery found per source, in ``<state_dir>/discovered.json`` (shared by every namespace:
    it describes outlets, not a deployment's progress)."""

    FILE = "discovered.json"

    def __init__(self, state_dir: Path | str) -> None:
        self.path = Path(state_dir) / self.FILE
        self.sources: dict[str, dict[str, Any]] = self._read()
        self._changed: set[str] = set()

    def _read(self) -> dict[str, dict[str, Any]]:
        return read_entries(self.path, "sources")

    def get(self, source_id: str) -> dict[str, Any] | None:
        return self.sources.get(source_id)

    def outcome(self, source: Source) -> Outcome | None:
        """The last outcome for ``source``, if it was found for the homepage the registry lists now."""
        rec = self.sources.get(source.id)
        if not rec or rec.get("homepage") != source.homepage:
            return None
        try:
            return Outcome.from_dict(rec)
        except (TypeError, ValueError):
            return None

    def put(self, source_id: str, outcome: Outcome, *, trigger: str, handled: set[str] | list[str]) -> None:
        self.sources[source_id] = {**outcome.as_dict(), "trigger": trigger, "ts": time.time(),
                                   "handled": sorted(handled)}
        self._changed.add(source_id)

    def save(self) -> None:
        """Write atomically, keeping what another process (another instance, `sources check`) wrote
        for other sources meanwhile."""
        try:
            self.sources = write_entries(self.path, {k: self.sources[k] for k in self._changed if k in self.sources},
                                         "sources")
            self._changed.clear()
        except OSError:
            log.warning("could not save discovered endpoints", exc_info=True,
                        extra={"stage": "discover", "path": str(self.path)})


def log_outcome(source: Source, outcome: Outcome, trigger: str) -> None:
    """The one log line of a discovery, and its count."""
    if outcome.found:
        ENDPOINT_DISCOVERIES.labels(source.id, "found").inc()
        log.info("endpoints discovered", extra={
            "stage": "discover", "source": source.id, "trigger": trigger,
            "endpoints": [f"{f.kind} {f.url} ({f.via})" for f in outcome.found],
            "yaml": endpoints_yaml(outcome.found, outcome.at)})
    else:
        outcome_label = "blocked" if outcome.blocked else "none"
        ENDPOINT_DISCOVERIES.labels(source.id, outcome_label).inc()
        # unreachable outlet: its failure is already told (connectors.failures); nothing found on a live
        # site is news for the operator
        network = outcome.error in ("unresolvable_host", "network_error", "timeout")
        (log.info if network else log.warning)("no endpoints discovered", extra={
            "stage": "discover", "source": source.id, "trigger": trigger, "reason": outcome.error or "none_found",
            "blocked": outcome.blocked, "tried": [f"{u} ({r})" for u, r in outcome.tried[:12]]})


class Runner(Protocol):
    """What discovery uses of ``connectors.runner.ConnectorRunner`` (a protocol: no import circle)."""

    settings: Settings
    client: PoliteClient
    stop_event: asyncio.Event
    once: bool
    own: Any  # connectors.kafka.Ownership: which sources this instance works on

    def stopping(self) -> bool: ...

    async def parse(self, fn: Any, *args: Any) -> Any: ...

    async def _sleep(self, seconds: float) -> None: ...

    async def _wait_ownership(self) -> None: ...

    def _endpoint_loop(self, source: Source, kind: Kind, endpoint: Endpoint,
                       discovered: bool = False) -> Coroutine[Any, Any, None]: ...


@dataclass
class _Run:
    """Discovery of one source while the connectors run."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str | None = None
    handled: set[str] = field(default_factory=set)  # configured URLs whose failure a discovery answered
    failing: set[str] = field(default_factory=set)  # found URLs that failed since the last discovery
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # found URL -> its endpoint loop
    retired: list[asyncio.Task[None]] = field(default_factory=list)  # loops of endpoints no longer found
    outcome: Outcome | None = None
    at: float = 0.0  # wall time of the outcome
    last: float = -MIN_GAP_S  # monotonic time of the last discovery


class AutoDiscovery:
    def __init__(self, runner: Runner) -> None:
        self.r = runner
        self.state = DiscoveryState(runner.settings.state_dir)
        self.runs: dict[str, _Run] = {}

    def found_urls(self, source_id: str) -> set[str]:
        run = self.runs.get(source_id)
        return set(run.tasks) if run else set()

    def trigger(self, source: Source, url: str, reason: str, *, discovered: bool) -> None:
        """An endpoint of ``source`` failed as broken: look for others (at most once per failing
        configured URL while the answer is fresh; every time a found one fails)."""
        run = self.runs.get(source.id)
        if run is None:
            return
        if discovered:
            run.failing.add(url)
        elif url in run.handled:
            return
        else:
            run.handled.add(url)
        if run.reason is None:
            run.reason = f"{reason} {url}"
        run.event.set()

    def _due_in(self, run: _Run) -> float | None:
        if run.outcome is None:
            return None
        return max(0.0, run.at + rediscover_after(run.outcome, self.r.settings) - time.time())

    async def run_source(self, source: Source, configured: list[asyncio.Task[None]]) -> None:
        run = self.runs[source.id] = _Run()
        rec = self.state.get(source.id)
        outcome = self.state.outcome(source)
        if outcome is not None and rec is not None:
            run.outcome, run.at = outcome, float(rec.get("ts") or 0.0)
            run.handled = set(rec.get("handled") or [])
            self._use(source, run)
        if not source.endpoints() and (run.outcome is None or self._due_in(run) == 0.0):
            run.reason = "no_endpoints" if run.outcome is None else "expired"
        try:
            if self.r.once:
                if configured:
                    await asyncio.gather(*configured, return_exceptions=True)  # their failures trigger meanwhile
                if run.reason is not None and self.r.own.owns(source.id):
                    await self._discover(source, run)
            else:
                await self._loop(source, run)
            await asyncio.gather(*run.tasks.values(), *run.retired, return_exceptions=True)
        except asyncio.CancelledError:
            for t in run.tasks.values():
                t.cancel()
            await asyncio.gather(*run.tasks.values(), *run.retired, return_exceptions=True)
            raise

    async def _loop(self, source: Source, run: _Run) -> None:
        while not self.r.stopping():
            if run.reason is None:
                due = self._due_in(run)
                await self._wait(run, due)
                if self.r.stopping():
                    return
                if run.reason is None:
                    if due is None:
                        continue
                    run.reason = "expired"
            if not self.r.own.owns(source.id):  # another instance works on this source (and looks for it)
                self.r.own.changed.clear()
                await self.r._wait_ownership()
                continue
            gap = MIN_GAP_S - (time.monotonic() - run.last)
            if gap > 0:
                await self.r._sleep(gap)
                if self.r.stopping():
                    return
            await self._discover(source, run)

    async def _wait(self, run: _Run, timeout: float | None) -> None:
        ev = asyncio.create_task(run.event.wait())
        stop = asyncio.create_task(self.r.stop_event.wait())
        try:
            await asyncio.wait({ev, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ev.cancel()
            stop.cancel()

    async def _discover(self, source: Source, run: _Run) -> None:
        trigger = run.reason or "requested"
        run.reason = None
        run.event.clear()
        run.last = time.monotonic()
        configured = [e.url for _, e in source.endpoints()]
        exclude = set(configured) | run.failing
        pages = [e.url for k, e in source.endpoints() if k == "section"]
        try:
            outcome = await EndpointFinder(self.r.client, source, exclude=exclude, parse=self.r.parse).find(pages)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - a bug in discovery must not stop the source's other endpoints
            log.exception("endpoint discovery crashed", extra={"stage": "discover", "source": source.id,
                                                               "error": type(e).__name__})
            outcome = Outcome(homepage=source.homepage, error="internal_error")
        previous = run.outcome
        if not outcome.found and previous is not None and outcome.error:
            # the homepage did not answer this time: keep polling what worked, minus what failed since
            outcome.found = [f for f in previous.found if f.url not in run.failing]
        log_outcome(source, outcome, trigger)
        run.failing.clear()
        run.outcome, run.at = outcome, time.time()
        self.state.put(source.id, outcome, trigger=trigger, handled=run.handled)
        self.state.save()
        self._use(source, run)

    def _use(self, source: Source, run: _Run) -> None:
        """Poll what ``run.outcome`` lists; stop polling what it no longer lists."""
        assert run.outcome is not None
        configured = {e.url for _, e in source.endpoints()}
        wanted = {f.url: f for f in run.outcome.found if f.url not in configured}
        for url in [u for u in run.tasks if u not in wanted]:
            task = run.tasks.pop(url)
            task.cancel()
            run.retired.append(task)
        for url, f in wanted.items():
            if url not in run.tasks:
                run.tasks[url] = asyncio.create_task(
                    self.r._endpoint_loop(source, f.kind, Endpoint(url=url), discovered=True),
                    name=f"{source.id}:{f.kind}:{url} (discovered)")
