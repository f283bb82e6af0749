"""Story documents and alerts end to end on the devstack: five local outlets (one feed each) publish
rewrites of one report within minutes, among unrelated articles; ``rasid run`` in a namespace of
its own; a local webhook receiver.

Checked: one story document with ``source_count`` = the five outlets; the breaking rule delivered
exactly once, signed, within 5 s of the third source's article being indexed; a match rule once per
story; after ``rasid replay --from-beginning``, and after a SIGKILL of the whole ``rasid run``, a
restart, a second replay and a late follow-up of the story, no alert is delivered again and no
``story_id`` changes. Figures go to stdout (``-s``) and
``.devstack/faults-summary.json`` (key ``alerts_end_to_end``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml

from devstack.outlet import Outlet, Route
from pipeline.core.ids import article_id
from pipeline.core.settings import PROJECT_ROOT
from pipeline.core.urls import canonicalize
from tests.faults import harness as h

SECRET = "s3cret-for-the-desk"
STORY = "aa-turkish-convoy-idlib"  # the report the five outlets rewrite (turkish_role, إدلب)
N_OUTLETS = 5
UNRELATED_PER_OUTLET = 2


class Receiver:
    """A webhook receiver on 127.0.0.1: records (time, headers, body) of every POST, answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[tuple[float, dict[str, str], bytes]] = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                rec.received.append((time.time(), {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self) -> list[dict]:
        return [json.loads(b) for _, _, b in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _corpus() -> dict[str, dict]:
    return {a["id"]: a for a in h.corpus()}


def _rss(base: str, items: list[tuple[str, str, datetime]]) -> bytes:
    entries = "".join(f"<item><title>{escape(t)}</title><link>{escape(base + p)}</link>"
                      f"<pubDate>{format_datetime(d, usegmt=True)}</pubDate></item>" for p, t, d in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>x</title>'
            f"<link>{escape(base)}/</link><description>x</description>{entries}</channel></rss>").encode()


def _outlets(outlets: list[Outlet], now: datetime) -> tuple[list[str], list[str], dict[str, str], list[list]]:
    """The sites: each outlet a rewrite of the report (another headline, the same paragraphs, its own
    CMS shape, published minutes apart) and unrelated corpus articles. Returns (story ids, unrelated
    ids, article id -> source, each outlet's feed items)."""
    from devstack.pages import SHAPES, render

    corpus = _corpus()
    base = corpus[STORY]
    others = [a for k, a in sorted(corpus.items()) if k != STORY and not k.startswith("aa-turkish")]
    heads = ["", " — مصادر محلية", " (تقرير)", ": تفاصيل جديدة", " وفق مراسلنا"]
    story_ids, unrelated, source_of, feeds = [], [], {}, []
    for i, outlet in enumerate(outlets):
        src = f"outlet-{i + 1}"
        items = []
        pub = now - timedelta(minutes=2 * (N_OUTLETS - i))
        path = f"/news/{i}/convoy-idlib"
        art = dict(base, url=outlet.url(path), title=base["title"] + heads[i], published_at=pub.isoformat())
        outlet.add(path, Route(body=render(art, SHAPES[i % 6], noise=False, seed=i)))
        items.append((path, art["title"], pub))
        aid = article_id(canonicalize(outlet.url(path)))
        story_ids.append(aid)
        source_of[aid] = src
        for j in range(UNRELATED_PER_OUTLET):
            o = others[(i * UNRELATED_PER_OUTLET + j) * 3 % len(others)]
            p2 = f"/news/{i}/other-{j}"
            when = now - timedelta(minutes=30 + 7 * j + i)
            a2 = dict(o, url=outlet.url(p2), published_at=when.isoformat())
            outlet.add(p2, Route(body=render(a2, SHAPES[(i + j) % 6], noise=False, seed=100 + j)))
            items.append((p2, o["title"], when))
            oid = article_id(canonicalize(outlet.url(p2)))
            unrelated.append(oid)
            source_of[oid] = src
        outlet.add("/rss.xml", Route(body=_rss(outlet.base, items), content_type="application/rss+xml; charset=utf-8"))
        outlet.add("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        feeds.append(items)
    return story_ids, unrelated, source_of, feeds


def _thread_report(outlet: Outlet, items: list, i: int, hours_ago: float, now: datetime) -> str:
    """One report of a thread across the story window: yesterday's shelling report (outlet 1, 30 hours ago),
    another outlet's rewrite that joins it (outlet 2, 20 hours ago), today's report that the rewrite would take
    but the first report is too old for (outlet 3, an hour ago): a story that follows yesterday's. Published
    one at a time, each once the one before is indexed (the stream assigns in arrival order)."""
    from devstack.pages import render

    from tests.unit.pipeline.stages.test_stories import SHELLING, SHELLING_REWRITE

    item = (SHELLING, SHELLING_REWRITE, SHELLING)[i]
    path, when = f"/news/thread/{i}", now - timedelta(hours=hours_ago)
    art = dict(_corpus()[STORY], url=outlet.url(path), title=item[0], paragraphs=item[1].split("\n"),
               published_at=when.isoformat())
    outlet.add(path, Route(body=render(art, "drupal", noise=False, seed=50 + i)))
    items.append((path, item[0], when))
    outlet.add("/rss.xml", Route(body=_rss(outlet.base, items), content_type="application/rss+xml; charset=utf-8"))
    return article_id(canonicalize(outlet.url(path)))


def _late_rewrite(outlet: Outlet, items: list, now: datetime) -> str:
    """One more rewrite of the report on an outlet that already carried it (a follow-up)."""
    from devstack.pages import render

    base = _corpus()[STORY]
    path = "/news/late/convoy-idlib-update"
    art = dict(base, url=outlet.url(path), title=base["title"] + " — تحديث", published_at=now.isoformat())
    outlet.add(path, Route(body=render(art, "drupal", noise=False, seed=77)))
    items.append((path, art["title"], now))
    outlet.add("/rss.xml", Route(body=_rss(outlet.base, items), content_type="application/rss+xml; charset=utf-8"))
    return article_id(canonicalize(outlet.url(path)))


def _story_docs(s) -> list[dict]:
    """The namespace's story documents by story id, without ``indexed_at`` (stamped on every write)."""
    with h.es(s) as c:
        c.indices.refresh(index=s.stories_alias)
        r = c.search(index=s.stories_alias, size=1000, query={"match_all": {}}, sort=[{"story_id": "asc"}])
        return [{k: v for k, v in x["_source"].items() if k != "indexed_at"} for x in r["hits"]["hits"]]


def _alerts_on_kafka(s) -> list[dict]:
    from pipeline.core import kafka as ops

    c = ops.kafka_consumer(s)
    try:
        tps = ops.topic_partitions(c, s.alerts_topic)
        return [json.loads(r.value) for r in ops.read_range(c, c.beginning_offsets(tps), c.end_offsets(tps))]
    finally:
        c.close()


def _worker_ready_count(run: h.Proc) -> int:
    try:
        return run.log_path.read_text(errors="replace").count("worker ready")
    except OSError:
        return 0


def _settled(s, topics: list[str]) -> bool:
    return all(h.lag(s, t) == 0 for t in topics)


@pytest.fixture
def alerts_tmp() -> Path:
    import shutil

    d = h.SUMMARY_FILE.parent / "integration" / "alerts"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def test_story_documents_and_alerts_end_to_end(make_settings, alerts_tmp):
    s = make_settings()
    tmp = alerts_tmp
    receiver = Receiver()
    broken = Receiver(status=500)  # a webhook that keeps failing: dead-lettered, holds nothing back
    outlets = [Outlet().start() for _ in range(N_OUTLETS)]
    run = None
    try:
        now = datetime.now(timezone.utc)
        story_ids, unrelated, source_of, feeds = _outlets(outlets, now)
        ledger = story_ids + unrelated
        (tmp / "sources.yaml").write_text(yaml.safe_dump({"sources": [
            {"id": f"outlet-{i + 1}", "name": f"منفذ {i + 1}", "homepage": o.base + "/",
             "feeds": [{"url": o.url("/rss.xml")}], "poll_interval": 5}
            for i, o in enumerate(outlets)]}, allow_unicode=True))
        (tmp / "alerts.yaml").write_text(yaml.safe_dump({
            "webhooks": [{"id": "desk", "url": receiver.url, "secret_env": "RASID_WEBHOOK_SECRET"},
                         {"id": "broken", "url": broken.url}],
            "rules": [
                {"id": "idlib-turkey", "kind": "match", "topics": ["turkish_role"], "places": ["إدلب"],
                 "notify": ["desk"]},
                {"id": "breaking", "kind": "breaking", "min_sources": 3, "within_minutes": 60,
                 "notify": ["desk", "broken"]},
            ]}, allow_unicode=True))
        env = h.base_env(s, tmp, RASID_SOURCES_FILE=tmp / "sources.yaml", RASID_ALERTS_FILE=tmp / "alerts.yaml",
                         RASID_WEBHOOK_SECRET=SECRET, RASID_PER_HOST_DELAY_S=0, RASID_PER_HOST_CONCURRENCY=4,
                         RASID_FETCH_ALLOW_HOSTS=",".join(f"{o.host}:{o.port}" for o in outlets),
                         RASID_KAFKA_SESSION_TIMEOUT_S=10, RASID_WEBHOOK_ATTEMPTS=3, RASID_WEBHOOK_BACKOFF_S=0.2,
                         RASID_WEBHOOK_BACKOFF_MAX_S=0.5)
        run = h.Proc("rasid-run", ["run", "--workers", "1", "--skip-init", "--grace", "10"], env, tmp / "run.log")
        run.start()
        h.wait_until(lambda: h.count_ids(s, ledger) == len(ledger), 240, interval=0.5, what="every article indexed")
        thread = []
        for i, hours_ago in enumerate((30.2, 20.2, 1.2)):
            thread.append(_thread_report(outlets[i], feeds[i], i, hours_ago, now))
            h.wait_until(lambda: h.count_ids(s, thread) == len(thread), 60, interval=0.5, what=f"thread report {i}")
        ledger = ledger + thread
        breaking = h.wait_until(lambda: [a for a in receiver.alerts() if a["kind"] == "breaking"], 30,
                                what="the breaking alert delivered")
        topics = [s.raw_topic, s.topic("dedupe"), s.articles_topic, s.stories_topic, s.alerts_topic]
        h.wait_until(lambda: _settled(s, topics), 60, what="lag 0")
        time.sleep(3)  # a late second delivery would show here

        docs = h.docs(s, ledger, ["story_id", "indexed_at", "source", "story_follows"])
        sid = {docs[a]["story_id"] for a in story_ids}
        stories = _story_docs(s)
        main = [d for d in stories if d["story_id"] in sid]
        # the third source's article indexed: the moment the breaking rule could first be satisfied
        idx = sorted((datetime.fromisoformat(docs[a]["indexed_at"]).timestamp(), source_of[a]) for a in story_ids)
        seen_sources: list[str] = []
        third_at = None
        for t, src in idx:
            if src not in seen_sources:
                seen_sources.append(src)
                if len(seen_sources) == 3:
                    third_at = t
                    break
        receipts = [(t, hd, b) for t, hd, b in receiver.received if json.loads(b)["kind"] == "breaking"]
        latency = receipts[0][0] - third_at if receipts and third_at else None
        signature_ok = [hmac.compare_digest("sha256=" + hmac.new(SECRET.encode(), b, hashlib.sha256).hexdigest(),
                                            hd.get("x-rasid-signature", "")) for _, hd, b in receiver.received]
        match = [a for a in receiver.alerts() if a["kind"] == "match"]
        match_per_story: dict[str, int] = {}
        for a in match:
            match_per_story[a["story_id"]] = match_per_story.get(a["story_id"], 0) + 1
        story_of = {a: d["story_id"] for a, d in docs.items()}
        delivered_before = len(receiver.received)
        kafka_alerts_before = len(_alerts_on_kafka(s))
        tailed = subprocess.run([sys.executable, "-m", "pipeline.cli", "alerts", "tail", "--json", "-n", "10"],
                                env={**os.environ, **env}, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
        tailed_ids = sorted(json.loads(line)["id"] for line in tailed.stdout.splitlines())

        def replay() -> None:
            """``rasid replay --from-beginning``: every page processed again; wait until it is."""
            rep = subprocess.run([sys.executable, "-m", "pipeline.cli", "replay", "--from-beginning", "--yes",
                                  "--timeout", "180"], env={**os.environ, **env}, cwd=PROJECT_ROOT,
                                 capture_output=True, text=True, timeout=240)
            assert rep.returncode == 0, rep.stdout + rep.stderr
            h.wait_until(lambda: _settled(s, topics), 90, what="lag 0 after the replay")
            time.sleep(3)

        replay()
        after_replay = len(receiver.received)
        ids_after_replay = {a: d["story_id"] for a, d in h.docs(s, ledger, ["story_id"]).items()}
        stories_after_replay = _story_docs(s)

        # --- SIGKILL of the whole rasid run and a restart; then the recovered state decides: a second
        # replay, and a late follow-up joining the story, must fire nothing
        ready = _worker_ready_count(run)
        run.kill9()
        t_restart = time.monotonic()
        run.start()
        h.wait_until(lambda: _worker_ready_count(run) > ready, 120, what="worker ready after the restart")
        h.wait_until(lambda: _settled(s, topics), 90, what="lag 0 after the restart")
        restart_s = time.monotonic() - t_restart
        replay()
        late = _late_rewrite(outlets[0], feeds[0], datetime.now(timezone.utc))
        h.wait_until(lambda: h.count_ids(s, [late]) == 1, 60, what="the late follow-up indexed")
        h.wait_until(lambda: _settled(s, topics), 60, what="lag 0 after the follow-up")
        time.sleep(3)
        after_kill = len(receiver.received)
        ids_after_kill = {a: d["story_id"] for a, d in h.docs(s, ledger + [late], ["story_id"]).items()}
        stories_after_kill = _story_docs(s)
        kafka_alerts = _alerts_on_kafka(s)
        dead = [d for d in h.deadletters(s) if d.get("stage") == "alerts"]
        with h.es(s) as c:
            c.indices.refresh(index=s.alerts_alias)
            indexed_alerts = c.count(index=s.alerts_alias)["count"]

        h.record("alerts_end_to_end", articles=len(ledger), outlets=N_OUTLETS, stories=len(stories),
                 main_story=main[0] if main else None,
                 breaking_deliveries=len(receipts), breaking_latency_after_third_source_indexed_s=(
                     round(latency, 3) if latency is not None else None),
                 signatures_valid=sum(signature_ok), deliveries=delivered_before,
                 match_alerts_per_story=match_per_story, deliveries_after_replay=after_replay,
                 deliveries_after_sigkill_restart=after_kill, restart_s=round(restart_s, 1),
                 kafka_alerts_before=kafka_alerts_before, kafka_alerts_end=len(kafka_alerts),
                 indexed_alerts=indexed_alerts, broken_webhook_posts=len(broken.received),
                 alerts_dead_letters=[(d.get("reason"), d.get("detail")) for d in dead],
                 story_ids_changed_by_replay=sum(ids_after_replay[a] != story_of[a] for a in ledger),
                 story_ids_changed_by_sigkill=sum(ids_after_kill[a] != story_of[a] for a in ledger),
                 late_follow_up_in_story=ids_after_kill.get(late) in sid,
                 main_story_after=[d for d in stories_after_kill if d["story_id"] in sid])

        # the thread: yesterday's story and today's, linked both ways, unchanged by the replay and the SIGKILL
        yesterday, rewrite, today = thread
        by_id = {d["story_id"]: d for d in stories}
        assert docs[rewrite]["story_id"] == yesterday and docs[rewrite]["story_follows"] is None
        assert (docs[today]["story_id"], docs[today]["story_follows"]) == (today, yesterday)
        assert by_id[today]["follows"] == yesterday and by_id[yesterday]["followed_by"] == [today]
        assert by_id[yesterday]["article_count"] == 2 and by_id[yesterday]["follows"] is None
        assert len(sid) == 1, f"the five rewrites got several stories: {sid}"
        assert len(main) == 1 and main[0]["source_count"] == N_OUTLETS and main[0]["article_count"] == N_OUTLETS
        assert sorted(main[0]["sources"]) == [f"outlet-{i + 1}" for i in range(N_OUTLETS)]
        assert main[0]["breaking_at"] and "turkish_role" in main[0]["topic_ids"]
        assert [d for d in stories if d["source_count"] >= 3] == main, "an unrelated story reached 3 sources"
        assert len(breaking) == 1 and breaking[0]["story_id"] in sid and len(breaking[0]["sources"]) >= 3
        assert latency is not None and latency <= 5.0, latency
        assert all(signature_ok) and len(signature_ok) == delivered_before
        assert match_per_story.get(next(iter(sid))) == 1 and all(n == 1 for n in match_per_story.values())
        assert after_replay == delivered_before, "an alert was delivered again after the replay"
        assert after_kill == delivered_before, "an alert was delivered again after SIGKILL and restart"
        assert ids_after_replay == story_of, "a story_id changed with the replay"
        assert {a: ids_after_kill[a] for a in ledger} == story_of, "a story_id changed after SIGKILL and restart"
        assert stories_after_replay == stories
        assert ids_after_kill[late] in sid, "the follow-up did not join its story"
        (after,) = [d for d in stories_after_kill if d["story_id"] in sid]
        assert after["article_count"] == N_OUTLETS + 1 and after["source_count"] == N_OUTLETS
        assert after["breaking_at"] == main[0]["breaking_at"] and after["first_seen"] == main[0]["first_seen"]
        assert [d for d in stories_after_kill if d["story_id"] not in sid] == [d for d in stories if d["story_id"] not in sid]
        assert len(broken.received) == 3 and [d["reason"] for d in dead] == ["webhook_failed"]
        assert json.loads(dead[0]["payload"])["kind"] == "breaking"
        assert tailed.returncode == 0 and tailed_ids == sorted(a["id"] for a in receiver.alerts()), tailed.stderr
        assert len(kafka_alerts) == kafka_alerts_before, "an alert was fired again (the story state was not kept)"
        assert len({a["id"] for a in kafka_alerts}) == delivered_before == indexed_alerts
    finally:
        if run is not None:
            run.stop(timeout=20)
        for o in outlets:
            o.stop()
        receiver.close()
        broken.close()
