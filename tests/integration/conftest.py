"""Fixtures for integration tests: the devstack's real Kafka and Elasticsearch, one namespace per run.

The session starts the devstack if nothing answers (``rasid devstack up``, which reuses a
running stack, even one started from another checkout), picks a random namespace ``t<hex>``,
creates its topics, index template and alias, and deletes all of it at the end. Tests never touch
the ``rasid`` namespace, so they can run while a developer's pipeline uses the same servers.

Fixtures (all documented below):

* ``settings``       -- a :class:`Settings` for the run's namespace (topics/template/alias exist)
* ``namespace``      -- that namespace's name
* ``kafka_bootstrap``-- ``host:port`` of the broker
* ``es``             -- a sync :class:`elasticsearch.Elasticsearch` client
* ``rasid_env``      -- environment (``os.environ`` + ``RASID_*``) for running ``rasid`` subprocesses
* ``produce``        -- ``produce(topic, value, key=None, headers=None)``; value may be bytes, str,
                        dict (JSON) or a schema model (``.to_json()``); returns the RecordMetadata
* ``consume``        -- ``consume(topic, n, timeout=10)`` -> list of records (``.key``/``.value`` bytes)
                        read from the beginning of the topic
* ``refresh``        -- ``refresh()`` makes everything indexed in the namespace searchable
* ``make_settings``  -- ``make_settings(**overrides)`` -> Settings of a *fresh* namespace (topics +
                        template created; dropped at the end of the test) for tests that need
                        empty topics/indices of their own

Example::

    def test_roundtrip(settings, produce, consume):
        produce(settings.raw_topic, {"hello": "world"}, key="k1")
        [rec] = consume(settings.raw_topic, 1)
        assert rec.key == b"k1"
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from devstack import stack as ds

import devstack.es as _es

import devstack.kafka as _kafka

import devstack.layout as _layout
from pipeline.stream.namespace import drop_namespace
from pipeline.stream.es import ensure_es
from pipeline.core.kafka import ensure_topics
from pipeline.core.settings import Settings, load_settings

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Everything under tests/integration carries the `integration` marker (`-m "not integration"`)."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def _new_namespace() -> str:
    return f"t{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def devstack() -> dict[str, Any]:
    """Make sure Kafka and Elasticsearch answer; start the devstack when they do not.

    When RASID_KAFKA_BOOTSTRAP / RASID_ES_URL point somewhere else than the devstack, those
    servers are used as they are and nothing is started.
    """
    base = load_settings()
    external = base.kafka_bootstrap != _layout.KAFKA_BOOTSTRAP or base.es_url != _layout.ES_URL
    if external:
        return {"external": True}
    kafka, es = _kafka.kafka_probe(), _es.es_probe()
    if kafka and es and es.get("status") in ("green", "yellow"):
        return {"external": False, "started": False}
    try:
        info = ds.up()
    except _layout.DevstackError as e:
        pytest.fail(f"the devstack is not running and `rasid devstack up` failed:\n{e.message}", pytrace=False)
    return {"external": False, "started": not info["reused"]}


def _setup(settings: Settings) -> Settings:
    ensure_topics(settings)
    ensure_es(settings)
    return settings


def _teardown(settings: Settings) -> None:
    try:
        drop_namespace(settings)
    except Exception as e:  # cleanup must not hide the test result
        print(f"warning: could not drop namespace {settings.namespace}: {e}")


@pytest.fixture(scope="session")
def namespace() -> str:
    """The random namespace of this test run."""
    return _new_namespace()


@pytest.fixture(scope="session")
def settings(devstack, namespace) -> Settings:
    """Settings for the run's namespace; its topics, index template and alias exist."""
    s = _setup(load_settings(namespace=namespace))
    yield s
    _teardown(s)


@pytest.fixture
def make_settings(devstack) -> Callable[..., Settings]:
    """Factory for a fresh, isolated namespace (dropped when the test ends)."""
    made: list[Settings] = []

    def make(**overrides: Any) -> Settings:
        s = _setup(load_settings(namespace=_new_namespace(), **overrides))
        made.append(s)
        return s

    yield make
    for s in made:
        _teardown(s)


@pytest.fixture(scope="session")
def kafka_bootstrap(settings) -> str:
    return settings.kafka_bootstrap


@pytest.fixture(scope="session")
def es(settings):
    """A sync Elasticsearch client for the run's settings."""
    from elasticsearch import Elasticsearch

    client = Elasticsearch(**settings.es_client_kwargs())
    yield client
    client.close()


@pytest.fixture(scope="session")
def rasid_env(settings) -> dict[str, str]:
    """os.environ plus the run's RASID_* values, for `rasid ...` subprocesses."""
    env = dict(os.environ)
    env.update(
        RASID_NAMESPACE=settings.namespace,
        RASID_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        RASID_ES_URL=settings.es_url,
        RASID_KAFKA_PARTITIONS=str(settings.kafka_partitions),
    )
    return env


def _encode(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if hasattr(value, "to_json"):
        return value.to_json()
    return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")


@pytest.fixture(scope="session")
def _producer(settings):
    from kafka import KafkaProducer

    p = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        max_request_size=settings.kafka_max_message_bytes + 64_000,
        acks="all",
        linger_ms=0,
    )
    yield p
    p.close(timeout=5)


@pytest.fixture
def produce(_producer) -> Callable[..., Any]:
    """produce(topic, value, key=None, headers=None) -> RecordMetadata (sent and acknowledged)."""

    def send(topic: str, value: Any, key: str | bytes | None = None, headers: dict[str, str] | None = None):
        k = key.encode("utf-8") if isinstance(key, str) else key
        hs = [(h, v.encode("utf-8")) for h, v in (headers or {}).items()]
        return _producer.send(topic, value=_encode(value), key=k, headers=hs).get(timeout=30)

    return send


@pytest.fixture
def consume(settings) -> Callable[..., list]:
    """consume(topic, n, timeout=10) -> up to n records from the start of `topic` (fewer on timeout)."""
    from kafka import KafkaConsumer

    def read(topic: str, n: int, timeout: float = 10.0) -> list:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"{settings.namespace}-test-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_bytes=settings.kafka_max_message_bytes + 1_000_000,
            max_partition_fetch_bytes=settings.kafka_max_message_bytes + 1_000_000,
        )
        out: list = []
        deadline = time.monotonic() + timeout
        try:
            while len(out) < n and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=250).values():
                    out.extend(records)
        finally:
            consumer.close()
        return out[:n]

    return read


@pytest.fixture
def refresh(es, settings) -> Callable[[], None]:
    """refresh() -> make every document indexed so far in the namespace searchable."""

    def do() -> None:
        es.indices.refresh(index=f"{settings.es_alias}*", allow_no_indices=True)

    return do


@pytest.fixture
def run() -> Any:
    """run(coroutine) -> its result, on a fresh event loop closed after the test (the async sink and clients)."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()
