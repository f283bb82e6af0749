"""One frozen settings object for every process.

Values come from ``RASID_*`` environment variables over the defaults in
``config/defaults.yaml``; an invalid value stops the process at start with a
message naming the variable, instead of failing later somewhere deep inside.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator

from pipeline.core.log import wants_json
from pipeline.core.urls import parse_allow_hosts, redact
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = Path(os.environ.get("RASID_CONFIG_DIR", PROJECT_ROOT / "config"))
DEFAULTS_FILE = CONFIG_DIR / "defaults.yaml"


class SettingsError(SystemExit):
    """Raised (as a clean exit) when settings are invalid; the message names each bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RASID_",
        frozen=True,
        extra="ignore",
        yaml_file=DEFAULTS_FILE,
    )

    namespace: str = Field("rasid", pattern=r"^[a-z0-9][a-z0-9_-]{0,48}$")

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    # a secured cluster: TLS and/or SASL (the same settings reach faust, aiokafka and kafka-python clients)
    kafka_security_protocol: str = Field("PLAINTEXT", pattern=r"^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$")
    kafka_sasl_mechanism: str = Field("PLAIN", pattern=r"^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$")
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ca_file: Path | None = None
    kafka_partitions: int = Field(4, ge=1, le=256)
    kafka_replication: int = Field(1, ge=1)
    kafka_max_message_bytes: int = Field(1_000_000, ge=10_000)
    # producers' batch compression (connectors and workers). snappy: ~330 MB/s for 2.3x on
    # article JSON; the clients' lz4 runs at level 9 (~36 MB/s), gzip at ~17 MB/s
    kafka_compression: str = Field("snappy", pattern=r"^(none|gzip|lz4|snappy|zstd)$")
    # a worker's producer batches up to this many bytes per partition in one request
    # (a processed batch of articles goes out in one request instead of one per 16 KB)
    kafka_producer_batch_bytes: int = Field(262_144, ge=16_384, le=4_194_304)
    # how soon a dead worker's partitions move to a live one (faust/aiokafka default is 60 s)
    kafka_session_timeout_s: float = Field(10.0, ge=6.0, le=300.0)
    # workers look for messages faust read but lost track of this often (pipeline.stream.offsets)
    offset_check_s: float = Field(2.0, gt=0, le=300.0)
    # log each check's view of every partition at INFO (else DEBUG): floor, committed, read, acked...
    offset_trace: bool = False
    # and refresh rasid_consumer_lag for their partitions this often
    lag_report_s: float = Field(10.0, gt=0, le=3600.0)

    # Elasticsearch
    es_url: str = "http://127.0.0.1:9200"
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_api_key: SecretStr | None = None
    es_ca_file: Path | None = None
    es_verify_certs: bool = True
    es_timeout_s: float = Field(30.0, gt=0)
    es_shards: int = Field(1, ge=1, le=64)  # per monthly index (index template)
    es_replicas: int = Field(0, ge=0, le=5)  # 0 on a single node; raise on a cluster

    # Files analysts edit
    sources_file: Path = CONFIG_DIR / "sources.yaml"
    topics_file: Path = CONFIG_DIR / "topics.yaml"
    gazetteer_file: Path = CONFIG_DIR / "gazetteer.yaml"
    boilerplate_file: Path = CONFIG_DIR / "boilerplate.yaml"
    claims_file: Path = CONFIG_DIR / "claims.yaml"  # reporting verbs, stances, speaker heads (claims stage)
    alerts_file: Path = CONFIG_DIR / "alerts.yaml"  # alert rules and webhooks (optional: no file, no rules)

    # Connectors
    user_agent: str = "RasidBot/0.1 (+https://github.com/rasid-news/rasid; news monitoring)"
    http_connect_timeout_s: float = Field(10.0, gt=0)
    http_read_timeout_s: float = Field(30.0, gt=0)
    http_max_bytes: int = Field(10_000_000, ge=1024)
    http_max_redirects: int = Field(5, ge=0, le=20)
    per_host_concurrency: int = Field(2, ge=1, le=16)
    per_host_delay_s: float = Field(1.0, ge=0)
    # Fetching refuses every address that is not globally routable (loopback, private, link-local,
    # shared, metadata...), on every hop, unless the URL's host (or host:port) is listed here:
    # comma-separated `host` or `host:port` entries (local outlets, tests). No other exception.
    fetch_allow_hosts: str = ""
    http_retries: int = Field(3, ge=0, le=10)  # extra attempts on timeouts, 429 and 5xx
    http_backoff_s: float = Field(1.0, ge=0)  # first retry delay; doubles per attempt, with jitter
    http_backoff_max_s: float = Field(60.0, ge=0)  # cap for backoff and for an honoured Retry-After
    robots_ttl_s: float = Field(3600.0, ge=0)  # how long a host's robots.txt is trusted
    fetch_concurrency: int = Field(16, ge=1, le=512)  # article fetches in flight per connector process
    # An endpoint whose server refuses us (401/403/451, a WAF challenge, refused/reset connections) is
    # "blocked", not broken: polled again after this long, doubling per refusal up to the max (hours,
    # not the minutes of an ordinary failure: hammering a refusing outlet only gets us banned harder).
    blocked_backoff_s: float = Field(10_800.0, ge=0.1)
    blocked_backoff_max_s: float = Field(86_400.0, ge=0.1)
    # Endpoint discovery (connectors/discovery.py): endpoints found are used and kept this long before
    # the outlet is looked at again; a discovery that found nothing is tried again after discovery_retry_s.
    discovery_ttl_s: float = Field(7 * 86_400.0, gt=0)
    discovery_retry_s: float = Field(86_400.0, gt=0)
    # A failing source is told once, then in one summary line per source this often (connectors/failures.py).
    failure_summary_s: float = Field(300.0, ge=1)
    state_dir: Path = PROJECT_ROOT / ".rasid-state"  # local operator state (sources check results, feed validators)

    # Workers
    worker_web_port: int = Field(6066, ge=1, le=65535)
    worker_web_bind: str = "127.0.0.1"  # faust's web server (no auth): loopback unless a deployment opens it
    data_dir: Path = PROJECT_ROOT / ".faust-data"
    # where the dedupe and story tables live between changelog recoveries: "disk" (SQLite under data_dir, off the
    # heap: they hold 90 days of entries) or "memory" (faust's dict) — pipeline/stream/tablestore.py
    table_store: Literal["disk", "memory"] = "disk"
    memory_trim_s: float = Field(60.0, ge=0)  # give freed heap back to the OS this often (0 = never): pipeline/core/memtrim.py
    process_pool_size: int = Field(0, ge=0)  # 0 = one per core
    batch_size: int = Field(32, ge=1)
    batch_timeout_s: float = Field(0.5, gt=0)
    process_batches_in_flight: int = Field(2, ge=1, le=8)  # batches queued in the pool, so it never waits for the loop
    process_timeout_s: float = Field(30.0, gt=0)  # pool makes no progress this long: a page is stuck, the pool is replaced
    # the dedupe agent's batches close sooner: its work per article is tiny, and every hop's wait adds to latency
    dedupe_batch_timeout_s: float = Field(0.2, gt=0)
    dedupe_threshold: float = Field(0.4, gt=0, le=1)  # Jaccard of 4-word shingles for a near-duplicate
    dedupe_containment: float = Field(0.8, gt=0, le=1)  # or: share of a shortened copy found in the story
    dedupe_window_days: float = Field(7.0, gt=0)  # copies published further apart never link; sketches kept this long after arrival
    dedupe_max_entries: int = Field(50_000, ge=100)  # matchable sketches kept (~2 KB each; the arrays, ~1.1 KB each, claimed at start)
    dedupe_retention_days: float = Field(90.0, gt=0)  # id -> story kept this long for idempotent replays
    # event-level stories (pipeline/stages/stories.py): the join probability (stages/story_pairs.py) a story needs
    story_threshold: float = Field(0.5, lt=1)
    # articles published further apart never share an event story (a follow-up comes within hours): at 36,
    # the next day's events in the same place joined; 24 measured better on the splits written blind
    story_window_hours: float = Field(24.0, gt=0)
    story_common_df: int = Field(200, ge=10)  # a key in more live articles than this retrieves nothing (bounds a lookup)

    # Alert webhooks (their own agent: a slow or failing receiver never holds the articles back)
    webhook_timeout_s: float = Field(10.0, gt=0)  # one POST
    webhook_attempts: int = Field(8, ge=1, le=100)  # POSTs of one alert before it is dead-lettered
    webhook_give_up_s: float = Field(300.0, gt=0)  # ... or after this long, whichever comes first
    webhook_backoff_s: float = Field(1.0, gt=0)  # first retry delay; doubles (pipeline.core.retry)
    webhook_backoff_max_s: float = Field(60.0, gt=0)
    # an alert fired longer ago than this (a backlog after an outage) is dead-lettered as «expired», not POSTed
    # hours late as if it were news; `rasid deadletter retry` still sends it. 0: never expires
    webhook_max_age_s: float = Field(6 * 3600.0, ge=0)

    # Sink
    bulk_max_docs: int = Field(500, ge=1)
    bulk_max_bytes: int = Field(5_000_000, ge=1024)
    bulk_max_wait_s: float = Field(0.5, gt=0)
    bulk_backoff_s: float = Field(0.5, gt=0)  # first retry delay while ES is down/overloaded; doubles
    bulk_backoff_max_s: float = Field(30.0, gt=0)  # cap: the sink retries forever at most this far apart

    # Observability
    metrics_port: int = Field(0, ge=0, le=65535)  # 0 = off
    metrics_bind: str = "127.0.0.1"  # /metrics has no auth: loopback unless a deployment opens it
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")  # any case: "debug" works
    log_format: str = Field("auto", pattern=r"^(auto|json|console)$")
    # Arabic on a terminal: logical order (terminals that run the bidi algorithm: VTE, Konsole, mlterm,
    # iTerm2) unless "visual" is asked for (old terminals); never reordered when stdout is not a terminal
    bidi: str = Field("logical", pattern=r"^(logical|visual)$")  # auto: JSON unless stdout is a terminal

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) and v.upper() in ("DEBUG", "INFO", "WARNING", "ERROR") else v

    @field_validator("log_format", "bidi", mode="before")
    @classmethod
    def _lower_case(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) and v.lower() in ("auto", "json", "console", "logical", "visual") else v

    @property
    def log_as_json(self) -> bool:
        """JSON log lines (``log_format``; ``auto``: unless stdout is a terminal)."""
        return wants_json(self.log_format)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_has_port(cls, v: str) -> str:
        for part in v.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {v!r}")
        return v

    @field_validator("es_url")
    @classmethod
    def _es_url_is_http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s):// URL, got {redact(repr(v))}")
        return v.rstrip("/")

    @field_validator("story_threshold")
    @classmethod
    def _story_threshold_is_a_probability(cls, v: float) -> float:
        if v < 0.2:  # an old deployment's 0.06 would now join nearly every candidate
            raise ValueError(f"the story threshold is the join probability since the pair score (0.5 by default; "
                             f"the hand score's 0.06 no longer applies), got {v}")
        return v

    @field_validator("fetch_allow_hosts")
    @classmethod
    def _allow_hosts(cls, v: str) -> str:
        parse_allow_hosts(v)  # a malformed entry stops the process here, named
        return v

    @property
    def fetch_allow(self) -> frozenset[tuple[str, int | None]]:
        """``fetch_allow_hosts`` parsed: {(host, port or None)}."""
        return parse_allow_hosts(self.fetch_allow_hosts)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    # Names derived from the namespace: every topic, group and index carries it.
    def topic(self, name: str) -> str:
        return f"{self.namespace}.{name}"

    @property
    def raw_topic(self) -> str:
        return self.topic("raw")

    @property
    def articles_topic(self) -> str:
        return self.topic("articles")

    @property
    def deadletter_topic(self) -> str:
        return self.topic("deadletter")

    @property
    def seen_topic(self) -> str:
        return self.topic("seen")

    @property
    def stories_topic(self) -> str:
        return self.topic("stories")

    @property
    def alerts_topic(self) -> str:
        return self.topic("alerts")

    @property
    def es_alias(self) -> str:
        return f"{self.namespace}-articles"

    @property
    def stories_alias(self) -> str:
        return f"{self.namespace}-stories"

    @property
    def alerts_alias(self) -> str:
        return f"{self.namespace}-alerts"

    def es_index_for(self, year: int, month: int) -> str:
        return f"{self.es_alias}-{year:04d}.{month:02d}"

    @property
    def kafka_compression_type(self) -> str | None:
        """``kafka_compression`` as Kafka clients take it (None = uncompressed)."""
        return None if self.kafka_compression == "none" else self.kafka_compression

    def kafka_python_kwargs(self) -> dict[str, Any]:
        """Security keyword arguments for kafka-python and aiokafka clients (same names in both)."""
        kw: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol.startswith("SASL"):
            kw.update(sasl_mechanism=self.kafka_sasl_mechanism, sasl_plain_username=self.kafka_username or "",
                      sasl_plain_password=self.kafka_password.get_secret_value() if self.kafka_password else "")
        if self.kafka_security_protocol.endswith("SSL") and self.kafka_ca_file:
            kw["ssl_cafile"] = str(self.kafka_ca_file)
        return kw

    def aiokafka_kwargs(self) -> dict[str, Any]:
        """Security keyword arguments for aiokafka clients (the connectors)."""
        kw = {k: v for k, v in self.kafka_python_kwargs().items() if k != "ssl_cafile"}
        ctx = self.kafka_ssl_context()
        if ctx is not None:
            kw["ssl_context"] = ctx
        return kw

    def kafka_ssl_context(self) -> Any:
        """An SSL context for aiokafka and faust (None on a plaintext cluster)."""
        if not self.kafka_security_protocol.endswith("SSL"):
            return None
        import ssl

        return ssl.create_default_context(cafile=str(self.kafka_ca_file) if self.kafka_ca_file else None)

    def es_client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for (Async)Elasticsearch; secrets never leave this dict."""
        kw: dict[str, Any] = {"hosts": [self.es_url], "request_timeout": self.es_timeout_s}
        if self.es_api_key is not None:
            kw["api_key"] = self.es_api_key.get_secret_value()
        elif self.es_username:
            pw = self.es_password.get_secret_value() if self.es_password else ""
            kw["basic_auth"] = (self.es_username, pw)
        if self.es_url.startswith("https://"):
            if self.es_ca_file:
                kw["ca_certs"] = str(self.es_ca_file)
            kw["verify_certs"] = self.es_verify_certs
        return kw


_SECRET_FIELDS = ("password", "api_key", "secret", "token")


def _explain(err: ValidationError) -> str:
    """One line per bad variable; credentials in URLs are redacted and secrets never echoed."""
    lines = ["invalid settings:"]
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"])
        got = "(not shown)" if any(w in field.lower() for w in _SECRET_FIELDS) else redact(repr(e.get("input")))
        lines.append(f"  RASID_{field.upper()}: {redact(e['msg'])} (got {got})")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one readable message."""
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise SettingsError(_explain(err)) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
