"""Node configuration (edge.config): every error at once, by key path; defaults; secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

import edge
from edge.config import load_config, parse_config
from edge.errors import ConfigError, EdgeError
from mqtt_topics import LobbygateError

SAMPLE = Path(edge.__file__).resolve().parent / "samples" / "node.toml"
KEY = "ab" * 16


def minimal(**extra: object) -> dict:
    cfg = {"node": {"id": "lobby", "site": "garden", "journal": "journal.db"},
           "mqtt": {"host": "broker", "password": "pw"},
           "commands": {"key": KEY}}
    cfg.update(extra)
    return cfg


def errors_of(data: dict, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, base_dir=tmp_path)
    return info.value.errors


def test_sample_config_validates(tmp_path: Path) -> None:
    # the sample names its secret files under /etc/lobbygate; give it real ones
    (tmp_path / "mqtt-password").write_text("secret\n")
    (tmp_path / "command-key").write_text("0f" * 32 + "\n")
    text = SAMPLE.read_text().replace("/etc/lobbygate/", f"{tmp_path}/")
    (tmp_path / "node.toml").write_text(text)
    config = load_config(tmp_path / "node.toml")
    assert (config.node_id, config.site, config.mqtt.username) == ("lobby", "garden-court", "lobby")
    assert config.mqtt.password == "secret" and config.commands.key == bytes.fromhex("0f" * 32)
    assert [r.name for r in config.readers] == ["lobby-in"]
    assert [i.name for i in config.inputs] == ["door-contact", "exit-button"]
    assert config.relays[0].safe_state == "off"


def test_every_error_is_reported_at_once_with_its_key_path(tmp_path: Path) -> None:
    data = {
        "node": {"id": "Lobby!", "site": "garden", "journal_capacity": -5},
        "mqtt": {"host": "broker", "password": "pw", "protocol": "4", "keepalive_s": "30"},
        "commands": {"key": "abcd"},
        "gpio": {"pin_factory": "pigpio"},
        "readers": [{"name": "in", "port": "/dev/ttyUSB0"},
                    {"name": "out", "port": "/dev/ttyUSB1", "baud": 9601, "parity": "N"}],
        "relays": [{"name": "strike", "pin": 22, "safe_state": "open"}],
        "simulation": {"cards": ["12345"]},
        "extras": {},
    }
    errors = errors_of(data, tmp_path)
    expected = ["node.id:", "node.journal: required", "node.journal_capacity: must be >= 100",
                "mqtt.protocol: must be one of 3.1.1, 5", "mqtt.keepalive_s: must be an integer",
                "commands.key: must be at least 16 bytes", "gpio.pin_factory: must be one of",
                "readers[1].baud: must be one of 1200, 2400, 4800, 9600", "readers[1].parity: unknown key",
                "relays[0].safe_state: must be one of off, on", "simulation.cards:",
                "extras: unknown section"]
    for prefix in expected:
        assert any(e.startswith(prefix) for e in errors), (prefix, errors)
    assert len(errors) == len(expected), errors


def test_config_error_is_an_edge_error_naming_every_problem(tmp_path: Path) -> None:
    with pytest.raises(EdgeError) as info:
        parse_config({"node": {}}, base_dir=tmp_path)
    assert isinstance(info.value, LobbygateError)
    assert "node.id: required" in str(info.value) and "mqtt: required section" in str(info.value)


def test_unknown_key_suggests_the_nearest_one(tmp_path: Path) -> None:
    errors = errors_of(minimal(mqtt={"hots": "x", "password": "pw"}), tmp_path)
    assert "mqtt.hots: unknown key (did you mean 'host'?)" in errors


def test_missing_keys_take_their_defaults(tmp_path: Path) -> None:
    config = parse_config(minimal(readers=[{"name": "in", "port": "loop://"}]), base_dir=tmp_path)
    assert config.journal == tmp_path.resolve() / "journal.db"
    assert config.journal_capacity == 1_000_000 and config.health_interval_s == 30.0
    m = config.mqtt
    assert (m.port, m.username, m.keepalive_s, m.tls, m.protocol) == (1883, "lobby", 30, False, "3.1.1")
    assert (m.reconnect_min_s, m.reconnect_max_s, m.outbox_window) == (0.5, 30.0, 100)
    assert config.gpio.pin_factory == "lgpio"
    assert config.readers[0].baud == 9600 and config.readers[0].kind == "rdm6300"
    assert config.simulation.enabled is False


def test_tls_without_a_port_uses_8883(tmp_path: Path) -> None:
    config = parse_config(minimal(mqtt={"host": "b", "password": "p", "tls": True}), base_dir=tmp_path)
    assert config.mqtt.port == 8883


def test_secret_files_are_read_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / "key").write_text("11" * 20)
    (tmp_path / "node.toml").write_text(
        '[node]\nid = "gate"\nsite = "s"\njournal = "j.db"\n'
        '[mqtt]\nhost = "b"\npassword_file = "pw"\n[commands]\nkey_file = "key"\n')
    config = load_config(tmp_path / "node.toml")
    assert config.mqtt.password == "s3cret" and config.commands.key == b"\x11" * 20
    assert "s3cret" not in repr(config)


def test_password_and_key_are_required_one_way_only(tmp_path: Path) -> None:
    data = minimal(mqtt={"host": "b", "password": "p", "password_file": "pw"},
                   commands={"key_file": "missing-key"})
    errors = errors_of(data, tmp_path)
    assert "mqtt.password_file: give password or password_file, not both" in errors
    assert any(e.startswith("commands.key_file: cannot read") for e in errors)


def test_duplicate_names_and_shared_pins_are_refused(tmp_path: Path) -> None:
    data = minimal(inputs=[{"name": "door", "pin": 17}, {"name": "door", "pin": "GPIO18"}],
                   relays=[{"name": "strike", "pin": "BCM17"}])
    errors = errors_of(data, tmp_path)
    assert "inputs[1].name: 'door' is already used by inputs[0]" in errors
    assert "relays[0].pin: pin 'BCM17' is already used by inputs[0]" in errors


def test_toml_syntax_error_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text("[node\nid = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "not valid TOML" in info.value.errors[0]


def test_binary_secret_file_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "pw").write_bytes(b"\xff\xfe\x00binary")
    data = {"node": {"id": "lobby", "site": "s1", "journal": "j.db"},
            "mqtt": {"host": "h", "password_file": "pw"},
            "commands": {"key": "00" * 32}}
    with pytest.raises(ConfigError) as exc:
        parse_config(data, base_dir=tmp_path)
    assert any(e.startswith("mqtt.password_file") for e in exc.value.errors)
