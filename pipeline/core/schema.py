"""Message contracts on the Kafka topics (JSON, versioned by ``schema``).

``<ns>.raw``        RawPage     produced by connectors, keyed by article id
``<ns>.articles``   Article     produced by the workers, keyed by article id
``<ns>.deadletter`` DeadLetter  produced by anyone who cannot go on with a record
"""

from __future__ import annotations

import base64
import zlib
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
# Dead letters carry the original payload up to this size, else only its URL.
DEADLETTER_MAX_PAYLOAD = 256_000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def compress_html(html: bytes) -> str:
    return base64.b64encode(zlib.compress(html, 6)).decode("ascii")


def decompress_html(blob: str, max_bytes: int = 50_000_000) -> bytes:
    """Inflate a ``html_z`` field, refusing decompression bombs."""
    d = zlib.decompressobj()
    out = d.decompress(base64.b64decode(blob), max_bytes + 1)
    if len(out) > max_bytes or d.unconsumed_tail:
        raise ValueError(f"html larger than {max_bytes} bytes once inflated")
    return out


class Listing(BaseModel):
    """What a feed, sitemap or section page said about the article before we fetched it."""

    model_config = ConfigDict(extra="ignore")
    title: str | None = None
    published_at: datetime | None = None
    summary: str | None = None
    author: str | None = None
    image: str | None = None
    via: str | None = None  # the feed/sitemap/section URL it was found on


class RawPage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    schema_: int = Field(SCHEMA_VERSION, alias="schema")
    id: str
    url: str  # canonical URL
    source: str
    final_url: str | None = None
    status: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    charset: str | None = None
    fetched_at: datetime = Field(default_factory=utcnow)
    content_hash: str | None = None
    update: bool = False  # re-produced on purpose because the page changed
    listing: Listing = Field(default_factory=Listing)
    timezone: str | None = None  # the outlet's IANA zone: how to read a page time written without an offset
    html_z: str  # zlib + base64 of the page bytes as fetched

    def html_bytes(self) -> bytes:
        return decompress_html(self.html_z)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode("utf-8")


class TopicHit(BaseModel):
    id: str
    score: float
    evidence: list[str]


class Place(BaseModel):
    name: str
    name_en: str | None = None
    location: dict[str, float] | None = None  # {"lat": .., "lon": ..}


class Claim(BaseModel):
    """An attributed statement: who (speaker) says what (text) with which stance.

    ``start``/``end`` are character offsets of ``text`` in the title (``in_title``) or the body."""

    speaker: str
    speaker_type: str  # person government military armed_group ngo un media anonymous other
    verb: str  # the reporting verb or formula as written («حذّرت», «نقلت ... عن», ":" for a headline colon)
    stance: str  # states denies accuses warns demands confirms
    text: str  # the sentence (or the title) that carries the statement
    target: str | None = None  # whom the claim accuses, warns about, addresses or rejects
    carrier: str | None = None  # the outlet relaying the speaker («نقلت وكالة X عن…»)
    topic_ids: list[str] = Field(default_factory=list)
    start: int = 0
    end: int = 0
    in_title: bool = False


class Article(BaseModel):
    """One processed article: the ``rasid process`` contract plus stream metadata."""

    model_config = ConfigDict(extra="ignore")
    schema_: int = Field(SCHEMA_VERSION, alias="schema")
    id: str
    url: str | None = None
    source: str | None = None
    title: str | None = None
    body: str = ""
    language: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    dateline: dict[str, str | None] | None = None
    topics: list[TopicHit] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    organizations: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    duplicate_of: str | None = None
    story_id: str | None = None
    # on the article that starts a story: the earlier story (begun more than the story window before) it
    # would have joined through a member of the last hours, else None (pipeline/stages/stories.py)
    story_follows: str | None = None
    fetched_at: datetime | None = None
    processed_at: datetime | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode("utf-8")


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="ignore")
    schema_: int = Field(SCHEMA_VERSION, alias="schema")
    stage: str
    reason: str
    detail: str = ""
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    url: str | None = None
    source: str | None = None
    payload: str | None = None  # original message (text) when small enough
    payload_truncated: bool = False
    at: datetime = Field(default_factory=utcnow)

    @classmethod
    def build(cls, *, stage: str, reason: str, payload: bytes | str | None = None, detail: str = "",
              **kw: Any) -> "DeadLetter":
        """The one constructor of dead letters: the payload is kept when small enough, else only its
        facts (topic, partition, offset, key, URL); the detail is cut to 2,000 characters."""
        text: str | None
        if payload is None:
            text = None
        elif isinstance(payload, bytes):
            text = payload.decode("utf-8", errors="replace")
        else:
            text = payload
        truncated = text is not None and len(text) > DEADLETTER_MAX_PAYLOAD
        return cls(
            stage=stage,
            reason=reason,
            detail=(detail or "")[:2000],
            payload=None if truncated else text,
            payload_truncated=truncated,
            **kw,
        )

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode("utf-8")

    def key_bytes(self) -> bytes | None:
        return (self.key or "").encode("utf-8") or None
