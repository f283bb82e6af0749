"""Settings: defaults, environment overrides, readable errors, secrets kept out of repr."""

from __future__ import annotations

import os

import pytest

from pipeline.core.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("RASID_") and key != "RASID_CONFIG_DIR":
            monkeypatch.delenv(key)


def test_defaults():
    s = load_settings()
    assert s.namespace == "rasid"
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.es_url == "http://127.0.0.1:9200"
    assert s.kafka_partitions == 4
    assert s.sources_file.name == "sources.yaml"
    assert (s.raw_topic, s.articles_topic, s.deadletter_topic, s.seen_topic) == (
        "rasid.raw",
        "rasid.articles",
        "rasid.deadletter",
        "rasid.seen",
    )
    assert s.es_alias == "rasid-articles"
    assert s.es_index_for(2019, 5) == "rasid-articles-2019.05"
    kw = s.es_client_kwargs()
    assert kw["hosts"] == ["http://127.0.0.1:9200"]
    assert "basic_auth" not in kw and "api_key" not in kw


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("RASID_NAMESPACE", "staging")
    monkeypatch.setenv("RASID_KAFKA_PARTITIONS", "8")
    monkeypatch.setenv("RASID_KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("RASID_ES_URL", "https://es.example:9200/")
    s = load_settings()
    assert s.namespace == "staging"
    assert s.kafka_partitions == 8
    assert s.kafka_bootstrap == "kafka-1:9092,kafka-2:9092"
    assert s.es_url == "https://es.example:9200"  # trailing slash dropped
    assert s.raw_topic == "staging.raw"
    assert s.es_index_for(2024, 12) == "staging-articles-2024.12"


def test_explicit_overrides_beat_environment(monkeypatch):
    monkeypatch.setenv("RASID_NAMESPACE", "staging")
    assert load_settings(namespace="t1234").namespace == "t1234"


@pytest.mark.parametrize(
    "var,value",
    [
        ("RASID_KAFKA_PARTITIONS", "abc"),
        ("RASID_KAFKA_PARTITIONS", "0"),
        ("RASID_ES_URL", "ftp://x"),
        ("RASID_KAFKA_BOOTSTRAP", "no-port-here"),
        ("RASID_NAMESPACE", "Bad Namespace!"),
        ("RASID_LOG_LEVEL", "LOUD"),
        ("RASID_ES_TIMEOUT_S", "-1"),
        ("RASID_STORY_THRESHOLD", "0.06"),  # the hand score's old threshold: now a join probability
    ],
)
def test_invalid_value_names_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    message = str(exc.value)
    assert var in message
    assert value in message or repr(value) in message


def test_every_bad_variable_is_reported_at_once(monkeypatch):
    monkeypatch.setenv("RASID_KAFKA_PARTITIONS", "abc")
    monkeypatch.setenv("RASID_ES_URL", "ftp://x")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert "RASID_KAFKA_PARTITIONS" in str(exc.value) and "RASID_ES_URL" in str(exc.value)


def test_secrets_are_not_in_repr(monkeypatch):
    monkeypatch.setenv("RASID_ES_USERNAME", "elastic")
    monkeypatch.setenv("RASID_ES_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("RASID_ES_API_KEY", "k3y-value")
    s = load_settings()
    for text in (repr(s), str(s), str(s.model_dump())):
        assert "s3cret-pw" not in text
        assert "k3y-value" not in text
    # ...but they reach the client
    assert s.es_client_kwargs()["api_key"] == "k3y-value"


def test_basic_auth_and_tls_options(monkeypatch, tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("RASID_ES_URL", "https://elasticsearch:9200")
    monkeypatch.setenv("RASID_ES_USERNAME", "elastic")
    monkeypatch.setenv("RASID_ES_PASSWORD", "pw")
    monkeypatch.setenv("RASID_ES_CA_FILE", str(ca))
    kw = load_settings().es_client_kwargs()
    assert kw["basic_auth"] == ("elastic", "pw")
    assert kw["ca_certs"] == str(ca)
    assert kw["verify_certs"] is True


def test_settings_are_frozen():
    from pydantic import ValidationError

    s = load_settings()
    with pytest.raises(ValidationError):
        s.namespace = "other"  # type: ignore[misc]


def test_secured_kafka_settings_reach_every_client():
    from pipeline.stream.app import _credentials

    plain = load_settings()
    assert plain.kafka_python_kwargs() == {"security_protocol": "PLAINTEXT"} and _credentials(plain) is None
    s = load_settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                      kafka_username="rasid", kafka_password="s3cret")
    kw = s.kafka_python_kwargs()
    assert kw == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                  "sasl_plain_username": "rasid", "sasl_plain_password": "s3cret"}
    assert s.aiokafka_kwargs()["ssl_context"] is not None
    creds = _credentials(s)
    assert creds.username == "rasid" and creds.mechanism.value == "SCRAM-SHA-512"
    assert "s3cret" not in repr(s)
