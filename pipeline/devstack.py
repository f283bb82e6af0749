"""`rasid devstack up|down|status|logs`: a real single-node Kafka and Elasticsearch without Docker.

Both servers run as background JVMs from files published on Maven Central, pinned with SHA-256 in
``devstack/jars.lock.json`` (regenerated with Maven by ``devstack/regen-lock.sh``; users need only
a JDK >= 17):

* Kafka 3.9 in KRaft mode (broker + controller in one JVM) on 127.0.0.1:9092, from the
  ``kafka_2.13`` jar and its dependencies plus ``slf4j-reload4j``.
* Elasticsearch 8.14.1 on 127.0.0.1:9200 from the distribution Elastic publishes to Maven Central
  (``org.elasticsearch.distribution.integ-test-zip``). That archive carries the server and only the
  transport/x-pack-core/security/apm modules, so ``devstack/es-plugin`` (built once with ``javac``
  against the distribution's own jars) adds the Arabic analysis components the index template
  uses -- ``arabic`` analyzer, ``arabic_normalization``, ``arabic_stem``, ``decimal_digit``,
  ``lowercase``, ``synonym``/``synonym_graph``, ``mapping``/``pattern_replace`` char filters --
  on top of Lucene's classes, plus the ``GET /`` banner. Security is off (plain HTTP, no auth).

Downloads are shared by every checkout under ``~/.cache/rasid`` (``RASID_CACHE_DIR``); data, logs
and pid files live in the checkout's ``.devstack/`` (``RASID_DEVSTACK_DIR``). ``up`` reuses a
healthy stack even if another checkout started it; ``down`` stops only the JVMs this checkout
started.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import click

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCK_FILE = PROJECT_ROOT / "devstack" / "jars.lock.json"
PLUGIN_SRC = PROJECT_ROOT / "devstack" / "es-plugin"

HOST = "127.0.0.1"
KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
ES_PORT = 9200
ES_TRANSPORT_PORT = 9300
KAFKA_BOOTSTRAP = f"{HOST}:{KAFKA_PORT}"
ES_URL = f"http://{HOST}:{ES_PORT}"

# Names that identify our servers when something already listens on the ports.
ES_CLUSTER_NAME = "rasid-devstack"
KAFKA_RACK = "rasid-devstack"

KAFKA_HEAP = ["-Xms256m", "-Xmx512m"]
ES_HEAP = ["-Xms512m", "-Xmx1g"]
KAFKA_MAX_MESSAGE_BYTES = 10 * 1024 * 1024

START_TIMEOUT_S = float(os.environ.get("RASID_DEVSTACK_START_TIMEOUT", "180"))
STOP_TIMEOUT_S = 30.0
MIN_JAVA = 17


class DevstackError(click.ClickException):
    """A problem the user can act on; printed without a traceback."""


# --------------------------------------------------------------------------- locations


def devstack_dir() -> Path:
    return Path(os.environ.get("RASID_DEVSTACK_DIR", PROJECT_ROOT / ".devstack")).resolve()


def cache_dir() -> Path:
    if "RASID_CACHE_DIR" in os.environ:
        return Path(os.environ["RASID_CACHE_DIR"]).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base) / "rasid").resolve()


@dataclass(frozen=True)
class Layout:
    """Where one checkout keeps its devstack state."""

    root: Path

    @property
    def kafka(self) -> Path:
        return self.root / "kafka"

    @property
    def kafka_data(self) -> Path:
        return self.kafka / "data"

    @property
    def kafka_logs(self) -> Path:
        return self.kafka / "logs"

    @property
    def kafka_pid(self) -> Path:
        return self.kafka / "kafka.pid"

    @property
    def kafka_log(self) -> Path:
        return self.kafka_logs / "server.log"

    @property
    def es(self) -> Path:
        return self.root / "elasticsearch"

    @property
    def es_config(self) -> Path:
        return self.es / "config"

    @property
    def es_data(self) -> Path:
        return self.es / "data"

    @property
    def es_logs(self) -> Path:
        return self.es / "logs"

    @property
    def es_tmp(self) -> Path:
        return self.es / "tmp"

    @property
    def es_pid(self) -> Path:
        return self.es / "es.pid"

    @property
    def es_log(self) -> Path:
        return self.es_logs / f"{ES_CLUSTER_NAME}.log"

    @property
    def es_launch_log(self) -> Path:
        return self.es_logs / "launcher.log"


def marker(component: str, layout: Layout) -> str:
    """A JVM system property naming the component and the checkout that started it."""
    return f"-Drasid.devstack.{component}={layout.root}"


# --------------------------------------------------------------------------- lock + downloads


def load_lock(path: Path = LOCK_FILE) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DevstackError(f"lock file {path} is missing (regenerate it with devstack/regen-lock.sh)") from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def jar_cache() -> Path:
    return cache_dir() / "jars"


def fetch(artifact: dict[str, Any], cache: Path | None = None, timeout: float = 60.0) -> Path:
    """Return the verified local copy of one locked artifact, downloading it when absent.

    A cached or downloaded file whose SHA-256 differs from the lock is deleted and the start is
    refused: the lock, not the network, decides what runs.
    """
    cache = cache or jar_cache()
    dest = cache / artifact["path"]
    if dest.exists():
        got = sha256_file(dest)
        if got == artifact["sha256"]:
            return dest
        dest.unlink()
        raise DevstackError(
            f"cached {dest} has SHA-256 {got}, the lock says {artifact['sha256']}; "
            "deleted it, run `rasid devstack up` again to download it afresh"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = artifact["url"]
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "rasid-devstack"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise DevstackError(f"download failed: {url}: {e}") from None
        if h.hexdigest() != artifact["sha256"]:
            raise DevstackError(
                f"download of {url} has SHA-256 {h.hexdigest()}, the lock says {artifact['sha256']}; "
                "deleted it and refusing to start"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def fetch_all(artifacts: list[dict[str, Any]], cache: Path | None = None) -> tuple[list[Path], int]:
    """Fetch artifacts in parallel (order preserved); returns paths and how many were downloaded."""
    cache = cache or jar_cache()
    missing = sum(1 for a in artifacts if not (cache / a["path"]).exists())
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        paths = list(pool.map(lambda a: fetch(a, cache), artifacts))
    return paths, missing


# --------------------------------------------------------------------------- java


@dataclass(frozen=True)
class Java:
    java: Path
    home: Path
    major: int


def parse_java_major(version_output: str) -> int | None:
    """Major version from `java -version` output ('17.0.15', '1.8.0_392' -> 8, '21')."""
    m = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not m:
        return None
    major = int(m.group(1))
    if major == 1 and m.group(2):
        major = int(m.group(2))
    return major


def find_java() -> Java:
    candidates = []
    for var in ("RASID_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]) / "bin" / "java")
    found = shutil.which("java")
    if found:
        candidates.append(Path(found))
    for java in candidates:
        if not java.exists():
            continue
        try:
            out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        major = parse_java_major(out.stderr + out.stdout)
        if major is None:
            continue
        if major < MIN_JAVA:
            raise DevstackError(f"{java} is Java {major}; the devstack needs Java >= {MIN_JAVA} (set JAVA_HOME)")
        home = java.resolve().parent.parent
        return Java(java=java.resolve(), home=home, major=major)
    raise DevstackError(f"Java not found: install a JDK >= {MIN_JAVA} (e.g. openjdk-17-jdk-headless) or set JAVA_HOME")


# --------------------------------------------------------------------------- processes


def port_open(port: int, host: str = HOST, timeout: float = 0.3) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def pid_cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped) counts as gone
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


def our_pid(path: Path, mark: str) -> int | None:
    """The pid in `path` if that process is alive and is the JVM we started (its command line has `mark`)."""
    pid = read_pid(path)
    if pid is None or not pid_alive(pid):
        return None
    cmd = pid_cmdline(pid)
    if cmd is not None and mark not in cmd:
        return None  # pid reused by something else
    return pid


def marked_pids(mark: str) -> list[int]:
    """Every live process whose command line carries `mark` (catches JVMs whose pid file was lost)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            cmd = pid_cmdline(int(entry.name))
            if cmd and mark in cmd and pid_alive(int(entry.name)):
                pids.append(int(entry.name))
    return pids


def stop_pid(pid: int, timeout: float = STOP_TIMEOUT_S) -> str:
    """SIGTERM, wait, then SIGKILL. Returns how it ended."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return "stopped"
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    return "killed after timeout"


def tail(path: Path, lines: int = 30) -> str:
    try:
        data = path.read_bytes()[-64_000:].decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


@contextlib.contextmanager
def global_lock() -> Iterator[None]:
    """Serialise `up`/`down` across checkouts and concurrent test sessions on this machine."""
    path = cache_dir() / "devstack.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def owner_file() -> Path:
    return cache_dir() / "devstack-owner.json"


def record_owner(component: str, layout: Layout, pid: int) -> None:
    path = owner_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[component] = {"dir": str(layout.root), "pid": pid, "started": time.time()}
    path.write_text(json.dumps(data, indent=1))


def recorded_owner(component: str) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(owner_file().read_text()).get(component)
    return None


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


def http_json(url: str, timeout: float = 3.0) -> tuple[int, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    except (urllib.error.URLError, OSError, TimeoutError):
        return None
    try:
        return status, json.loads(body or b"null")
    except ValueError:
        return status, body[:200].decode(errors="replace")


def es_probe(url: str = ES_URL) -> dict[str, Any] | None:
    """Cluster name, version and health if an Elasticsearch answers at `url`, else None."""
    parsed = urllib.parse.urlsplit(url)
    if not port_open(parsed.port or 9200, parsed.hostname or HOST):
        return None
    health = http_json(f"{url}/_cluster/health")
    if health is None:
        return None
    status, body = health
    if status != 200 or not isinstance(body, dict) or "status" not in body:
        return {"ours": False, "answer": f"HTTP {status}: {str(body)[:200]}"}
    root = http_json(f"{url}/")
    version = None
    if root and isinstance(root[1], dict):
        version = (root[1].get("version") or {}).get("number")
    return {
        "cluster_name": body.get("cluster_name"),
        "status": body.get("status"),
        "version": version,
        "ours": body.get("cluster_name") == ES_CLUSTER_NAME,
    }


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


# --------------------------------------------------------------------------- elasticsearch


def plugin_sources() -> list[Path]:
    return sorted(p for p in PLUGIN_SRC.rglob("*") if p.is_file() and p.suffix in (".java", ".properties"))


def es_home_key(lock: dict[str, Any]) -> str:
    """The distribution and plugin source together name one prepared Elasticsearch home."""
    h = hashlib.sha256()
    h.update(lock["elasticsearch"]["artifacts"][0]["sha256"].encode())
    for p in plugin_sources():
        h.update(p.relative_to(PLUGIN_SRC).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def extract_zip(archive: Path, dest: Path) -> Path:
    """Unzip keeping the Unix permission bits (bin/ scripts must stay executable); returns the top dir."""
    with zipfile.ZipFile(archive) as z:
        top = None
        for info in z.infolist():
            z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o7777
            if mode:
                os.chmod(dest / info.filename, mode)
            top = top or info.filename.split("/")[0]
    assert top
    return dest / top


def build_plugin(java: Java, home: Path, version: str, workdir: Path) -> None:
    """Compile devstack/es-plugin against the distribution's jars and install it into `home`."""
    javac = java.home / "bin" / "javac"
    if not javac.exists():
        javac_found = shutil.which("javac")
        if not javac_found:
            raise DevstackError(
                "building the devstack's Elasticsearch analysis plugin needs a JDK >= 17 with javac "
                "(e.g. apt-get install openjdk-17-jdk-headless), only once per plugin version"
            )
        javac = Path(javac_found)
    classes = workdir / "classes"
    classes.mkdir(parents=True)
    sources = [str(p) for p in plugin_sources() if p.suffix == ".java"]
    out = subprocess.run(
        [str(javac), "--release", "17", "-nowarn", "-encoding", "UTF-8", "-cp", str(home / "lib" / "*"), "-d", str(classes), *sources],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise DevstackError(f"compiling devstack/es-plugin failed:\n{out.stdout}\n{out.stderr}")
    dest = home / "plugins" / "rasid-devstack"
    dest.mkdir(parents=True)
    with zipfile.ZipFile(dest / "rasid-devstack.jar", "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: rasid devstack\r\n\r\n")
        for f in sorted(classes.rglob("*.class")):
            jar.write(f, f.relative_to(classes).as_posix())
    descriptor = (PLUGIN_SRC / "plugin-descriptor.properties").read_text().replace("@ES_VERSION@", version)
    (dest / "plugin-descriptor.properties").write_text(descriptor)


def ensure_es_home(java: Java, lock: dict[str, Any], say) -> Path:
    """An extracted distribution with our plugin installed, shared by every checkout (keyed by hash)."""
    es = lock["elasticsearch"]
    base = cache_dir() / "elasticsearch"
    home = base / f"elasticsearch-{es['version']}-{es_home_key(lock)}"
    if (home / ".rasid-ready").exists():
        return home
    t0 = time.monotonic()
    missing = not (jar_cache() / es["artifacts"][0]["path"]).exists()
    archive = fetch(es["artifacts"][0])
    if missing:
        say(f"elasticsearch: downloaded {es['artifacts'][0]['url']} in {time.monotonic() - t0:.1f}s")
    t1 = time.monotonic()
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=base, prefix=".build-"))
    try:
        top = extract_zip(archive, work / "dist")
        build_plugin(java, top, es["version"], work / "plugin")
        (top / ".rasid-ready").write_text(json.dumps({"built": time.time()}))
        if home.exists():
            shutil.rmtree(home)  # a half-built home from an interrupted run
        os.replace(top, home)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"elasticsearch: prepared {home} (unpack + plugin build) in {time.monotonic() - t1:.1f}s")
    return home


def es_yml(layout: Layout) -> str:
    return f"""# Written by `rasid devstack up`; regenerated on every start.
cluster.name: {ES_CLUSTER_NAME}
node.name: {ES_CLUSTER_NAME}
path.data: {layout.es_data}
path.logs: {layout.es_logs}
network.host: {HOST}
http.port: {ES_PORT}
transport.port: {ES_TRANSPORT_PORT}
discovery.type: single-node
xpack.security.enabled: false
# a full-ish disk must not turn the indices read-only during development
cluster.routing.allocation.disk.threshold_enabled: false
# tests delete their namespace's indices by pattern
action.destructive_requires_name: false
"""


def es_jvm_options(layout: Layout) -> str:
    return f"""# Written by `rasid devstack up` (heap comes from ES_JAVA_OPTS).
-XX:+UseG1GC
-Djava.io.tmpdir=${{ES_TMPDIR}}
20-:--add-modules=jdk.incubator.vector
-XX:+ExitOnOutOfMemoryError
-XX:ErrorFile={layout.es_logs}/hs_err_pid%p.log
-Xlog:disable
-Xlog:all=warning:stderr:utctime,level,tags
"""


def launch_prefix() -> list[str]:
    """Elasticsearch refuses to run as root. When we are root, give its JVM a user namespace of its
    own: inside it the process is uid 65534, while files it creates stay owned by us outside."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare:
        probe = subprocess.run([unshare, "--user", "true"], capture_output=True)
        if probe.returncode == 0:
            return [unshare, "--user"]
    raise DevstackError(
        "Elasticsearch refuses to run as root and `unshare --user` is not available here; "
        "run `rasid devstack up` as a regular user"
    )


def start_es(java: Java, lock: dict[str, Any], layout: Layout, say) -> tuple[subprocess.Popen, float]:
    """Launch Elasticsearch daemonised (`bin/elasticsearch -d -p`); the launcher exits once it is up."""
    t0 = time.monotonic()
    home = ensure_es_home(java, lock, say)
    for d in (layout.es_config, layout.es_data, layout.es_logs, layout.es_tmp):
        d.mkdir(parents=True, exist_ok=True)
    (layout.es_config / "elasticsearch.yml").write_text(es_yml(layout))
    (layout.es_config / "jvm.options").write_text(es_jvm_options(layout))
    shutil.copy2(home / "config" / "log4j2.properties", layout.es_config / "log4j2.properties")
    layout.es_pid.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(
        ES_JAVA_HOME=str(java.home),
        ES_PATH_CONF=str(layout.es_config),
        ES_TMPDIR=str(layout.es_tmp),
        ES_JAVA_OPTS=" ".join([*ES_HEAP, marker("es", layout)]),
    )
    env.pop("JAVA_TOOL_OPTIONS", None)
    cmd = [*launch_prefix(), str(home / "bin" / "elasticsearch"), "-d", "-p", str(layout.es_pid)]
    with layout.es_launch_log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, time.monotonic() - t0


# --------------------------------------------------------------------------- up / down / status


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def __call__(self, msg: str) -> None:
        self.lines.append(msg)
        click.echo(msg, err=True)


def _check_free(port: int, what: str) -> None:
    if port_open(port):
        raise DevstackError(f"port {HOST}:{port} ({what}) is taken by another program; free it and retry")


def up(layout: Layout | None = None, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
    """Bring both servers up (reusing healthy ones) and wait until they answer. Idempotent."""
    layout = layout or Layout(devstack_dir())
    say = Report()
    t_start = time.monotonic()
    with global_lock():
        kafka = kafka_probe()
        es = es_probe()
        if kafka and not kafka["ours"]:
            raise DevstackError(f"port {KAFKA_BOOTSTRAP} answers as a Kafka that is not the devstack's (brokers {kafka['brokers']})")
        if es and not es["ours"]:
            what = es.get("answer") or f"cluster {es.get('cluster_name')!r}, version {es.get('version')}"
            raise DevstackError(f"port {HOST}:{ES_PORT} is taken by something that is not the devstack's Elasticsearch ({what})")
        if kafka and es and es["status"] in ("green", "yellow"):
            say(f"devstack already up: kafka {KAFKA_BOOTSTRAP}, elasticsearch {ES_URL} {es['version']} ({es['status']}) [{time.monotonic() - t_start:.1f}s]")
            return {"kafka": kafka, "es": es, "reused": True, "seconds": time.monotonic() - t_start}

        need_kafka = kafka is None
        need_es = es is None
        java = find_java()
        lock = load_lock()
        layout.root.mkdir(parents=True, exist_ok=True)
        es_proc = None
        kafka_pid = None
        if need_kafka:
            if our_pid(layout.kafka_pid, marker("kafka", layout)):
                say("kafka: a JVM from this checkout is running but not answering yet; waiting for it")
            else:
                _check_free(KAFKA_PORT, "kafka")
                _check_free(KAFKA_CONTROLLER_PORT, "kafka controller")
        if need_es:
            if our_pid(layout.es_pid, marker("es", layout)):
                say("elasticsearch: a JVM from this checkout is running but not answering yet; waiting for it")
            else:
                _check_free(ES_PORT, "elasticsearch http")
                _check_free(ES_TRANSPORT_PORT, "elasticsearch transport")
                es_proc, prep = start_es(java, lock, layout, say)
                say(f"elasticsearch: launching (prep {prep:.1f}s), log {layout.es_log}")
        if need_kafka and not our_pid(layout.kafka_pid, marker("kafka", layout)):
            kafka_pid, prep = start_kafka(java, lock, layout, say)
            say(f"kafka: started pid {kafka_pid} (prep {prep:.1f}s), log {layout.kafka_log}")

        deadline = time.monotonic() + timeout
        kafka_t = 0.0 if not need_kafka else None
        es_healthy = es is not None and es.get("status") in ("green", "yellow")
        es_t = 0.0 if es_healthy else None
        while kafka_t is None or es_t is None:
            if time.monotonic() > deadline:
                raise DevstackError(_timeout_message(layout, kafka_t is None, es_t is None, timeout))
            if kafka_t is None:
                kafka = kafka_probe(timeout_ms=1500)
                if kafka and kafka_groups_ready(timeout_ms=3000):
                    kafka_t = time.monotonic() - t_start
                    say(f"kafka: ready at {KAFKA_BOOTSTRAP} after {kafka_t:.1f}s")
                elif kafka_pid and not pid_alive(kafka_pid):
                    raise DevstackError(f"kafka exited during start-up; last log lines ({layout.kafka_log}):\n{tail(layout.kafka_log)}\n{tail(layout.kafka_logs / 'stdout.log', 10)}")
            if es_t is None:
                if es_proc is not None and es_proc.poll() not in (None, 0):
                    raise DevstackError(
                        f"elasticsearch failed to start (launcher exit {es_proc.returncode}); see {layout.es_log}\n{tail(layout.es_launch_log, 25)}"
                    )
                es = es_probe()
                if es and es.get("status") in ("green", "yellow"):
                    es_t = time.monotonic() - t_start
                    pid = read_pid(layout.es_pid)
                    if pid:
                        record_owner("es", layout, pid)
                    say(f"elasticsearch: {es['version']} {es['status']} at {ES_URL} after {es_t:.1f}s")
            if kafka_t is None or es_t is None:
                time.sleep(0.25)
        total = time.monotonic() - t_start
        say(f"devstack up in {total:.1f}s; logs: {layout.kafka_log} and {layout.es_log} (`rasid devstack logs`)")
        return {"kafka": kafka, "es": es, "reused": False, "seconds": total}


def _timeout_message(layout: Layout, kafka_waiting: bool, es_waiting: bool, timeout: float) -> str:
    parts = [f"devstack not ready after {timeout:.0f}s"]
    if kafka_waiting:
        parts.append(f"kafka not answering at {KAFKA_BOOTSTRAP}; {layout.kafka_log}:\n{tail(layout.kafka_log, 15)}")
    if es_waiting:
        parts.append(f"elasticsearch not healthy at {ES_URL}; {layout.es_log}:\n{tail(layout.es_log, 15)}")
    return "\n".join(parts)


def down(layout: Layout | None = None, timeout: float = STOP_TIMEOUT_S) -> list[str]:
    """Stop the JVMs this checkout started (pid files, checked against the command line)."""
    layout = layout or Layout(devstack_dir())
    done: list[str] = []
    stopped: list[int] = []
    with global_lock():
        for component, pidfile in (("kafka", layout.kafka_pid), ("es", layout.es_pid)):
            mark = marker(component, layout)
            pids = set(marked_pids(mark))
            pid = our_pid(pidfile, mark)
            if pid:
                pids.add(pid)
            if not pids:
                owner = recorded_owner(component)
                running = (kafka_probe() if component == "kafka" else es_probe()) is not None
                if running and owner and owner.get("dir") != str(layout.root):
                    done.append(f"{component}: running, started from {owner['dir']}; left alone (run `rasid devstack down` there)")
                elif running:
                    done.append(f"{component}: running but not started from this checkout; left alone")
                else:
                    done.append(f"{component}: not running")
                pidfile.unlink(missing_ok=True)
                continue
            for p in sorted(pids):
                how = stop_pid(p, timeout)
                done.append(f"{component}: pid {p} {how}")
                stopped.append(p)
            pidfile.unlink(missing_ok=True)
    # The JVMs were re-parented to init when `up` exited; give it a moment to reap them so no
    # `<defunct>` java entry lingers for whoever checks right after.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in stopped):
        time.sleep(0.1)
    return done


def status(layout: Layout | None = None) -> tuple[bool, list[str]]:
    layout = layout or Layout(devstack_dir())
    lines = []
    kafka = kafka_probe()
    es = es_probe()
    ok = True
    for component, probe, pidfile in (("kafka", kafka, layout.kafka_pid), ("es", es, layout.es_pid)):
        pid = our_pid(pidfile, marker(component, layout))
        owner = recorded_owner(component)
        where = f"started here, pid {pid}" if pid else (f"started from {owner['dir']}" if owner and probe else "not started here")
        if component == "kafka":
            if probe:
                lines.append(f"kafka: UP at {KAFKA_BOOTSTRAP}, cluster {probe['cluster_id']}, {probe['topics']} topics ({where})")
            else:
                ok = False
                lines.append(f"kafka: DOWN (nothing answers at {KAFKA_BOOTSTRAP})" + (f"; JVM pid {pid} alive" if pid else ""))
        else:
            if probe and probe.get("status") in ("green", "yellow"):
                lines.append(f"elasticsearch: UP at {ES_URL}, {probe['version']} {probe['status']} ({where})")
            else:
                ok = False
                extra = f"; answered {probe}" if probe else ""
                lines.append(f"elasticsearch: DOWN at {ES_URL}{extra}" + (f"; JVM pid {pid} alive" if pid else ""))
    return ok, lines


# --------------------------------------------------------------------------- CLI


@click.group()
def devstack() -> None:
    """Local single-node Kafka (127.0.0.1:9092) and Elasticsearch (127.0.0.1:9200) for development and tests."""


@devstack.command("up")
@click.option("--timeout", default=START_TIMEOUT_S, show_default=True, help="Seconds to wait for both servers.")
def up_cmd(timeout: float) -> None:
    """Start (or reuse) the devstack and wait until Kafka answers and Elasticsearch is yellow or green."""
    up(timeout=timeout)


@devstack.command("down")
@click.option("--timeout", default=STOP_TIMEOUT_S, show_default=True, help="Seconds before SIGKILL.")
def down_cmd(timeout: float) -> None:
    """Stop the Kafka and Elasticsearch JVMs that this checkout started."""
    for line in down(timeout=timeout):
        click.echo(line)


@devstack.command("status")
def status_cmd() -> None:
    """Report both servers; exits 1 if either is down."""
    ok, lines = status()
    for line in lines:
        click.echo(line)
    sys.exit(0 if ok else 1)


@devstack.command("logs")
@click.argument("component", required=False, type=click.Choice(["kafka", "es"]))
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("-n", "--lines", default=50, show_default=True)
def logs_cmd(component: str | None, follow: bool, lines: int) -> None:
    """Show the server logs (both unless COMPONENT is given)."""
    layout = Layout(devstack_dir())
    files = {"kafka": layout.kafka_log, "es": layout.es_log}
    chosen = [files[component]] if component else list(files.values())
    existing = [p for p in chosen if p.exists()]
    if not existing:
        raise DevstackError(f"no log yet at {', '.join(map(str, chosen))} (was the devstack started from this checkout?)")
    if follow:
        tail_bin = shutil.which("tail")
        if not tail_bin:
            raise DevstackError("`tail` is needed for --follow")
        os.execv(tail_bin, [tail_bin, "-n", str(lines), "-F", *map(str, existing)])
    for p in existing:
        if len(existing) > 1:
            click.echo(f"==> {p} <==")
        click.echo(tail(p, lines))
