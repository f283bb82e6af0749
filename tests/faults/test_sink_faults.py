"""Faults around the Elasticsearch sink: a rejected document, Elasticsearch unreachable, and a
worker joining (rebalance) while a slow bulk write is in flight.

The workers run only the ``index`` agent and the articles are produced straight to
``<ns>.articles``, so each test measures the sink and nothing else.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from tests.faults import harness as h
from tests.faults.proxy import CuttableProxy


def test_rejected_document_is_dead_lettered_neighbours_indexed_offset_moves_on(fault_ns, procs, fault_tmp):
    s = fault_ns
    good = h.make_articles(30, "reject")
    bad = h.make_articles(1, "reject-bad", start=1000)[0]
    # a keyword term over Lucene's 32766-byte limit: Elasticsearch answers 400 for this document only
    bad = bad.model_copy(update={"source": "x" * 40_000})
    # one partition, the bad one in the middle of the stream
    ledger = h.send_articles(s, good[:15], partition=0) + h.send_articles(s, [bad], partition=0) \
        + h.send_articles(s, good[15:], partition=0)
    ledger.remove(bad.id)
    end = h.end_offsets(s, s.articles_topic)[0]

    procs(h.worker(s, fault_tmp, agents="index")).start()
    h.wait_until(lambda: h.count_ids(s, ledger) == len(ledger), 90, what="30 neighbours indexed")
    dls = h.wait_until(lambda: [d for d in h.deadletters(s) if d.get("key") == bad.id], 30, what="dead letter")
    h.wait_until(lambda: h.committed(s, s.articles_topic).get(0) == end, 30, what="offset past the bad record")

    inv = h.invariant(s, ledger)
    h.record("es_rejects_document", **inv, bad_doc_indexed=h.count_ids(s, [bad.id]),
             deadletter={k: dls[0].get(k) for k in ("stage", "reason", "source_topic", "partition", "offset")},
             committed_p0=h.committed(s, s.articles_topic).get(0), end_p0=end)
    assert inv["ledger_docs"] == len(ledger) == 30
    assert inv["namespace_docs"] == 30 and inv["duplicate_ids"] == 0
    assert h.count_ids(s, [bad.id]) == 0
    assert len(dls) == 1 and dls[0]["stage"] == "index" and dls[0]["reason"] == "es_rejected"
    assert dls[0]["offset"] == 15 and dls[0]["partition"] == 0 and dls[0]["payload"]


def test_elasticsearch_unreachable_nothing_committed_memory_bounded_then_drains(fault_ns, procs, fault_tmp):
    s = fault_ns
    es_url = urlsplit(s.es_url)
    proxy = CuttableProxy(es_url.hostname, es_url.port or 9200).start()
    # enough arriving that holding it would show: the worker's buffers (faust's per-partition stream
    # buffer, the consumer's fetches) hold ~15 MB of these whatever arrives, so 1000 (20 MB) sat at the bound
    n_cut, body = 2500, 20_000
    try:
        metrics_port = h.free_port()
        w = procs(h.worker(s, fault_tmp, agents="index", RASID_ES_URL=proxy.url, RASID_BULK_MAX_DOCS=100,
                           RASID_METRICS_PORT=metrics_port))
        w.start()
        first = h.send_articles(s, h.make_articles(40, "esdown-a"))
        h.wait_until(lambda: h.count_ids(s, first) == 40, 90, what="first 40 indexed")
        h.wait_until(lambda: sum(h.committed(s, s.articles_topic).values()) == 40, 30, what="first 40 committed")
        rss_before = w.rss_mb()

        proxy.cut()
        t_cut = time.monotonic()
        # ~50 MB of articles arrive while Elasticsearch is away
        second = h.send_articles(s, h.make_articles(n_cut, "esdown-b", body_bytes=body))
        t_sent = time.monotonic()
        committed_seen, rss_seen = [], []
        while time.monotonic() - t_sent < 8:  # all of it there to be taken: watch what the worker holds
            committed_seen.append(sum(h.committed(s, s.articles_topic).values()))
            rss_seen.append(w.rss_mb())
            time.sleep(1)
        indexed_during_cut = h.count_ids(s, second)
        taken_during_cut = h.metric(metrics_port, 'rasid_stage_received_total{stage="index"}') - 40
        alive_during_cut = w.alive()

        proxy.restore()
        t_restore = time.monotonic()
        ledger = first + second
        h.wait_until(lambda: h.count_ids(s, ledger) == len(ledger), 150, interval=1, what="all indexed after restore")
        drain_s = time.monotonic() - t_restore
        h.wait_until(lambda: sum(h.committed(s, s.articles_topic).values()) == len(ledger), 30,
                     what="everything committed")
        inv = h.invariant(s, ledger)
        dls = h.deadletters(s)
        h.record("es_unavailable", **inv, cut_s=round(t_restore - t_cut, 1), committed_before_cut=40,
                 committed_during_cut_max=max(committed_seen), indexed_during_cut=indexed_during_cut,
                 produced_during_cut=n_cut, produced_during_cut_mb=round(n_cut * body / 1e6, 1),
                 sink_took_during_cut=taken_during_cut, rss_before_mb=round(rss_before),
                 rss_max_during_cut_mb=round(max(rss_seen)), drain_after_restore_s=round(drain_s, 1),
                 worker_alive=alive_during_cut, deadletters=len(dls))
        assert alive_during_cut
        assert max(committed_seen) == 40, "offsets committed past the last successful bulk"
        assert indexed_during_cut == 0
        # bounded: the sink holds one batch (bulk_max_docs) while it waits, not what keeps arriving
        assert taken_during_cut <= 100
        assert max(rss_seen) - rss_before < 0.5 * n_cut * body / 1e6
        assert inv["ledger_docs"] == len(ledger) and inv["namespace_docs"] == len(ledger)
        assert inv["duplicate_ids"] == 0
        assert dls == []
    finally:
        proxy.stop()


def test_worker_joining_during_a_slow_bulk_write_loses_and_duplicates_nothing(fault_ns, procs, fault_tmp):
    s = fault_ns
    es_url = urlsplit(s.es_url)
    proxy = CuttableProxy(es_url.hostname, es_url.port or 9200).start()
    try:
        w1 = procs(h.worker(s, fault_tmp, "worker-1", agents="index", RASID_ES_URL=proxy.url,
                            RASID_BULK_MAX_DOCS="50"))
        w1.start()
        warm = h.send_articles(s, h.make_articles(20, "rebal-warm"))
        h.wait_until(lambda: h.count_ids(s, warm) == 20, 90, what="worker 1 indexing")
        proxy.slow(6.0)  # every bulk request now takes 6 s to reach Elasticsearch
        rest = h.send_articles(s, h.make_articles(400, "rebal"))
        h.wait_until(lambda: proxy.bytes_up > 0 and h.lag(s, s.articles_topic) > 0, 10, what="a slow bulk in flight")
        bytes_at_join = proxy.bytes_up
        w2 = procs(h.worker(s, fault_tmp, "worker-2", agents="index", RASID_BULK_MAX_DOCS="50"))
        w2.start()
        from pipeline.core import kafka as ops

        def members() -> int:
            a = ops.kafka_admin(s)
            try:
                return len(ops.describe_group(a, f"{s.namespace}-workers")["members"])
            finally:
                a.close()

        h.wait_until(lambda: members() == 2, 60, what="second worker in the group")
        indexed_at_rebalance = h.count_ids(s, rest)
        time.sleep(3)
        proxy.slow(0)
        ledger = warm + rest
        h.wait_until(lambda: h.count_ids(s, ledger) == len(ledger), 120, interval=1, what="all indexed")
        h.wait_until(lambda: h.lag(s, s.articles_topic) == 0, 30, what="lag 0")
        inv = h.invariant(s, ledger)
        h.record("rebalance_during_slow_bulk", **inv, members=2, slow_bulk_s=6.0,
                 indexed_when_second_joined=indexed_at_rebalance, proxy_bytes_before_join=bytes_at_join,
                 workers_alive=[w1.alive(), w2.alive()], deadletters=len(h.deadletters(s)))
        assert w1.alive() and w2.alive()
        assert inv["ledger_docs"] == len(ledger) and inv["namespace_docs"] == len(ledger)
        assert inv["duplicate_ids"] == 0
        assert h.deadletters(s) == []
    finally:
        proxy.stop()
