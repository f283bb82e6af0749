"""The input-safety policy for URLs that come from feeds, sitemaps and pages (all untrusted).

Only http(s), no credentials, every redirect hop re-checked, private/loopback
addresses refused when ``deny_private_networks`` is on (and allowed when off, so
local test outlets work), bodies capped after decoding. The transport is httpx's
MockTransport: nothing leaves the process.
"""

from __future__ import annotations

import gzip

import httpx
import pytest

from connectors.http import FetchError, PoliteClient
from pipeline.core.urls import UnsafeURL, check_url_syntax, is_private_address, resolve
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


@pytest.mark.parametrize("host, private", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.9", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("::1", True), ("[::1]", True), ("fd00::1", True), ("0.0.0.0", True),
    ("8.8.8.8", False), ("2001:4860:4860::8888", False),
])
def test_private_address_ranges(host, private):
    assert is_private_address(host) is private


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


async def test_deny_private_networks_refuses_loopback_before_connecting():
    client, seen = _client(_ok, deny_private_networks=True)
    async with client:
        with pytest.raises(FetchError) as e:
            await client.get("http://127.0.0.1:8000/a", source="t", kind="article")
    assert e.value.reason == "private_address"
    assert seen == []  # not even robots.txt was asked for


async def test_loopback_outlets_work_when_the_deny_list_is_off():
    client, seen = _client(_ok, deny_private_networks=False)
    async with client:
        r = await client.get("http://127.0.0.1:8000/a", source="t", kind="article")
    assert r.status == 200 and "نص" in r.body.decode()
    assert seen[-1] == "http://127.0.0.1:8000/a"


@pytest.mark.parametrize("location, reason, deny", [
    ("ftp://example.org/file", "unsafe_redirect", False),
    ("https://admin:pw@example.org/", "unsafe_redirect", False),
    ("http://169.254.169.254/latest/meta-data/", "private_address", True),
])
async def test_every_redirect_hop_is_checked(location, reason, deny):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": location})

    client, seen = _client(handler, deny_private_networks=deny)
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
