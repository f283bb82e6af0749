"""The source registry: ``config/sources.yaml`` parsed and validated once, at start.

A typo in the registry must stop the process with a message that names the
source and the field, not surface hours later as a feed that silently never
polls. Endpoints carry ``verified: false`` until ``rasid sources check`` has
seen them answer; check results live in a state file (see ``VerificationState``)
so the committed YAML stays a hand-edited document.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import regex
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.core.dates import zone
from pipeline.core.ids import SOURCE_ID_RE
from pipeline.core.statefile import read_entries, write_entries
from pipeline.core.urls import UnsafeURL, check_url_syntax
from pipeline.core.yamlfile import ConfigError, line_of, load_yaml_lines

Kind = Literal["feed", "sitemap", "section"]
# What kind of outlet a source is (a label for analysts; see the header of config/sources.yaml).
Category = Literal["syrian-independent", "syrian-opposition", "syrian-government", "kurdish-region", "regional",
                   "international", "agency"]
# active: polled; archive: publishing stopped, site kept as an archive; closed: gone. Only active ones are polled.
Status = Literal["active", "closed", "archive"]

# The clock an outlet's pages most likely keep, by the country of its base: a page time written without an
# offset («25 سبتمبر 2020 - 09:06 م», a meta tag without one) is read in it (``Source.local_timezone``), not
# as UTC, which put a Damascus or Istanbul time three hours late; so is a feed's, sitemap's or section card's
# date without one (``connectors.base.Discovery.local_tz``). A source's own ``timezone`` overrides it.
COUNTRY_ZONES = {
    "AE": "Asia/Dubai", "CN": "Asia/Shanghai", "DE": "Europe/Berlin", "DZ": "Africa/Algiers", "EG": "Africa/Cairo",
    "FR": "Europe/Paris", "GB": "Europe/London", "IQ": "Asia/Baghdad", "IR": "Asia/Tehran", "JO": "Asia/Amman",
    "KW": "Asia/Kuwait", "LB": "Asia/Beirut", "MA": "Africa/Casablanca", "NL": "Europe/Amsterdam",
    "PS": "Asia/Hebron", "QA": "Asia/Qatar", "RU": "Europe/Moscow", "SA": "Asia/Riyadh", "SY": "Asia/Damascus",
    "TN": "Africa/Tunis", "TR": "Europe/Istanbul", "US": "America/New_York", "YE": "Asia/Aden",
}

# Bounds of the values a source may set. Intervals go down to 0.1 s for local test outlets:
# politeness never rests on them (every request waits for per_host_delay_s and Crawl-delay).
MIN_INTERVAL_S = 0.1
MAX_POLL_INTERVAL_S = 86_400.0  # a day
MAX_BACKOFF_INTERVAL_S = 7 * 86_400.0  # adaptive polling of a quiet or failing endpoint: a week at most
MAX_ITEMS = 1_000  # newest links per endpoint per poll (a Google News sitemap holds 1,000)
MAX_ENDPOINTS = 50  # feeds, sitemaps or sections of one source
MAX_PATTERN_CHARS = 500
# A `pattern` runs over every link of a section page (path+query, up to 4,096 characters): it must
# answer within this budget on adversarial input, or it is refused at load (and cut at run time).
PATTERN_BUDGET_S = 0.05


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """A section ``pattern`` compiled (the ``regex`` engine: its searches take a timeout)."""
    return regex.compile(pattern, regex.VERSION0)


def _adversarial_inputs(pattern: str) -> list[str]:
    """Long runs of the characters the pattern names (and of usual URL characters), each ending in
    a character that fails the match: what makes nested or overlapping quantifiers backtrack."""
    chars = {c for c in pattern if c.isalnum() or c in "-_/.%~=&?"} | set("a0-/_.%ا")
    out = []
    for c in sorted(chars)[:40]:
        out.append("/" + c * 4000 + "\x00")
    for unit in ("a-", "-a", "/a", "a/", "a.", "%D8", "a1", "-0"):
        out.append("/" + unit * (4000 // len(unit)) + "\x00")
    return out


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used as a section pattern, or None."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"longer than {MAX_PATTERN_CHARS} characters"
    try:
        rx = compile_pattern(pattern)
    except (regex.error, ValueError, OverflowError) as e:
        return f"not a valid regular expression: {e}"
    for s in _adversarial_inputs(pattern):
        try:
            rx.search(s, timeout=PATTERN_BUDGET_S)
        except TimeoutError:
            return (f"backtracks catastrophically (over {PATTERN_BUDGET_S * 1000:.0f} ms on a {len(s)}-character "
                    "path): avoid nested or overlapping quantifiers such as (a+)+ or .*-.*-.*")
    return None


class RegistryError(SystemExit):
    """The registry file is unusable; the message names the file, source and field."""


class Endpoint(BaseModel):
    """One URL polled for article links."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str
    verified: bool = False
    note: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        try:
            check_url_syntax(v)
        except UnsafeURL as e:
            raise ValueError(str(e)) from None
        return v


class Section(Endpoint):
    """An HTML listing page; ``selector`` picks the article links, else ``pattern``/heuristic."""

    selector: str | None = Field(None, max_length=500)  # CSS selector of <a> elements (or of containers holding one)
    pattern: str | None = None  # regex an article URL's path(+query) must match

    @field_validator("pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            problem = pattern_problem(v)
            if problem:
                raise ValueError(problem)
        return v

    @field_validator("selector")
    @classmethod
    def _css(cls, v: str | None) -> str | None:
        if v is not None:
            from selectolax.lexbor import LexborHTMLParser as HTMLParser

            try:
                HTMLParser("<p></p>").css(v)
            except Exception as e:  # selectolax raises a plain exception on bad selectors
                raise ValueError(f"not a valid CSS selector: {e}") from None
        return v


def _coerce_endpoints(v: Any) -> Any:
    """Allow a bare URL string where an endpoint mapping is expected."""
    if isinstance(v, list):
        return [{"url": x} if isinstance(x, str) else x for x in v]
    return v


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SOURCE_ID_RE)
    name: str = Field(min_length=1)
    name_en: str | None = None
    homepage: str
    language: str = Field("ar", pattern=r"^[a-z]{2}$")
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    category: Category | None = None
    # IANA zone of the outlet's clock (default: its country's, COUNTRY_ZONES); only for page times without an offset
    timezone: str | None = None
    # an outlet that stopped publishing is kept (its id stays on old documents) but never polled as live
    status: Status = "active"
    # public reports of 403s/refusals to datacenter clients: a failing check is expected, not a typo
    blocked_hint: bool = False
    note: str | None = Field(None, max_length=1000)
    # find feeds and sitemaps from the homepage, robots.txt and the usual paths when the configured
    # endpoints fail or there are none (connectors/discovery.py); off unless the file's defaults say so
    discovery: bool = False
    enabled: bool = True
    poll_interval: float = Field(300.0, ge=MIN_INTERVAL_S, le=MAX_POLL_INTERVAL_S)
    # adaptive polling floor (default poll_interval/4) and ceiling (default poll_interval*8)
    min_interval: float | None = Field(None, ge=MIN_INTERVAL_S, le=MAX_POLL_INTERVAL_S)
    max_interval: float | None = Field(None, ge=MIN_INTERVAL_S, le=MAX_BACKOFF_INTERVAL_S)
    max_items: int = Field(200, ge=1, le=MAX_ITEMS)  # newest links taken per endpoint per poll
    track_updates: bool = False  # re-produce a seen article (update=True) when it changed
    update_recheck_s: float = Field(3600.0, ge=0, le=30 * 86_400.0)  # how often a seen article may be re-checked
    feeds: list[Endpoint] = Field(default_factory=list, max_length=MAX_ENDPOINTS)
    sitemaps: list[Endpoint] = Field(default_factory=list, max_length=MAX_ENDPOINTS)
    sections: list[Section] = Field(default_factory=list, max_length=MAX_ENDPOINTS)

    @field_validator("feeds", "sitemaps", "sections", mode="before")
    @classmethod
    def _coerce(cls, v: Any) -> Any:
        return _coerce_endpoints(v)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        if v is not None and zone(v) is None:
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Asia/Damascus)")
        return v

    @field_validator("homepage")
    @classmethod
    def _homepage(cls, v: str) -> str:
        try:
            check_url_syntax(v)
        except UnsafeURL as e:
            raise ValueError(str(e)) from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Source":
        if not (self.feeds or self.sitemaps or self.sections or self.discovery or self.status != "active"):
            raise ValueError("needs at least one of feeds, sitemaps, sections (or discovery: true to find them "
                             "from the homepage)")
        lo, hi = self.interval_bounds()
        if lo > self.poll_interval or hi < self.poll_interval:
            raise ValueError("min_interval <= poll_interval <= max_interval must hold")
        return self

    def local_timezone(self) -> str | None:
        """The zone a page time written without an offset is read in: the source's own, else its country's."""
        return self.timezone or COUNTRY_ZONES.get(self.country or "")

    def interval_bounds(self) -> tuple[float, float]:
        lo = self.min_interval if self.min_interval is not None else max(MIN_INTERVAL_S, self.poll_interval / 4)
        hi = self.max_interval if self.max_interval is not None else min(MAX_BACKOFF_INTERVAL_S, self.poll_interval * 8)
        return lo, hi

    @property
    def live(self) -> bool:
        """Polled by the connectors: enabled and still publishing (not closed, not an archive)."""
        return self.enabled and self.status == "active"

    def endpoints(self) -> list[tuple[Kind, Endpoint]]:
        out: list[tuple[Kind, Endpoint]] = []
        out += [("feed", e) for e in self.feeds]
        out += [("sitemap", e) for e in self.sitemaps]
        out += [("section", e) for e in self.sections]
        return out


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sources: list[Source]

    @model_validator(mode="after")
    def _unique_ids(self) -> "Registry":
        seen: set[str] = set()
        for s in self.sources:
            if s.id in seen:
                raise ValueError(f"duplicate source id {s.id!r}")
            seen.add(s.id)
        return self

    def get(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)

    def select(self, ids: list[str] | tuple[str, ...] | None, *, include_disabled: bool = False) -> list[Source]:
        """The sources named by ``ids`` (unknown ids are an error), else every enabled one (closed and
        archived ones included: callers that poll keep only ``Source.live`` ones)."""
        if ids:
            known = {s.id for s in self.sources}
            unknown = [i for i in ids if i not in known]
            if unknown:
                raise RegistryError(f"unknown source id(s): {', '.join(unknown)} (see `rasid sources list`)")
            return [s for s in self.sources if s.id in ids]
        return [s for s in self.sources if s.enabled or include_disabled]

    def live(self) -> list[Source]:
        """The sources the connectors poll: enabled and active."""
        return [s for s in self.sources if s.live]


def _explain(path: Path, raw: dict[str, Any], err: ValidationError, source_lines: list[int | None]) -> str:
    lines = [f"{path}: invalid source registry:"]
    sources = raw.get("sources") if isinstance(raw, dict) else None
    for e in err.errors():
        loc = list(e["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
            idx = loc[1]
            sid = None
            if isinstance(sources, list) and idx < len(sources) and isinstance(sources[idx], dict):
                sid = sources[idx].get("id")
            field = ".".join(str(p) for p in loc[2:]) or "(entry)"
            line = source_lines[idx] if idx < len(source_lines) else None
            at = f"line {line}, " if line else ""
            where = f"source {sid!r} ({at}entry #{idx + 1}), field {field}"
        lines.append(f"  {where}: {e['msg']}")
    return "\n".join(lines)


def parse_registry(data: Any, path: Path | str = "<sources>") -> Registry:
    """Validate an already-loaded YAML document; errors name the source and field."""
    path = Path(path)
    if data is None or not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a mapping with a `sources:` list")
    defaults = data.get("defaults") or {}
    doc = {k: v for k, v in data.items() if k != "defaults"}
    source_lines = [line_of(s) for s in doc["sources"]] if isinstance(doc.get("sources"), list) else []
    if isinstance(doc.get("sources"), list) and defaults:
        doc["sources"] = [{**defaults, **s} if isinstance(s, dict) else s for s in doc["sources"]]
    try:
        return Registry.model_validate(doc)
    except ValidationError as err:
        raise RegistryError(_explain(path, doc, err, source_lines)) from None


def load_registry(path: Path | str) -> Registry:
    """Read and validate the registry; a duplicate key is an error naming the file and line."""
    path = Path(path)
    try:
        data = load_yaml_lines(path)
    except ConfigError as e:
        raise RegistryError(f"invalid source registry: {e}") from None
    return parse_registry(data, path)


def source_timezone(path: Path | str, source_id: str) -> str | None:
    """The zone of source ``source_id`` in the registry at ``path`` (``Source.local_timezone``); None when
    the registry cannot be read or does not know the source."""
    try:
        reg = load_registry(path)
    except RegistryError:
        return None
    return next((s.local_timezone() for s in reg.sources if s.id == source_id), None)


class VerificationState:
    """Results of ``rasid sources check`` per endpoint URL, kept in ``<state_dir>/sources-check.json``.

    Besides the last result, each URL keeps ``last_ok_at``: when it last answered and parsed, so a
    report can say "never answered" of an endpoint no check has ever seen working."""

    FILE = "sources-check.json"

    def __init__(self, state_dir: Path | str) -> None:
        self.path = Path(state_dir) / self.FILE
        self.results: dict[str, dict[str, Any]] = read_entries(self.path, "endpoints")

    def record(self, url: str, result: dict[str, Any]) -> None:
        now = datetime.now(timezone.utc).isoformat()
        last_ok = now if result.get("ok") else (self.results.get(url) or {}).get("last_ok_at")
        self.results[url] = {**result, "checked_at": now, "last_ok_at": last_ok}

    def verified(self, endpoint: Endpoint) -> bool:
        """Verified when the YAML says so or the last check saw it answer with entries or a 2xx/304."""
        if endpoint.verified:
            return True
        r = self.results.get(endpoint.url)
        return bool(r and r.get("ok"))

    def state(self, url: str) -> str:
        """``ok``, ``blocked`` (the outlet refuses us), ``broken`` or ``never checked`` (last check)."""
        r = self.results.get(url)
        if not r:
            return "never checked"
        if r.get("ok"):
            return "ok"
        return "blocked" if r.get("blocked") or r.get("state") == "blocked" else "broken"

    def never_answered(self, url: str) -> bool:
        """No check has ever seen this endpoint answer and parse."""
        r = self.results.get(url)
        return not (r and r.get("last_ok_at"))

    def save(self) -> None:
        write_entries(self.path, self.results, "endpoints", merge=False)
