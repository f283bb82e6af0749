"""The devstack's Kafka: a KRaft single node (broker + controller), its configuration, start and readiness probe."""

from __future__ import annotations

import base64
import contextlib
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any
from devstack.jars import Java, fetch_all
from devstack.layout import DevstackError, HOST, KAFKA_BOOTSTRAP, KAFKA_CONTROLLER_PORT, KAFKA_HEAP, KAFKA_MAX_MESSAGE_BYTES, KAFKA_PORT, KAFKA_RACK, Layout, marker
from devstack.procs import port_open, record_owner


# --------------------------------------------------------------------------- probes


def kafka_groups_ready(bootstrap: str = KAFKA_BOOTSTRAP, timeout_ms: int = 3000) -> bool:
    """True once a group coordinator answers (``__consumer_offsets`` exists and has a leader).

    A fresh broker answers metadata seconds before consumer groups work; clients that join a
    group in that window see GroupCoordinatorNotAvailable and rebalance repeatedly, so ``up``
    waits for this too.
    """
    import logging

    from kafka import KafkaAdminClient

    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    admin = None
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="rasid-devstack",
                                 request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms)
        admin.describe_groups(["rasid-devstack-warmup"])
        return "__consumer_offsets" in admin.list_topics()
    except Exception:
        return False
    finally:
        if admin is not None:
            try:
                admin.close()
            except Exception:
                pass


def kafka_probe(bootstrap: str = KAFKA_BOOTSTRAP, timeout_ms: int = 3000) -> dict[str, Any] | None:
    """Cluster metadata if a Kafka broker answers at `bootstrap`, else None."""
    host, _, port = bootstrap.rpartition(":")
    if not port_open(int(port), host):
        return None
    import logging

    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    admin = None
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="rasid-devstack",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            reconnect_backoff_max_ms=500,
        )
        info = admin.describe_cluster()
        topics = admin.list_topics()
        brokers = info.get("brokers") or []
        if not brokers:
            return None
        return {
            "cluster_id": info.get("cluster_id"),
            "brokers": [{"id": b.get("node_id"), "host": b.get("host"), "port": b.get("port"), "rack": b.get("rack")} for b in brokers],
            "topics": len([t for t in topics if not t.startswith("__")]),
            "ours": any(b.get("rack") == KAFKA_RACK for b in brokers),
        }
    except (KafkaError, OSError, ValueError, AssertionError):
        return None
    except Exception:  # kafka-python raises assorted errors against non-Kafka ports
        return None
    finally:
        if admin is not None:
            with contextlib.suppress(Exception):
                admin.close()


# --------------------------------------------------------------------------- kafka


def kafka_server_properties(layout: Layout) -> str:
    return f"""# Written by `rasid devstack up`; regenerated on every start.
process.roles=broker,controller
node.id=1
broker.rack={KAFKA_RACK}
controller.quorum.voters=1@{HOST}:{KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={layout.kafka_data}
num.network.threads=2
num.io.threads=4
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
message.max.bytes={KAFKA_MAX_MESSAGE_BYTES}
replica.fetch.max.bytes={KAFKA_MAX_MESSAGE_BYTES}
log.retention.hours=168
log.retention.bytes=1073741824
log.segment.bytes=67108864
log.retention.check.interval.ms=300000
log.cleaner.dedupe.buffer.size=16777216
"""


def kafka_log4j_properties(layout: Layout) -> str:
    return f"""# Written by `rasid devstack up`.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={layout.kafka_log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log=WARN
"""


def random_cluster_id() -> str:
    """A KRaft cluster id in Kafka's Uuid format (URL-safe base64 of 16 random bytes)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def kafka_command(java: Java, classpath: list[Path], layout: Layout, main: str, *args: str) -> list[str]:
    return [
        str(java.java),
        *KAFKA_HEAP,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{layout.kafka / 'log4j.properties'}",
        f"-Dkafka.logs.dir={layout.kafka_logs}",
        marker("kafka", layout),
        "-cp",
        ":".join(str(p) for p in classpath),
        main,
        *args,
    ]


def start_kafka(java: Java, lock: dict[str, Any], layout: Layout, say) -> tuple[int, float]:
    """Format the KRaft log dir once, then launch the broker JVM in the background."""
    t0 = time.monotonic()
    classpath, downloaded = fetch_all(lock["kafka"]["artifacts"])
    if downloaded:
        say(f"kafka: downloaded {downloaded} jars in {time.monotonic() - t0:.1f}s")
    for d in (layout.kafka_data, layout.kafka_logs):
        d.mkdir(parents=True, exist_ok=True)
    props = layout.kafka / "server.properties"
    props.write_text(kafka_server_properties(layout))
    (layout.kafka / "log4j.properties").write_text(kafka_log4j_properties(layout))
    if not (layout.kafka_data / "meta.properties").exists():
        t1 = time.monotonic()
        cid = random_cluster_id()
        cmd = kafka_command(java, classpath, layout, lock["kafka"]["storage_tool"], "format", "-t", cid, "-c", str(props), "--ignore-formatted")
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise DevstackError(f"kafka storage format failed:\n{out.stdout}\n{out.stderr}")
        say(f"kafka: formatted {layout.kafka_data} (cluster id {cid}) in {time.monotonic() - t1:.1f}s")
    cmd = kafka_command(java, classpath, layout, lock["kafka"]["main_class"], str(props))
    with (layout.kafka_logs / "stdout.log").open("ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=layout.kafka)
    layout.kafka_pid.write_text(str(proc.pid))
    record_owner("kafka", layout, proc.pid)
    return proc.pid, time.monotonic() - t0
