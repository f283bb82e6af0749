"""What Rasid is doing right now, for people: a compact status block.

Read from the processes' own Prometheus ``/metrics`` (connectors and workers, see
``metrics_port_for``) and Elasticsearch: per stage received / emitted / dead-lettered per second
over the last interval, consumer lag, articles indexed, sources ok and failing, the last few
indexed titles. ``rasid run`` prints it every 10 s on a terminal; ``rasid status --watch`` shows it
(with the full status report) as a live view.
"""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterable

from prometheus_client.parser import text_string_to_metric_families

from pipeline.core.metrics import STAGES
from pipeline.core.settings import Settings


@dataclass
class Snapshot:
    at: float
    stages: dict[str, list[float]] = field(default_factory=dict)  # stage -> [received, emitted, dropped]
    lag: float = 0.0
    sources_ok: list[str] = field(default_factory=list)
    sources_failing: dict[str, float] = field(default_factory=dict)  # source -> errors so far
    sources_blocked: list[str] = field(default_factory=list)  # refused by the outlet: retried hours apart
    titles: list[str] = field(default_factory=list)
    indexed_total: int | None = None  # documents behind the alias
    reachable: int = 0  # processes whose /metrics answered


def scrape(url: str, timeout_s: float = 2.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:  # noqa: S310 - our own loopback ports
            return r.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None


def take(settings: Settings, metrics_urls: Iterable[str], es: Any = None, previous: Snapshot | None = None,
         titles: int = 3) -> Snapshot:
    """One snapshot from the processes' /metrics and (when given a client) Elasticsearch."""
    snap = Snapshot(at=time.monotonic())
    for stage in STAGES:
        snap.stages[stage] = [0.0, 0.0, 0.0]
    last_success: dict[str, float] = {}
    errors: dict[str, float] = {}
    blocked: set[str] = set()
    for url in metrics_urls:
        text = scrape(url)
        if text is None:
            continue
        snap.reachable += 1
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                stage = s.labels.get("stage")
                if s.name == "rasid_stage_received_total" and stage in snap.stages:
                    snap.stages[stage][0] += s.value
                elif s.name == "rasid_stage_emitted_total" and stage in snap.stages:
                    snap.stages[stage][1] += s.value
                elif s.name == "rasid_stage_dropped_total" and stage in snap.stages:
                    snap.stages[stage][2] += s.value
                elif s.name == "rasid_consumer_lag":
                    snap.lag += s.value
                elif s.name == "rasid_source_last_success_timestamp":
                    last_success[s.labels["source"]] = max(s.value, last_success.get(s.labels["source"], 0.0))
                elif s.name == "rasid_connector_errors_total":
                    errors[s.labels["source"]] = errors.get(s.labels["source"], 0.0) + s.value
                elif s.name == "rasid_source_blocked_endpoints" and s.value > 0:
                    blocked.add(s.labels["source"])
    before = previous.sources_failing if previous else {}
    snap.sources_blocked = sorted(blocked)
    for src in sorted((set(last_success) | set(errors)) - blocked):
        new_errors = errors.get(src, 0.0) - (before.get(src, 0.0) if previous else 0.0)
        if last_success.get(src) and not (previous and src in before and new_errors > 0):
            snap.sources_ok.append(src)
        if errors.get(src, 0.0) > 0 and (not last_success.get(src) or new_errors > 0):
            snap.sources_failing[src] = errors[src]
    if es is not None:
        try:
            r = es.search(index=settings.es_alias, size=titles, sort=[{"indexed_at": "desc"}], source=["title"],
                          track_total_hits=True, ignore_unavailable=True, allow_no_indices=True).body
            snap.titles = [h["_source"].get("title") or "(no title)" for h in r["hits"]["hits"]]
            snap.indexed_total = r["hits"]["total"]["value"]
        except Exception:  # noqa: BLE001 - Elasticsearch away: the block says so by leaving them out
            pass
    return snap


def rates(prev: Snapshot | None, cur: Snapshot) -> dict[str, tuple[float, float, float]]:
    """Per stage: received, emitted, dead-lettered per second since ``prev`` (totals when none)."""
    dt = max(cur.at - prev.at, 1e-6) if prev else None
    out = {}
    for stage, (r, e, d) in cur.stages.items():
        if prev is None:
            out[stage] = (r, e, d)
            continue
        pr, pe, pd = prev.stages.get(stage, [0.0, 0.0, 0.0])
        out[stage] = (max(0.0, r - pr) / dt, max(0.0, e - pe) / dt, max(0.0, d - pd) / dt)
    return out


def block(prev: Snapshot | None, cur: Snapshot, visual: bool = False) -> Any:
    """The status block as a rich renderable."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from pipeline.cli.view import rtl

    per = "/s" if prev else " total"
    t = Table(box=None, pad_edge=False, show_edge=False, title=None, header_style="bold")
    t.add_column("stage")
    for col in (f"received{per}", f"emitted{per}", f"dead-lettered{per}"):
        t.add_column(col, justify="right")
    for stage, (r, e, d) in rates(prev, cur).items():
        if r or e or d or stage in ("fetch", "extract", "index"):
            t.add_row(stage, f"{r:.1f}", f"{e:.1f}", Text(f"{d:.1f}", style="red" if d else ""))
    indexed = f"{cur.indexed_total} article(s) indexed" if cur.indexed_total is not None else "Elasticsearch: no answer"
    lines = [Text(f"{time.strftime('%H:%M:%S')} status · {indexed} · consumer lag {int(cur.lag)} · "
                  f"sources ok {len(cur.sources_ok)} / failing {len(cur.sources_failing)}"
                  + (f" / blocked {len(cur.sources_blocked)}" if cur.sources_blocked else ""), style="bold")]
    if cur.reachable == 0:
        lines.append(Text("no process answered on its metrics port yet", style="yellow"))
    lines.append(t)
    if cur.sources_failing:
        worst = sorted(cur.sources_failing.items(), key=lambda x: -x[1])
        more = f", +{len(worst) - 5} more" if len(worst) > 5 else ""
        lines.append(Text("failing: " + ", ".join(f"{s} ({int(n)} errors)" for s, n in worst[:5]) + more,
                          style="yellow"))
    for title in cur.titles:
        lines.append(Text("  · " + rtl(title, visual)))
    return Group(*lines)
