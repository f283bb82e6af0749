"""``rasid run`` started while a dependency is down: it starts, says what it does meanwhile, and
catches up when the dependency comes back, with every article indexed exactly once.

Elasticsearch "stopped" = a cut proxy in front of the devstack's (connections accepted, never
answered: a frozen server), so other test runs keep theirs. Kafka down = a private broker that is
started only after the job.
"""

from __future__ import annotations

import time

import pytest
import yaml

from tests.faults import harness as h
from tests.faults.proxy import CuttableProxy
from tests.faults.test_run_faults import FAST_FAILOVER, _outlet_site
from devstack.outlet import Outlet

ES_DOWN_S = 60


def _sources(path, outlet: Outlet, n: int):
    path.write_text(yaml.safe_dump({"sources": [{
        "id": "outage-outlet", "name": "منفذ تجريبي", "homepage": outlet.base + "/",
        "feeds": [{"url": outlet.url("/rss.xml")}], "poll_interval": 5, "max_items": n,
    }]}, allow_unicode=True))
    return path


def test_run_started_while_elasticsearch_is_down_indexes_everything_once_it_answers(devstack, procs, fault_tmp):
    from pipeline.core.kafka import ensure_topics

    s = h.new_namespace("esdown")
    ensure_topics(s)  # Kafka only: the index template comes when Elasticsearch answers
    proxy = CuttableProxy("127.0.0.1", 9200).start()
    proxy.cut()
    n = 30
    try:
        with Outlet() as outlet:
            ledger = _outlet_site(outlet, n)
            env = h.base_env(s, fault_tmp, RASID_SOURCES_FILE=_sources(fault_tmp / "sources.yaml", outlet, n),
                             RASID_ES_URL=f"http://127.0.0.1:{proxy.port}", RASID_ES_TIMEOUT_S=5,
                             RASID_FETCH_ALLOW_HOSTS=f"{outlet.host}:{outlet.port}", RASID_PER_HOST_DELAY_S=0,
                             RASID_PER_HOST_CONCURRENCY=4, **FAST_FAILOVER)
            run = procs(h.Proc("rasid-run", ["run", "--workers", "1", "--grace", "10"], env, fault_tmp / "run.log"))
            t0 = time.monotonic()
            run.start()
            h.wait_until(lambda: sum(h.end_offsets(s, s.raw_topic).values()) >= n, 90, interval=1,
                         what="the connectors producing to Kafka while Elasticsearch is down")
            produced_s = time.monotonic() - t0
            assert run.alive() and h.count_ids(s, ledger) == 0
            assert run.logged("starting anyway")
            time.sleep(max(0.0, ES_DOWN_S - (time.monotonic() - t0)))
            assert run.alive(), "rasid run stopped during the outage"
            proxy.restore()
            t1 = time.monotonic()
            h.wait_until(lambda: h.count_ids(s, ledger) == n, 180, interval=1, what="every article indexed after ES came back")
            caught_up_s = time.monotonic() - t1
            h.wait_until(lambda: h.lag(s, s.raw_topic) == 0 and h.lag(s, s.articles_topic) == 0, 60, what="lag 0")
            inv = h.invariant(s, ledger)
            dls = h.deadletters(s)
            h.record("run_started_es_down", **inv, es_down_s=round(t1 - t0, 1), produced_while_down_s=round(produced_s, 1),
                     caught_up_s=round(caught_up_s, 1), deadletters=len(dls))
            assert inv["ledger_docs"] == n and inv["namespace_docs"] == n and inv["duplicate_ids"] == 0
            assert dls == []
    finally:
        proxy.restore()
        for p in list(h.WATCHED):
            p.stop(timeout=15)
        h.teardown_namespace(s)


@pytest.fixture
def kafka_later(fault_tmp):
    from tests.faults.private_kafka import PrivateKafka

    k = PrivateKafka(fault_tmp / "kafka")
    yield k
    k.stop()


def test_run_started_while_kafka_is_down_recovers_when_it_comes_up(devstack, kafka_later, procs, fault_tmp):
    s = h.new_namespace("kdown", kafka_bootstrap=kafka_later.bootstrap)
    n = 20
    try:
        with Outlet() as outlet:
            ledger = _outlet_site(outlet, n)
            env = h.base_env(s, fault_tmp, RASID_SOURCES_FILE=_sources(fault_tmp / "sources.yaml", outlet, n),
                             RASID_FETCH_ALLOW_HOSTS=f"{outlet.host}:{outlet.port}", RASID_PER_HOST_DELAY_S=0,
                             RASID_PER_HOST_CONCURRENCY=4, **FAST_FAILOVER)
            run = procs(h.Proc("rasid-run", ["run", "--workers", "1", "--grace", "10"], env, fault_tmp / "run.log"))
            run.start()
            h.wait_until(lambda: run.logged("starting anyway"), 60, what="rasid run warning that Kafka is down")
            time.sleep(15)
            assert run.alive(), "rasid run stopped while Kafka was down"
            up_s = kafka_later.start()
            t1 = time.monotonic()
            h.wait_until(lambda: h.count_ids(s, ledger) == n, 240, interval=1, what="every article indexed after Kafka came up")
            recovered_s = time.monotonic() - t1
            inv = h.invariant(s, ledger)
            h.record("run_started_kafka_down", **inv, kafka_start_s=round(up_s, 1), recovered_s=round(recovered_s, 1))
            assert inv["ledger_docs"] == n and inv["namespace_docs"] == n and inv["duplicate_ids"] == 0
    finally:
        for p in list(h.WATCHED):
            p.stop(timeout=15)
        h.teardown_namespace(s)
