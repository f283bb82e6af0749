"""robots.txt per host, cached with a TTL (urllib.robotparser does the parsing).

RFC 9309 semantics for failures: a 4xx robots.txt means "no rules" (allow all);
a 5xx or an unreachable host means "assume disallowed" and try again soon,
so a broken server is not crawled harder than a healthy one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.robotparser import RobotFileParser

# Crawl-delay is honoured up to this many seconds; beyond it we assume a typo.
MAX_CRAWL_DELAY = 60.0
# Retry interval after a robots.txt that failed with 5xx / network errors.
FAILURE_TTL = 300.0


@dataclass
class RobotsRules:
    parser: RobotFileParser | None  # None = no rules (allow all)
    fetched_at: float
    ttl: float
    disallow_all: bool = False
    status: int | None = None
    crawl_delay: float | None = None
    sitemaps: list[str] = field(default_factory=list)

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.monotonic()) - self.fetched_at > self.ttl

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.disallow_all:
            return False
        if self.parser is None:
            return True
        return self.parser.can_fetch(_product_token(user_agent), url)


def _product_token(user_agent: str) -> str:
    """robots.txt groups match the product token ("RasidBot"), not the full UA string."""
    return user_agent.split("/", 1)[0].split(" ", 1)[0] or user_agent


def parse_robots(text: str, user_agent: str, *, ttl: float, status: int = 200) -> RobotsRules:
    rp = RobotFileParser()
    rp.parse(text.splitlines())
    delay = None
    try:
        d = rp.crawl_delay(_product_token(user_agent))
        if d is not None:
            delay = min(float(d), MAX_CRAWL_DELAY)
    except (TypeError, ValueError):
        delay = None
    return RobotsRules(
        parser=rp,
        fetched_at=time.monotonic(),
        ttl=ttl,
        status=status,
        crawl_delay=delay,
        sitemaps=list(rp.site_maps() or []),
    )


def rules_for_status(status: int | None, *, ttl: float) -> RobotsRules:
    """Rules when robots.txt could not be read as a 2xx: 4xx → allow all, 5xx/None → disallow all (briefly)."""
    now = time.monotonic()
    if status is not None and 400 <= status < 500:
        return RobotsRules(parser=None, fetched_at=now, ttl=ttl, status=status)
    return RobotsRules(parser=None, fetched_at=now, ttl=min(ttl, FAILURE_TTL), disallow_all=True, status=status)
