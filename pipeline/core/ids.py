"""Stable identifiers: one canonical URL → one article id → one Kafka partition and one ES _id."""

from __future__ import annotations

import hashlib

# A source id (config/sources.yaml): the registry's validation, and the workers' metric label
SOURCE_ID_RE = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def article_id(canonical_url: str) -> str:
    """A stable 32-hex-digit id of a canonical URL (sha256 prefix)."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:32]


def content_hash(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:32]
