"""How a record of each topic looks to an operator: a view (id, source, title, reason...), printed as a
line for people or as JSON for pipes, and the time arguments (``--since 10m``)."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
import click
from pipeline.core.settings import Settings
from pipeline.core.kafka import REPLAY_HEADER, decode_value


KINDS = ("raw", "articles", "deadletter", "seen", "stories", "alerts")
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


def iso_ms(ts_ms: int | None) -> str | None:
    if ts_ms is None or ts_ms < 0:
        return None
    return datetime.fromtimestamp(ts_ms / 1000, timezone.utc).isoformat(timespec="seconds")


def topic_name(settings: Settings, name: str) -> str:
    """``raw``, ``articles``, ``deadletter``, ``seen``, ``stories``, ``alerts`` → ``<ns>.<kind>``; a full name of the namespace as is."""
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
        return iso_ms(self.ts_ms) or "?"


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


def visual_order(asked: str | None = None, stream: Any = None) -> bool:
    """Reorder Arabic into visual order? Only when asked (``--bidi visual`` or ``RASID_BIDI=visual``)
    and the output is a terminal: copied, piped or grepped text always stays in logical order."""
    if asked is None:
        from pipeline.core.settings import get_settings

        asked = get_settings().bidi
    stream = stream if stream is not None else sys.stdout
    return asked == "visual" and hasattr(stream, "isatty") and stream.isatty()


BIDI_OPTION_HELP = ("Arabic order on the terminal: logical (default; terminals that run the bidi algorithm "
                    "themselves) or visual (reordered for terminals without bidi). Piped output is always logical.")


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


def short(text: Any, n: int) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def human_fields(v: View, bidi: bool = True) -> list[tuple[str, str]]:
    """(text, rich style) pieces of one human-readable line."""
    o = v.obj or {}
    pieces: list[tuple[str, str]] = [(v.at.replace("+00:00", "Z"), "dim")]
    if v.obj is None:
        pieces += [(f"{v.partition}@{v.offset}", "dim"), ("not JSON:", "bold red"), (short(v.raw_text or "", 120), "")]
        return pieces
    if v.kind == "deadletter":
        origin = f"{o.get('source_topic') or '?'}:{o.get('partition')}@{o.get('offset')}"
        pieces += [
            (f"{o.get('stage', '?')}/{o.get('reason', '?')}", "bold red"),
            (f"from {origin}", "yellow"),
            (o.get("source") or "-", "cyan"),
            (short(o.get("url") or o.get("key") or "", 100), ""),
            (rtl(short(o.get("detail") or "", 120), bidi), "dim"),
        ]
        return pieces
    if v.kind == "alerts":
        spike = o.get("spike") or {}
        what = f"story {str(o.get('story_id'))[:12]}" if o.get("story_id") else f"{spike.get('on', '?')}"
        if o.get("follows"):
            what += f" (follows {str(o['follows'])[:12]})"
        pieces += [(f"{o.get('kind', '?')}/{o.get('rule', '?')}", "bold yellow"), (what, "dim"),
                   (",".join(o.get("sources") or []) or "-", "cyan"), (rtl(short(o.get("title") or "", 100), bidi), "bold"),
                   (short(o.get("url") or "", 80), "blue")]
        return pieces
    if v.kind == "stories":
        pieces += [(f"{o.get('source_count', 0)} sources/{o.get('article_count', 0)} articles", "cyan"),
                   (rtl(short(o.get("title") or "", 100), bidi), "bold"),
                   (f"breaking {o['breaking_at']}" if o.get("breaking_at") else "", "bold red"),
                   (f"follows {str(o['follows'])[:12]}" if o.get("follows") else "", "dim")]
        return pieces
    if v.kind == "seen":  # the connectors' seen-URL state
        pieces += [(o.get("source") or "-", "cyan"), (str(o.get("status") or "?"), "bold"),
                   (short(o.get("url") or "", 100), "blue")]
        if o.get("canonical_id") and o.get("canonical_id") != v.key:
            pieces.append((f"alias-of {o['canonical_id'][:12]}", "dim"))
        return pieces
    title = o.get("title") or (o.get("listing") or {}).get("title") or ""
    pieces += [(o.get("source") or "-", "cyan"), (rtl(short(title, 110), bidi) or "(no title)", "bold")]
    if v.kind == "articles":
        topics = ",".join(v.topic_ids)
        places = "، ".join(p.get("name", "") for p in o.get("places") or [] if isinstance(p, dict))
        pieces.append((f"[{topics}]" if topics else "[]", "green"))
        if places:
            pieces.append((rtl(places, bidi), "magenta"))
        if o.get("duplicate_of"):
            pieces.append((f"dup-of {o['duplicate_of'][:12]}", "dim"))
        if o.get("story_follows"):
            pieces.append((f"follows {o['story_follows'][:12]}", "dim"))
    elif v.kind == "raw":
        pieces.append((short(o.get("url") or "", 100), "blue"))
        if o.get("update"):
            pieces.append(("update", "yellow"))
    else:
        pieces.append((short(json.dumps(o, ensure_ascii=False), 120), ""))
    if REPLAY_HEADER in v.headers:
        pieces.append((f"replay-of {v.headers[REPLAY_HEADER]}", "dim"))
    return pieces


def human_line(v: View, bidi: bool = True) -> str:
    return "  ".join(t for t, _ in human_fields(v, bidi) if t)


def json_line(v: View) -> str:
    """The message itself (logical order, UTF-8) plus where it sits in Kafka under ``_kafka``."""
    meta = {"topic": v.topic, "partition": v.partition, "offset": v.offset, "timestamp": iso_ms(v.ts_ms), "key": v.key}
    if v.headers:
        meta["headers"] = v.headers
    out = dict(v.obj) if v.obj is not None else {"_not_json": v.raw_text}
    out["_kafka"] = meta
    return json.dumps(out, ensure_ascii=False, default=str)


# --------------------------------------------------------------------------------------------------
# rasid tail


def make_console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def print_view(console, v: View, as_json: bool, bidi: bool) -> None:
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
