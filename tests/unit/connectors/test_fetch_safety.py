"""SSRF: the connectors fetch only globally routable addresses, checked where the connection is made.

Real local servers (devstack Outlet on 127.0.0.1 / 127.0.0.2) and the real client with its
guarded transport: every loopback spelling, a redirect to loopback, a name that resolves to
loopback and a rebinding resolver are refused before any byte reaches a server (not even
robots.txt is asked for), and ``RASID_FETCH_ALLOW_HOSTS`` admits exactly what it lists.
"""

from __future__ import annotations

import logging
import socket

import httpcore
import httpx
import pytest
from prometheus_client import REGISTRY

from connectors.http import FetchError, PoliteClient
from connectors.netguard import GuardedTransport
from devstack.outlet import Outlet, Route
from pipeline.core.settings import load_settings

PAGE = "<html><body><p>نص سري</p></body></html>"


@pytest.fixture
def outlet():
    with Outlet("127.0.0.1") as o:
        o.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        o.add("/a", PAGE)
        o.add("/to-loopback", Route(redirect=o.url("/a").replace("127.0.0.1", "localhost")))
        yield o


def settings(**kw):
    base = dict(per_host_delay_s=0, http_retries=0, http_connect_timeout_s=0.5, http_read_timeout_s=0.5)
    base.update(kw)
    return load_settings(**base)


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("rasid_fetch_refused_total", {"reason": reason}) or 0.0


SPELLINGS = ["http://127.0.0.1:{port}/a", "http://127.1:{port}/a", "http://localhost:{port}/a",
             "http://0.0.0.0:{port}/a", "http://2130706433:{port}/a", "http://0x7f000001:{port}/a",
             "http://[::ffff:127.0.0.1]:{port}/a", "http://127.000.000.001:{port}/a"]


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_loopback_in_any_spelling_is_never_fetched(outlet, spelling, caplog):
    url = spelling.format(port=outlet.port)
    before = refused("not_global_address")
    caplog.set_level(logging.WARNING, "rasid.connectors.http")
    async with PoliteClient(settings()) as c:
        with pytest.raises(FetchError) as e:
            await c.get(url, source="t", kind="article")
    assert e.value.reason in ("not_global_address", "unsafe_url"), e.value
    assert outlet.hits() == []  # not a byte reached the server, not even for robots.txt
    if e.value.reason == "not_global_address":
        assert refused("not_global_address") == before + 1
    assert any(r.getMessage() == "fetch refused" and r.reason == e.value.reason for r in caplog.records)


async def test_a_redirect_to_loopback_is_refused(outlet):
    other = Outlet("127.0.0.2").start()
    try:
        other.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        other.add("/start", Route(redirect=outlet.url("/a")))
        other.add("/start-same", Route(redirect=other.url("/a").replace("127.0.0.2", "127.2")))
        async with PoliteClient(settings(fetch_allow_hosts=other.allow)) as c:
            for path in ("/start", "/start-same"):
                with pytest.raises(FetchError) as e:
                    await c.get(other.url(path), source="t", kind="article")
                assert e.value.reason == "not_global_address"
    finally:
        other.stop()
    assert outlet.hits() == [] and [h.path for h in other.hits()] == ["/robots.txt", "/start", "/start-same"]


async def test_names_resolving_to_loopback_or_to_nothing_are_refused(outlet):
    async def resolver(host: str, port: int) -> list[str]:
        if host == "news.example":
            return ["93.184.216.34", "127.0.0.1"]  # one private answer among public ones is enough
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async with PoliteClient(settings(), resolver=resolver) as c:
        with pytest.raises(FetchError) as e:
            await c.get(f"http://news.example:{outlet.port}/a", source="t", kind="article")
        assert e.value.reason == "not_global_address"
        with pytest.raises(FetchError) as e:
            await c.get(f"http://no-such-outlet.example:{outlet.port}/a", source="t", kind="article")
        assert e.value.reason == "unresolvable_host" and e.value.refused  # (retried: DNS may come back)
    assert outlet.hits() == []


PUBLIC = "93.184.216.34"


class StandIn(httpcore.AsyncNetworkBackend):
    """The real backend, noting every address a socket is opened to; the public address is served
    by the local outlet standing in for it (nothing leaves the machine)."""

    def __init__(self, outlet_host: str) -> None:
        self.backend = httpcore.AnyIOBackend()
        self.outlet_host = outlet_host
        self.connected: list[str] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append(host)
        return await self.backend.connect_tcp(self.outlet_host if host == PUBLIC else host, port, timeout=timeout,
                                              local_address=local_address, socket_options=socket_options)

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise AssertionError("no unix sockets")

    async def sleep(self, seconds):
        await self.backend.sleep(seconds)


async def test_a_rebinding_resolver_cannot_swap_the_address_after_the_check(outlet):
    """First answer public, every later one loopback: one lookup per connection, the socket opened
    to the very address that was checked, and the loopback answer refused."""
    answers: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        answers.append(PUBLIC if not answers else "127.0.0.1")
        return [answers[-1]]

    s = settings()
    stand_in = StandIn(outlet.host)
    for attempt in range(2):  # a fresh client, so a fresh connection and a fresh lookup
        transport = GuardedTransport(allow=s.fetch_allow, resolver=rebinding, limits=httpx.Limits())
        transport.backend.backend = stand_in
        async with PoliteClient(s, transport=transport) as c:
            if attempt == 0:
                assert (await c.get(f"http://rebind.example:{outlet.port}/a", source="t", kind="article")).status == 200
            else:
                with pytest.raises(FetchError) as e:
                    await c.get(f"http://rebind.example:{outlet.port}/a", source="t", kind="article")
                assert e.value.reason == "not_global_address"
    assert answers == [PUBLIC, "127.0.0.1"]  # one lookup per connection: no second answer to swap in
    assert stand_in.connected == [PUBLIC]  # the socket went only to the checked address
    assert [h.path for h in outlet.hits()] == ["/robots.txt", "/a"]  # both over the first, checked connection


async def test_the_allow_setting_admits_exactly_the_listed_host_and_port(outlet):
    second = Outlet("127.0.0.1").start()
    try:
        second.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        second.add("/a", PAGE)
        async with PoliteClient(settings(fetch_allow_hosts=outlet.allow)) as c:
            r = await c.get(outlet.url("/a"), source="t", kind="article")
            assert "نص سري" in r.body.decode()
            for url in (second.url("/a"),  # same host, another port
                        f"http://localhost:{outlet.port}/a", f"http://127.1:{outlet.port}/a"):  # other spellings
                with pytest.raises(FetchError) as e:
                    await c.get(url, source="t", kind="article")
                assert e.value.reason == "not_global_address"
            with pytest.raises(FetchError) as e:  # the allowed host redirecting elsewhere: that hop is checked
                await c.get(outlet.url("/to-loopback"), source="t", kind="article")
            assert e.value.reason == "not_global_address"
        assert second.hits() == []
        async with PoliteClient(settings(fetch_allow_hosts="127.0.0.1")) as c:  # a host alone: any port
            assert (await c.get(second.url("/a"), source="t", kind="article")).status == 200
    finally:
        second.stop()


def test_the_default_allows_nothing_and_bad_entries_stop_start_up():
    assert load_settings().fetch_allow == frozenset()
    with pytest.raises(SystemExit) as e:
        load_settings(fetch_allow_hosts="127.0.0.1:8000, http://x/")
    assert "RASID_FETCH_ALLOW_HOSTS" in str(e.value)


async def test_each_origin_has_its_own_guarded_pool_and_idle_ones_are_forgotten(outlet, monkeypatch):
    # one small pool per origin (httpcore walks every connection of a pool on each request)
    second = Outlet("127.0.0.2").start()
    try:
        for o in (outlet, second):
            o.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        second.add("/a", PAGE)
        async with PoliteClient(settings(fetch_allow_hosts=f"{outlet.allow},{second.allow}")) as c:
            for url in (outlet.url("/a"), second.url("/a"), outlet.url("/a")):
                assert (await c.get(url, source="t", kind="article")).status == 200
            pools = c._client._transport._pool
            assert len(pools._pools) == 2
            assert all(p._network_backend is c._client._transport.backend for p in pools._pools.values())
            monkeypatch.setattr(type(pools), "MAX_IDLE_POOLS", 2)
            for host in ("127.0.0.3", "127.0.0.4"):  # refused: their pools never hold a connection
                with pytest.raises(FetchError):
                    await c.get(f"http://{host}:9/a", source="t", kind="article")
            hosts = sorted(k[1].decode() for k in pools._pools)
            assert hosts == ["127.0.0.1", "127.0.0.2", "127.0.0.4"]  # kept-alive ones stay, the idle one went
    finally:
        second.stop()
