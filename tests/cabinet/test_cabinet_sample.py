"""The commented [cabinet] example in edge/samples/node.toml, uncommented, is a valid cabinet
table, its fault settings included."""

from __future__ import annotations

from pathlib import Path

from edge.config import load_config
from edge_helpers import sample_with_example


def test_uncommented_cabinet_example_parses_with_its_fault_settings(tmp_path: Path) -> None:
    cabinet = load_config(sample_with_example(tmp_path, "cabinet")).cabinet
    assert (cabinet.id, [w.slot for w in cabinet.slots]) == ("desk-keys", [1, 2])
    assert (cabinet.fault_retry_s, cabinet.fault_clear_reads) == (1.0, 3)
