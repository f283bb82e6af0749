"""``rasid status``: health, consumer lag, per-source activity and document counts in one report
(non-zero exit when something is unhealthy)."""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter as Tally
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator
import click
from pipeline.core.settings import Settings, get_settings
from pipeline.core.urls import redact
from pipeline.cli.view import KINDS, make_console, iso_ms, parse_since
from pipeline.core.kafka import KafkaUnavailable, REPLAY_HEADER, RETRY_HEADER, decode_value, describe_group, group_offsets, kafka_admin, kafka_consumer, list_namespace_groups, offsets_at, read_range, topic_partitions


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
            elif smp.name == "rasid_source_blocked_endpoints" and smp.value > 0:
                out[src]["blocked_endpoints"] = int(smp.value)  # the outlet refuses us: blocked, not broken
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
        "kafka": {"ok": False, "bootstrap": redact(settings.kafka_bootstrap)},
        "elasticsearch": {"ok": False, "url": redact(settings.es_url)},
        "topics": {},
        "groups": {},
        "sources": {},
        "deadletters": {"total": 0, "last_window": 0, "by_stage_reason": {}},
    }
    _status_es(settings, st, timeout_s)
    try:
        admin = kafka_admin(settings, timeout_s)
        consumer = kafka_consumer(settings, timeout_s, max_partition_fetch_bytes=max(settings.kafka_max_message_bytes, 1_048_576))
    except KafkaUnavailable as e:
        st["kafka"]["error"] = redact(str(e))
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
        st["kafka"]["error"] = redact(f"{type(e).__name__}: {e}")
    finally:
        consumer.close()
        admin.close()
    if connectors_metrics:
        try:
            scraped = scrape_connectors(connectors_metrics, timeout_s)
            st["connectors_metrics"] = {"url": redact(connectors_metrics), "ok": True}
            for src, info in scraped.items():
                e = st["sources"].setdefault(src, {"raw_last_window": 0, "last_raw_at": None, "failures_last_window": 0})
                e["last_success"] = info["last_success"]
                e["connector_errors"] = info["errors"]
                e["state"] = ("blocked" if info.get("blocked_endpoints") else
                              "failing" if info["errors"] and not info["last_success"] else "ok")
                if info.get("blocked_endpoints"):
                    e["blocked_endpoints"] = info["blocked_endpoints"]
        except Exception as e:  # optional source of detail: its absence is reported, not fatal
            st["connectors_metrics"] = {"url": redact(connectors_metrics), "ok": False,
                                        "error": redact(f"{type(e).__name__}: {e}")[:200]}
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
        # the articles' monthly indices, and the story documents' and alerts' (written by the stories agent)
        pattern = ",".join(f"{a}-*" for a in (settings.es_alias, settings.stories_alias, settings.alerts_alias))
        rows = es.cat.indices(index=pattern, format="json", h="index,docs.count,store.size,health")
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
        st["elasticsearch"]["error"] = redact(f"{type(e).__name__}: {e}")[:300]
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
            at = iso_ms(r.timestamp)
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
    for e in sources.values():
        e["pages_failing"] = pages_failing(e["raw_last_window"], e["failures_last_window"])
    st["sources"] = {k: sources[k] for k in sorted(sources)}


def pages_failing(pages: int, dead_lettered: int) -> bool:
    """Most of a source's pages in the window dead-lettered (at least 3, and 80% of its raw pages): its pages
    changed, as the Prometheus rule RasidSourcePagesFailing says over 6 hours."""
    return dead_lettered >= 3 and dead_lettered >= 0.8 * pages


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


def status_view(st: dict, problems: list[str]) -> Any:
    """The report as one rich renderable (printed by ``rasid status``, redrawn by ``--watch``)."""
    from rich.console import Group
    from rich.table import Table

    parts: list[Any] = []
    ok = "[green]ok[/]"
    bad = "[bold red]DOWN[/]"
    k, e = st["kafka"], st["elasticsearch"]
    parts.append(f"[bold]Rasid status[/] namespace [cyan]{st['namespace']}[/] at {st['at']}")
    parts.append(f"Kafka {k['bootstrap']}: {ok if k['ok'] else bad}" + (f" ({k.get('brokers')} broker(s))" if k["ok"] else f" {k.get('error', '')}"))
    parts.append(f"Elasticsearch {e['url']}: {ok if e['ok'] else bad} " + (e.get("status") or e.get("error", "")))
    for name, comp in st.get("components", {}).items():
        n = comp["members"]
        parts.append(f"{name.capitalize()} (group {comp['group']}): " + (f"[green]{n} live[/]" if n else "[yellow]none live[/]"))
    if st["topics"]:
        t = Table(title="Topics", title_justify="left")
        for col in ("topic", "partitions", "end offset", "retained"):
            t.add_column(col, justify="right" if col != "topic" else "left")
        for name, info in st["topics"].items():
            if info.get("exists"):
                t.add_row(name, str(info["partitions"]), str(info["end_offset"]), str(info["retained"]))
            else:
                t.add_row(name, "[red]missing[/]", "", "")
        parts.append(t)
    if st["groups"]:
        t = Table(title="Consumer groups", title_justify="left")
        for col in ("group", "state", "members", "topic", "lag"):
            t.add_column(col, justify="right" if col in ("members", "lag") else "left")
        for g, info in st["groups"].items():
            topics = info["topics"] or {"-": {}}
            for i, (tn, by_partition) in enumerate(topics.items()):
                lag = sum(p["lag"] for p in by_partition.values())
                t.add_row(g if i == 0 else "", str(info["state"]) if i == 0 else "", str(info["members"]) if i == 0 else "", tn, str(lag))
        parts.append(t)
    if e.get("indices") is not None:
        t = Table(title=f"Elasticsearch indices ({e.get('alias_docs')} articles behind the alias)", title_justify="left")
        for col in ("index", "docs", "size", "health"):
            t.add_column(col, justify="right" if col == "docs" else "left")
        for name, info in e["indices"].items():
            t.add_row(name, str(info["docs"]), str(info["size"]), str(info["health"]))
        parts.append(t)
    win = f"last {st['window_s'] // 60} min"
    if st["sources"]:
        t = Table(title=f"Sources ({win})", title_justify="left")
        cols = ["source", "raw pages", "last raw", "dead letters"]
        scraped = st.get("connectors_metrics", {}).get("ok")
        if scraped:
            cols += ["state", "last successful poll", "connector errors"]
        for col in cols:
            t.add_column(col, justify="right" if col in ("raw pages", "dead letters") else "left")
        for s, info in st["sources"].items():
            failed = str(info["failures_last_window"])
            if info.get("pages_failing"):
                failed = f"[bold red]{failed} (most pages fail)[/]"
            row = [s, str(info["raw_last_window"]), str(info["last_raw_at"] or "-"), failed]
            if scraped:
                errs = info.get("connector_errors") or {}
                state = info.get("state") or "-"
                if state == "blocked":  # refused by the outlet (403, WAF, refused connections): retried hours apart
                    state = f"[yellow]blocked ({info.get('blocked_endpoints', 0)} endpoint(s))[/]"
                elif state == "failing":
                    state = "[red]failing[/]"
                row += [state, str(info.get("last_success") or "-"),
                        ", ".join(f"{k}={v}" for k, v in errs.items()) or "-"]
            t.add_row(*row)
        parts.append(t)
    cm = st.get("connectors_metrics")
    if cm and not cm["ok"]:
        parts.append(f"[yellow]connectors metrics at {cm['url']} unavailable: {cm['error']}[/]")
    d = st["deadletters"]
    parts.append(f"Dead letters: {d['last_window']} in the {win} ({d['total']} retained)")
    for k2, n in d["by_stage_reason"].items():
        parts.append(f"  {k2}: {n}")
    if problems:
        parts.append("[bold red]UNHEALTHY[/]")
        for p in problems:
            parts.append(f"  - {p}")
    else:
        parts.append("[bold green]HEALTHY[/]")
    return Group(*parts)


def render_status(st: dict, problems: list[str]) -> None:
    make_console().print(status_view(st, problems))


def watch_status(settings: Settings, *, window: str, max_lag: int, timeout_s: float, cm_url: str | None,
                 interval_s: float) -> None:
    """``rasid status --watch``: the status block of the running processes (their /metrics, when
    RASID_METRICS_PORT is set) above the full report, redrawn in place with rich's Live."""
    from rich.console import Group
    from rich.live import Live

    from pipeline.cli import live
    from pipeline.cli.view import visual_order
    from pipeline.core.metrics import metrics_port_for
    from pipeline.stream.es import es_client

    base = settings.metrics_port
    urls = ([f"http://127.0.0.1:{metrics_port_for(base, 'connectors')}/metrics"]
            + [f"http://127.0.0.1:{metrics_port_for(base, 'worker', i)}/metrics" for i in range(8)]) if base else []
    es = es_client(settings)
    prev = None
    visual = visual_order()

    def frame() -> Any:
        nonlocal prev
        now = datetime.now(timezone.utc)
        st = collect_status(settings, window=now - parse_since(window, now), timeout_s=timeout_s,
                            connectors_metrics=cm_url or connectors_metrics_url(settings))
        cur = live.take(settings, urls, es, prev)
        view = Group(live.block(prev, cur, visual), status_view(st, judge_status(st, max_lag=max_lag)))
        prev = cur
        return view

    try:
        with Live(frame(), console=make_console(), refresh_per_second=1, screen=False) as lv:
            while True:
                time.sleep(interval_s)
                lv.update(frame())
    except KeyboardInterrupt:
        pass
    finally:
        es.close()


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--window", default="1h", show_default=True, help="Activity window for sources and dead letters.")
@click.option("--max-lag", type=int, default=10_000, show_default=True, help="Lag above which a group is unhealthy.")
@click.option("--sample", type=float, default=0.0, help="Measure lag twice, SECONDS apart; lag above --max-lag is then a problem only while growing.")
@click.option("--timeout", "timeout_s", type=float, default=5.0, show_default=True, help="Seconds to wait for Kafka/Elasticsearch.")
@click.option("--connectors-metrics", "cm_url", metavar="URL",
              help="The connectors' /metrics URL, for last successful poll and errors per source "
                   "(default: this host's RASID_METRICS_PORT when set).")
@click.option("--watch", is_flag=True, help="A live view, redrawn every --interval seconds, until Ctrl-C.")
@click.option("--interval", type=float, default=5.0, show_default=True, help="Seconds between redraws of --watch.")
def status_cmd(as_json, window, max_lag, sample, timeout_s, cm_url, watch, interval):
    """Health of Kafka, Elasticsearch, workers and sources; exits 1 when something is unhealthy."""
    settings = get_settings()
    if watch:
        watch_status(settings, window=window, max_lag=max_lag, timeout_s=timeout_s, cm_url=cm_url,
                     interval_s=interval)
        return
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
