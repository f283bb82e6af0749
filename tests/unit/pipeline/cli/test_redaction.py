"""Credentials in RASID_ES_URL never appear in what Rasid prints: settings errors, `rasid init`,
`rasid status` (text and --json)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.settings import load_settings

RASID = str(Path(sys.executable).parent / "rasid")
SECRET = "s3cr3t-pa55"


def _env(**kw: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASID_")}
    env.update(RASID_ES_URL=f"https://elastic:{SECRET}@127.0.0.1:1", RASID_KAFKA_BOOTSTRAP="127.0.0.1:1",
               RASID_LOG_FORMAT="json", **kw)
    return env


@pytest.mark.parametrize("value", [f"elastic:{SECRET}@es.example:9200", f"ftp://elastic:{SECRET}@es.example/"])
def test_settings_errors_redact_urls(value):
    with pytest.raises(SystemExit) as e:
        load_settings(es_url=value)
    msg = str(e.value)
    assert "RASID_ES_URL" in msg and SECRET not in msg and "***@es.example" in msg


def test_settings_errors_never_echo_secrets():
    with pytest.raises(SystemExit) as e:
        load_settings(es_api_key=[SECRET], kafka_bootstrap="nope")
    msg = str(e.value)
    assert "RASID_ES_API_KEY" in msg and SECRET not in msg and "(not shown)" in msg


@pytest.mark.parametrize("args", [["init", "--no-kafka"], ["status", "--timeout", "0.5"],
                                  ["status", "--json", "--timeout", "0.5"]])
def test_init_and_status_output_redacts_the_es_url(args):
    r = subprocess.run([RASID, *args], env=_env(), capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert "127.0.0.1:1" in out  # the URL is there...
    assert SECRET not in out  # ...without its password
