"""Every command of ``rasid`` resolves to its module and shows its help (a moved module breaks this)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipeline.cli import COMMANDS, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_loads_and_shows_help(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_operator_errors_exit_2_with_their_message(monkeypatch):
    from pipeline.core.errors import OperatorError

    def refuse(*a, **k):
        raise OperatorError("Kafka at 127.0.0.1:1 is unavailable: start it with `rasid devstack up`")

    monkeypatch.setattr("pipeline.cli.init.ensure_topics", refuse)
    result = CliRunner().invoke(main, ["init", "--no-es"])
    assert result.exit_code == 2 and "rasid devstack up" in result.output
