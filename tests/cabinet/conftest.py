"""Fixtures for the key cabinet tests; helpers live in ``cabinet_helpers`` (and the node
helpers in ``tests/edge/edge_helpers.py``)."""

import sys
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edge"))

from edge_helpers import console, start_node  # noqa: E402,F401 - fixtures


@pytest.fixture
def factory():  # type: ignore[no-untyped-def]
    """A gpiozero MockFactory (mock pins), closed after the test."""
    f = MockFactory()
    yield f
    f.close()
