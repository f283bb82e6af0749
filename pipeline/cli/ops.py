"""Operator commands: ``rasid tail``, ``rasid status``, ``rasid replay`` and ``rasid deadletter``.

They talk to Kafka with kafka-python (blocking, no faust) and never join or commit
a consumer group of the pipeline: tail and status only *assign* partitions and
read, so running them can neither trigger a rebalance nor move anyone's offsets.

Replay design (``rasid replay``): the chosen range of ``<ns>.raw`` (stage
``extract``) or ``<ns>.articles`` (stage ``index``) is *copied* to the end of the
same topic and partition, in the original order, while the pipeline keeps
running. Resetting the workers' group offsets instead would need every worker
stopped (Kafka refuses offset changes for a group with live members) and would
replay whatever other work shares that group. Copying is safe because ES ``_id``
is the article id: a re-processed record *updates* its document, it never adds
one. Each copy carries a ``rasid-replay-of: <partition>:<offset>`` header so a
later replay over the same range skips the copies of records it copies anyway,
and the topic does not double with every replay. Because the copy keeps the
partition and order of the range, the last version of an article in the range
is still the last one processed.

Dead-letter retry records each dead letter it re-injected in the compacted topic
``<ns>.deadletter.retried`` (key ``<partition>:<offset>`` of the dead letter), so
a second ``retry`` never re-injects the same ones, whatever filters either used.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter as Tally
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

import click

from pipeline.core.settings import Settings, get_settings

KINDS = ("raw", "articles", "deadletter", "seen")
REPLAY_HEADER = "rasid-replay-of"
RETRY_HEADER = "rasid-retry-of"
RAW_STAGES = ("extract", "clean", "classify", "enrich", "dedupe", "process")
_ARABIC = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


# --------------------------------------------------------------------------------------------------
# Time

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.I)
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``10m``, ``2h``, ``1d``, ``90s`` (ago) or an ISO-8601 time (naive = UTC) → aware UTC datetime."""
    now = now or datetime.now(timezone.utc)
    m = _DURATION.match(text)
    if m:
        unit = (m.group(2) or "s").lower()
        return now - timedelta(seconds=float(m.group(1)) * _UNIT_S[unit])
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"expected a duration like 10m/2h/1d or an ISO time, got {text!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _iso_ms(ts_ms: int | None) -> str | None:
    if ts_ms is None or ts_ms < 0:
        return None
    return datetime.fromtimestamp(ts_ms / 1000, timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------------
# Kafka plumbing (kafka-python; imported lazily so `rasid --help` stays fast)


class KafkaUnavailable(click.ClickException):
    exit_code = 2


def _bootstrap(settings: Settings) -> list[str]:
    return [s.strip() for s in settings.kafka_bootstrap.split(",") if s.strip()]


def _kafka_client(cls_name: str, settings: Settings, timeout_s: float, **kw: Any):
    """A kafka-python client of ``cls_name`` for ops commands; a clear error when Kafka is not there."""
    import kafka
    from kafka.errors import KafkaError

    try:
        return getattr(kafka, cls_name)(
            bootstrap_servers=_bootstrap(settings),
            client_id="rasid-ops",
            bootstrap_timeout_ms=int(timeout_s * 1000),
            **kw,
        )
    except KafkaError as e:
        raise KafkaUnavailable(f"Kafka at {settings.kafka_bootstrap} is unavailable: {e}") from None


def kafka_consumer(settings: Settings, timeout_s: float = 10.0, **kw: Any):
    """A group-less consumer: it reads by assignment and commits nothing."""
    return _kafka_client("KafkaConsumer", settings, timeout_s, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", request_timeout_ms=max(int(timeout_s * 1000), 5000), **kw)


def kafka_admin(settings: Settings, timeout_s: float = 10.0):
    return _kafka_client("KafkaAdminClient", settings, timeout_s,
                         request_timeout_ms=max(int(timeout_s * 1000), 5000))


def kafka_producer(settings: Settings, timeout_s: float = 10.0):
    """An idempotent, fully acknowledged producer for re-injected records."""
    return _kafka_client("KafkaProducer", settings, timeout_s, acks="all", linger_ms=20,
                         max_request_size=max(settings.kafka_max_message_bytes, 1_048_576))


def topic_name(settings: Settings, name: str) -> str:
    """``raw``/``articles``/``deadletter``/``seen`` → ``<ns>.<kind>``; a full name of the namespace as is."""
    if name in KINDS:
        return settings.topic(name)
    if name.startswith(settings.namespace + "."):
        return name
    raise click.BadParameter(
        f"unknown topic {name!r}: use one of {', '.join(KINDS)} or a topic of namespace {settings.namespace!r}"
    )


def topic_kind(settings: Settings, topic: str) -> str:
    kind = topic[len(settings.namespace) + 1 :] if topic.startswith(settings.namespace + ".") else topic
    return kind if kind in KINDS else "other"


def topic_partitions(consumer, topic: str) -> list:
    from kafka import TopicPartition

    parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise click.ClickException(f"topic {topic} does not exist (run `rasid init`?)")
    return [TopicPartition(topic, p) for p in sorted(parts)]


def offsets_at(consumer, tps: list, when: datetime) -> dict:
    """First offset per partition whose timestamp is >= ``when`` (end offset when none is)."""
    found = consumer.offsets_for_times({tp: _ms(when) for tp in tps})
    ends = consumer.end_offsets(tps)
    return {tp: (found[tp].offset if found.get(tp) is not None else ends[tp]) for tp in tps}


def read_range(consumer, starts: dict, ends: dict, *, idle_timeout_s: float = 30.0) -> Iterator:
    """Yield every record with ``starts[tp] <= offset < ends[tp]``, partition by partition in offset order.

    Stops when every partition reached its end; raises TimeoutError if nothing
    moves for ``idle_timeout_s`` (broker gone), rather than hanging an operator's shell.
    """
    todo = {tp for tp in starts if starts[tp] < ends.get(tp, 0)}
    consumer.assign(sorted(todo, key=lambda t: (t.topic, t.partition)))
    for tp in todo:
        consumer.seek(tp, starts[tp])
    last_progress = time.monotonic()
    while todo:
        batch = consumer.poll(timeout_ms=500, max_records=1000)
        for tp, recs in batch.items():
            for r in recs:
                if r.offset >= ends[tp]:
                    break
                yield r
            last_progress = time.monotonic()
        for tp in list(todo):
            if consumer.position(tp) >= ends[tp]:
                todo.discard(tp)
                consumer.pause(tp)
        if todo and time.monotonic() - last_progress > idle_timeout_s:
            raise TimeoutError(f"no records from {sorted(str(t) for t in todo)} for {idle_timeout_s:.0f}s")


def list_namespace_groups(admin, namespace: str) -> list[str]:
    """Consumer groups whose id starts with the namespace (faust app id, sink group, ...)."""
    groups = admin.list_groups()
    out = []
    for g in groups:
        gid = g.get("group_id") if isinstance(g, dict) else g[0]
        if gid == namespace or gid.startswith((namespace + "-", namespace + ".", namespace + "_")):
            out.append(gid)
    return sorted(out)


def group_offsets(admin, group_id: str) -> dict:
    """Committed offsets of a group: {TopicPartition: offset} (partitions without a commit left out)."""
    if hasattr(admin, "list_group_offsets"):
        res = admin.list_group_offsets({group_id: None}).get(group_id, {})
    else:  # kafka-python 2.x
        res = admin.list_consumer_group_offsets(group_id)
    return {tp: om.offset for tp, om in res.items() if om.offset is not None and om.offset >= 0}


def describe_group(admin, group_id: str) -> dict:
    """{state, members: [{client_id, host, assignment: {topic: [partitions]}}]}."""
    if hasattr(admin, "describe_groups"):
        d = admin.describe_groups([group_id]).get(group_id, {})
        members = []
        for m in d.get("members", []):
            assignment: dict[str, list[int]] = {}
            a = m.get("member_assignment")
            for t in getattr(a, "assigned_partitions", None) or getattr(a, "assignment", None) or []:
                try:
                    name, parts = (t.topic, t.partitions) if hasattr(t, "topic") else (t[0], t[1])
                    assignment[name] = sorted(parts)
                except (TypeError, IndexError, AttributeError):
                    continue
            members.append({"client_id": m.get("client_id"), "host": m.get("client_host"), "assignment": assignment})
        return {"state": d.get("group_state") or d.get("state"), "members": members}
    d = admin.describe_consumer_groups([group_id])[0]  # kafka-python 2.x
    return {
        "state": d.state,
        "members": [{"client_id": m.client_id, "host": m.client_host, "assignment": {}} for m in d.members],
    }


# --------------------------------------------------------------------------------------------------
# Records → views (what an operator wants to see of each kind)


def decode_value(value: bytes | None) -> dict | None:
    """The JSON object of a message, or None for anything else (poison stays visible, never crashes)."""
    if value is None:
        return None
    try:
        obj = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


@dataclass
class View:
    """A record reduced to what tail shows and filters on."""

    kind: str
    topic: str
    partition: int
    offset: int
    ts_ms: int
    key: str | None
    obj: dict | None
    raw_text: str | None = None  # for records that are not JSON objects
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str | None:
        return (self.obj or {}).get("source")

    @property
    def topic_ids(self) -> list[str]:
        return [t.get("id") for t in (self.obj or {}).get("topics") or [] if isinstance(t, dict)]

    @property
    def at(self) -> str:
        return _iso_ms(self.ts_ms) or "?"


def make_view(kind: str, rec) -> View:
    obj = decode_value(rec.value)
    raw_text = None
    if obj is None and rec.value is not None:
        raw_text = rec.value[:500].decode("utf-8", errors="replace")
    key = rec.key.decode("utf-8", errors="replace") if isinstance(rec.key, bytes) else rec.key
    headers = {}
    for k, v in rec.headers or []:
        headers[k] = v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
    return View(kind, rec.topic, rec.partition, rec.offset, rec.timestamp, key, obj, raw_text, headers)


def view_matches(v: View, source: str | None = None, topic_id: str | None = None) -> bool:
    if source is not None and v.source != source:
        return False
    if topic_id is not None and topic_id not in v.topic_ids:
        return False
    return True


def rtl(text: str | None, enabled: bool = True) -> str:
    """Visual order for a terminal without bidi support: only text holding Arabic is reordered."""
    if not text:
        return ""
    if not enabled or not _ARABIC.search(text):
        return text
    try:  # the pure-Python implementation mirrors brackets («» () []); the Rust one of python-bidi 0.5+ does not
        from bidi.algorithm import get_display
    except ImportError:  # pragma: no cover - older/newer layouts
        from bidi import get_display

    return get_display(text, base_dir="R")


def _short(text: Any, n: int) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def human_fields(v: View, bidi: bool = True) -> list[tuple[str, str]]:
    """(text, rich style) pieces of one human-readable line."""
    o = v.obj or {}
    pieces: list[tuple[str, str]] = [(v.at.replace("+00:00", "Z"), "dim")]
    if v.obj is None:
        pieces += [(f"{v.partition}@{v.offset}", "dim"), ("not JSON:", "bold red"), (_short(v.raw_text or "", 120), "")]
        return pieces
    if v.kind == "deadletter":
        origin = f"{o.get('source_topic') or '?'}:{o.get('partition')}@{o.get('offset')}"
        pieces += [
            (f"{o.get('stage', '?')}/{o.get('reason', '?')}", "bold red"),
            (f"from {origin}", "yellow"),
            (o.get("source") or "-", "cyan"),
            (_short(o.get("url") or o.get("key") or "", 100), ""),
            (rtl(_short(o.get("detail") or "", 120), bidi), "dim"),
        ]
        return pieces
    if v.kind == "seen":  # the connectors' seen-URL state
        pieces += [(o.get("source") or "-", "cyan"), (str(o.get("status") or "?"), "bold"),
                   (_short(o.get("url") or "", 100), "blue")]
        if o.get("canonical_id") and o.get("canonical_id") != v.key:
            pieces.append((f"alias-of {o['canonical_id'][:12]}", "dim"))
        return pieces
    title = o.get("title") or (o.get("listing") or {}).get("title") or ""
    pieces += [(o.get("source") or "-", "cyan"), (rtl(_short(title, 110), bidi) or "(no title)", "bold")]
    if v.kind == "articles":
        topics = ",".join(v.topic_ids)
        places = "، ".join(p.get("name", "") for p in o.get("places") or [] if isinstance(p, dict))
        pieces.append((f"[{topics}]" if topics else "[]", "green"))
        if places:
            pieces.append((rtl(places, bidi), "magenta"))
        if o.get("duplicate_of"):
            pieces.append((f"dup-of {o['duplicate_of'][:12]}", "dim"))
    elif v.kind == "raw":
        pieces.append((_short(o.get("url") or "", 100), "blue"))
        if o.get("update"):
            pieces.append(("update", "yellow"))
    else:
        pieces.append((_short(json.dumps(o, ensure_ascii=False), 120), ""))
    if REPLAY_HEADER in v.headers:
        pieces.append((f"replay-of {v.headers[REPLAY_HEADER]}", "dim"))
    return pieces


def human_line(v: View, bidi: bool = True) -> str:
    return "  ".join(t for t, _ in human_fields(v, bidi) if t)


def json_line(v: View) -> str:
    """The message itself (logical order, UTF-8) plus where it sits in Kafka under ``_kafka``."""
    meta = {"topic": v.topic, "partition": v.partition, "offset": v.offset, "timestamp": _iso_ms(v.ts_ms), "key": v.key}
    if v.headers:
        meta["headers"] = v.headers
    out = dict(v.obj) if v.obj is not None else {"_not_json": v.raw_text}
    out["_kafka"] = meta
    return json.dumps(out, ensure_ascii=False, default=str)


# --------------------------------------------------------------------------------------------------
# rasid tail


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _print_view(console, v: View, as_json: bool, bidi: bool) -> None:
    if as_json:
        sys.stdout.write(json_line(v) + "\n")
        sys.stdout.flush()
        return
    from rich.text import Text

    t = Text()
    for i, (s, style) in enumerate(human_fields(v, bidi)):
        if not s:
            continue
        if i:
            t.append("  ")
        t.append(s, style=style or None)
    console.print(t)


@click.command("tail")
@click.argument("topic")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new records as they arrive.")
@click.option("--from-beginning", is_flag=True, help="Start at the first retained record.")
@click.option("--since", "since", metavar="T", help="Start at records from T ago (10m, 2h, 1d) or an ISO time.")
@click.option("--source", "source", metavar="ID", help="Only records of this source id.")
@click.option("--topic-id", "topic_id", metavar="ID", help="Only articles classified with this topic id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (logical order), for piping.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None, help="Print at most N records (default 20 without --follow/--from-beginning/--since).")
@click.option("--bidi/--no-bidi", default=None, help="Reorder Arabic for the terminal (default: when stdout is a terminal).")
def tail_cmd(topic, follow, from_beginning, since, source, topic_id, as_json, limit, bidi):
    """Print records of TOPIC (raw, articles, deadletter, seen) of the namespace.

    Without a start option it shows the last records (the last --limit, default 20)
    and, with --follow, keeps going. It reads by partition assignment and commits nothing.
    """
    settings = get_settings()
    name = topic_name(settings, topic)
    kind = topic_kind(settings, name)
    if from_beginning and since:
        raise click.UsageError("--from-beginning and --since exclude each other")
    if topic_id and kind != "articles":
        raise click.UsageError("--topic-id applies to the articles topic")
    if bidi is None:
        bidi = sys.stdout.isatty()
    console = _console()
    consumer = kafka_consumer(settings, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    try:
        for n in tail_records(consumer, name, kind, follow=follow, from_beginning=from_beginning,
                              since=parse_since(since) if since else None, source=source,
                              topic_id=topic_id, limit=limit):
            _print_view(console, n, as_json, bidi)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `rasid tail ... | head`: the reader is gone, so are we
        sys.stderr.close()
    except TimeoutError as e:
        raise click.ClickException(str(e)) from None
    finally:
        consumer.close()


def tail_records(consumer, topic: str, kind: str, *, follow: bool = False, from_beginning: bool = False,
                 since: datetime | None = None, source: str | None = None, topic_id: str | None = None,
                 limit: int | None = None, poll_s: float = 0.5) -> Iterator[View]:
    """Matching records of ``topic`` in time order (then partition, offset); see ``tail_cmd``."""
    tps = topic_partitions(consumer, topic)
    begins = consumer.beginning_offsets(tps)
    ends = consumer.end_offsets(tps)
    filtered = source is not None or topic_id is not None
    last_n = not (from_beginning or since)  # default: the newest records, then (with --follow) live ones
    if last_n and limit is None and not follow:
        limit = 20
    n_back = (min(limit or 10, 10) if follow else limit) if last_n else None
    if from_beginning:
        starts = dict(begins)
    elif since is not None:
        starts = offsets_at(consumer, tps, since)
    else:
        window = n_back * (50 if filtered else 1)  # filters need a wider look back to find n_back matches
        starts = {tp: max(begins[tp], ends[tp] - window) for tp in tps}
    backlog = [make_view(kind, r) for r in read_range(consumer, starts, ends)]
    backlog = [v for v in backlog if view_matches(v, source, topic_id)]
    backlog.sort(key=lambda v: (v.ts_ms, v.partition, v.offset))
    if n_back is not None:
        backlog = backlog[-n_back:]
    printed = 0
    for v in backlog:
        if limit is not None and printed >= limit:
            return
        yield v
        printed += 1
    if not follow:
        return
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, ends[tp])
    while limit is None or printed < limit:
        batch = consumer.poll(timeout_ms=int(poll_s * 1000), max_records=500)
        views = [make_view(kind, r) for recs in batch.values() for r in recs]
        views.sort(key=lambda v: (v.ts_ms, v.partition, v.offset))
        for v in views:
            if not view_matches(v, source, topic_id):
                continue
            yield v
            printed += 1
            if limit is not None and printed >= limit:
                return


# --------------------------------------------------------------------------------------------------
# rasid status


@dataclass
class GroupLag:
    group: str
    state: str | None
    members: int
    lag: int
    by_topic: dict[str, dict[int, dict[str, int]]]  # topic -> partition -> {committed, end, lag}


def lag_of_groups(admin, consumer, groups: Iterable[str]) -> dict[str, GroupLag]:
    """Committed offsets vs end offsets for each group (only partitions the group has committed)."""
    out: dict[str, GroupLag] = {}
    for g in groups:
        committed = group_offsets(admin, g)
        ends = consumer.end_offsets(list(committed)) if committed else {}
        try:
            desc = describe_group(admin, g)
        except Exception as e:  # a group vanishing between list and describe is not an outage
            desc = {"state": f"unknown ({type(e).__name__})", "members": []}
        by_topic: dict[str, dict[int, dict[str, int]]] = defaultdict(dict)
        total = 0
        for tp, off in committed.items():
            end = ends.get(tp, off)
            lag = max(0, end - off)
            total += lag
            by_topic[tp.topic][tp.partition] = {"committed": off, "end": end, "lag": lag}
        out[g] = GroupLag(g, desc.get("state"), len(desc.get("members", [])), total, dict(by_topic))
    return out


def _scan_window(consumer, topic: str, since: datetime, max_records: int) -> Iterator:
    tps = topic_partitions(consumer, topic)
    starts = offsets_at(consumer, tps, since)
    ends = consumer.end_offsets(tps)
    # newest records matter most: clip each partition's range to its share of max_records
    share = max(1, max_records // max(1, len(tps)))
    starts = {tp: max(starts[tp], ends[tp] - share) for tp in tps}
    yield from read_range(consumer, starts, ends, idle_timeout_s=15)


_SOURCE_RE = re.compile(rb'"source"\s*:\s*"((?:[^"\\]|\\.){1,200})"')


def _source_of(value: bytes | None) -> str | None:
    """Source id of a raw/dead-letter message without inflating all of it (raw pages are large)."""
    if not value:
        return None
    m = _SOURCE_RE.search(value[:8192])
    if m:
        try:
            return json.loads(b'"' + m.group(1) + b'"')
        except ValueError:
            return None
    obj = decode_value(value)
    return obj.get("source") if obj else None


def connectors_metrics_url(settings: Settings) -> str | None:
    """Where the connectors serve /metrics on this host (the base metrics port), if metrics are on."""
    return f"http://127.0.0.1:{settings.metrics_port}/metrics" if settings.metrics_port else None


def scrape_connectors(url: str, timeout_s: float = 3.0) -> dict[str, dict[str, Any]]:
    """Per source from a connectors /metrics page: last successful poll and errors by reason."""
    import urllib.request

    return parse_connector_metrics(urllib.request.urlopen(url, timeout=timeout_s).read().decode("utf-8", "replace"))


def parse_connector_metrics(text: str) -> dict[str, dict[str, Any]]:
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"last_success": None, "errors": {}})
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            src = smp.labels.get("source")
            if src is None:
                continue
            if smp.name == "rasid_source_last_success_timestamp" and smp.value > 0:
                out[src]["last_success"] = datetime.fromtimestamp(smp.value, timezone.utc).isoformat(timespec="seconds")
            elif smp.name == "rasid_connector_errors_total" and smp.value > 0:
                out[src]["errors"][smp.labels.get("reason", "?")] = int(smp.value)
    return dict(out)


def collect_status(settings: Settings, *, window: timedelta = timedelta(hours=1), max_scan: int = 200_000,
                   timeout_s: float = 5.0, connectors_metrics: str | None = None) -> dict[str, Any]:
    """Everything ``rasid status`` reports, as one JSON-able dict (health judged by ``judge_status``).

    Per-source figures come from the topics (raw pages and dead letters in the window);
    ``connectors_metrics`` (a /metrics URL of the connectors) adds the last successful
    poll and the connector errors since the connectors started.
    """
    now = datetime.now(timezone.utc)
    since = now - window
    st: dict[str, Any] = {
        "namespace": settings.namespace,
        "at": now.isoformat(timespec="seconds"),
        "window_s": int(window.total_seconds()),
        "kafka": {"ok": False, "bootstrap": settings.kafka_bootstrap},
        "elasticsearch": {"ok": False, "url": settings.es_url},
        "topics": {},
        "groups": {},
        "sources": {},
        "deadletters": {"total": 0, "last_window": 0, "by_stage_reason": {}},
    }
    _status_es(settings, st, timeout_s)
    try:
        admin = kafka_admin(settings, timeout_s)
        consumer = kafka_consumer(settings, timeout_s, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    except click.ClickException as e:
        st["kafka"]["error"] = e.message
        return st
    try:
        cluster = admin.describe_cluster()
        st["kafka"].update(ok=True, brokers=len(cluster.get("brokers", [])), cluster_id=cluster.get("cluster_id"))
        existing = set(admin.list_topics())
        for kind in KINDS:
            t = settings.topic(kind)
            if t not in existing:
                st["topics"][t] = {"exists": False}
                continue
            tps = topic_partitions(consumer, t)
            ends = consumer.end_offsets(tps)
            begins = consumer.beginning_offsets(tps)
            st["topics"][t] = {
                "exists": True,
                "partitions": len(tps),
                "end_offset": sum(ends.values()),
                "retained": sum(ends[tp] - begins[tp] for tp in tps),
            }
        groups = lag_of_groups(admin, consumer, list_namespace_groups(admin, settings.namespace))
        for g in groups.values():
            st["groups"][g.group] = {
                "state": g.state,
                "members": g.members,
                "lag": g.lag,
                "topics": {t: {str(p): v for p, v in parts.items()} for t, parts in g.by_topic.items()},
            }
        st["components"] = _components(settings, admin, st["groups"])
        _status_sources(settings, consumer, st, since, max_scan)
    except Exception as e:  # the report must come out even when Kafka fails half-way
        st["kafka"]["ok"] = False
        st["kafka"]["error"] = f"{type(e).__name__}: {e}"
    finally:
        consumer.close()
        admin.close()
    if connectors_metrics:
        try:
            scraped = scrape_connectors(connectors_metrics, timeout_s)
            st["connectors_metrics"] = {"url": connectors_metrics, "ok": True}
            for src, info in scraped.items():
                e = st["sources"].setdefault(src, {"raw_last_window": 0, "last_raw_at": None, "failures_last_window": 0})
                e["last_success"] = info["last_success"]
                e["connector_errors"] = info["errors"]
        except Exception as e:  # optional source of detail: its absence is reported, not fatal
            st["connectors_metrics"] = {"url": connectors_metrics, "ok": False, "error": f"{type(e).__name__}: {e}"[:200]}
    return st


def _components(settings: Settings, admin, groups: dict) -> dict[str, dict[str, Any]]:
    """Live processes as Kafka sees them: members of the workers' group and of the connectors' group."""
    out = {}
    for name, gid in (("workers", f"{settings.namespace}-workers"), ("connectors", f"{settings.namespace}.connectors")):
        info = groups.get(gid)
        if info is None:
            try:
                d = describe_group(admin, gid)
                info = {"state": d.get("state"), "members": len(d.get("members", []))}
            except Exception:
                info = {"state": None, "members": 0}
        out[name] = {"group": gid, "members": info["members"], "state": info["state"]}
    return out


def _status_es(settings: Settings, st: dict, timeout_s: float) -> None:
    from elasticsearch import Elasticsearch

    kw = settings.es_client_kwargs()
    kw["request_timeout"] = timeout_s
    es = Elasticsearch(**kw, max_retries=0)
    try:
        health = es.cluster.health()
        st["elasticsearch"].update(ok=health["status"] != "red", status=health["status"],
                                   version=es.info()["version"]["number"])
        rows = es.cat.indices(index=f"{settings.es_alias}-*", format="json", h="index,docs.count,store.size,health")
        st["elasticsearch"]["indices"] = {
            r["index"]: {"docs": int(r.get("docs.count") or 0), "size": r.get("store.size"), "health": r.get("health")}
            for r in sorted(rows, key=lambda r: r["index"])
        }
        if es.indices.exists_alias(name=settings.es_alias):
            st["elasticsearch"]["alias_docs"] = es.count(index=settings.es_alias)["count"]
        else:
            st["elasticsearch"]["alias_docs"] = None
    except Exception as e:
        st["elasticsearch"]["ok"] = False
        st["elasticsearch"]["error"] = f"{type(e).__name__}: {e}"[:300]
    finally:
        es.close()


def _status_sources(settings: Settings, consumer, st: dict, since: datetime, max_scan: int) -> None:
    """Per source: raw records in the window and the newest one; dead letters by stage/reason and source."""
    sources: dict[str, dict[str, Any]] = defaultdict(lambda: {"raw_last_window": 0, "last_raw_at": None, "failures_last_window": 0})
    raw = settings.raw_topic
    if st["topics"].get(raw, {}).get("exists"):
        for r in _scan_window(consumer, raw, since, max_scan):
            if any(k in (REPLAY_HEADER, RETRY_HEADER) for k, _ in r.headers or []):
                continue  # operator re-injections are not connector activity
            s = _source_of(r.value) or "?"
            e = sources[s]
            e["raw_last_window"] += 1
            at = _iso_ms(r.timestamp)
            if at and (e["last_raw_at"] is None or at > e["last_raw_at"]):
                e["last_raw_at"] = at
    dl = settings.deadletter_topic
    if st["topics"].get(dl, {}).get("exists"):
        st["deadletters"]["total"] = st["topics"][dl]["retained"]
        by = Tally()
        n = 0
        for r in _scan_window(consumer, dl, since, max_scan):
            n += 1
            obj = decode_value(r.value) or {}
            by[f"{obj.get('stage', '?')}/{obj.get('reason', '?')}"] += 1
            if obj.get("source"):
                sources[obj["source"]]["failures_last_window"] += 1
        st["deadletters"]["last_window"] = n
        st["deadletters"]["by_stage_reason"] = dict(by.most_common())
    st["sources"] = {k: sources[k] for k in sorted(sources)}


def judge_status(st: dict, *, max_lag: int = 10_000, previous: dict | None = None) -> list[str]:
    """Problems that make ``rasid status`` exit non-zero; empty when healthy.

    Lag counts as a problem when a group has lag but no member to work it off,
    or when it exceeds ``max_lag`` (and, given an earlier sample, is still growing).
    """
    problems = []
    if not st["kafka"]["ok"]:
        problems.append(f"kafka unavailable: {st['kafka'].get('error', '?')}")
    es = st["elasticsearch"]
    if not es["ok"]:
        problems.append(f"elasticsearch unavailable: {es.get('error') or es.get('status')}")
    for g, info in st["groups"].items():
        if info["lag"] > 0 and info["members"] == 0:
            problems.append(f"group {g}: lag {info['lag']} and no member consuming")
        elif info["lag"] > max_lag:
            before = (previous or {}).get("groups", {}).get(g, {}).get("lag")
            if before is None or info["lag"] >= before:
                problems.append(f"group {g}: lag {info['lag']} > {max_lag}" + (f" (was {before})" if before is not None else ""))
    raw = st["topics"].get(f"{st['namespace']}.raw", {})
    if st["kafka"]["ok"] and raw.get("end_offset"):
        raw_t = f"{st['namespace']}.raw"
        if not any(raw_t in info["topics"] for info in st["groups"].values()):
            problems.append(f"{raw_t} has records but no consumer group has ever consumed it")
    return problems


def render_status(st: dict, problems: list[str]) -> None:
    from rich.table import Table

    c = _console()
    ok = "[green]ok[/]"
    bad = "[bold red]DOWN[/]"
    k, e = st["kafka"], st["elasticsearch"]
    c.print(f"[bold]Rasid status[/] namespace [cyan]{st['namespace']}[/] at {st['at']}")
    c.print(f"Kafka {k['bootstrap']}: {ok if k['ok'] else bad}" + (f" ({k.get('brokers')} broker(s))" if k["ok"] else f" {k.get('error', '')}"))
    c.print(f"Elasticsearch {e['url']}: {ok if e['ok'] else bad} " + (e.get("status") or e.get("error", "")))
    for name, comp in st.get("components", {}).items():
        n = comp["members"]
        c.print(f"{name.capitalize()} (group {comp['group']}): " + (f"[green]{n} live[/]" if n else "[yellow]none live[/]"))
    if st["topics"]:
        t = Table(title="Topics", title_justify="left")
        for col in ("topic", "partitions", "end offset", "retained"):
            t.add_column(col, justify="right" if col != "topic" else "left")
        for name, info in st["topics"].items():
            if info.get("exists"):
                t.add_row(name, str(info["partitions"]), str(info["end_offset"]), str(info["retained"]))
            else:
                t.add_row(name, "[red]missing[/]", "", "")
        c.print(t)
    if st["groups"]:
        t = Table(title="Consumer groups", title_justify="left")
        for col in ("group", "state", "members", "topic", "lag"):
            t.add_column(col, justify="right" if col in ("members", "lag") else "left")
        for g, info in st["groups"].items():
            topics = info["topics"] or {"-": {}}
            for i, (tn, parts) in enumerate(topics.items()):
                lag = sum(p["lag"] for p in parts.values())
                t.add_row(g if i == 0 else "", str(info["state"]) if i == 0 else "", str(info["members"]) if i == 0 else "", tn, str(lag))
        c.print(t)
    if e.get("indices") is not None:
        t = Table(title=f"Elasticsearch indices (alias docs: {e.get('alias_docs')})", title_justify="left")
        for col in ("index", "docs", "size", "health"):
            t.add_column(col, justify="right" if col == "docs" else "left")
        for name, info in e["indices"].items():
            t.add_row(name, str(info["docs"]), str(info["size"]), str(info["health"]))
        c.print(t)
    win = f"last {st['window_s'] // 60} min"
    if st["sources"]:
        t = Table(title=f"Sources ({win})", title_justify="left")
        cols = ["source", "raw pages", "last raw", "dead letters"]
        scraped = st.get("connectors_metrics", {}).get("ok")
        if scraped:
            cols += ["last successful poll", "connector errors"]
        for col in cols:
            t.add_column(col, justify="right" if col in ("raw pages", "dead letters") else "left")
        for s, info in st["sources"].items():
            row = [s, str(info["raw_last_window"]), str(info["last_raw_at"] or "-"), str(info["failures_last_window"])]
            if scraped:
                errs = info.get("connector_errors") or {}
                row += [str(info.get("last_success") or "-"), ", ".join(f"{k}={v}" for k, v in errs.items()) or "-"]
            t.add_row(*row)
        c.print(t)
    cm = st.get("connectors_metrics")
    if cm and not cm["ok"]:
        c.print(f"[yellow]connectors metrics at {cm['url']} unavailable: {cm['error']}[/]")
    d = st["deadletters"]
    c.print(f"Dead letters: {d['last_window']} in the {win} ({d['total']} retained)")
    for k2, n in d["by_stage_reason"].items():
        c.print(f"  {k2}: {n}")
    if problems:
        c.print("[bold red]UNHEALTHY[/]")
        for p in problems:
            c.print(f"  - {p}")
    else:
        c.print("[bold green]HEALTHY[/]")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--window", default="1h", show_default=True, help="Activity window for sources and dead letters.")
@click.option("--max-lag", type=int, default=10_000, show_default=True, help="Lag above which a group is unhealthy.")
@click.option("--sample", type=float, default=0.0, help="Measure lag twice, SECONDS apart; lag above --max-lag is then a problem only while growing.")
@click.option("--timeout", "timeout_s", type=float, default=5.0, show_default=True, help="Seconds to wait for Kafka/Elasticsearch.")
@click.option("--connectors-metrics", "cm_url", metavar="URL",
              help="The connectors' /metrics URL, for last successful poll and errors per source "
                   "(default: this host's RASID_METRICS_PORT when set).")
def status_cmd(as_json, window, max_lag, sample, timeout_s, cm_url):
    """Health of Kafka, Elasticsearch, workers and sources; exits 1 when something is unhealthy."""
    settings = get_settings()
    cm_url = cm_url or connectors_metrics_url(settings)
    now = datetime.now(timezone.utc)
    w = now - parse_since(window, now)
    previous = None
    if sample > 0:
        previous = collect_status(settings, window=w, timeout_s=timeout_s, max_scan=1)
        time.sleep(sample)
    st = collect_status(settings, window=w, timeout_s=timeout_s, connectors_metrics=cm_url)
    problems = judge_status(st, max_lag=max_lag, previous=previous)
    st["healthy"] = not problems
    st["problems"] = problems
    if as_json:
        click.echo(json.dumps(st, ensure_ascii=False, default=str))
    else:
        render_status(st, problems)
    sys.exit(1 if problems else 0)


# --------------------------------------------------------------------------------------------------
# rasid replay


def _stage_topic(settings: Settings, stage: str) -> str:
    return settings.articles_topic if stage == "index" else settings.raw_topic


@dataclass
class ReplayPlan:
    topic: str
    starts: dict
    ends: dict

    @property
    def total(self) -> int:
        return sum(max(0, self.ends[tp] - self.starts[tp]) for tp in self.starts)


def plan_replay(consumer, topic: str, *, from_beginning: bool, since: datetime | None) -> ReplayPlan:
    tps = topic_partitions(consumer, topic)
    starts = consumer.beginning_offsets(tps) if from_beginning else offsets_at(consumer, tps, since)
    return ReplayPlan(topic, dict(starts), dict(consumer.end_offsets(tps)))


def _replay_origin(headers) -> tuple[int, int] | None:
    for k, v in headers or []:
        if k == REPLAY_HEADER:
            try:
                p, o = (v.decode() if isinstance(v, bytes) else v).split(":")
                return int(p), int(o)
            except ValueError:
                return None
    return None


def copy_range(consumer, producer, plan: ReplayPlan, progress=None) -> tuple[int, int]:
    """Re-append the plan's records to their own partitions, in order; returns (copied, skipped).

    A record that is itself a replay copy is skipped when its original is inside the range.
    """
    from kafka import TopicPartition

    copied = skipped = 0
    futures = []
    for r in read_range(consumer, plan.starts, plan.ends):
        origin = _replay_origin(r.headers)
        if origin is not None:
            otp = TopicPartition(plan.topic, origin[0])
            if otp in plan.starts and origin[1] >= plan.starts[otp]:
                skipped += 1
                if progress:
                    progress(1)
                continue
        headers = [(k, v) for k, v in (r.headers or []) if k != REPLAY_HEADER]
        headers.append((REPLAY_HEADER, f"{r.partition}:{r.offset}".encode() if origin is None else f"{origin[0]}:{origin[1]}".encode()))
        futures.append(producer.send(plan.topic, value=r.value, key=r.key, headers=headers, partition=r.partition))
        copied += 1
        if len(futures) >= 500:
            for f in futures:
                f.get(timeout=60)
            futures.clear()
        if progress:
            progress(1)
    producer.flush(timeout=120)
    for f in futures:
        f.get(timeout=60)
    return copied, skipped


def wait_drained(settings: Settings, topic: str, *, timeout_s: float, progress=None, poll_s: float = 1.0) -> int | None:
    """Wait until every namespace group consuming ``topic`` committed up to the current end.

    Returns the lag left (0 = drained), or None when no group of the namespace consumes the topic.
    """
    admin = kafka_admin(settings)
    consumer = kafka_consumer(settings)
    try:
        tps = topic_partitions(consumer, topic)
        target = consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        remaining = -1
        while True:
            groups = [g for g in list_namespace_groups(admin, settings.namespace)]
            remaining = 0
            consuming = 0
            for g in groups:
                committed = group_offsets(admin, g)
                if not any(tp.topic == topic for tp in committed):
                    continue
                consuming += 1
                remaining += sum(max(0, target[tp] - committed.get(tp, 0)) for tp in tps)
            if progress:
                progress(remaining, consuming)
            if consuming and remaining == 0:
                return 0
            if time.monotonic() > deadline:
                return remaining if consuming else None
            time.sleep(poll_s)
    finally:
        consumer.close()
        admin.close()


@click.command("replay")
@click.option("--from-beginning", is_flag=True, help="Replay every retained record.")
@click.option("--since", metavar="T", help="Replay records from T ago (10m, 2h, 1d) or an ISO time.")
@click.option("--stage", type=click.Choice(["extract", "index"]), default="extract", show_default=True,
              help="extract: re-process <ns>.raw (new topics.yaml, gazetteer, cleaning); index: re-index <ns>.articles.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the pipeline until the copies are processed.")
@click.option("--timeout", "timeout_s", type=float, default=3600, show_default=True, help="Seconds to wait for processing.")
def replay_cmd(from_beginning, since, stage, yes, wait, timeout_s):
    """Re-process raw pages (or re-index articles) while the pipeline runs.

    The chosen records are copied to the end of their own topic and partition;
    documents are updated in place (ES _id = article id), never duplicated.
    """
    if bool(from_beginning) == bool(since):
        raise click.UsageError("give exactly one of --from-beginning or --since")
    settings = get_settings()
    topic = _stage_topic(settings, stage)
    consumer = kafka_consumer(settings, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    try:
        plan = plan_replay(consumer, topic, from_beginning=from_beginning, since=parse_since(since) if since else None)
        if plan.total == 0:
            click.echo(f"nothing to replay in {topic}")
            return
        if not yes:
            click.confirm(f"Copy {plan.total} record(s) of {topic} for re-processing?", abort=True)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        producer = kafka_producer(settings)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=_console(stderr=True)) as prog:
            task = prog.add_task(f"copy {topic}", total=plan.total)
            copied, skipped = copy_range(consumer, producer, plan, lambda n: prog.advance(task, n))
            producer.close()
            result = {"topic": topic, "range": plan.total, "copied": copied, "skipped_copies": skipped}
            if wait and copied:
                stages = [topic] + ([settings.topic("dedupe"), settings.articles_topic] if stage == "extract" else [])
                stages = [t for t in stages if consumer.partitions_for_topic(t)]
                for t in stages:
                    wt = prog.add_task(f"process {t}", total=None)

                    def show(remaining: int, consuming: int, wt=wt, first=(t == topic), t=t) -> None:
                        # the copied topic: done = copies minus lag; later topics: the lag still to go
                        done = max(0, copied - remaining) if first else 0
                        total = max(copied, done + remaining) if first else None
                        prog.update(wt, total=total, completed=done,
                                    description=f"process {t} ({consuming} group(s), lag {remaining})")

                    left = wait_drained(settings, t, timeout_s=timeout_s, progress=show)
                    result[f"lag_left:{t}"] = left
                    if left is None:
                        prog.update(wt, description=f"process {t}: no worker group consumes it yet")
                        result["note"] = f"no worker group consumes {t}: the copies wait for the workers"
                        break
                    if left:
                        raise click.ClickException(f"timed out with lag {left} on {t}")
        click.echo(json.dumps(result))
    finally:
        consumer.close()


# --------------------------------------------------------------------------------------------------
# rasid deadletter list|retry


def retried_topic(settings: Settings) -> str:
    return settings.topic("deadletter.retried")


def ensure_retried_topic(settings: Settings, admin) -> str:
    """The compacted marker topic of retried dead letters, created on first use."""
    from kafka.errors import TopicAlreadyExistsError

    t = retried_topic(settings)
    if t in set(admin.list_topics()):
        return t
    try:
        admin.create_topics(
            {t: {"num_partitions": 1, "replication_factor": settings.kafka_replication,
                 "configs": {"cleanup.policy": "compact"}}},
            wait_for_metadata=True,
        )
    except TopicAlreadyExistsError:
        pass
    return t


def load_retried(consumer, topic: str) -> set[str]:
    """Keys (``partition:offset``) of dead letters already re-injected."""
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        return set()
    from kafka import TopicPartition

    tps = [TopicPartition(topic, p) for p in parts]
    done = set()
    for r in read_range(consumer, consumer.beginning_offsets(tps), consumer.end_offsets(tps)):
        if r.key is not None and r.value is not None:
            done.add(r.key.decode())
    return done


@dataclass
class DeadLetterRow:
    ref: str  # partition:offset in the dead-letter topic
    ts_ms: int
    obj: dict | None
    raw: bytes | None

    @property
    def stage(self) -> str:
        return (self.obj or {}).get("stage") or "?"

    @property
    def reason(self) -> str:
        return (self.obj or {}).get("reason") or "?"


def read_deadletters(consumer, settings: Settings, *, stage: str | None = None, reason: str | None = None) -> list[DeadLetterRow]:
    topic = settings.deadletter_topic
    tps = topic_partitions(consumer, topic)
    rows = []
    for r in read_range(consumer, consumer.beginning_offsets(tps), consumer.end_offsets(tps)):
        row = DeadLetterRow(f"{r.partition}:{r.offset}", r.timestamp, decode_value(r.value), r.value)
        if stage and row.stage != stage:
            continue
        if reason and row.reason != reason:
            continue
        rows.append(row)
    rows.sort(key=lambda x: (x.ts_ms, x.ref))
    return rows


def retry_target(settings: Settings, obj: dict) -> tuple[str | None, str]:
    """(topic to re-inject into, why not) for one dead letter."""
    if not obj.get("payload"):
        return None, "payload_truncated" if obj.get("payload_truncated") else "no_payload"
    src = obj.get("source_topic")
    if src in (settings.raw_topic, settings.articles_topic):
        return src, ""
    stage = obj.get("stage")
    if stage == "index":
        return settings.articles_topic, ""
    if stage in RAW_STAGES:
        return settings.raw_topic, ""
    return None, f"stage_{stage}_not_retryable"


def retry_deadletters(settings: Settings, *, stage: str | None = None, reason: str | None = None,
                      dry_run: bool = False) -> dict[str, Any]:
    """Re-inject matching dead letters not retried before; returns counts."""
    admin = kafka_admin(settings)
    consumer = kafka_consumer(settings, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    producer = None
    try:
        marker = ensure_retried_topic(settings, admin)
        done = load_retried(consumer, marker)
        rows = read_deadletters(consumer, settings, stage=stage, reason=reason)
        out: dict[str, Any] = {"matched": len(rows), "already_retried": 0, "retried": 0, "not_retryable": {}, "to": {}}
        skip = Tally()
        todo = []
        for row in rows:
            if row.ref in done:
                out["already_retried"] += 1
                continue
            target, why = retry_target(settings, row.obj or {})
            if target is None:
                skip[why or "not_json"] += 1
                continue
            todo.append((row, target))
        out["not_retryable"] = dict(skip)
        if dry_run or not todo:
            out["would_retry"] = len(todo)
            return out
        producer = kafka_producer(settings)
        to = Tally()
        for row, target in todo:
            obj = row.obj or {}
            key = obj.get("key")
            producer.send(
                target,
                value=obj["payload"].encode("utf-8"),
                key=key.encode("utf-8") if key else None,
                headers=[(RETRY_HEADER, f"{settings.deadletter_topic}:{row.ref}".encode())],
            ).get(timeout=60)
            marker_value = json.dumps({"at": datetime.now(timezone.utc).isoformat(), "to": target,
                                       "stage": row.stage, "reason": row.reason}).encode()
            producer.send(marker, key=row.ref.encode(), value=marker_value).get(timeout=60)
            to[target] += 1
        producer.flush()
        out["retried"] = sum(to.values())
        out["to"] = dict(to)
        return out
    finally:
        if producer is not None:
            producer.close()
        consumer.close()
        admin.close()


@click.group("deadletter")
def deadletter_group():
    """Inspect and re-inject dead letters of the namespace."""


@deadletter_group.command("list")
@click.option("--stage", help="Only this stage (extract, index, ...).")
@click.option("--reason", help="Only this reason slug.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--bidi/--no-bidi", default=None, help="Reorder Arabic for the terminal (default: when stdout is a terminal).")
def deadletter_list(stage, reason, as_json, bidi):
    """List dead letters (oldest first) with whether they were retried; a summary by stage/reason at the end."""
    settings = get_settings()
    admin = kafka_admin(settings)
    consumer = kafka_consumer(settings, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    try:
        parts = consumer.partitions_for_topic(retried_topic(settings))
        done = load_retried(consumer, retried_topic(settings)) if parts else set()
        rows = read_deadletters(consumer, settings, stage=stage, reason=reason)
    finally:
        consumer.close()
        admin.close()
    if bidi is None:
        bidi = sys.stdout.isatty()
    summary = Tally()
    c = _console()
    for row in rows:
        summary[f"{row.stage}/{row.reason}"] += 1
        o = row.obj or {}
        target, why = retry_target(settings, o)
        if as_json:
            item = {k: v for k, v in o.items() if k != "payload"}
            item.update(ref=row.ref, retried=row.ref in done, retryable=target is not None, payload_bytes=len(o.get("payload") or ""))
            click.echo(json.dumps(item, ensure_ascii=False))
        else:
            flag = "[green]retried[/]" if row.ref in done else ("" if target else f"[dim]({why})[/]")
            from rich.markup import escape

            c.print(f"[dim]{_iso_ms(row.ts_ms)}[/] {row.ref:>8}  [bold red]{escape(row.stage)}/{escape(row.reason)}[/]  "
                    f"[cyan]{escape(o.get('source') or '-')}[/]  {escape(_short(o.get('url') or o.get('key') or '', 90))}  "
                    f"[dim]{escape(rtl(_short(o.get('detail') or '', 80), bidi))}[/] {flag}")
    if not as_json:
        c.print(f"{len(rows)} dead letter(s)" + "".join(f"\n  {k}: {n}" for k, n in summary.most_common()))


@deadletter_group.command("retry")
@click.option("--stage", help="Only this stage.")
@click.option("--reason", help="Only this reason slug.")
@click.option("--dry-run", is_flag=True, help="Count what would be re-injected, change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def deadletter_retry(stage, reason, dry_run, yes):
    """Re-inject dead letters after a fix: raw-stage ones into <ns>.raw, index-stage ones into <ns>.articles.

    Each one is re-injected once: retried ones are remembered in <ns>.deadletter.retried.
    """
    settings = get_settings()
    if not dry_run and not yes:
        preview = retry_deadletters(settings, stage=stage, reason=reason, dry_run=True)
        click.echo(json.dumps(preview))
        if not preview.get("would_retry"):
            return
        click.confirm(f"Re-inject {preview['would_retry']} dead letter(s)?", abort=True)
    click.echo(json.dumps(retry_deadletters(settings, stage=stage, reason=reason, dry_run=dry_run)))
