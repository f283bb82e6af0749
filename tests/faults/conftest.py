"""Fault tests run against the devstack like the integration tests, with the same fixtures.

``devstack`` (starts the devstack when nothing answers) and ``make_settings`` (a fresh
namespace with topics, template and alias, dropped after the test) come from
tests/integration/conftest.py. Added here: ``fault_ns`` (a fresh namespace) and
``procs`` (child processes that are always stopped when the test ends) and ``fault_tmp``
(logs and data dirs under ``.devstack/faults/<test>``, kept after the run).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.faults.harness import SUMMARY_FILE, Proc
from tests.integration.conftest import devstack, make_settings  # noqa: F401 - re-exported fixtures

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def fault_ns(make_settings):  # noqa: F811
    """Settings of a fresh namespace (4 partitions) for one fault."""
    return make_settings()


@pytest.fixture
def fault_tmp(request) -> Path:
    """A per-test directory for process logs and data dirs that outlives the run
    (``.devstack/faults/<test>``), so a failure can be read afterwards."""
    d = SUMMARY_FILE.parent / "faults" / request.node.name[:80]
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


@pytest.fixture
def procs():
    """``procs(proc)`` registers a child process; all are stopped (then killed) at the end."""
    started: list[Proc] = []

    def add(p: Proc) -> Proc:
        started.append(p)
        return p

    yield add
    for p in reversed(started):
        p.stop(timeout=15)
