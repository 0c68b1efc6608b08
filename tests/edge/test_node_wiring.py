"""The node builds the door and meter extensions from its config, and a bad [door] table is
reported together with every other problem."""

from __future__ import annotations

import pytest

from edge.config import parse_config
from edge.errors import ConfigError
from edge.extensions.door import DoorSettings
from edge.node import Node

from edge_helpers import config_dict

DOOR = {"id": "lobby", "unlock_s": 5, "cache": "credentials.json", "lock": {"pin": 22},
        "inputs": {"contact": {"pin": 17}, "rex": {"pin": 27}},
        "readers": [{"name": "lobby-in", "kind": "wiegand", "d0": 5, "d1": 6, "direction": "in"}]}


def test_door_table_is_validated_into_door_settings(broker, tmp_path):
    cfg = parse_config(config_dict(broker, tmp_path, door=DOOR), base_dir=tmp_path)
    assert isinstance(cfg.door, DoorSettings)
    assert cfg.door.cache_path == tmp_path.resolve() / "credentials.json"


def test_bad_door_table_is_reported_with_the_other_errors(broker, tmp_path):
    data = config_dict(broker, tmp_path, door={"unlock_s": 5})  # no door id
    data["node"]["health_interval_s"] = -1
    with pytest.raises(ConfigError) as exc:
        parse_config(data, base_dir=tmp_path)
    assert any(e.startswith("door:") for e in exc.value.errors)
    assert any(e.startswith("node.health_interval_s") for e in exc.value.errors)


def test_node_with_a_door_table_runs_the_door_extension(broker, tmp_path):
    cfg = parse_config(config_dict(broker, tmp_path, door=DOOR), base_dir=tmp_path)
    node = Node(cfg).start()
    try:
        assert "door" in node.extensions
        assert "meters" not in node.extensions
    finally:
        node.stop()
