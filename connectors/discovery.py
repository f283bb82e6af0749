"""Endpoint discovery: find an outlet's feeds and news sitemaps from its homepage.

Outlets move their feeds (SANA's ``/feed/`` became malformed, Nedaa Syria became Nedaa Post, Zaman
al-Wasl's ``/rss.php`` became ``/rss``), and a third of the registry lists no endpoint at all: the
URLs that circulate disagree and none has evidence. Rather than trusting a guess, the connectors
look where an outlet itself says its endpoints are:

1. ``<link rel="alternate" type="application/rss+xml|application/atom+xml">`` on the homepage and on
   the source's section pages (how browsers and feed readers find feeds);
2. ``Sitemap:`` lines of robots.txt (how search engines find sitemaps); a sitemap index yields its
   news sitemaps;
3. only then the usual paths (``/feed``, ``/rss``, ``/rss.xml``; ``/news-sitemap.xml``,
   ``/sitemap-news.xml``, ``/sitemap.xml``), stopping at the first that works;
4. with nothing else, the homepage itself as a section page when it links enough articles.

A candidate is used only once it was fetched and parsed by the same parsers the connectors poll
with and listed article links. Every request goes through the one ``PoliteClient`` (robots.txt,
per-host lanes and Crawl-delay, netguard's address checks, byte caps). This module finds and
validates; ``connectors.autodiscover`` decides when, keeps the results and polls them.
(``base.Discovery`` is something else: the parser of one listing.)
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import urljoin, urlsplit

from connectors.base import Discovered, ParseError
from connectors.blocking import challenge_marker
from connectors.htmlsafe import TooDeep, parse_html
from connectors.http import FetchError, PoliteClient, Response
from connectors.registry import Endpoint, Kind, Source
from connectors.rss import FeedDiscovery
from connectors.section import SectionDiscovery
from connectors.sitemap import SitemapDiscovery
from pipeline.core.charset import decode_html
from pipeline.core.urls import UnsafeURL, canonicalize, resolve

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")
FEED_PATHS = ("feed", "rss", "rss.xml")
SITEMAP_PATHS = ("news-sitemap.xml", "sitemap-news.xml", "sitemap.xml")
MAX_FEEDS = 2  # feeds kept per outlet (its main feed, maybe one more); the rest repeat them
MAX_SITEMAPS = 2
MAX_CANDIDATES = 8  # advertised candidates of each kind validated at most (a page may link dozens)
MIN_SECTION_LINKS = 5  # the homepage counts as a section page only with this many article links
_SKIP_FEED = re.compile(r"/comments?/|[?&]comments|/wp-json/|/oembed", re.I)  # comment feeds, APIs
_NEWS = re.compile(r"news|akhbar|google", re.I)  # a news sitemap's name, among an index's children


@dataclass(kw_only=True)
class Reading:
    """What one read of an endpoint saw (discovery's validation and `sources check` alike)."""

    status: int | None = None
    latency_s: float | None = None
    entries: int = 0
    articles: int = 0
    children: int = 0
    last_published: str | None = None


@dataclass
class Found(Reading):
    """One validated endpoint, with what its validating read saw."""

    kind: Kind
    url: str
    via: str  # link_alternate | robots_sitemap | sitemap_index | usual_path | homepage_links
    seen_on: str  # the page or file that named it


@dataclass
class Outcome:
    homepage: str
    name: str | None = None  # the site's own name (og:site_name or <title>), for a new entry
    found: list[Found] = field(default_factory=list)
    tried: list[tuple[str, str]] = field(default_factory=list)  # (candidate, why not used)
    error: str | None = None  # the homepage could not be read: its reason
    blocked: bool = False  # ... because the outlet refuses us (403, challenge, refused connection)
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def endpoints(self) -> list[tuple[Kind, Endpoint]]:
        return [(f.kind, Endpoint(url=f.url)) for f in self.found]

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Outcome":
        found = [Found(**{k: v for k, v in f.items() if k in Found.__dataclass_fields__}) for f in d.get("found") or []]
        return cls(homepage=d.get("homepage", ""), name=d.get("name"), found=found,
                   tried=[tuple(x) for x in d.get("tried") or []], error=d.get("error"),
                   blocked=bool(d.get("blocked")), at=d.get("at") or "")


def feed_links(html: bytes, page_url: str, content_type: str | None = None) -> tuple[list[str], list[str], str | None]:
    """(feed URLs, sitemap URLs, site name) a page declares in its <head>."""
    try:
        tree = parse_html(decode_html(html, content_type).text)
    except TooDeep:
        return [], [], None
    feeds: list[str] = []
    sitemaps: list[str] = []
    for link in tree.css("link[rel][href]"):
        rels = (link.attributes.get("rel") or "").lower().split()
        ctype = (link.attributes.get("type") or "").lower().split(";")[0].strip()
        try:
            url = resolve(link.attributes.get("href") or "", page_url)
        except UnsafeURL:
            continue
        if "alternate" in rels and ctype in FEED_TYPES and not _SKIP_FEED.search(url) and url not in feeds:
            feeds.append(url)
        elif "sitemap" in rels and url not in sitemaps:
            sitemaps.append(url)
    name = None
    for sel, attr in (('meta[property="og:site_name"]', "content"), ('meta[name="application-name"]', "content")):
        node = tree.css_first(sel)
        if node is not None and (node.attributes.get(attr) or "").strip():
            name = (node.attributes.get(attr) or "").strip()
            break
    if name is None:
        node = tree.css_first("title")
        if node is not None:
            name = re.split(r"\s+[|\-–—]\s+", node.text(strip=True))[0].strip() or None
    return feeds, sitemaps, name[:200] if name else None


def usual_urls(homepage: str, names: tuple[str, ...]) -> list[str]:
    """``names`` under the homepage's section (``/arabic/feed`` for ``/arabic`` or ``/arabic/``) and
    under the site root (``/feed``)."""
    parts = urlsplit(homepage)
    root = f"{parts.scheme}://{parts.netloc}/"
    path = parts.path
    bases = []
    if path.strip("/"):
        last = path.rstrip("/").rsplit("/", 1)[-1]
        section = path if path.endswith("/") else (path + "/" if "." not in last else path.rsplit("/", 1)[0] + "/")
        bases.append(f"{parts.scheme}://{parts.netloc}{section}")
    out: list[str] = []
    for base in bases + [root]:
        for n in names:
            u = urljoin(base, n)
            if u not in out:
                out.append(u)
    return out


def _key(url: str) -> str:
    try:
        return canonicalize(url)
    except UnsafeURL:
        return url


Parse = Callable[..., Awaitable[Any]]


class EndpointFinder:
    """Finds and validates the endpoints of one outlet (see the module doc). ``source`` gives the
    parsers their limits and the site the section heuristic compares links with; ``exclude`` are
    URLs not to propose (configured already, or known to fail); ``parse(fn, *args)`` runs a parser
    off the event loop (the runner passes its own parse threads)."""

    def __init__(self, client: PoliteClient, source: Source, *, exclude: set[str] | frozenset[str] = frozenset(),
                 parse: Parse | None = None) -> None:
        self.client = client
        self.source = source
        self.parse: Parse = parse or asyncio.to_thread
        self.exclude = {_key(u) for u in exclude}
        self.outcome = Outcome(homepage=source.homepage)
        self._tried: set[str] = set()
        self._declared: dict[str, tuple[list[str], list[str]]] = {}  # page -> (feeds, sitemaps) it declares
        self._unreachable = False  # the homepage's host did not answer at all (DNS, address, timeout...)
        self._final: dict[str, str] = {}  # page -> its URL after redirects

    async def find(self, pages: list[str] | tuple[str, ...] = ()) -> Outcome:
        """Look at the homepage, then ``pages`` (section pages), robots.txt and the usual paths."""
        out = self.outcome
        home = self.source.homepage
        home_body = await self._page(home, keep_name=True)
        if out.blocked or self._unreachable:
            return out  # the outlet refuses us, or cannot be reached: probing more URLs would fail the same way
        declared = self._declared.get(home, ([], []))
        home = self._final.get(home, home)  # a moved outlet: its endpoints are on the site it redirects to
        feeds, sitemaps = list(declared[0]), list(declared[1])
        for page in pages:
            if _key(page) != _key(home) and await self._page(page) is not None:
                f, s = self._declared[page]
                feeds += [u for u in f if u not in feeds]
                sitemaps += [u for u in s if u not in sitemaps]
        try:
            rules = await self.client.robots_for(home)
            robots = list(rules.sitemaps)
        except FetchError as e:
            robots = []
            out.tried.append((home, f"robots: {e.reason}"))
        for url in feeds[:MAX_CANDIDATES]:
            if self._count("feed") < MAX_FEEDS:
                await self._try_feed(url, "link_alternate", home)
        for url in (sitemaps + robots)[:MAX_CANDIDATES]:
            if self._count("sitemap") < MAX_SITEMAPS:
                await self._try_sitemap(url, "link_alternate" if url in sitemaps else "robots_sitemap",
                                        home if url in sitemaps else urljoin(home, "/robots.txt"))
        if not self._count("feed"):
            for url in usual_urls(home, FEED_PATHS):
                if await self._try_feed(url, "usual_path", home, quiet=True):
                    break
        if not self._count("sitemap"):
            for url in usual_urls(home, SITEMAP_PATHS):
                if await self._try_sitemap(url, "usual_path", home, quiet=True):
                    break
        if not out.found and home_body is not None and _key(self.source.homepage) not in self.exclude:
            await self._try_section(home, home_body)
        return out

    # --- steps ---------------------------------------------------------------------------------

    async def _page(self, url: str, keep_name: bool = False) -> bytes | None:
        """An HTML page (homepage or section) and what its <head> declares; None when unreadable."""
        try:
            resp = await self.client.get(url, source=self.source.id, kind="section", retries=0)
        except FetchError as e:
            self.outcome.tried.append((url, e.reason))
            if keep_name:
                self.outcome.error, self.outcome.blocked = e.reason, e.blocked
                # no HTTP answer at all (no status) but for robots.txt's say: the host itself is out of reach
                self._unreachable = e.status is None and not e.reason.startswith("robots_")
            return None
        if challenge_marker(resp.status, resp.headers, resp.body):
            self.outcome.tried.append((url, "waf_challenge"))
            if keep_name:
                self.outcome.error, self.outcome.blocked = "waf_challenge", True
            return None
        feeds, sitemaps, name = await self.parse(feed_links, resp.body, resp.final_url, resp.content_type)
        self._declared[url] = (feeds, sitemaps)
        self._final[url] = resp.final_url
        if keep_name:
            self.outcome.name = name
        return resp.body

    def _count(self, kind: str) -> int:
        return sum(1 for f in self.outcome.found if f.kind == kind)

    def _fresh(self, url: str) -> bool:
        k = _key(url)
        if k in self._tried or any(_key(f.url) == k for f in self.outcome.found):
            return False
        self._tried.add(k)
        if k in self.exclude:
            self.outcome.tried.append((url, "excluded"))
            return False
        return True

    async def _read(self, kind: Kind, url: str, quiet: bool) -> tuple[Discovered, Response] | None:
        """Fetch and parse ``url`` as ``kind``; None (noted in ``tried`` unless quiet) when it fails."""
        parser = {"feed": FeedDiscovery, "sitemap": SitemapDiscovery}[kind](self.source, Endpoint(url=url))
        try:
            resp = await self.client.get(url, source=self.source.id, kind=kind, retries=0)
            found = await self.parse(parser.parse, resp.body, resp.final_url, resp.content_type)
        except (FetchError, ParseError) as e:
            if not quiet or not (isinstance(e, FetchError) and e.status in (404, 410)):
                self.outcome.tried.append((url, e.reason))
            return None
        return found, resp

    def _record(self, kind: Kind, url: str, via: str, seen_on: str, found: Discovered, resp: Response) -> Found:
        lp = found.last_published()
        f = Found(kind=kind, url=url, via=via, seen_on=seen_on, status=resp.status, latency_s=round(resp.elapsed, 3),
                  entries=found.entries, articles=len(found.candidates), children=len(found.children),
                  last_published=lp.isoformat() if lp else None)
        self.outcome.found.append(f)
        return f

    async def _try_feed(self, url: str, via: str, seen_on: str, quiet: bool = False) -> bool:
        if not self._fresh(url):
            return False
        got = await self._read("feed", url, quiet)
        if got is None:
            return False
        found, resp = got
        if not found.candidates:
            self.outcome.tried.append((url, "no_article_links"))
            return False
        self._record("feed", url, via, seen_on, found, resp)
        return True

    async def _try_sitemap(self, url: str, via: str, seen_on: str, quiet: bool = False, depth: int = 0) -> bool:
        """A news sitemap (urlset with article links) is used as it is; an index yields its news
        sitemaps, or, with no feed found either, itself (its newest children list articles)."""
        if not self._fresh(url):
            return False
        got = await self._read("sitemap", url, quiet)
        if got is None:
            return False
        found, resp = got
        if found.candidates:
            self._record("sitemap", url, via, seen_on, found, resp)
            return True
        if not found.children or depth > 0:
            self.outcome.tried.append((url, "no_article_links"))
            return False
        news = [c for c in found.children if _NEWS.search(urlsplit(c).path.rsplit("/", 1)[-1])]
        ok = False
        for child in news[:MAX_SITEMAPS]:
            if self._count("sitemap") < MAX_SITEMAPS:
                ok = await self._try_sitemap(child, "sitemap_index", url, depth=1) or ok
        if ok or self._count("feed"):
            return ok
        newest = await self._read("sitemap", found.children[0], True)
        if newest is not None and newest[0].candidates:
            self._record("sitemap", url, via, seen_on, found, resp)
            return True
        self.outcome.tried.append((url, "no_article_links"))
        return False

    async def _try_section(self, url: str, body: bytes) -> None:
        try:
            found = await self.parse(SectionDiscovery(self.source, Endpoint(url=url)).parse, body, url, "text/html")
        except ParseError as e:
            self.outcome.tried.append((url, e.reason))
            return
        if len(found.candidates) >= MIN_SECTION_LINKS:
            self.outcome.found.append(Found(kind="section", url=url, via="homepage_links", seen_on=url,
                                            status=200, entries=found.entries, articles=len(found.candidates)))
        else:
            self.outcome.tried.append((url, "too_few_article_links"))


# --- YAML for config/sources.yaml ------------------------------------------------------------------

_PLAIN = re.compile(r"^[\w\u0600-\u06ff./:%?=&+~ -]+$")
VIA_TEXT = {
    "link_alternate": '<link rel="alternate"> on {seen_on}',
    "robots_sitemap": "Sitemap: line of {seen_on}",
    "sitemap_index": "news sitemap listed in the sitemap index {seen_on}",
    "usual_path": "answered at its usual path (not advertised by {seen_on})",
    "homepage_links": "the homepage lists article links (no feed or sitemap found)",
}


def _scalar(v: str) -> str:
    """A YAML scalar: plain when unambiguous, else double-quoted (JSON strings are valid YAML)."""
    if _PLAIN.match(v) and v[0] not in "-?:,[]{}#&*!|>'\"%@` " and ": " not in v and " #" not in v \
            and v.lower() not in ("true", "false", "yes", "no", "null", "on", "off", "~"):
        return v
    return json.dumps(v, ensure_ascii=False)


def slug_for(homepage: str) -> str:
    """A source id from the outlet's host name (``www.zamanalwsl.net`` → ``zamanalwsl``)."""
    host = (urlsplit(homepage).hostname or "outlet").lower()
    labels = [x for x in host.split(".") if x not in ("www", "m", "ar", "arabic")]
    words = labels[:-1] if len(labels) > 1 else labels
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(words)).strip("-") or "outlet"
    return slug[:64] if slug[0].isalnum() else "o" + slug[:63]


def endpoints_yaml(found: list[Found], when: str, indent: str = "    ", tool: str = "rasid endpoint discovery") -> str:
    """The ``feeds:``/``sitemaps:``/``sections:`` blocks of ``found``, each endpoint with its `# seen:` line."""
    lines: list[str] = []
    for kind, key in (("feed", "feeds"), ("sitemap", "sitemaps"), ("section", "sections")):
        items = [f for f in found if f.kind == kind]
        if not items:
            continue
        lines.append(f"{indent}{key}:")
        for f in items:
            how = VIA_TEXT.get(f.via, f.via).format(seen_on=f.seen_on)
            seen = f"{f.articles} article links" + (f", newest {f.last_published[:10]}" if f.last_published else "")
            lines.append(f"{indent}  # seen: found by {tool} on {when[:10]}: {how}; {seen}")
            lines.append(f"{indent}  - url: {_scalar(f.url)}")
            lines.append(f"{indent}    verified: false")
    return "\n".join(lines)


def source_yaml(outcome: Outcome, *, source_id: str | None = None, name: str | None = None,
                tool: str = "rasid sources discover") -> str:
    """A ready ``config/sources.yaml`` entry for a new outlet (a list item under ``sources:``)."""
    sid = source_id or slug_for(outcome.homepage)
    lines = [f"  - id: {sid}", f"    name: {_scalar(name or outcome.name or sid)}",
             f"    homepage: {_scalar(outcome.homepage)}", "    status: active", "    discovery: true"]
    body = endpoints_yaml(outcome.found, outcome.at, tool=tool)
    if body:
        lines.append(body)
    else:
        lines.append(f"    # no endpoint found on {outcome.at[:10]}" + (f" ({outcome.error})" if outcome.error else "")
                     + ": discovery only")
    return "\n".join(lines) + "\n"
