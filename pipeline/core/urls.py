"""URL safety, resolution and canonicalisation.

One article must have one canonical URL (hence one article id) however an
outlet links to it: tracking parameters, fragments, host case, default ports,
query order and percent-encoding variants of Arabic slugs all collapse. Every
URL that came from the outside passes ``check_url_syntax`` before we touch it:
only http(s), no credentials, no control characters.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say how a reader arrived, never which article it is.
TRACKING_PARAMS = {
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
    "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "ref_src", "ref_url", "ocid", "cmpid",
    "s_cid", "spm", "mkt_tok", "vero_id", "oly_anon_id", "oly_enc_id", "rb_clickid", "wt_mc", "wt.mc_id",
    "at_medium", "at_campaign", "at_source", "at_content", "at_custom1", "at_custom2", "at_custom3",
    "at_custom4", "amp_js_v", "amp_gsa", "usqp", "__twitter_impression", "share", "fb_action_ids",
    "fb_action_types", "fb_ref", "fb_source", "action_object_map", "action_type_map", "action_ref_map",
}
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_", "mtm_", "stm_")

_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_PCT = re.compile(r"%([0-9a-fA-F]{2})")
_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/%:@!$&'()*+,;=~-._"
_QUERY_SAFE = "%:@!$'()*+,;/?~-._"


class UnsafeURL(ValueError):
    """A URL we refuse to fetch; ``reason`` is a short slug for metrics."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"{reason}: {url[:200]!r}")
        self.reason = reason
        self.url = url


def check_url_syntax(url: str) -> str:
    """Refuse anything but an absolute http(s) URL with a host and without credentials."""
    if not isinstance(url, str) or not url:
        raise UnsafeURL("empty_url", str(url))
    if len(url) > 4096:
        raise UnsafeURL("url_too_long", url)
    if _CTRL.search(url) or " " in url.strip():
        raise UnsafeURL("control_chars", url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a non-numeric port
    except ValueError:
        raise UnsafeURL("malformed_url", url) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL(f"scheme_{scheme or 'none'}" if scheme.isalnum() or not scheme else "scheme_other", url)
    if not parts.hostname:
        raise UnsafeURL("no_host", url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURL("credentials_in_url", url)
    if port is not None and not (0 < port < 65536):
        raise UnsafeURL("bad_port", url)
    return url.strip()


def resolve(href: str, base: str) -> str:
    """Resolve a link found on ``base`` and check it; raises ``UnsafeURL`` for hostile ones."""
    href = (href or "").strip()
    if not href:
        raise UnsafeURL("empty_url", href)
    low = href[:16].lower().replace("\t", "").replace("\n", "")
    for bad in ("javascript:", "data:", "file:", "ftp:", "mailto:", "tel:", "vbscript:", "about:", "blob:"):
        if low.startswith(bad):
            raise UnsafeURL("scheme_" + bad[:-1], href)
    return check_url_syntax(urljoin(base, href))


def _host(parts) -> str:
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        pass
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return host


def _normalise_pct(s: str, safe: str) -> str:
    """Percent-encode raw non-ASCII, upper-case escapes, decode escaped unreserved ASCII."""
    s = quote(s, safe=safe)

    def fix(m: re.Match[str]) -> str:
        b = int(m.group(1), 16)
        return chr(b) if b in _UNRESERVED else "%" + m.group(1).upper()

    return _PCT.sub(fix, s)


def is_tracking_param(name: str) -> bool:
    n = name.lower()
    return n in TRACKING_PARAMS or n.startswith(TRACKING_PREFIXES)


def canonicalize(url: str) -> str:
    """The one spelling of ``url`` used for ids and de-duplication."""
    url = check_url_syntax(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = _host(parts)
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _normalise_pct(parts.path or "/", _PATH_SAFE)
    # remove dot segments the way a browser would
    if "/." in path:
        path = urlsplit(urljoin(f"{scheme}://{netloc}/", path)).path or "/"
    query_items = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)
    ]
    query_items.sort()
    query = urlencode(query_items, quote_via=lambda s, safe="", encoding=None, errors=None: _normalise_pct(s, "~-._"))
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    """Host key for politeness and robots: lower-case host plus non-default port."""
    parts = urlsplit(url)
    host = _host(parts)
    port = parts.port
    scheme = parts.scheme.lower()
    return host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"


def site_of(url: str) -> str:
    """Host without the usual presentation prefixes, to compare "same site"."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix):
            host = host[len(prefix):]
            break
    return host


def same_site(a: str, b: str) -> bool:
    """True when both URLs belong to the same outlet site (www./m./amp. variants and subdomains of b)."""
    sa, sb = site_of(a), site_of(b)
    return bool(sa) and (sa == sb or sa.endswith("." + sb) or sb.endswith("." + sa))


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64): each is checked too."""
    out = []
    if addr.ipv4_mapped is not None:
        out.append(addr.ipv4_mapped)
    if addr.sixtofour is not None:
        out.append(addr.sixtofour)
    if addr.teredo is not None:
        out.extend(addr.teredo)
    if addr in _NAT64:
        out.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return out


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_global_address(address: str) -> bool:
    """True only for a globally routable IP address (``ipaddress``' ``is_global``); an IPv6 address
    that wraps an IPv4 one (``::ffff:127.0.0.1``, 6to4, Teredo, NAT64) is judged by that one too.

    Loopback, private, link-local (169.254.169.254: cloud metadata), shared (100.64.0.0/10),
    unspecified (0.0.0.0), reserved, documentation and multicast ranges are all not global.
    ``address`` is a literal as a resolver returns it (an IPv6 zone ``%eth0`` is allowed)."""
    try:
        addr = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    except ValueError:
        return False
    if addr.is_multicast or not addr.is_global:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        return all(v4.is_global and not v4.is_multicast for v4 in _embedded_ipv4(addr))
    return True


def _norm_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def parse_allow_hosts(value: str | None) -> frozenset[tuple[str, int | None]]:
    """``RASID_FETCH_ALLOW_HOSTS``: comma-separated ``host`` or ``host:port`` entries (an IPv6 address
    in brackets: ``[::1]:8080``). Raises ``ValueError`` naming a malformed entry."""
    out: set[tuple[str, int | None]] = set()
    for raw in (value or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        if "/" in entry or "@" in entry or " " in entry:
            raise ValueError(f"{entry!r} is not a host or host:port")
        try:
            parts = urlsplit("//" + entry)
            port = parts.port
        except ValueError:
            raise ValueError(f"{entry!r} is not a host or host:port") from None
        host = _norm_host(parts.hostname or "")
        if not host:
            raise ValueError(f"{entry!r} is not a host or host:port")
        out.add((host, port))
    return frozenset(out)


def host_allowed(host: str, port: int, allow: frozenset[tuple[str, int | None]]) -> bool:
    """True when ``host`` (as written in the URL) on ``port`` is listed: ``host`` alone admits any
    port of exactly that host, ``host:port`` only that port. No resolution, no aliases."""
    if not allow:
        return False
    h = _norm_host(host)
    return (h, None) in allow or (h, port) in allow


# --- "does this link look like an article?" heuristic for section pages without a selector ----------

_NON_ARTICLE_SEGMENTS = {
    "tag", "tags", "category", "categories", "cat", "author", "authors", "writer", "writers", "section",
    "sections", "topic", "topics", "search", "login", "register", "signup", "account", "user", "users",
    "profile", "page", "archive", "feed", "rss", "contact", "about", "about-us", "privacy",
    "terms", "advertise", "subscribe", "newsletter", "newsletters", "live", "podcast", "podcasts",
    "video-category", "keyword", "keywords", "label", "labels", "wp-admin", "wp-login.php", "cdn-cgi",
    "program", "programs", "programmes", "shows", "static", "assets", "media-center",
}
_ASSET_EXT = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|json|xml|rss|pdf|zip|mp[34]|m4a|webm|woff2?|ttf)$", re.I)
_NUMERIC_ID = re.compile(r"(?:^|[/_=-])\d{5,}(?:$|[/_.?&-]|\.html?)")
_DATE_PATH = re.compile(r"/(?:19|20)\d{2}[/-](?:0?[1-9]|1[0-2])(?:[/-](?:0?[1-9]|[12]\d|3[01]))?/(?!\d+/?$)[^/]{3,}")
_COMPACT_DATE = re.compile(r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")


def looks_like_article(url: str, site: str | None = None) -> bool:
    """Heuristic for section pages: same host, and a path with a long slug, a numeric id or a date,
    but not a tag/category/author/listing page or a static asset."""
    try:
        check_url_syntax(url)
    except UnsafeURL:
        return False
    parts = urlsplit(url)
    if site is not None and not same_site(url, site):
        return False
    path = parts.path or "/"
    if path in ("", "/") or _ASSET_EXT.search(path):
        return False
    from urllib.parse import unquote

    segments = [unquote(s).lower() for s in path.split("/") if s]
    if not segments:
        return False
    if any(seg in _NON_ARTICLE_SEGMENTS for seg in segments[:-1]) or segments[-1] in _NON_ARTICLE_SEGMENTS:
        return False
    last = segments[-1]
    if last.isdigit() and len(segments) >= 2 and segments[-2] in ("page", "p"):
        return False
    target = path + ("?" + parts.query if parts.query else "")
    if _NUMERIC_ID.search(target) or _DATE_PATH.search(path) or _COMPACT_DATE.search(path):
        return True
    slug = re.sub(r"\.[a-z0-9]{2,5}$", "", last)
    words = [w for w in re.split(r"[-_+]", slug) if w]
    return len(words) >= 4 or (len(slug) >= 30 and len(words) >= 2)


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/@:'\"]*(?::[^\s'\"]*)?@")
_BARE_USERINFO = re.compile(r"(?:^|(?<=[\s'\"=(,]))[^\s/@:'\"]+:(?!//)[^\s'\"]+@(?=[\w\[])")


def redact(text: str) -> str:
    """Replace the ``user:password@`` of every URL in ``text`` by ``***@`` before it is printed or
    logged (a password holding ``/`` or ``:`` too; and ``user:pass@host`` written without a scheme)."""
    text = _USERINFO.sub(r"\1***@", str(text))
    return _BARE_USERINFO.sub("***@", text)
