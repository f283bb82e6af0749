"""What every fault test needs: a namespace, real worker processes it can kill, a ledger of
article ids sent, and the Elasticsearch/Kafka checks of the no-loss/no-duplicate invariants.

Each test keeps a ledger (the ids of the articles it sent) and checks in Elasticsearch:
the docs with those ids on the alias == len(ledger) (no loss, no copy in a second index)
and the namespace's total docs. Observed figures go to stdout (``pytest -s``) and to
``.devstack/faults-summary.json`` so a report can quote them.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from pipeline.core.ids import article_id
from pipeline.core.settings import PROJECT_ROOT, Settings, load_settings

SUMMARY_FILE = Path(os.environ.get("RASID_DEVSTACK_DIR", PROJECT_ROOT / ".devstack")) / "faults-summary.json"
CORPUS = PROJECT_ROOT / "tests" / "quality" / "articles"


# ------------------------------------------------------------------------------------ small things


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WATCHED: list["Proc"] = []  # processes that must stay alive while a test waits (see Proc.start)


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.5, what: str = "condition") -> Any:
    """Poll ``pred`` until it returns a truthy value; AssertionError naming ``what`` on timeout,
    or at once (with its log) when a watched process died meanwhile."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        for p in WATCHED:
            if p.popen is not None and p.watch and p.popen.poll() is not None:
                raise AssertionError(f"{p.name} exited with {p.popen.returncode} while waiting for {what}:\n"
                                     + p.log_tail())
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def record(fault: str, **observed: Any) -> None:
    """Print the observed figures and keep them in the JSON summary (one entry per fault)."""
    entry = {"fault": fault, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **observed}
    print(f"\n[fault] {json.dumps(entry, ensure_ascii=False)}", flush=True)
    SUMMARY_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(SUMMARY_FILE.read_text()) if SUMMARY_FILE.exists() else {}
    except ValueError:
        data = {}
    data[fault] = entry
    SUMMARY_FILE.write_text(json.dumps(data, ensure_ascii=False, indent=2))


# ------------------------------------------------------------------------------------ namespace


def new_namespace(prefix: str = "fault", **overrides: Any) -> Settings:
    ns = f"{prefix}{uuid.uuid4().hex[:8]}"
    return load_settings(namespace=ns, **overrides)


def setup_namespace(settings: Settings) -> None:
    from pipeline.stream.es import ensure_es
    from pipeline.core.kafka import ensure_topics

    ensure_topics(settings)
    ensure_es(settings)


def teardown_namespace(settings: Settings) -> None:
    from pipeline.stream.namespace import drop_namespace

    try:
        drop_namespace(settings)
    except Exception as e:  # leave the namespace rather than hide the test's own result
        print(f"[fault] teardown of {settings.namespace} failed: {e}")


# ------------------------------------------------------------------------------------ processes


@dataclass
class Proc:
    """A ``rasid`` child process of a test, in its own session so a kill reaches all of it."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None
    starts: int = 0
    watch: bool = True  # wait_until fails fast when this process dies unexpectedly

    def start(self) -> "Proc":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("ab")
        out.write(f"\n==== start {self.name} #{self.starts + 1} {datetime.now().isoformat()}\n".encode())
        out.flush()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", *self.args],
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
        out.close()
        self.starts += 1
        self.watch = True
        if self not in WATCHED:
            WATCHED.append(self)
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self, whole_group: bool = True) -> None:
        """SIGKILL, no goodbye: the process (and with ``whole_group`` its children) just vanish."""
        self.watch = False
        if not self.alive():
            return
        assert self.popen is not None
        if whole_group:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            self.popen.kill()
        self.popen.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; SIGKILL the group after ``timeout``."""
        self.watch = False
        if self in WATCHED:
            WATCHED.remove(self)
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        # children of a killed session leader may linger a moment
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.popen.returncode

    def rss_mb(self) -> float:
        """Resident memory of the process and its children (the process pool), in MB."""
        import psutil

        try:
            p = psutil.Process(self.popen.pid)  # type: ignore[union-attr]
            return sum(x.memory_info().rss for x in [p, *p.children(recursive=True)]) / 1e6
        except psutil.NoSuchProcess:
            return 0.0

    def logged(self, text: str) -> bool:
        try:
            return text in self.log_path.read_text(errors="replace")
        except OSError:
            return False

    def wait_ready(self, timeout: float = 90) -> None:
        """Until faust says the worker is ready (partitions assigned, tables recovered)."""
        wait_until(lambda: self.logged("worker ready"), timeout, what=f"{self.name} ready")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def metric(port: int, name: str) -> float:
    """One sample of a process's /metrics (0 when absent), e.g. ``rasid_stage_received_total{stage="index"}``."""
    import urllib.request

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def base_env(settings: Settings, tmp: Path, **extra: Any) -> dict[str, str]:
    """Environment of a child process of the namespace: quiet, small, quick to retry."""
    env = {
        "RASID_NAMESPACE": settings.namespace,
        "RASID_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "RASID_ES_URL": settings.es_url,
        "RASID_LOG_LEVEL": "INFO",
        "RASID_LOG_FORMAT": "json",
        "RASID_PROCESS_POOL_SIZE": "1",
        "RASID_BULK_BACKOFF_S": "0.2",
        "RASID_BULK_BACKOFF_MAX_S": "2",
        "RASID_ES_TIMEOUT_S": "20",
        "RASID_DATA_DIR": str(tmp / "faust"),
        "RASID_STATE_DIR": str(tmp / "state"),
        "PYTHONUNBUFFERED": "1",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def worker(settings: Settings, tmp: Path, name: str = "worker", agents: str = "all", **env: Any) -> Proc:
    """A ``rasid worker`` with its own web port, data dir and metrics port."""
    port = free_port()
    e = base_env(settings, tmp, **env)
    e.setdefault("RASID_DATA_DIR", str(tmp / "faust"))
    data_dir = Path(e["RASID_DATA_DIR"]) / f"{name}-{uuid.uuid4().hex[:6]}"
    data_dir.mkdir(parents=True, exist_ok=True)
    e["RASID_DATA_DIR"] = str(data_dir)
    e["RASID_WORKER_WEB_PORT"] = str(port)
    e.setdefault("RASID_METRICS_PORT", str(free_port()))
    return Proc(name, ["worker", "--agents", agents], e, tmp / f"{name}.log")


# ------------------------------------------------------------------------------------ pages and ledger


def corpus() -> list[dict[str, Any]]:
    arts = [yaml.safe_load(Path(f).read_text(encoding="utf-8")) for f in sorted(glob.glob(str(CORPUS / "*.yaml")))]
    return [a for a in arts if a and a.get("paragraphs") and a.get("language", "ar") == "ar"]


_USABLE: dict[bool, list[tuple[dict, str, int]]] = {}


def _usable(noise: bool) -> list[tuple[dict, str, int]]:
    """(article, shape, seed) of corpus pages the stream turns into an article (checked once, in-process),
    so a ledger holds only ids that must reach Elasticsearch; the cleaner's verdicts are not under test here."""
    if noise not in _USABLE:
        from pipeline.stages.process import ChainConfig, process_page

        config = ChainConfig.from_settings(load_settings())
        from devstack.pages import SHAPES, render

        ok = []
        for j, a in enumerate(corpus()):
            shape = SHAPES[j % len(SHAPES)]
            try:
                process_page(render(a, shape, noise=noise, seed=j), a.get("url") or "https://x.example/a",
                             a.get("source") or "x", config=config)
            except Exception:
                continue
            ok.append((a, shape, j))
        _USABLE[noise] = ok
    return _USABLE[noise]


def make_pages(n: int, tag: str, noise: bool = False) -> list[tuple[str, str, bytes]]:
    """``n`` distinct article pages (url, source, html) rendered from the labelled corpus."""
    from devstack.pages import render

    usable = _usable(noise)
    assert usable, "no page of the labelled corpus (tests/quality/articles) survives processing"
    out = []
    for i in range(n):
        base, shape, seed = usable[i % len(usable)]
        a = dict(base)
        url = f"https://{a.get('source', 'outlet')}.example/{tag}/{i:05d}"
        a["url"] = url
        a["title"] = f"{a.get('title', '')} ({i})"
        out.append((url, a.get("source") or "outlet", render(a, shape, noise=noise, seed=seed)))
    return out


def raw_record(url: str, source: str, html: bytes, **kw: Any) -> tuple[bytes, bytes]:
    from pipeline.core.schema import RawPage, compress_html

    rid = article_id(url)
    page = RawPage(id=rid, url=url, source=source, status=200, charset=kw.pop("charset", None),
                   html_z=compress_html(html), **kw)
    return rid.encode(), page.to_json()


def producer(settings: Settings):
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=10,
                         max_request_size=8_000_000)


def produce(settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes]], partition: int | None = None) -> int:
    p = producer(settings)
    n = 0
    try:
        for key, value in records:
            p.send(topic, key=key, value=value, partition=partition)
            n += 1
        p.flush(60)
    finally:
        p.close()
    return n


def send_pages(settings: Settings, pages: list[tuple[str, str, bytes]]) -> list[str]:
    """Produce the pages to ``<ns>.raw``; returns the ledger (their article ids)."""
    recs = [raw_record(u, s, h) for u, s, h in pages]
    produce(settings, settings.raw_topic, recs)
    return [k.decode() for k, _ in recs]


# ------------------------------------------------------------------------------------ Elasticsearch


def es(settings: Settings):
    from elasticsearch import Elasticsearch

    return Elasticsearch(**settings.es_client_kwargs())


def refresh(settings: Settings) -> None:
    with es(settings) as c:
        c.indices.refresh(index=f"{settings.es_alias}-*", allow_no_indices=True, ignore_unavailable=True)


def count_ids(settings: Settings, ids: list[str]) -> int:
    """Docs on the alias whose _id is in ``ids`` (a doc in two monthly indices counts twice); 0 while
    the alias does not exist yet (a namespace whose index template comes with the first write)."""
    from elasticsearch import NotFoundError

    refresh(settings)
    with es(settings) as c:
        total = 0
        try:
            for i in range(0, len(ids), 1000):
                total += c.count(index=settings.es_alias, query={"ids": {"values": ids[i:i + 1000]}})["count"]
        except NotFoundError:
            return 0
        return total


def total_docs(settings: Settings) -> int:
    refresh(settings)
    with es(settings) as c:
        return c.count(index=settings.es_alias)["count"]


def duplicate_ids(settings: Settings) -> dict[str, int]:
    """Ids present more than once across the namespace's indices (must stay empty)."""
    refresh(settings)
    with es(settings) as c:
        r = c.search(index=settings.es_alias, size=0,
                     aggs={"d": {"terms": {"field": "id", "min_doc_count": 2, "size": 100}}})
        return {b["key"]: b["doc_count"] for b in r["aggregations"]["d"]["buckets"]}


def docs(settings: Settings, ids: list[str], fields: list[str]) -> dict[str, dict]:
    refresh(settings)
    with es(settings) as c:
        r = c.search(index=settings.es_alias, size=len(ids), query={"ids": {"values": ids}}, source=fields)
        return {h["_id"]: h["_source"] for h in r["hits"]["hits"]}


# ------------------------------------------------------------------------------------ Kafka


def decode_json(value: bytes) -> dict | None:
    from pipeline.core.kafka import decode_value

    return decode_value(value)


def deadletters(settings: Settings) -> list[dict]:
    from pipeline.core import kafka as ops

    c = ops.kafka_consumer(settings, max_partition_fetch_bytes=8_000_000)
    try:
        tps = ops.topic_partitions(c, settings.deadletter_topic)
        out = []
        for r in ops.read_range(c, c.beginning_offsets(tps), c.end_offsets(tps)):
            out.append(ops.decode_value(r.value) or {"_raw": True})
        return out
    finally:
        c.close()


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    from pipeline.core import kafka as ops

    c = ops.kafka_consumer(settings)
    try:
        tps = ops.topic_partitions(c, topic)
        return {tp.partition: o for tp, o in c.end_offsets(tps).items()}
    finally:
        c.close()


def committed(settings: Settings, topic: str, group: str | None = None) -> dict[int, int]:
    """Committed offsets of the workers' group (``<ns>-workers``) on ``topic``."""
    from pipeline.core import kafka as ops

    a = ops.kafka_admin(settings)
    try:
        offs = ops.group_offsets(a, group or f"{settings.namespace}-workers")
        return {tp.partition: o for tp, o in offs.items() if tp.topic == topic}
    finally:
        a.close()


def lag(settings: Settings, topic: str) -> int:
    ends = end_offsets(settings, topic)
    com = committed(settings, topic)
    return sum(max(0, e - com.get(p, 0)) for p, e in ends.items())


def invariant(settings: Settings, ledger: list[str]) -> dict[str, int]:
    """The numbers of the no-loss/no-duplicate check for ``ledger``."""
    return {
        "sent": len(ledger),
        "ledger_docs": count_ids(settings, ledger),
        "namespace_docs": total_docs(settings),
        "duplicate_ids": len(duplicate_ids(settings)),
    }


# ------------------------------------------------------------------------------------ articles for the sink


def _paragraphs() -> list[str]:
    paras = [p for a in corpus() for p in a["paragraphs"]]
    return paras or ["قصف مدفعي على ريف إدلب الجنوبي وسقوط ضحايا مدنيين."]


def make_articles(n: int, tag: str, body_bytes: int = 3000, start: int = 0) -> list:
    """``n`` processed articles (the ``<ns>.articles`` contract) with distinct ids, published Dec 2024."""
    from datetime import timedelta

    from pipeline.core.schema import Article, Place, TopicHit

    paras = _paragraphs()
    t0 = datetime(2024, 12, 1, 8, 0, tzinfo=timezone.utc)
    out = []
    for i in range(start, start + n):
        url = f"https://outlet.example/{tag}/{i:06d}"
        body, k = [], i
        while sum(len(p.encode()) for p in body) < body_bytes:
            body.append(paras[k % len(paras)])
            k += 1
        out.append(Article(
            id=article_id(url), url=url, source="fault-outlet", title=f"خبر رقم {i} عن إدلب", body="\n\n".join(body),
            language="ar", published_at=t0 + timedelta(minutes=i), fetched_at=datetime.now(timezone.utc),
            topics=[TopicHit(id="military_escalation", score=2.5, evidence=["قصف"])],
            places=[Place(name="إدلب", name_en="Idlib", location={"lat": 35.93, "lon": 36.63})],
        ))
    return out


def send_articles(settings: Settings, articles: list, partition: int | None = None) -> list[str]:
    produce(settings, settings.articles_topic, [(a.id.encode(), a.to_json()) for a in articles], partition=partition)
    return [a.id for a in articles]


class Feeder:
    """Produce raw pages in the background, ``chunk`` at a time every ``every_s`` seconds, so a fault
    can land while records are still arriving ("mid-stream"). ``ledger`` is filled as it goes."""

    def __init__(self, settings: Settings, pages: list[tuple[str, str, bytes]], chunk: int = 10, every_s: float = 0.25):
        import threading

        self.settings, self.pages, self.chunk, self.every_s = settings, pages, chunk, every_s
        self.ledger: list[str] = [article_id(u) for u, _, _ in pages]
        self.sent = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def _run(self) -> None:
        try:
            p = producer(self.settings)
            try:
                for i in range(0, len(self.pages), self.chunk):
                    for u, s, html in self.pages[i:i + self.chunk]:
                        k, v = raw_record(u, s, html)
                        p.send(self.settings.raw_topic, key=k, value=v)
                    p.flush(60)
                    self.sent = min(len(self.pages), i + self.chunk)
                    time.sleep(self.every_s)
            finally:
                p.close()
        except BaseException as e:  # reported by join()
            self.error = e

    def start(self) -> "Feeder":
        self._thread.start()
        return self

    def join(self, timeout: float = 120) -> None:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.sent == len(self.pages), f"feeder sent {self.sent}/{len(self.pages)}"


def group_ready(settings: Settings, members: int = 1, group: str | None = None) -> bool:
    """The workers' group is Stable with ``members`` members (a worker is consuming)."""
    from pipeline.core import kafka as ops

    a = ops.kafka_admin(settings)
    try:
        d = ops.describe_group(a, group or f"{settings.namespace}-workers")
        return d["state"] == "Stable" and len(d["members"]) == members
    finally:
        a.close()
