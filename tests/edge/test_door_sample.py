"""The commented [door] example in edge/samples/node.toml, uncommented, is a valid door table."""

from __future__ import annotations

from pathlib import Path

import edge
from edge.config import load_config
from edge.extensions.door import DoorSettings

SAMPLE = Path(edge.__file__).resolve().parent / "samples" / "node.toml"


def door_example() -> str:
    """The ``# [door]`` block of the sample, uncommented (up to the first blank line)."""
    lines = SAMPLE.read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("# [door]"))
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(block) + "\n"


def test_uncommented_door_example_parses_into_door_settings(tmp_path: Path) -> None:
    (tmp_path / "mqtt-password").write_text("secret\n")
    (tmp_path / "command-key").write_text("0f" * 32 + "\n")
    text = SAMPLE.read_text().replace("/etc/lobbygate/", f"{tmp_path}/")
    (tmp_path / "node.toml").write_text(text + "\n" + door_example())
    door = load_config(tmp_path / "node.toml").door
    assert isinstance(door, DoorSettings)
    assert (door.door.door_id, door.door.fail_mode, door.door.unlock_s) == ("lobby", "fail_secure", 5)
    assert door.cache_path == tmp_path / "credentials.json"
    assert door.lock.pin == 12 and door.buzzer is not None
    assert set(door.inputs) == {"contact", "rex", "fire"}
    assert [(r.name, r.kind, r.direction) for r in door.readers] == [
        ("lobby-wg", "wiegand", "in"), ("lobby-em", "rdm6300", "out")]
