"""One page → one Article: the stage chain shared by the stream and ``rasid process``.

``process_page`` runs extract → clean → classify → enrich; de-duplication is
applied after it by the caller (the stream's dedupe agent, or
``rasid process`` in memory) with the same :mod:`pipeline.stages.dedupe` code. A
stage that cannot go on raises :class:`StageFailed` — a ``BadRecord`` that
also names the stage — so the stream dead-letters with the right stage label.

This module must stay free of faust/Kafka imports: ``rasid process`` starts
fast, and the stream's process-pool children import only this.

``rasid process`` prints one JSON object per input file, in input order, with
exactly the fields of the contract in DESIGN.md. A file that cannot be
processed prints ``{"file", "error", "stage", "detail"}`` on its line instead,
the run goes on, and the exit status is 1 at the end (0 when every file
produced an article), so a pipeline still gets one line per file.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from pipeline.core.errors import BadRecord
from pipeline.core.ids import article_id as make_article_id
from pipeline.core.ids import content_hash
from pipeline.core.schema import Article, Listing, utcnow

# The fields of the `rasid process` contract, in order (DESIGN.md).
OUTPUT_FIELDS = (
    "id", "url", "source", "title", "body", "language", "published_at",
    "topics", "places", "organizations", "people", "duplicate_of",
)


class StageFailed(BadRecord):
    """A BadRecord raised at a known stage (the dead letter's ``stage``)."""

    def __init__(self, stage: str, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.stage = stage


def _stage_error(stage: str, exc: BaseException) -> StageFailed:
    if isinstance(exc, StageFailed):
        return exc
    if isinstance(exc, BadRecord):
        return StageFailed(stage, exc.reason, exc.detail)
    return StageFailed(stage, "internal_error", f"{type(exc).__name__}: {exc}"[:1000])


@dataclass
class Processed:
    """An Article and the match-form text de-duplication sketches."""

    article: Article
    match_text: str


def canonical(url: str | None) -> str | None:
    """The connectors' canonical spelling of a URL (same id as the stream), else the URL as given."""
    if not url:
        return None
    try:
        from pipeline.core.urls import canonicalize

        return canonicalize(url)
    except Exception:  # noqa: BLE001 - an odd URL still identifies the document
        return url


def _language(declared: str | None, text: str) -> str | None:
    from pipeline.core.arabic import arabic_ratio

    if declared:
        return declared.split("-")[0].split("_")[0].lower() or None
    if not text.strip():
        return None
    return "ar" if arabic_ratio(text) >= 0.5 else None


def process_page_full(
    html: bytes | str,
    url: str | None = None,
    source: str | None = None,
    charset: str | None = None,
    fetched_at: datetime | None = None,
    listing: Listing | dict | None = None,
    *,
    article_id: str | None = None,
) -> Processed:
    """Run extract → clean → classify → enrich; raise StageFailed naming the failing stage.

    Counts no metrics: in the stream this runs in pool processes, whose
    counters would never reach /metrics; the agent counts per stage instead.
    """
    from pipeline.stages.classify import classify, make_doc
    from pipeline.stages.clean import clean
    from pipeline.stages.enrich import enrich
    from pipeline.stages.extract import extract

    if isinstance(listing, dict):
        listing = Listing.model_validate(listing)

    stage = "extract"
    try:
        ex = extract(html, url, charset)

        stage = "clean"
        cl = clean(ex, ex.site_name)
        title = cl.title or ex.title or (listing.title if listing else None)
        body = cl.body or ""
        if not body.strip() and not (title or "").strip():
            raise BadRecord("no_article", "nothing left after cleaning")

        stage = "classify"
        doc = make_doc(title, body)
        topics = classify(title, body, doc=doc)

        stage = "enrich"
        place = (cl.dateline or {}).get("place") if cl.dateline else None
        ents = enrich(title, body, place, doc=doc)
    except Exception as e:  # noqa: BLE001 - every failure becomes a StageFailed
        raise _stage_error(stage, e) from e

    canon = url or canonical(ex.url)
    if article_id is None:
        if canon:
            article_id = make_article_id(canon)
        else:
            article_id = content_hash(html if isinstance(html, bytes) else html.encode("utf-8"))
    published = ex.published_at or (listing.published_at if listing else None)
    art = Article(
        id=article_id,
        url=canon,
        source=source,
        title=title,
        body=body,
        language=_language(ex.language, f"{title or ''} {body}"),
        published_at=published,
        author=ex.author or (listing.author if listing else None),
        dateline=cl.dateline,
        topics=topics,
        places=ents.places,
        organizations=ents.organizations,
        people=ents.people,
        fetched_at=fetched_at,
        processed_at=utcnow(),
    )
    return Processed(art, cl.match_text)


def process_page(
    html: bytes | str,
    url: str | None = None,
    source: str | None = None,
    charset: str | None = None,
    fetched_at: datetime | None = None,
    listing: Listing | dict | None = None,
    *,
    article_id: str | None = None,
) -> Article:
    """The Article of one page (without de-duplication; ``duplicate_of``/``story_id`` unset)."""
    return process_page_full(html, url, source, charset, fetched_at, listing, article_id=article_id).article


# --------------------------------------------------------------------------- the stream's pool task

def dedupe_time(article: Article) -> datetime | None:
    """The time de-duplication places an article at: publication, else fetch."""
    return article.published_at or article.fetched_at


def process_raw(value: bytes | None, max_html_bytes: int = 10_000_000) -> dict[str, Any]:
    """Pool task of the stream: one ``<ns>.raw`` message → a dedupe envelope or a failure.

    Never raises. Returns ``{"ok": True, "id", "url", "source", "envelope": bytes}``
    or ``{"ok": False, "stage", "reason", "detail", "id", "url", "source"}``.
    The envelope (JSON) is ``{"schema": 1, "article": Article, "sketch": str|None,
    "when": iso|None}`` — what the dedupe agent needs and nothing it must recompute.
    """
    from pydantic import ValidationError

    from pipeline.stages.dedupe import sketch
    from pipeline.core.schema import RawPage, decompress_html

    ident: dict[str, Any] = {"id": None, "url": None, "source": None}
    try:
        if not value:
            raise StageFailed("extract", "empty", "empty message")
        try:
            data = json.loads(value)
        except (ValueError, UnicodeDecodeError) as e:
            raise StageFailed("extract", "bad_json", str(e)[:300]) from None
        if not isinstance(data, dict):
            raise StageFailed("extract", "bad_json", f"expected an object, got {type(data).__name__}")
        for k in ident:
            if isinstance(data.get(k), str):
                ident[k] = data[k]
        try:
            raw = RawPage.model_validate(data)
        except ValidationError as e:
            fields = ",".join(".".join(str(p) for p in err["loc"]) for err in e.errors())
            raise StageFailed("extract", "missing_fields", f"invalid raw record: {fields}"[:500]) from None
        try:
            html = decompress_html(raw.html_z, max_bytes=max_html_bytes)
        except ValueError as e:
            reason = "too_large" if "larger than" in str(e) else "bad_html_z"
            raise StageFailed("extract", reason, str(e)[:300]) from None
        except Exception as e:  # noqa: BLE001 - zlib.error, binascii.Error
            raise StageFailed("extract", "bad_html_z", f"{type(e).__name__}: {e}"[:300]) from None
        charset = raw.charset or _charset_from_headers(raw.headers)
        p = process_page_full(
            html, raw.url, raw.source, charset, raw.fetched_at, raw.listing, article_id=raw.id
        )
        sk = sketch(p.match_text, normalized=True)
        when = dedupe_time(p.article)
        envelope = {
            "schema": 1,
            "article": orjson.Fragment(p.article.model_dump_json(by_alias=True)),
            "sketch": sk.encode() if sk is not None else None,
            "when": when.isoformat() if when else None,
        }
        return {"ok": True, **ident, "id": raw.id, "envelope": orjson.dumps(envelope)}
    except StageFailed as e:
        return {"ok": False, **ident, "stage": e.stage, "reason": e.reason, "detail": e.detail}
    except Exception as e:  # noqa: BLE001 - the pool task never raises
        return {"ok": False, **ident, "stage": "extract", "reason": "internal_error",
                "detail": f"{type(e).__name__}: {e}"[:1000]}


def _charset_from_headers(headers: dict[str, str]) -> str | None:
    for k, v in (headers or {}).items():
        if k.lower() == "content-type" and "charset=" in v.lower():
            return v.lower().split("charset=", 1)[1].split(";")[0].strip().strip("\"'") or None
    return None


def warm_up() -> None:
    """Pool initializer: import the stages and load topics/gazetteer once per process."""
    import pipeline.stages.extract  # noqa: F401
    from pipeline.stages.classify import default_topic_set
    from pipeline.stages.clean import load_rules
    from pipeline.stages.dedupe import sketch
    from pipeline.stages.enrich import load_gazetteer

    default_topic_set()
    load_rules()  # the boilerplate rules (YAML): not on the first page's clock
    load_gazetteer()
    sketch("warm up")


# --------------------------------------------------------------------------- rasid process

def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as f:
        return f.read()


def process_file(task: tuple[str, bytes | None, str | None, str | None, int, bool]) -> dict[str, Any]:
    """Pool task of ``rasid process``: one file → article dict + sketch, or an error line."""
    name, data, url, source, max_bytes, want_sketch = task
    from pipeline.stages.dedupe import sketch

    try:
        if data is None:
            try:
                data = _read(name)
            except OSError as e:
                return {"file": name, "error": "unreadable", "stage": "read", "detail": str(e)}
        if len(data) > max_bytes:
            return {"file": name, "error": "too_large", "stage": "extract",
                    "detail": f"{len(data)} bytes > {max_bytes}"}
        p = process_page_full(data, canonical(url), source)
        # the first document of a run can duplicate nothing: a one-file run skips sketching
        sk = sketch(p.match_text, normalized=True) if want_sketch else None
        when = dedupe_time(p.article)
        return {"article": p.article.model_dump(mode="json", by_alias=True),
                "sketch": sk.encode() if sk is not None else None,
                "when": when.isoformat() if when else None}
    except StageFailed as e:
        return {"file": name, "error": e.reason, "stage": e.stage, "detail": e.detail}
    except Exception as e:  # noqa: BLE001 - one bad file never stops the run
        return {"file": name, "error": "internal_error", "stage": "process", "detail": f"{type(e).__name__}: {e}"}


def output_record(article: dict[str, Any]) -> dict[str, Any]:
    """The contract's fields, in order."""
    return {k: article.get(k) for k in OUTPUT_FIELDS}


def run_files(
    names: list[str],
    url: str | None = None,
    source: str | None = None,
    *,
    jobs: int = 0,
    out=None,
    settings=None,
) -> int:
    """Process ``names`` in order, write one JSON line each to ``out``; return the number of failures."""
    from pipeline.stages.dedupe import index_from_settings
    from pipeline.core.settings import get_settings

    settings = settings or get_settings()
    out = out or sys.stdout
    max_bytes = settings.http_max_bytes
    # stdin is read here: a pool child cannot read the parent's stdin
    many = len(names) > 1
    tasks = [(n, _read(n) if n == "-" else None, url, source, max_bytes, many) for n in names]

    from pipeline.stream.pool import default_size

    size = min(default_size(jobs), len(tasks))
    if size > 1 and len(tasks) >= 4:
        results = _map_in_pool(tasks, size, settings.process_timeout_s)
    else:
        results = (process_file(t) for t in tasks)

    index = index_from_settings(settings=settings)
    failures = 0
    for res in results:
        if "error" in res:
            failures += 1
            line = res
        else:
            art = res["article"]
            when = datetime.fromisoformat(res["when"]) if res.get("when") else None
            verdict = index.assign(art["id"], res.get("sketch"), when)
            art["duplicate_of"] = verdict.duplicate_of
            line = output_record(art)
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()
    return failures


def _map_in_pool(tasks: list, size: int, timeout_s: float):
    """Results of ``process_file`` for tasks in order, computed in a process pool."""
    import asyncio

    from pipeline.stream.pool import StagePool

    warm_up()  # forked children inherit loaded topics and gazetteer
    pool = StagePool(size, timeout_s=timeout_s, context="fork")

    async def run() -> list:
        chunk = size * 8  # bounded memory: files are read in the children, a chunk at a time
        out = []
        for i in range(0, len(tasks), chunk):
            part = tasks[i:i + chunk]
            for t, o in zip(part, await pool.map(process_file, part)):
                out.append(o.value if o.ok else {"file": t[0], "error": o.reason, "stage": "process", "detail": o.detail})
        return out

    try:
        return asyncio.run(run())
    finally:
        pool.shutdown()


def _make_cmd():
    import click

    @click.command("process")
    @click.option("--url", default=None, help="Canonical URL of the page (sets url and id). One file only.")
    @click.option("--source", default=None, help="Source id to put in `source`.")
    @click.option("-j", "--jobs", default=0, type=int, show_default=True,
                  help="Processes for many files (0 = one per core).")
    @click.argument("files", nargs=-1, required=True)
    def process_cmd(url: str | None, source: str | None, jobs: int, files: tuple[str, ...]) -> None:
        """Run the stream's extract, clean, classify, enrich and near-duplicate code on local HTML FILES
        (any charset; `-` = stdin). Prints one JSON object per file, in order; a file that fails
        prints {"file", "error", ...} on its line and the exit status is 1 at the end."""
        if url and len(files) > 1:
            raise click.UsageError("--url names one page; give a single FILE with it")
        if list(files).count("-") > 1:
            raise click.UsageError("stdin (-) can be read only once")
        import logging

        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        t0 = time.perf_counter()
        failures = run_files(list(files), url, source, jobs=jobs)
        logging.getLogger("rasid.process").info("%d files in %.2fs", len(files), time.perf_counter() - t0)
        if failures:
            sys.exit(1)

    return process_cmd


process_cmd = _make_cmd()
