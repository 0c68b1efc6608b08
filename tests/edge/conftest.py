"""Fixtures for the node runtime tests; the helpers live in ``edge_helpers``."""

from edge_helpers import console, node_processes, start_node  # noqa: F401 - fixtures
