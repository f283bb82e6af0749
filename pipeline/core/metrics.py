"""Prometheus metrics shared by every process; stage names are the same strings as in logs.

Per stage: ``rasid_stage_received_total``, ``rasid_stage_emitted_total`` and
``rasid_stage_dropped_total{reason}`` (dropped = dead-lettered or skipped on purpose).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

STAGES = ("fetch", "extract", "clean", "classify", "enrich", "claims", "dedupe", "index")

RECEIVED = Counter("rasid_stage_received_total", "Records a stage received", ["stage"])
EMITTED = Counter("rasid_stage_emitted_total", "Records a stage emitted", ["stage"])
DROPPED = Counter("rasid_stage_dropped_total", "Records a stage dead-lettered or dropped", ["stage", "reason"])

FETCH_LATENCY = Histogram(
    "rasid_fetch_seconds", "HTTP fetch latency", ["source", "kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
FETCH_STATUS = Counter("rasid_fetch_status_total", "HTTP responses by status", ["source", "status"])
FETCH_REFUSED = Counter(
    "rasid_fetch_refused_total",
    "Fetches or pages refused on purpose: an address not globally routable, a name that does not resolve, "
    "stacked or unknown content encodings, bodies over the byte cap, pages nested too deep",
    ["reason"],
)
CONNECTOR_ERRORS = Counter("rasid_connector_errors_total", "Connector errors", ["source", "reason"])
SOURCE_LAST_SUCCESS = Gauge("rasid_source_last_success_timestamp", "Last successful poll", ["source"])
SOURCE_LAST_ARTICLE = Gauge("rasid_source_last_article_timestamp", "Last new article produced", ["source"])
SOURCE_ARTICLE_GAP = Gauge("rasid_source_article_gap_seconds",
                           "Usual gap between a source's new articles (moving average)", ["source"])
SOURCE_BLOCKED = Gauge("rasid_source_blocked_endpoints",
                       "Endpoints of a source whose server refuses us (401/403/451, WAF challenge, refused or "
                       "reset connections): retried hours apart, not broken", ["source"])
LISTINGS_RECOVERED = Counter("rasid_listings_recovered_total",
                             "Malformed feeds/sitemaps read leniently instead of failed (bad entities, stray "
                             "bytes, unclosed tags)", ["source", "kind", "reason"])
ENDPOINT_DISCOVERIES = Counter("rasid_endpoint_discoveries_total",
                               "Endpoint discoveries by outcome: found, none (nothing usable), blocked", ["source", "outcome"])
SOURCE_PAGES = Counter("rasid_source_pages_total",
                       "Pages the workers read per source: processed (an article) or dead_lettered (its extraction, "
                       "cleaning... failed): an outlet whose pages changed has every page dead-lettered while its "
                       "feed still brings new ones", ["source", "outcome"])
PAGE_CLOCK_UTC = Counter("rasid_page_clock_utc_total",
                         "Pages whose time, written without an offset, was read as UTC because their feed's or "
                         "sitemap's time says so (a CMS whose clock is UTC; `timezone: UTC` in the registry "
                         "places the source's pages no listing dates too)", ["source"])
DEPENDENCY_UP = Gauge("rasid_dependency_up", "1 while this process reaches the dependency, else 0", ["dependency"])

BULK_LATENCY = Histogram("rasid_bulk_seconds", "Elasticsearch bulk latency", buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
BULK_RETRIES = Counter("rasid_bulk_retries_total", "Elasticsearch bulk retries", ["reason"])
STALE_COPIES_REMOVED = Counter("rasid_stale_copies_removed_total",
                               "Copies of re-indexed articles removed from another month's index")
END_TO_END = Histogram(
    "rasid_end_to_end_seconds", "fetched_at to indexed", buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
CONSUMER_LAG = Gauge("rasid_consumer_lag", "Consumer lag", ["topic", "partition"])
STATE_ENTRIES = Gauge("rasid_state_entries",
                      "Entries a worker holds in memory: dedupe_live (matchable sketches, at most "
                      "RASID_DEDUPE_MAX_ENTRIES), story_live (event index), ids_retained (the retention log)",
                      ["state"])
COMMIT_STALLED = Counter("rasid_commit_stalled_total",
                         "Commits held for more than two offset checks below acked offsets", ["topic"])
COMMIT_STUCK = Counter("rasid_commit_stuck_total",
                       "Partitions whose broker commit stayed below what the worker recorded (read again)", ["topic"])
ALERTS_FIRED = Counter("rasid_alerts_fired_total", "Alerts fired by the story monitor", ["rule", "kind"])
WEBHOOK_DELIVERIES = Counter("rasid_webhook_deliveries_total",
                             "Alert webhook deliveries: delivered, retried, dead-lettered, expired (fired too long ago), skipped (sent before)",
                             ["webhook", "outcome"])
OFFSET_REPAIRS = Counter("rasid_offset_repairs_total",
                         "Messages read but never acknowledged, read again (see pipeline.stream.offsets)", ["topic"])


# Port layout from one base (settings.metrics_port): connectors on the base, worker i on base + 1 + i,
# so `rasid run` with several workers on one host gives every process its own scrape target.
ROLE_PORT_OFFSET = {"connectors": 0, "worker": 1}


def metrics_port_for(base: int, role: str, index: int = 0) -> int:
    """The /metrics port of process ``index`` of ``role`` ("connectors" or "worker"); 0 when off."""
    return base + ROLE_PORT_OFFSET[role] + index if base else 0


def serve_metrics(port: int, addr: str = "127.0.0.1") -> int:
    """Expose /metrics on ``port`` (0 = off); returns the port, or 0 when off or the port is taken.

    A taken port is logged, not fatal: losing a scrape target must not stop a worker.
    """
    if not port:
        return 0
    try:
        start_http_server(port, addr=addr)
    except OSError as e:
        import logging

        logging.getLogger("rasid.metrics").warning("metrics port unavailable", extra={"port": port, "error": str(e)})
        return 0
    return port
