"""A local news outlet for tests and benchmarks: an HTTP server on a loopback address.

Reusable by any test that needs pages "from the web" without the internet:

    from devstack.outlet import Outlet, seed_site

    with Outlet() as outlet:              # binds 127.0.0.1 on a free port (host="127.0.0.2" for a 2nd host)
        urls = seed_site(outlet)          # robots.txt, rss.xml, atom.xml, sitemaps, section page, 5 articles
        outlet.add("/slow.xml", Route(body=b"...", delay=0.5))
        ...                               # point a sources.yaml at outlet.base + "/rss.xml"
        outlet.hits("/rss.xml")           # access log entries: status, User-Agent, conditional headers
        outlet.max_concurrent             # most requests ever in flight at once on this host

Connectors refuse every address that is not globally routable, loopback included: a test that
runs them against an outlet lists it in ``RASID_FETCH_ALLOW_HOSTS`` (``outlet.allow`` is its
``host:port`` entry; ``allow_hosts(o1, o2)`` joins several).

Routes are exact paths (percent-decoded; the query string is ignored for routing
but logged). Each route can answer with ETag/Last-Modified and 304 on a matching
conditional request, delay before answering, stall after the headers (to trip a
read timeout), fail its first N requests (5xx/429 with Retry-After), redirect, or
stream a generated body (e.g. 30 MB). ``{{BASE}}`` in fixture files is replaced by
the outlet's base URL. ``fallback`` may be set to a function path -> Route | None
for generated sites (see benchmarks/connectors_bench.py).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote, urlsplit

FIXTURES = Path(__file__).parent / "site"  # the sample outlet: seed articles, feeds, sitemaps, robots.txt
LAST_MODIFIED = formatdate(1_577_836_800, usegmt=True)  # 2020-01-01


@dataclass
class Route:
    body: bytes | Callable[[], Iterable[bytes]] = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None  # Content-Length for generated bodies (else chunked)
    conditional: bool = True  # ETag + Last-Modified, 304 on a matching conditional request
    delay: float = 0.0  # seconds before answering
    stall: float = 0.0  # seconds to sleep after sending the headers, before the body
    fail_times: int = 0  # the first N requests get fail_status
    fail_status: int = 503
    retry_after: str | None = None
    redirect: str | None = None  # answer 302 with this Location
    served: int = 0

    def etag(self) -> str | None:
        if not self.conditional or not isinstance(self.body, bytes):
            return None
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


@dataclass
class Hit:
    path: str
    query: str
    status: int
    user_agent: str
    if_none_match: str | None
    if_modified_since: str | None
    started: float
    ended: float = 0.0
    concurrent: int = 1  # requests in flight on this host when this one started


def allow_hosts(*outlets: "Outlet") -> str:
    """``RASID_FETCH_ALLOW_HOSTS`` admitting exactly these outlets (each host:port)."""
    return ",".join(o.allow for o in outlets)


def allow_hosts_of(sources: list[dict]) -> str:
    """``RASID_FETCH_ALLOW_HOSTS`` admitting the host:port of every URL a sources.yaml list names."""
    found: list[str] = []

    def visit(v: object) -> None:
        if isinstance(v, str) and v.startswith(("http://", "https://")):
            parts = urlsplit(v)
            entry = parts.netloc.rsplit("@", 1)[-1]
            if parts.port is None:
                entry = f"{entry}:{80 if parts.scheme == 'http' else 443}"
            if entry not in found:
                found.append(entry)
        elif isinstance(v, dict):
            for x in v.values():
                visit(x)
        elif isinstance(v, list):
            for x in v:
                visit(x)

    visit(sources)
    return ",".join(found)


class Outlet:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[Hit] = []
        self.fallback: Callable[[str], Route | None] | None = None
        self.active = 0
        self.max_concurrent = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        outlet = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                outlet._handle(self)

            def do_HEAD(self) -> None:  # noqa: N802
                outlet._handle(self)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.host = host
        self.port = self._server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "Outlet":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Outlet":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- content -----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def allow(self) -> str:
        """This outlet as a ``RASID_FETCH_ALLOW_HOSTS`` entry: ``host:port``."""
        return f"{self.host}:{self.port}"

    def add(self, path: str, route: Route | bytes | str, **kw: object) -> str:
        if isinstance(route, str):
            route = route.encode("utf-8")
        if isinstance(route, bytes):
            route = Route(body=route, **kw)  # type: ignore[arg-type]
        if isinstance(route.body, bytes):
            route.body = route.body.replace(b"{{BASE}}", self.base.encode())
        self.routes[unquote(path)] = route
        return self.url(path)

    def add_fixture(self, path: str, name: str, content_type: str, **kw: object) -> str:
        return self.add(path, Route(body=(FIXTURES / name).read_bytes(), content_type=content_type, **kw))  # type: ignore[arg-type]

    # --- access log --------------------------------------------------------------------------

    def hits(self, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.log if path is None or h.path == unquote(path)]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            self.max_concurrent = 0

    # --- serving -----------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        path = unquote(parts.path)
        with self._lock:
            self.active += 1
            self.max_concurrent = max(self.max_concurrent, self.active)
            hit = Hit(path=path, query=parts.query, status=0, user_agent=req.headers.get("User-Agent", ""),
                      if_none_match=req.headers.get("If-None-Match"),
                      if_modified_since=req.headers.get("If-Modified-Since"),
                      started=time.monotonic(), concurrent=self.active)
            self.log.append(hit)
        try:
            self._respond(req, path, hit)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            req.close_connection = True
        finally:
            with self._lock:
                self.active -= 1
                hit.ended = time.monotonic()

    def _send(self, req: BaseHTTPRequestHandler, hit: Hit, status: int, headers: dict[str, str],
              body: bytes = b"") -> None:
        hit.status = status
        req.send_response(status)
        for k, v in headers.items():
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if req.command != "HEAD" and body:
            req.wfile.write(body)

    def _respond(self, req: BaseHTTPRequestHandler, path: str, hit: Hit) -> None:
        route = self.routes.get(path)
        if route is None and self.fallback is not None:
            route = self.fallback(path)
        if route is None:
            self._send(req, hit, 404, {"Content-Type": "text/html; charset=utf-8"}, b"<h1>404</h1>")
            return
        with self._lock:
            route.served += 1
            n = route.served
        if route.delay:
            self._closing.wait(route.delay)
        if n <= route.fail_times:
            h = {"Content-Type": "text/plain"}
            if route.retry_after is not None:
                h["Retry-After"] = route.retry_after
            self._send(req, hit, route.fail_status, h, b"temporarily unavailable")
            return
        if route.redirect is not None:
            self._send(req, hit, 302, {"Location": route.redirect})
            return
        headers = {"Content-Type": route.content_type, **route.headers}
        etag = route.etag()
        if etag:
            headers["ETag"] = etag
            headers["Last-Modified"] = LAST_MODIFIED
            inm = req.headers.get("If-None-Match")
            ims = req.headers.get("If-Modified-Since")
            if (inm and inm == etag) or (not inm and ims == LAST_MODIFIED):
                self._send(req, hit, 304, {"ETag": etag, "Last-Modified": LAST_MODIFIED})
                return
        if isinstance(route.body, bytes) and not route.stall:
            self._send(req, hit, route.status, headers, route.body)
            return
        # streamed / stalled body
        hit.status = route.status
        req.send_response(route.status)
        for k, v in headers.items():
            req.send_header(k, v)
        body_iter: Iterable[bytes]
        if isinstance(route.body, bytes):
            req.send_header("Content-Length", str(len(route.body)))
            body_iter = [route.body]
        else:
            if route.length is not None:
                req.send_header("Content-Length", str(route.length))
            else:
                req.send_header("Transfer-Encoding", "chunked")
            body_iter = route.body()
        req.end_headers()
        req.wfile.flush()
        if route.stall:
            self._closing.wait(route.stall)
        chunked = not isinstance(route.body, bytes) and route.length is None
        for chunk in body_iter:
            if self._closing.is_set():
                break
            if chunked:
                req.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                req.wfile.write(chunk)
        if chunked:
            req.wfile.write(b"0\r\n\r\n")
        req.close_connection = True


def big_body(total: int, chunk: int = 65536) -> Callable[[], Iterable[bytes]]:
    """A generated HTML body of ``total`` bytes, streamed."""

    def gen() -> Iterable[bytes]:
        head = b"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        yield head
        sent = len(head)
        filler = ("<p>" + "حشو " * 2000 + "</p>").encode("utf-8")
        while sent < total:
            piece = filler[: min(chunk, total - sent)]
            yield piece
            sent += len(piece)

    return gen


def junk(n: int = 20_000) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(n)


ARTICLES = {
    # fixture file -> path on the outlet
    "a1.html": "/ar/news_show/185466/تحرير-الشام-تتوعد-الاحتلال-الروسي",
    "a2.html": "/archives/351234",
    "a3.html": "/2019/05/21/turkish-weapons-russians-idlib",
    "a4.html": "/node/1837641/سجال-غربي-روسي-حول-استخدام-الكيماوي",
    "a5.html": "/news/syria/losses-regime-west-aleppo-chemical-attack",
}


def seed_site(outlet: Outlet, *, prefix: str = "") -> dict[str, str]:
    """Install the standard outlet built from the seed articles; returns name -> URL.

    robots.txt disallows /private/ (the RSS feed lists one such article); the RSS,
    Atom, news sitemap and section page together list the five seed articles
    (a5 is windows-1256 with a <meta> charset and a Content-Type that says iso-8859-1).
    ``prefix`` puts listings under another path so several sources can share one outlet.
    """
    urls: dict[str, str] = {}
    if "/robots.txt" not in outlet.routes:
        urls["robots"] = outlet.add_fixture("/robots.txt", "robots.txt", "text/plain")
    urls["rss"] = outlet.add_fixture(prefix + "/rss.xml", "rss.xml", "application/rss+xml; charset=utf-8")
    urls["atom"] = outlet.add_fixture(prefix + "/atom.xml", "atom.xml", "application/atom+xml")
    urls["sitemap"] = outlet.add_fixture(prefix + "/news-sitemap.xml", "news-sitemap.xml", "application/xml")
    urls["sitemap_index"] = outlet.add_fixture(prefix + "/sitemap-index.xml", "sitemap-index.xml", "application/xml")
    urls["section"] = outlet.add_fixture(prefix + "/section/syria", "section.html", "text/html; charset=utf-8")
    for name, path in ARTICLES.items():
        ctype = "text/html; charset=iso-8859-1" if name == "a5.html" else "text/html; charset=utf-8"
        urls[name] = outlet.add_fixture(path, "articles/" + name, ctype)
    outlet.add("/private/report-2019-internal", b"<html><body>secret</body></html>")
    empty = ('<?xml version="1.0" encoding="UTF-8"?>'
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>').encode()
    for child in ("/sitemap-2019-a.xml", "/sitemap-2018.xml", "/sitemap-2017.xml"):
        outlet.add(child, Route(body=empty, content_type="application/xml"))
    return urls


def rss_feed(base: str, items: list[tuple[str, str]], title: str = "قناة تجريبية") -> bytes:
    """An RSS 2.0 document listing ``(path, title)`` items on ``base``."""
    from xml.sax.saxutils import escape

    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(base + p)}</link>"
        f"<pubDate>{formatdate(1_577_836_800 + i * 60, usegmt=True)}</pubDate></item>"
        for i, (p, t) in enumerate(items)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>{escape(base)}/</link><description>x</description>{entries}</channel></rss>").encode("utf-8")


def article_html(title: str, paragraphs: int = 5) -> bytes:
    """A small Arabic article page."""
    body = "".join(f"<p>{title} — فقرة {i}: قصفت قوات النظام ريف إدلب الجنوبي وسط نزوح الأهالي.</p>"
                   for i in range(paragraphs))
    return (f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><article><h1>{title}</h1>{body}</article></body></html>").encode("utf-8")
