"""One page → one Article: the stage chain shared by the stream and ``rasid process``.

``process_page`` runs extract → clean → classify → enrich → claims with the analysts' files named by a
:class:`ChainConfig` (built from Settings by the caller: nothing here reads settings); story and
near-duplicate assignment follows in the caller (the stream's dedupe agent, or ``rasid process``
in memory) with the same :mod:`pipeline.stages.dedupe` code. A stage that cannot go on raises
:class:`StageFailed`, a ``BadRecord`` that also names the stage, so the stream dead-letters with
the right stage label.

This module stays free of faust/Kafka imports: ``rasid process`` starts fast, and the stream's
process-pool children import only this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, tzinfo
from typing import Any

import orjson

from pipeline.core.charset import header_charset
from pipeline.core.dates import date_only, placed_time, same_day_time, utc_clock_checked, zone
from pipeline.core.errors import BadRecord
from pipeline.core.ids import article_id as make_article_id
from pipeline.core.ids import content_hash
from pipeline.core.schema import Article, Listing, Place, utcnow
from pipeline.core.settings import Settings

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


@dataclass(frozen=True)
class ChainConfig:
    """What the chain needs besides the page: the analysts' files and the page size limit.
    Picklable, so pool processes get it with their tasks."""

    topics_file: Path
    gazetteer_file: Path
    boilerplate_file: Path
    max_html_bytes: int = 10_000_000
    claims_file: Path | None = None  # None: no claims stage

    @classmethod
    def from_settings(cls, settings: Settings) -> "ChainConfig":
        return cls(Path(settings.topics_file), Path(settings.gazetteer_file), Path(settings.boilerplate_file),
                   settings.http_max_bytes, Path(settings.claims_file))


@dataclass
class Processed:
    """An Article and the match-form text de-duplication sketches."""

    article: Article
    match_text: str
    incident: tuple[Place, ...] = ()  # where the headline says it happened: the story stage's only use
    near: tuple[Place, ...] = ()  # ... and where near
    utc_clock: bool = False  # the page's time, written without an offset, was read as UTC (dates.utc_clock_checked)


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
    config: ChainConfig,
    article_id: str | None = None,
    local_tz: tzinfo | None = None,
) -> Processed:
    """Run extract → clean → classify → enrich → claims; raise StageFailed naming the failing stage.
    ``local_tz``: the outlet's zone, for a page time written without an offset (else read as UTC).

    Counts no metrics: in the stream this runs in pool processes, whose
    counters would never reach /metrics; the agent counts per stage instead.
    """
    from pipeline.stages.claim_rules import load_claim_rules
    from pipeline.stages.claims import extract_claims
    from pipeline.stages.classify import classify
    from pipeline.stages.clean import clean
    from pipeline.stages.boilerplate import load_rules
    from pipeline.stages.enrich import enrich
    from pipeline.stages.extract import extract
    from pipeline.stages.gazetteer import load_gazetteer
    from pipeline.stages.terms import make_doc
    from pipeline.stages.topics import load_topics

    if isinstance(listing, dict):
        listing = Listing.model_validate(listing)

    stage = "extract"
    try:
        ex = extract(html, url, charset, local_tz)

        stage = "clean"
        cl = clean(ex, ex.site_name, rules=load_rules(config.boilerplate_file, fresh=False))
        title = cl.title or ex.title or (listing.title if listing else None)
        body = cl.body or ""
        if not body.strip() and not (title or "").strip():
            raise BadRecord("no_article", "nothing left after cleaning")

        stage = "classify"
        doc = make_doc(title, body)
        topics = classify(title, body, load_topics(config.topics_file, fresh=False), doc=doc)

        stage = "enrich"
        place = (cl.dateline or {}).get("place") if cl.dateline else None
        gazetteer = load_gazetteer(config.gazetteer_file, fresh=False)
        ents = enrich(title, body, place, gazetteer=gazetteer, doc=doc)

        stage = "claims"
        claims = []
        if config.claims_file is not None:
            claims = extract_claims(title, body, rules=load_claim_rules(config.claims_file, fresh=False),
                                    gazetteer=gazetteer, topics=topics, doc=doc,
                                    publisher=[source, ex.site_name])
    except Exception as e:  # noqa: BLE001 - every failure becomes a StageFailed
        raise _stage_error(stage, e) from e

    canon = url or canonical(ex.url)
    if article_id is None:
        if canon:
            article_id = make_article_id(canon)
        else:
            article_id = content_hash(html if isinstance(html, bytes) else html.encode("utf-8"))
    page_time = ex.published_at
    if page_time is not None and listing is not None:
        page_time = utc_clock_checked(page_time, listing.published_at, local_tz, fetched_at)
    published = page_time or (listing.published_at if listing else None)
    if page_time is not None and date_only(page_time) and listing is not None:
        # the page shows only its day; the feed or sitemap that listed it gives the time
        published = same_day_time(page_time, listing.published_at) or published
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
        claims=claims,
        fetched_at=fetched_at,
        processed_at=utcnow(),
    )
    return Processed(art, cl.match_text, tuple(ents.incident), tuple(ents.near),
                     utc_clock=page_time is not ex.published_at)


def process_page(
    html: bytes | str,
    url: str | None = None,
    source: str | None = None,
    charset: str | None = None,
    fetched_at: datetime | None = None,
    listing: Listing | dict | None = None,
    *,
    config: ChainConfig,
    article_id: str | None = None,
) -> Article:
    """The Article of one page (without de-duplication; ``duplicate_of``/``story_id`` unset)."""
    return process_page_full(html, url, source, charset, fetched_at, listing, config=config,
                             article_id=article_id).article


# --------------------------------------------------------------------------- the stream's pool task

def dedupe_time(article: Article) -> datetime | None:
    """The time de-duplication and the story stage place an article at (:func:`pipeline.core.dates.placed_time`:
    publication; a page that gives only its date at its fetch that day, else six hours into the day; an
    undated page at its fetch): the document's ``@timestamp`` too."""
    return placed_time(article.published_at, article.fetched_at)


def event_features_of(p: Processed) -> str | None:
    """The encoded event keys of a processed page (:mod:`pipeline.stages.stories`), computed here, in
    the pool, so the single dedupe partition does no text work."""
    from pipeline.stages.stories import encoded_article_features

    a = p.article
    return encoded_article_features({"title": a.title, "places": a.places, "organizations": a.organizations,
                                     "people": a.people, "source": a.source, "url": a.url}, p.match_text,
                                    p.incident, p.near)


def process_raw(value: bytes | None, config: ChainConfig) -> dict[str, Any]:
    """Pool task of the stream: one ``<ns>.raw`` message → a dedupe envelope or a failure.

    Never raises. Returns ``{"ok": True, "id", "url", "source", "envelope": bytes}``
    or ``{"ok": False, "stage", "reason", "detail", "id", "url", "source"}``.
    The envelope (JSON) is ``{"schema": 1, "article": Article, "sketch": str|None,
    "when": iso|None, "event": str|None}`` — what the dedupe agent needs and nothing it must
    recompute (``event``: the story keys; an envelope without it gets them computed there).
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
            html = decompress_html(raw.html_z, max_bytes=config.max_html_bytes)
        except ValueError as e:
            reason = "too_large" if "larger than" in str(e) else "bad_html_z"
            raise StageFailed("extract", reason, str(e)[:300]) from None
        except Exception as e:  # noqa: BLE001 - zlib.error, binascii.Error
            raise StageFailed("extract", "bad_html_z", f"{type(e).__name__}: {e}"[:300]) from None
        charset = raw.charset or header_charset(next((v for k, v in raw.headers.items() if k.lower() == "content-type"), None))
        p = process_page_full(html, raw.url, raw.source, charset, raw.fetched_at, raw.listing, config=config,
                              article_id=raw.id, local_tz=zone(raw.timezone))
        sk = sketch(p.match_text, normalized=True)
        when = dedupe_time(p.article)
        envelope = {
            "schema": 1,
            "article": orjson.Fragment(p.article.model_dump_json(by_alias=True)),
            "sketch": sk.encode() if sk is not None else None,
            "when": when.isoformat() if when else None,
            "event": event_features_of(p),
        }
        out = {"ok": True, **ident, "id": raw.id, "envelope": orjson.dumps(envelope)}
        if p.utc_clock:
            out["utc_clock"] = True  # counted per source by the agent (pool processes reach no /metrics)
        return out
    except StageFailed as e:
        return {"ok": False, **ident, "stage": e.stage, "reason": e.reason, "detail": e.detail}
    except Exception as e:  # noqa: BLE001 - the pool task never raises
        return {"ok": False, **ident, "stage": "extract", "reason": "internal_error",
                "detail": f"{type(e).__name__}: {e}"[:1000]}


def warm_up(config: ChainConfig) -> None:
    """Pool initializer: import the stages and load the analysts' files once per process."""
    from pipeline.stages.claim_rules import load_claim_rules
    from pipeline.stages.boilerplate import load_rules
    from pipeline.stages.dedupe import sketch
    from pipeline.stages.gazetteer import load_gazetteer
    from pipeline.stages.topics import load_topics

    load_topics(config.topics_file)
    load_rules(config.boilerplate_file)  # not on the first page's clock
    load_gazetteer(config.gazetteer_file)
    if config.claims_file is not None:
        load_claim_rules(config.claims_file)
    sketch("warm up")
