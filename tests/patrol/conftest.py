"""Fixtures for the patrol tests: the node helpers of tests/edge (broker, nodes, probes), and
for the console-side tests a clock at Monday 21:00 (site time) with console services holding
the test patrol plan."""

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edge"))

from edge_helpers import console, start_node  # noqa: E402,F401 - fixtures
from patrol_console_helpers import make_services, store_plan  # noqa: E402
from patrol_helpers import MONDAY, Clock, local_ms  # noqa: E402


@pytest.fixture
def clock() -> Clock:
    return Clock(local_ms(MONDAY, "21:00"))


@pytest.fixture
def services(tmp_path: Path, clock: Clock) -> Iterator[object]:
    s = make_services(tmp_path, clock)
    store_plan(s)
    yield s
    s.stop()
