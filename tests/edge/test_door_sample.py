"""The commented [door] example in edge/samples/node.toml, uncommented, is a valid door table."""

from __future__ import annotations

from pathlib import Path

from edge.config import load_config
from edge.extensions.door import DoorSettings
from edge_helpers import sample_with_example


def test_uncommented_door_example_parses_into_door_settings(tmp_path: Path) -> None:
    door = load_config(sample_with_example(tmp_path, "door")).door
    assert isinstance(door, DoorSettings)
    assert (door.door.door_id, door.door.fail_mode, door.door.unlock_s) == ("lobby", "fail_secure", 5)
    assert door.cache_path == tmp_path / "credentials.json"
    assert door.lock.pin == 12 and door.buzzer is not None
    assert set(door.inputs) == {"contact", "rex", "fire"}
    assert [(r.name, r.kind, r.direction) for r in door.readers] == [
        ("lobby-wg", "wiegand", "in"), ("lobby-em", "rdm6300", "out")]
