"""The input-safety policy for URLs that come from feeds, sitemaps and pages (all untrusted).

Only http(s), no credentials, every redirect hop re-checked, only globally routable addresses
(``is_global_address``; the connection-level refusals are tested against real local servers in
``test_fetch_safety.py``), bodies capped after decoding. The transport here is httpx's
MockTransport: nothing leaves the process.
"""

from __future__ import annotations

import gzip

import httpx
import pytest

from connectors.http import FetchError, PoliteClient
from pipeline.core.urls import UnsafeURL, check_url_syntax, host_allowed, is_global_address, parse_allow_hosts, resolve
from pipeline.core.settings import load_settings


@pytest.mark.parametrize(
    "url",
    [
        "https://www.enabbaladi.net/archives/123456",
        "http://example.org:8080/news/إدلب-قصف",
        "https://npasyria.com/ar/1234/?p=1",
    ],
)
def test_http_urls_pass(url):
    assert check_url_syntax(url) == url


@pytest.mark.parametrize(
    "url, reason",
    [
        ("ftp://example.org/a", "scheme_ftp"),
        ("file:///etc/passwd", "scheme_file"),
        ("javascript:alert(1)", "scheme_javascript"),
        ("gopher://example.org/", "scheme_gopher"),
        ("https://user:secret@example.org/a", "credentials_in_url"),
        ("https://token@example.org/a", "credentials_in_url"),
        ("https://example.org/a\r\nHost: evil", "control_chars"),
        ("https://exa mple.org/", "control_chars"),
        ("https:///nohost", "no_host"),
        ("https://example.org:99999/", "malformed_url"),
        ("https://example.org/" + "a" * 5000, "url_too_long"),
        ("", "empty_url"),
    ],
)
def test_hostile_urls_are_refused(url, reason):
    with pytest.raises(UnsafeURL) as e:
        check_url_syntax(url)
    assert e.value.reason == reason


@pytest.mark.parametrize("href", ["javascript:void(0)", " JavaScript:alert(1)", "data:text/html,<b>x</b>",
                                  "mailto:a@b.c", "file:///etc/hosts", "vbscript:x"])
def test_links_found_on_pages_cannot_smuggle_other_schemes(href):
    with pytest.raises(UnsafeURL):
        resolve(href, "https://example.org/section/")


def test_relative_links_resolve_against_the_page():
    assert resolve("../2024/12/a.html", "https://example.org/news/list/") == "https://example.org/news/2024/12/a.html"


@pytest.mark.parametrize("address, routable", [
    ("127.0.0.1", False), ("127.1.2.3", False), ("10.1.2.3", False), ("172.16.0.9", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("100.100.100.200", False), ("0.0.0.0", False),
    ("255.255.255.255", False), ("224.0.0.1", False), ("192.0.2.1", False), ("198.18.0.1", False),
    ("::1", False), ("[::1]", False), ("::", False), ("fd00::1", False), ("fe80::1%eth0", False),
    ("::ffff:127.0.0.1", False), ("::ffff:169.254.169.254", False), ("2002:7f00:1::1", False),
    ("64:ff9b::7f00:1", False), ("ff02::1", False), ("not an address", False),
    ("8.8.8.8", True), ("93.184.216.34", True), ("2001:4860:4860::8888", True), ("::ffff:8.8.8.8", True),
])
def test_only_globally_routable_addresses(address, routable):
    assert is_global_address(address) is routable


def test_allow_list_entries_admit_exactly_their_host_and_port():
    allow = parse_allow_hosts(" 127.0.0.1:8000, outlet.local ,[::1]:9000")
    assert host_allowed("127.0.0.1", 8000, allow)
    assert not host_allowed("127.0.0.1", 8001, allow)  # another port of a host:port entry
    assert not host_allowed("127.1", 8000, allow) and not host_allowed("localhost", 8000, allow)  # no aliases
    assert host_allowed("OUTLET.local.", 1, allow) and host_allowed("outlet.local", 443, allow)  # host: any port
    assert host_allowed("::1", 9000, allow) and host_allowed("[::1]", 9000, allow)
    assert not host_allowed("sub.outlet.local", 80, allow)
    assert parse_allow_hosts("") == frozenset() and not host_allowed("127.0.0.1", 80, frozenset())
    for bad in ("http://x/", "a b", "u@h", "h:port", "h:99999"):
        with pytest.raises(ValueError):
            parse_allow_hosts(bad)


def _client(handler, **settings) -> tuple[PoliteClient, list[str]]:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return handler(request)

    s = load_settings(per_host_delay_s=0, http_retries=0, **settings)
    return PoliteClient(s, transport=httpx.MockTransport(record)), seen


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, html="<html><body><p>نص</p></body></html>")


@pytest.mark.parametrize("location, reason", [
    ("ftp://example.org/file", "unsafe_redirect"),
    ("https://admin:pw@example.org/", "unsafe_redirect"),
])
async def test_every_redirect_hop_is_checked(location, reason):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": location})

    client, seen = _client(handler)
    async with client:
        with pytest.raises(FetchError) as e:
            await client.get("http://93.184.216.34/start", source="t", kind="article")
    assert e.value.reason == reason
    assert not any("169.254" in u or u.startswith("ftp") for u in seen)


async def test_body_is_capped_even_when_compressed():
    bomb = gzip.compress(b"A" * 5_000_000)  # ~5 KB on the wire, 5 MB inflated

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"content-encoding": "gzip", "content-type": "text/html"})

    client, _ = _client(handler, http_max_bytes=100_000)
    async with client:
        with pytest.raises(FetchError) as e:
            await client.get("http://93.184.216.34/bomb", source="t", kind="article")
    assert e.value.reason == "too_large"


async def test_declared_oversize_body_is_not_downloaded():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 300_000, headers={"content-type": "text/html"})

    client, _ = _client(handler, http_max_bytes=100_000)
    async with client:
        with pytest.raises(FetchError) as e:
            await client.get("http://93.184.216.34/big", source="t", kind="article")
    assert e.value.reason == "too_large"
