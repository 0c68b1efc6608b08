"""Fixtures for the intercom tests: the node helpers of tests/edge (broker, nodes, probes)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edge"))

from edge_helpers import console, start_node  # noqa: E402,F401 - fixtures
