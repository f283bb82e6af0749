"""Article → Elasticsearch document, index name and bulk action (pure functions, no I/O).

Kept apart from the faust sink so the exact document shape is unit-tested
without Kafka or Elasticsearch, and so tools (replay, benchmarks) build the
same actions the stream does.

Invariants the rest of the system relies on:
- ``_id`` is the article id: a redelivery or a replay overwrites, never duplicates;
- the monthly index is chosen only from fields carried in the message
  (``published_at``, else ``fetched_at``), never from the clock, so a replayed
  article always lands in the same index as the first time;
- the op is ``index`` (not ``create``): a re-fetched, updated page replaces the
  stored version;
- ``@timestamp`` (Kibana's time field) is set on every document, from the same two
  fields (:func:`pipeline.core.dates.placed_time`): a page that gives no time, or only
  its day, is still in the time-filtered views, where the stream's fetch placed it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from pipeline.core.dates import placed_time
from pipeline.core.errors import BadRecord
from pipeline.core.schema import Article, utcnow
from pipeline.core.settings import Settings

# A publication date further than this after the fetch time is a parsing
# accident (a wrong year, a time zone taken for a day); so is one before this
# year. Such dates still go into the document, but do not pick the index.
MAX_FUTURE_SKEW = timedelta(days=2)
EARLIEST_YEAR = 1990


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def index_date(article: Article) -> datetime | None:
    """The date that decides the monthly index: publication, else fetch time."""
    fetched = _utc(article.fetched_at) if article.fetched_at else None
    published = _utc(article.published_at) if article.published_at else None
    if published is not None:
        plausible = published.year >= EARLIEST_YEAR and (
            fetched is None or published <= fetched + MAX_FUTURE_SKEW
        )
        if plausible:
            return published
    if fetched is not None:
        return fetched
    return published


def index_name(article: Article, settings: Settings) -> str:
    """``<ns>-articles-YYYY.MM`` of the article's publication (fallback: fetch) month, in UTC."""
    when = index_date(article)
    if when is None:
        # Neither date is known: no stable month exists, and a clock-based one
        # would put a replay elsewhere. The stream always sets fetched_at.
        raise BadRecord("no_date", "article has neither published_at nor fetched_at")
    return settings.es_index_for(when.year, when.month)


def valid_point(loc: dict[str, float] | None) -> dict[str, float] | None:
    """``{"lat", "lon"}`` when both are finite and in range, else None.

    A gazetteer typo must cost the map one point, not the whole article
    (Elasticsearch rejects a document with one bad geo_point).
    """
    if not loc:
        return None
    try:
        lat, lon = float(loc["lat"]), float(loc["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"lat": lat, "lon": lon}


def _iso(dt: datetime | None) -> str | None:
    return _utc(dt).isoformat() if dt is not None else None


def to_document(article: Article, indexed_at: datetime | None = None) -> dict[str, Any]:
    """The ES document: the ``rasid process`` fields plus stream and search helpers.

    ``topic_ids`` and ``location`` are flat copies of ``topics[].id`` and
    ``places[].location`` because keyword filters and Kibana maps need plain
    arrays, not objects inside lists.
    """
    places, locations = [], []
    for p in article.places:
        place = p.model_dump(mode="json")
        point = valid_point(p.location)
        place["location"] = point
        places.append(place)
        if point is not None:
            locations.append(point)
    topics = [t.model_dump(mode="json") for t in article.topics]
    return {
        "id": article.id,
        "url": article.url,
        "source": article.source,
        "title": article.title,
        "body": article.body,
        "language": article.language,
        "published_at": _iso(article.published_at),
        "@timestamp": _iso(placed_time(article.published_at, article.fetched_at)),
        "author": article.author,
        "dateline": article.dateline,
        "topics": topics,
        "topic_ids": list(dict.fromkeys(t["id"] for t in topics)),
        "places": places,
        "location": locations,
        "organizations": list(article.organizations),
        "people": list(article.people),
        "duplicate_of": article.duplicate_of,
        "claims": [c.model_dump(mode="json") for c in article.claims],
        "claim_speakers": list(dict.fromkeys(c.speaker for c in article.claims)),
        "claim_stances": list(dict.fromkeys(f"{c.speaker}|{c.stance}" for c in article.claims)),
        # The first copy of a story is its own story; near-duplicates point to it.
        "story_id": article.story_id or article.duplicate_of or article.id,
        "story_follows": article.story_follows,
        "fetched_at": _iso(article.fetched_at),
        "processed_at": _iso(article.processed_at),
        "indexed_at": _iso(indexed_at or utcnow()),
    }


def to_action(article: Article, settings: Settings, indexed_at: datetime | None = None) -> dict[str, Any]:
    """A bulk ``index`` action for :func:`elasticsearch.helpers.async_streaming_bulk`."""
    return {
        "_op_type": "index",
        "_index": index_name(article, settings),
        "_id": article.id,
        "_source": to_document(article, indexed_at),
    }


def parse_article(value: Any) -> Article:
    """Decode an ``<ns>.articles`` message value (bytes, str, dict or Article)."""
    if isinstance(value, Article):
        return value
    try:
        if isinstance(value, (bytes, bytearray, str)):
            return Article.model_validate_json(value)
        if isinstance(value, dict):
            return Article.model_validate(value)
    except ValueError as e:  # pydantic.ValidationError is a ValueError
        raise BadRecord("invalid_article", str(e)[:500]) from None
    raise BadRecord("invalid_article", f"unexpected message type {type(value).__name__}")
