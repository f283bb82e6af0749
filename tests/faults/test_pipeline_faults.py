"""Faults of the whole stream (raw → process → dedupe → articles → index): a worker killed
mid-batch, poison input, and a replay of raw from offset 0.

Pages are rendered from the labelled corpus (tests/quality) at real page weight and
produced to ``<ns>.raw`` the way the connectors produce them; the ledger is their ids.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zlib

from pipeline.core.settings import PROJECT_ROOT
from tests.faults import harness as h

# faust's default session timeout is 60 s: a SIGKILLed member would hold its partitions that long
FAST_FAILOVER = {"RASID_KAFKA_SESSION_TIMEOUT_S": "10", "RASID_OFFSET_TRACE": "true"}


def test_worker_kill9_mid_batch_then_restart_every_id_indexed_once(fault_ns, procs, fault_tmp):
    s = fault_ns
    n, first = 240, 200
    w1 = procs(h.worker(s, fault_tmp, "worker-1", **FAST_FAILOVER))
    w1.start()
    w1.wait_ready()
    pages = h.make_pages(n, "kill9")
    # A backlog, so the kill lands mid-batch whatever this machine's speed: the worker is
    # killed once some of it is through, with the rest still in flight. The remainder
    # arrives while the replacement starts.
    ledger = h.send_pages(s, pages[:first])
    dedupe = s.topic("dedupe")
    # (the process stage can run ahead of indexing: whichever shows progress first)
    h.wait_until(lambda: h.count_ids(s, ledger) >= 20 or sum(h.end_offsets(s, dedupe).values()) >= 150,
                 120, interval=0.2, what="stream under way")
    raw_committed_before = sum(h.committed(s, s.raw_topic).values())
    w1.kill9()
    processed_at_kill = sum(h.end_offsets(s, dedupe).values())
    at_kill = h.count_ids(s, ledger)
    t_restart = time.monotonic()
    w2 = procs(h.worker(s, fault_tmp, "worker-2", **FAST_FAILOVER))
    w2.start()
    feeder = h.Feeder(s, pages[first:], chunk=5, every_s=0.25).start()
    feeder.join()
    ledger += feeder.ledger
    h.wait_until(lambda: h.count_ids(s, ledger) == n, 180, interval=1, what="every id indexed after restart")
    recovery_s = time.monotonic() - t_restart
    try:
        h.wait_until(lambda: h.lag(s, s.raw_topic) == 0, 30, what="raw lag 0")
    except AssertionError as e:  # which partitions, and what the worker made of them
        raise AssertionError(f"{e}\nend offsets {h.end_offsets(s, s.raw_topic)}, committed "
                             f"{h.committed(s, s.raw_topic)}\n{w2.log_tail()}") from None
    inv = h.invariant(s, ledger)
    dls = h.deadletters(s)
    h.record("worker_kill9", **inv, indexed_at_kill=at_kill, processed_at_kill=processed_at_kill,
             raw_committed_at_kill=raw_committed_before, recovery_s=round(recovery_s, 1), deadletters=len(dls),
             reprocessed_after_kill=sum(h.end_offsets(s, dedupe).values()) - n)
    assert at_kill < first, "the kill did not land mid-stream"
    assert inv["ledger_docs"] == n and inv["namespace_docs"] == n
    assert inv["duplicate_ids"] == 0
    assert dls == []


def _poison(s) -> dict[str, tuple[bytes | None, bytes]]:
    """Records no worker can make an article of, by kind (key, value)."""
    from pipeline.core.ids import article_id
    from pipeline.core.schema import RawPage, compress_html

    def page(name: str, html: bytes, **kw) -> tuple[bytes, bytes]:
        url = f"https://poison.example/{name}"
        p = RawPage(id=article_id(url), url=url, source="poison", status=200, html_z=compress_html(html), **kw)
        return p.id.encode(), p.to_json()

    good_json = page("x", b"<html></html>")[1]
    bomb = zlib.compress(b"<p>" + b"\xd8\xa7" * 40_000_000, 9)  # 80 MB of "ا" once inflated, ~80 KB here
    import base64

    bomb_rec = json.loads(page("bomb", b"x")[1])
    bomb_rec["html_z"] = base64.b64encode(bomb).decode()
    return {
        "binary": (b"poison-binary", bytes(range(256)) * 40),
        "truncated_json": (b"poison-truncated", good_json[: len(good_json) // 2]),
        "not_a_rawpage": (b"poison-schema", json.dumps({"hello": "world"}).encode()),
        "bad_html_z": (b"poison-b64", json.dumps({**json.loads(good_json), "html_z": "@@not base64@@"}).encode()),
        "truncated_html": page("truncated", "<html><head><title>خبر</title></head><body><article><p>قصف على إد".encode()),
        "empty_page": page("empty", b""),
        "decompression_bomb": (article_id("https://poison.example/bomb").encode(), json.dumps(bomb_rec).encode()),
        "wrong_charset_garbage": page("charset", bytes(range(128, 256)) * 500, charset="utf-8"),
        "not_html": page("png", b"\x89PNG\r\n\x1a\n" + bytes(5000)),
    }


def test_poison_input_is_dead_lettered_without_a_restart_loop(fault_ns, procs, fault_tmp):
    s = fault_ns
    w = procs(h.worker(s, fault_tmp))
    w.start()
    poison = _poison(s)
    good = h.make_pages(30, "poison-neighbours")
    # a legacy windows-1256 page that declares no charset: decoded, not dead-lettered
    from devstack.pages import render

    legacy_article = dict(h.corpus()[0], url="https://legacy.example/1256/1", title="صفحة بترميز ويندوز")
    legacy_html = render(legacy_article, "legacy_1256", noise=True, seed=7)
    ledger = h.send_pages(s, good[:15])
    h.produce(s, s.raw_topic, list(poison.values()))
    ledger += h.send_pages(s, [("https://legacy.example/1256/1", "legacy", legacy_html)])
    ledger += h.send_pages(s, good[15:])
    pid = w.pid

    h.wait_until(lambda: h.count_ids(s, ledger) == len(ledger), 150, interval=1, what="neighbours indexed")
    h.wait_until(lambda: h.lag(s, s.raw_topic) == 0, 60, what="raw offsets past the poison")
    dls = h.wait_until(lambda: (d := h.deadletters(s)) and len(d) >= len(poison) and d, 30,
                       what="a dead letter per poison record")
    by_key = {d.get("key"): d for d in dls}
    # a dead letter is keyed by the record's key, or by the article id when the payload still names one
    found = {}
    for name, (k, v) in poison.items():
        names = {k.decode()} | ({(h.decode_json(v) or {}).get("id")} - {None})
        hit = next((by_key[x] for x in names if x in by_key), None)
        if hit is not None:
            found[name] = f"{hit['stage']}/{hit['reason']}"
    legacy = h.docs(s, [ledger[15]], ["title", "body"]).get(ledger[15], {})
    inv = h.invariant(s, ledger)
    h.record("poison_input", **inv, poison_sent=len(poison), deadletters=len(dls), poison_deadlettered=found,
             worker_restarts=0 if (w.alive() and w.pid == pid) else "died", legacy_1256_title=legacy.get("title"))
    assert w.alive() and w.pid == pid and w.starts == 1, "the worker died or restarted on poison"
    assert set(found) == set(poison), f"not dead-lettered: {set(poison) - set(found)}"
    assert len(dls) == len(poison), "each poison record exactly once"
    assert all(d["source_topic"] == s.raw_topic and d["offset"] is not None for d in dls)
    assert inv["ledger_docs"] == len(ledger) and inv["namespace_docs"] == len(ledger)
    assert "ويندوز" in (legacy.get("title") or ""), "the windows-1256 page was not decoded"


def test_replay_raw_from_offset_zero_leaves_the_document_count_unchanged(fault_ns, procs, fault_tmp):
    s = fault_ns
    w = procs(h.worker(s, fault_tmp))
    w.start()
    ledger = h.send_pages(s, h.make_pages(60, "replay"))
    h.wait_until(lambda: h.count_ids(s, ledger) == len(ledger), 150, interval=1, what="first pass indexed")
    h.wait_until(lambda: h.lag(s, s.articles_topic) == 0, 30, what="first pass committed")
    before = h.docs(s, ledger, ["indexed_at", "story_id", "duplicate_of"])
    total_before = h.total_docs(s)

    env = {**h.base_env(s, fault_tmp), "COLUMNS": "120"}
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "replay", "--from-beginning", "--yes",
                          "--timeout", "150"], env={**__import__("os").environ, **env}, cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=200)
    replay_s = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    after = h.docs(s, ledger, ["indexed_at", "story_id", "duplicate_of"])
    updated = sum(1 for i in ledger if after[i]["indexed_at"] > before[i]["indexed_at"])
    inv = h.invariant(s, ledger)
    self_dups = [i for i in ledger if after[i].get("duplicate_of") == i]
    h.record("replay_raw_from_zero", **inv, docs_before=total_before, replay=result,
             replay_s=round(replay_s, 1), docs_updated=updated, story_ids_changed=sum(
                 1 for i in ledger if after[i]["story_id"] != before[i]["story_id"]), self_duplicates=len(self_dups))
    assert result["copied"] == 60 and result["lag_left:" + s.articles_topic] == 0
    assert inv["namespace_docs"] == total_before == len(ledger)
    assert inv["ledger_docs"] == len(ledger) and inv["duplicate_ids"] == 0
    assert updated == len(ledger), "the replay did not re-index every document"
    assert not self_dups
