"""Producer compression comes from one setting (default lz4) for the workers and the connectors. No network."""

from __future__ import annotations

import pytest

from pipeline.settings import SettingsError, load_settings


def test_default_is_lz4_and_none_means_uncompressed() -> None:
    assert load_settings().kafka_compression_type == "lz4"
    assert load_settings(kafka_compression="none").kafka_compression_type is None
    with pytest.raises(SettingsError):
        load_settings(kafka_compression="brotli")


async def test_workers_and_connectors_use_the_setting(tmp_path) -> None:
    from aiokafka.codec import has_lz4

    from connectors.kafka import make_producer
    from pipeline.app import create_app

    assert has_lz4()  # the codec is installed (aiokafka[lz4])
    s = load_settings(namespace="unitcompr", kafka_compression="zstd")
    app = create_app(s, ("dedupe",), data_dir=tmp_path)
    assert app.conf.producer_compression_type == "zstd"
    assert make_producer(load_settings(namespace="unitcompr"))._compression_type == "lz4"
