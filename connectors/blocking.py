"""Blocked, not broken: tell a refusal of our client apart from an endpoint that does not work.

Many outlets answer datacenter clients with a 403, a Web Application Firewall challenge page or a
refused/reset connection, while the same URL works from a browser. Such an endpoint is not
broken (its URL is right, discovering another one would hit the same wall) and polling it every
few minutes only annoys the outlet, so it is reported as ``blocked`` and retried hours later
(``Settings.blocked_backoff_s``). Everything here looks at what the server sent and says which
refusal it was; the reasons are stable slugs used as log fields and metric labels.
"""

from __future__ import annotations

import errno
import re

from pipeline.core.metrics import SOURCE_BLOCKED

# Statuses that refuse the client rather than the URL: unauthorised, forbidden, unavailable for legal reasons.
BLOCKED_STATUSES = frozenset({401, 403, 451})
# Reasons a FetchError carries when the server (or something in front of it) refused us.
BLOCKED_REASONS = frozenset({"http_401", "http_403", "http_451", "waf_challenge", "connection_refused",
                             "connection_reset"})

# Markers of the usual WAF / bot-protection interstitials (Cloudflare, Imperva/Incapsula, Sucuri,
# Akamai, AWS WAF, DataDome, PerimeterX, DDoS-Guard), matched on the lower-cased head of small bodies.
# Strong ones appear only on challenge/block pages; weak ones are also injected into ordinary pages
# of protected sites (Cloudflare's JS detections, Incapsula's resource script), so they count only
# on a refusing status. Plain substrings, and patterns that start with a literal: a case-insensitive
# alternation scanned every position of every page (~2 ms a page, a sixth of the connectors' time).
_STRONG_TEXT = (b"cf-browser-verification", b"incapsula incident id", b"sucuri_cloudproxy_js",
                b"sucuri website firewall - access denied", b"geo.captcha-delivery.com", b"ddos-guard</title>")
_STRONG_TITLE = re.compile(
    rb"<title>\s*(?:just a moment\.\.\.|attention required! \| cloudflare)"
    rb"|<title>\s*access denied\s*</title>[\s\S]{0,2000}?reference&#32;&#35;"
)
_WEAK_TEXT = (b"/cdn-cgi/challenge-platform/", b"_incapsula_resource", b"awswafintegration", b"awswaf.com",
              b"captcha-delivery.com", b"_pxcaptcha", b"px-captcha", b"ddos-guard.net/")
_WEAK_TITLE = re.compile(rb"<title>\s*(?:access denied|forbidden|403 forbidden)")
REFUSING_STATUSES = frozenset({403, 429, 503})
CHALLENGE_SCAN_BYTES = 32_768  # markers sit in the head of the page
MAX_CHALLENGE_PAGE = 256_000  # a real article or feed is not mistaken for an interstitial


def challenge_marker(status: int, headers: dict[str, str], body: bytes) -> bool:
    """Whether a response is a bot-protection challenge or block page (any status; the markers that
    ordinary pages of protected sites carry too count only with 403, 429 or 503)."""
    if (headers.get("cf-mitigated") or "").lower() == "challenge":
        return True
    if len(body) > MAX_CHALLENGE_PAGE:
        return False
    head = body[:CHALLENGE_SCAN_BYTES].lower()
    if any(m in head for m in _STRONG_TEXT) or _STRONG_TITLE.search(head):
        return True
    return status in REFUSING_STATUSES and (any(m in head for m in _WEAK_TEXT) or bool(_WEAK_TITLE.search(head)))


def network_refusal(exc: BaseException) -> str | None:
    """``connection_refused`` / ``connection_reset`` when the cause chain of a transport error holds
    one (httpx wraps the OSError twice), else None: a timeout or a DNS failure is not a refusal."""
    seen = 0
    x: BaseException | None = exc
    while x is not None and seen < 10:
        if isinstance(x, ConnectionRefusedError) or getattr(x, "errno", None) == errno.ECONNREFUSED:
            return "connection_refused"
        if isinstance(x, ConnectionResetError) or getattr(x, "errno", None) == errno.ECONNRESET:
            return "connection_reset"
        text = str(x).lower()
        if "connection reset by peer" in text or "[errno 104]" in text:
            return "connection_reset"
        if "connection refused" in text or "[errno 111]" in text:
            return "connection_refused"
        x = x.__cause__ or x.__context__
        seen += 1
    return None


def is_blocked_reason(reason: str | None) -> bool:
    return reason in BLOCKED_REASONS


class BlockedEndpoints:
    """Which endpoints are blocked now, and how long to leave each alone: ``base`` seconds after the
    first refusal, doubling per refusal up to ``cap``. ``rasid_source_blocked_endpoints{source}``
    counts them per source (``rasid status`` shows a source as blocked from it)."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = max(cap, base)
        self.streak: dict[tuple[str, str], int] = {}

    def on_blocked(self, source_id: str, url: str) -> float:
        """Record a refusal; the delay before the endpoint is tried again."""
        key = (source_id, url)
        n = self.streak.get(key, 0) + 1
        self.streak[key] = n
        self._report(source_id)
        return min(self.cap, self.base * 2 ** min(n - 1, 30))

    def on_answer(self, source_id: str, url: str) -> bool:
        """The endpoint answered; True when it had been blocked until now."""
        if self.streak.pop((source_id, url), None) is None:
            return False
        self._report(source_id)
        return True

    def count(self, source_id: str) -> int:
        return sum(1 for (sid, _) in self.streak if sid == source_id)

    def _report(self, source_id: str) -> None:
        SOURCE_BLOCKED.labels(source_id).set(self.count(source_id))
