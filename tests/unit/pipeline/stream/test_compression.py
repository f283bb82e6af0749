"""Producer compression comes from one setting (default snappy) for the workers and the connectors. No network."""

from __future__ import annotations

import pytest

from pipeline.core.settings import SettingsError, load_settings


def test_default_is_snappy_and_none_means_uncompressed() -> None:
    assert load_settings().kafka_compression_type == "snappy"
    assert load_settings(kafka_compression="none").kafka_compression_type is None
    with pytest.raises(SettingsError):
        load_settings(kafka_compression="brotli")


async def test_workers_and_connectors_use_the_setting(tmp_path) -> None:
    from aiokafka.codec import has_lz4, has_snappy
    from kafka.codec import has_snappy as kafka_python_has_snappy

    from connectors.kafka import make_producer
    from pipeline.stream.app import create_app

    # the codecs are installed for both clients (aiokafka[snappy,lz4], python-snappy for the ops tools)
    assert has_snappy() and has_lz4() and kafka_python_has_snappy()
    s = load_settings(namespace="unitcompr", kafka_compression="zstd")
    app = create_app(s, ("dedupe",), data_dir=tmp_path)
    assert app.conf.producer_compression_type == "zstd"
    assert app.conf.producer_max_batch_size == s.kafka_producer_batch_bytes
    assert make_producer(load_settings(namespace="unitcompr"))._compression_type == "snappy"
