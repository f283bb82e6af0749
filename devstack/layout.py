"""Where the devstack lives and listens: ports, heaps, directories, the files of one checkout's stack."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
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
