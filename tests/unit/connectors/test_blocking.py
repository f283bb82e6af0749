"""Blocked, not broken (connectors/blocking.py, connectors/http.py): refusals of our client are told
apart from endpoints that do not work, on local outlets and local sockets."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from connectors.blocking import BlockedEndpoints, challenge_marker, is_blocked_reason
from connectors.http import FetchError, PoliteClient
from devstack.outlet import Outlet, Route
from pipeline.core.settings import load_settings

CF = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>" \
     b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1'></script></body></html>"
CF_JS_DETECTION = b"<html><head><title>\xd8\xae\xd8\xa8\xd8\xb1</title></head><body><p>article</p>" \
                  b"<script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script></body></html>"
AKAMAI = b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\nYou don't have " \
         b"permission to access this server.<P>\nReference&#32;&#35;18&#46;5d2f1602&#46;1727\n</BODY></HTML>"


@pytest.mark.parametrize("status, headers, body, expected", [
    (403, {}, CF, True),
    (503, {}, CF, True),
    (200, {}, CF, True),  # the interstitial itself, whatever its status
    (200, {}, CF_JS_DETECTION, False),  # an ordinary page of a Cloudflare site
    (403, {}, CF_JS_DETECTION, True),
    (403, {"cf-mitigated": "challenge"}, b"", True),
    (200, {}, b"<html>Request unsuccessful. Incapsula incident ID: 123-456</html>", True),
    (200, {}, b"<html><script src='/_Incapsula_Resource?SWJIYLWA=x'></script><p>article</p></html>", False),
    (403, {}, AKAMAI, True),
    (404, {}, b"<h1>Not Found</h1>", False),
    (403, {}, CF + b" " * 300_000, False),  # too big to be an interstitial
])
def test_challenge_pages(status, headers, body, expected):
    assert challenge_marker(status, headers, body) is expected


def settings_for(allow: str, **kw):
    base = dict(per_host_delay_s=0, http_retries=3, http_backoff_s=0.01, http_connect_timeout_s=2,
                http_read_timeout_s=2, fetch_allow_hosts=allow)
    base.update(kw)
    return load_settings(**base)


async def fetch_error(url: str, allow: str) -> FetchError:
    async with PoliteClient(settings_for(allow)) as c:
        with pytest.raises(FetchError) as ei:
            await c.get(url, source="t", kind="feed")
    return ei.value


@pytest.mark.parametrize("route, reason, blocked", [
    (Route(status=403, body=b"<h1>Forbidden</h1>"), "http_403", True),
    (Route(status=401, body=b""), "http_401", True),
    (Route(status=451, body=b""), "http_451", True),
    (Route(status=503, body=CF), "waf_challenge", True),
    (Route(status=404, body=b""), "http_404", False),
    (Route(status=410, body=b""), "http_410", False),
])
async def test_refusals_are_blocked_and_not_retried(route, reason, blocked):
    with Outlet("127.0.0.1") as o:
        o.add("/feed", route)
        e = await fetch_error(o.url("/feed"), o.allow)
        assert (e.reason, e.blocked) == (reason, blocked)
        assert len(o.hits("/feed")) == 1  # a refusal is not asked again within the request


async def test_a_plain_503_is_still_transient_and_retried():
    with Outlet("127.0.0.1") as o:
        o.add("/feed", Route(status=503, body=b"maintenance"))
        e = await fetch_error(o.url("/feed"), o.allow)
        assert e.reason == "http_503" and not e.blocked and e.transient
        assert len(o.hits("/feed")) == 4


async def test_a_refused_connection_is_blocked():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e = await fetch_error(f"http://127.0.0.1:{port}/feed", f"127.0.0.1:{port}")
    assert e.reason == "connection_refused" and e.blocked


async def test_a_reset_connection_is_blocked():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    stop = threading.Event()

    def reset_everything() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            conn.close()

    t = threading.Thread(target=reset_everything, daemon=True)
    t.start()
    try:
        e = await fetch_error(f"http://127.0.0.1:{port}/feed", f"127.0.0.1:{port}")
    finally:
        stop.set()
        t.join()
        srv.close()
    assert e.reason == "connection_reset" and e.blocked


def test_blocked_endpoints_back_off_for_hours_and_clear_on_an_answer():
    b = BlockedEndpoints(3600, 4 * 3600)
    assert [b.on_blocked("s", "u") for _ in range(4)] == [3600, 7200, 14400, 14400]
    assert b.count("s") == 1 and b.on_answer("s", "u") and not b.on_answer("s", "u") and b.count("s") == 0
    assert is_blocked_reason("waf_challenge") and not is_blocked_reason("timeout")
