"""The commented [cabinet] example in edge/samples/node.toml, uncommented, is a valid cabinet
table, its fault settings included."""

from __future__ import annotations

from pathlib import Path

import edge
from edge.config import load_config

SAMPLE = Path(edge.__file__).resolve().parent / "samples" / "node.toml"


def cabinet_example() -> str:
    """The ``# [cabinet]`` block of the sample, uncommented (up to the first blank line)."""
    lines = SAMPLE.read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("# [cabinet]"))
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(block) + "\n"


def test_uncommented_cabinet_example_parses_with_its_fault_settings(tmp_path: Path) -> None:
    (tmp_path / "mqtt-password").write_text("secret\n")
    (tmp_path / "command-key").write_text("0f" * 32 + "\n")
    text = SAMPLE.read_text().replace("/etc/lobbygate/", f"{tmp_path}/")
    (tmp_path / "node.toml").write_text(text + "\n" + cabinet_example())
    cabinet = load_config(tmp_path / "node.toml").cabinet
    assert (cabinet.id, [w.slot for w in cabinet.slots]) == ("desk-keys", [1, 2])
    assert (cabinet.fault_retry_s, cabinet.fault_clear_reads) == (1.0, 3)
