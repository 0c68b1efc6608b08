"""Fixtures for the goods-pass tests (helpers in ``pass_helpers``); the node tests reuse the
edge test helpers (``tests/edge/edge_helpers.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edge"))

from edge_helpers import console, start_node  # noqa: E402,F401 - fixtures
from pass_helpers import MsClock  # noqa: E402


@pytest.fixture
def site_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def ms_clock() -> MsClock:
    return MsClock()
