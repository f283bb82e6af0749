"""Is Kafka, is Elasticsearch there? And waiting for them, for processes that start during an outage.

A dependency that does not answer is **down**: the process starts anyway, says what it will do,
shows it in ``rasid_dependency_up`` (and so in ``rasid status`` and the Prometheus rules) and tries
again with backoff. A dependency that answers "no" is **refused**: wrong credentials, a wrong
version: that stops the process at start with its message, since waiting cannot fix it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass
from typing import Callable

from pipeline.core import metrics
from pipeline.core.retry import backoff_delay
from pipeline.core.settings import Settings
from pipeline.stream.es import describe_es

log = logging.getLogger("rasid.health")


@dataclass(frozen=True)
class Health:
    dependency: str  # "kafka" | "elasticsearch"
    state: str  # "up" | "down" | "refused"
    message: str = ""

    @property
    def up(self) -> bool:
        return self.state == "up"


def check_kafka(settings: Settings, timeout: float = 3.0) -> Health:
    """Up when a bootstrap broker accepts connections."""
    for part in settings.kafka_bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return _seen(Health("kafka", "up"))
        except OSError:
            continue
    return _seen(Health("kafka", "down", f"Kafka at {settings.kafka_bootstrap} is not reachable — start it with "
                                          "`rasid devstack up` or set RASID_KAFKA_BOOTSTRAP"))


def check_elasticsearch(settings: Settings, timeout: float = 5.0) -> Health:
    """Up when Elasticsearch 8 answers; refused for wrong credentials or another major version."""
    from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch, TransportError

    url = describe_es(settings)["url"]
    kw = settings.es_client_kwargs()
    kw.update(request_timeout=timeout, max_retries=0)
    es = Elasticsearch(**kw)
    try:
        info = es.info()
        number = str(info["version"]["number"])
        if number.split(".")[0] != "8":
            return _seen(Health("elasticsearch", "refused", f"Elasticsearch at {url} is version {number}; Rasid needs 8.x"))
        return _seen(Health("elasticsearch", "up"))
    except (AuthenticationException, AuthorizationException):
        return _seen(Health("elasticsearch", "refused", f"Elasticsearch at {url} refused the credentials — set "
                                                        "RASID_ES_USERNAME/RASID_ES_PASSWORD or RASID_ES_API_KEY"))
    except TransportError as e:
        return _seen(Health("elasticsearch", "down", f"Elasticsearch at {url} is not reachable ({type(e).__name__}) — "
                                                     "start it with `rasid devstack up` or set RASID_ES_URL"))
    except ApiError as e:  # 5xx while starting, 429: down for now
        return _seen(Health("elasticsearch", "down", f"Elasticsearch at {url} answered {e.status_code}: {e.message}"))
    finally:
        es.close()


def _seen(h: Health) -> Health:
    metrics.DEPENDENCY_UP.labels(dependency=h.dependency).set(1 if h.up else 0)
    return h


def wait_until_up(check: Callable[[], Health], doing: str, *, base: float = 1.0, cap: float = 30.0,
                  stop: Callable[[], bool] = lambda: False) -> Health:
    """Block until ``check()`` is up (or refused: returned for the caller to stop on); one warning when
    it is down, saying what this process does meanwhile, and a line per retry at most every cap seconds."""
    h = check()
    attempt = 0
    while h.state == "down" and not stop():
        if attempt == 0:
            log.warning("%s; %s", h.message, doing, extra={"stage": "health", "dependency": h.dependency})
        delay = backoff_delay(attempt, base, cap)
        time.sleep(delay)
        attempt += 1
        h = check()
    if attempt and h.up:
        log.info("%s answers again", h.dependency, extra={"stage": "health", "dependency": h.dependency})
    return h


async def wait_until_up_async(check: Callable[[], Health], doing: str, *, base: float = 1.0, cap: float = 30.0,
                              stop: Callable[[], bool] = lambda: False) -> Health:
    """:func:`wait_until_up` for an event loop (the check runs in a thread)."""
    return await asyncio.to_thread(wait_until_up, check, doing, base=base, cap=cap, stop=stop)
