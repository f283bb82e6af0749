"""The stage chain over local files, in input order: what ``rasid process`` and the benchmarks run.

Files are read (at most ``max_bytes + 1`` bytes each, stdin included, so a huge or endless input is
refused, not loaded) and processed in the process pool when there are several; then story and
near-duplicate assignment runs in memory over the results *in publication order* (then input
order; pages without a date last), across all the files of the call, with the same
:mod:`pipeline.stages.dedupe` / :mod:`pipeline.stages.stories` code as the stream — so saved pages
of several outlets group as the stream would group them. One JSON object per file, printed in input
order once every file is assigned, with exactly the fields of the ``rasid process`` contract; a file that cannot be processed gives
``{"file", "error", "stage", "detail"}`` on its line instead and the run goes on.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone
from typing import IO, Any, BinaryIO, NamedTuple

from pipeline.core.dates import zone
from pipeline.core.settings import Settings
from pipeline.stages.dedupe import index_from_settings, sketch
from pipeline.stages.process import (
    ChainConfig,
    StageFailed,
    canonical,
    dedupe_time,
    event_features_of,
    process_page_full,
    warm_up,
)
from pipeline.stream.pool import StagePool, default_size

# The fields of the `rasid process` contract, in order (docs/ARCHITECTURE.md).
OUTPUT_FIELDS = (
    "id", "url", "source", "title", "body", "language", "published_at",
    "topics", "places", "organizations", "people", "claims", "duplicate_of", "story_id", "story_follows",
)


class TooLarge(ValueError):
    """An input larger than the page limit (read no further than that)."""


def read_bounded(stream: BinaryIO, max_bytes: int) -> bytes:
    """At most ``max_bytes`` bytes of ``stream``; :class:`TooLarge` when there is more."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"more than {max_bytes} bytes")
    return data


def read_input(name: str, max_bytes: int) -> bytes:
    if name == "-":
        return read_bounded(sys.stdin.buffer, max_bytes)
    with open(name, "rb") as f:
        return read_bounded(f, max_bytes)


class FileTask(NamedTuple):
    """One file for :func:`process_file` (a tuple: it is pickled into the pool's children)."""

    name: str  # a path, or "-" for stdin (then ``data`` holds what was read)
    data: bytes | None
    url: str | None
    source: str | None
    config: ChainConfig
    want_sketch: bool  # a one-file run sketches nothing: its document can duplicate nothing
    tz_name: str | None = None  # the outlet's zone, for page times written without an offset


def process_file(task: FileTask) -> dict[str, Any]:
    """Pool task: one file → article dict + sketch, or an error line."""
    name, data, url, source, config, want_sketch, tz_name = task
    try:
        if data is None:
            try:
                data = read_input(name, config.max_html_bytes)
            except OSError as e:
                return {"file": name, "error": "unreadable", "stage": "read", "detail": str(e)}
            except TooLarge as e:
                return {"file": name, "error": "too_large", "stage": "read", "detail": str(e)}
        p = process_page_full(data, canonical(url), source, config=config, local_tz=zone(tz_name))
        # the first document of a run can duplicate nothing: a one-file run skips sketching
        sk = sketch(p.match_text, normalized=True) if want_sketch else None
        when = dedupe_time(p.article)
        return {"article": p.article.model_dump(mode="json", by_alias=True),
                "sketch": sk.encode() if sk is not None else None,
                "when": when.isoformat() if when else None,
                "event": event_features_of(p) if want_sketch else None}
    except StageFailed as e:
        return {"file": name, "error": e.reason, "stage": e.stage, "detail": e.detail}
    except Exception as e:
        return {"file": name, "error": "internal_error", "stage": "process", "detail": f"{type(e).__name__}: {e}"}


def output_record(article: dict[str, Any]) -> dict[str, Any]:
    """The contract's fields, in order."""
    return {k: article.get(k) for k in OUTPUT_FIELDS}


def run_files(names: list[str], url: str | None = None, source: str | None = None, *, settings: Settings,
              jobs: int = 0, out: IO[str] | None = None, tz_name: str | None = None) -> int:
    """Process ``names`` in order, write one JSON line each to ``out``; return the number of failures.
    ``tz_name``: the outlet's zone, for page times written without an offset (else read as UTC)."""
    out = out or sys.stdout
    config = ChainConfig.from_settings(settings)
    many = len(names) > 1
    tasks: list[FileTask | dict[str, Any]] = []  # a dict: the error line of a file that could not be read
    for n in names:  # stdin is read here: a pool child cannot read the parent's stdin
        data = None
        if n == "-":
            try:
                data = read_input(n, config.max_html_bytes)
            except TooLarge as e:
                tasks.append({"file": n, "error": "too_large", "stage": "read", "detail": str(e)})
                continue
        tasks.append(FileTask(n, data, url, source, config, many, tz_name))
    work = [t for t in tasks if isinstance(t, FileTask)]
    size = min(default_size(jobs), len(work))
    if size > 1 and len(work) >= 4:
        done = iter(_map_in_pool(work, config, size, settings.process_timeout_s))
    else:
        done = (process_file(t) for t in work)
    results = [t if isinstance(t, dict) else next(done) for t in tasks]
    assign_in_publication_order(results, settings)
    failures = 0
    for res in results:
        if "error" in res:
            failures += 1
            line = res
        else:
            line = output_record(res["article"])
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()
    return failures


def assign_in_publication_order(results: list[dict[str, Any]], settings: Settings) -> None:
    """Set ``story_id``/``duplicate_of``/``story_follows`` of each processed result's article, taking them in publication
    order (then input order; undated last), as the stream sees an outlet's articles."""
    index = index_from_settings(settings=settings)
    far = datetime.max.replace(tzinfo=timezone.utc)
    order = []
    for i, res in enumerate(results):
        if "error" not in res:
            when = datetime.fromisoformat(res["when"]) if res.get("when") else None
            if when is not None and when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            order.append((when or far, i, when))
    for _, i, when in sorted(order, key=lambda x: (x[0], x[1])):
        res = results[i]
        art = res["article"]
        verdict = index.assign(art["id"], res.get("sketch"), when, features=res.get("event"))
        verdict.stamp(art)


def _map_in_pool(tasks: list[FileTask], config: ChainConfig, size: int, timeout_s: float) -> list[dict[str, Any]]:
    """Results of ``process_file`` for tasks in order, computed in a process pool."""
    warm_up(config)  # forked children inherit the loaded files
    pool = StagePool(size, timeout_s=timeout_s, context="fork")

    async def run() -> list:
        chunk = size * 8  # bounded memory: files are read in the children, a chunk at a time
        out = []
        for i in range(0, len(tasks), chunk):
            part = tasks[i:i + chunk]
            for t, o in zip(part, await pool.map(process_file, part)):
                out.append(o.value if o.ok else {"file": t.name, "error": o.reason, "stage": "process", "detail": o.detail})
        return out

    try:
        return asyncio.run(run())
    finally:
        pool.shutdown()
