"""The endpoint kinds a source can list, and the discovery class of each (base.py knows none of them)."""

from __future__ import annotations

from connectors.base import Discovery
from connectors.registry import Endpoint, Kind, Source
from connectors.rss import FeedDiscovery
from connectors.section import SectionDiscovery
from connectors.sitemap import SitemapDiscovery

KINDS: dict[str, type[Discovery]] = {"feed": FeedDiscovery, "sitemap": SitemapDiscovery, "section": SectionDiscovery}


def discovery_for(kind: Kind, source: Source, endpoint: Endpoint) -> Discovery:
    """The discovery of one endpoint of ``source``."""
    return KINDS[kind](source, endpoint)
