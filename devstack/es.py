"""The devstack's Elasticsearch: the integ-test distribution plus the Arabic analysis plugin built here, its configuration, start and probe."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any
from devstack.jars import Java, fetch, jar_cache
from devstack.layout import DevstackError, ES_CLUSTER_NAME, ES_HEAP, ES_PORT, ES_TRANSPORT_PORT, ES_URL, HOST, Layout, PLUGIN_SRC, cache_dir, marker
from devstack.procs import port_open


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
