"""console.toml: validation against the schema, every error at once, secrets from files,
includes, and the mapping to the data layer's ServicesConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.config import ConsoleConfig, load_config, parse_config
from web.errors import ConsoleConfigError, ConsoleError

from console_helpers import SECRET, console_dict

KEY_HEX = "ab" * 32


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_documented_defaults(tmp_path: Path) -> None:
    cfg = parse_config(console_dict(), base_dir=tmp_path)
    assert cfg.site == "test-site"
    assert cfg.db_path == tmp_path / "console.db"
    assert cfg.users_db_path == tmp_path / "users.json"
    assert cfg.default_language == "zh_CN"
    assert cfg.languages == ("zh_CN", "en")
    assert (cfg.listen_host, cfg.listen_port, cfg.threads) == ("127.0.0.1", 8080, 32)
    assert cfg.mqtt is None and dict(cfg.node_keys) == {}


def test_secret_key_is_never_printed(tmp_path: Path) -> None:
    cfg = parse_config(console_dict(), base_dir=tmp_path)
    assert SECRET not in repr(cfg)


def test_missing_secret_key_is_refused(tmp_path: Path) -> None:
    data = console_dict()
    del data["console"]["secret_key"]
    with pytest.raises(ConsoleConfigError) as exc:
        parse_config(data, base_dir=tmp_path)
    assert any(e.startswith("console.secret_key: required") for e in exc.value.errors)


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConsoleConfigError) as exc:
        parse_config(console_dict(secret_key="short"), base_dir=tmp_path)
    assert exc.value.errors == ["console.secret_key: must be at least 32 characters, got 5"]


def test_secret_key_file_is_read(tmp_path: Path) -> None:
    _write(tmp_path / "secret", "s" * 40 + "\n")
    data = console_dict(secret_key_file="secret")
    del data["console"]["secret_key"]
    assert parse_config(data, base_dir=tmp_path).secret_key == "s" * 40


def test_missing_secret_key_file_is_reported(tmp_path: Path) -> None:
    data = console_dict(secret_key_file="nope")
    del data["console"]["secret_key"]
    with pytest.raises(ConsoleConfigError) as exc:
        parse_config(data, base_dir=tmp_path)
    assert exc.value.errors[0].startswith(f"console.secret_key_file: cannot read {tmp_path / 'nope'}")


def test_every_error_is_reported_at_once_with_its_key_path(tmp_path: Path) -> None:
    data = console_dict(site="Bad Site", listen_port=70000, threads="many", languagez=["en"],
                        default_language="fr", timezone="Mars/Olympus")
    data["mqtt"] = {"port": 0, "password": "x", "password_file": "pw"}
    data["nodes"] = {"lobby": {"command_key": "zz"}, "Gate!": {"command_key": KEY_HEX}}
    data["extra"] = {}
    with pytest.raises(ConsoleConfigError) as exc:
        parse_config(data, base_dir=tmp_path)
    errors = exc.value.errors
    paths = [e.split(":")[0] for e in errors]
    for expected in ("console.site", "console.listen_port", "console.threads",
                     "console.languagez", "console.default_language", "console.timezone",
                     "mqtt.host", "mqtt.port", "mqtt.password_file", "nodes.lobby.command_key",
                     "nodes.Gate!", "extra"):
        assert expected in paths, (expected, errors)
    assert "console.listen_port: must be <= 65535, got 70000" in errors
    assert "console.languagez: unknown key (did you mean 'languages'?)" in errors
    assert str(exc.value) == "; ".join(errors)


def test_config_error_is_a_console_error() -> None:
    assert issubclass(ConsoleConfigError, ConsoleError)


def test_mqtt_and_node_keys_map_to_services_config(tmp_path: Path) -> None:
    _write(tmp_path / "console.password", "pw-from-file\n")
    _write(tmp_path / "gate.key", KEY_HEX + "\n")
    _write(tmp_path / "ca.crt", "-----BEGIN CERTIFICATE-----\n")
    data = console_dict(max_clock_skew_s=12)
    data["mqtt"] = {"host": "broker.local", "password_file": "console.password", "tls": True,
                    "ca_file": "ca.crt"}
    data["nodes"] = {"lobby": {"command_key": "cd" * 16}, "gate": {"command_key_file": "gate.key"}}
    cfg = parse_config(data, base_dir=tmp_path)
    svc = cfg.services_config()
    assert svc.site == "test-site" and Path(svc.db_path) == tmp_path / "console.db"
    assert svc.max_clock_skew_s == 12.0
    assert dict(svc.node_keys) == {"lobby": bytes.fromhex("cd" * 16), "gate": bytes.fromhex(KEY_HEX)}
    b = svc.broker
    assert (b.host, b.port, b.username, b.password, b.tls) == ("broker.local", 8883, "console",
                                                               "pw-from-file", True)
    assert b.ca_file == str(tmp_path / "ca.crt")


def test_no_mqtt_section_means_no_broker(tmp_path: Path) -> None:
    assert parse_config(console_dict(), base_dir=tmp_path).services_config().broker is None


def test_include_merges_provisioned_nodes(tmp_path: Path) -> None:
    _write(tmp_path / "nodes.toml", f'[mqtt]\nhost = "localhost"\npassword = "pw"\n\n'
                                    f'[nodes.lobby]\ncommand_key = "{KEY_HEX}"\n')
    _write(tmp_path / "console.toml",
           f'include = ["nodes.toml"]\n[console]\nsite = "s1"\ndb = "c.db"\n'
           f'users_db = "u.json"\nsecret_key = "{SECRET}"\n')
    cfg = load_config(tmp_path / "console.toml")
    assert cfg.mqtt is not None and cfg.mqtt.host == "localhost" and cfg.mqtt.port == 1883
    assert set(cfg.node_keys) == {"lobby"}
    assert cfg.source == (tmp_path / "console.toml").resolve()


def test_node_set_twice_through_include_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "nodes.toml", f'[nodes.lobby]\ncommand_key = "{KEY_HEX}"\n')
    data = console_dict()
    data["include"] = ["nodes.toml"]
    data["nodes"] = {"lobby": {"command_key": KEY_HEX}}
    with pytest.raises(ConsoleConfigError) as exc:
        parse_config(data, base_dir=tmp_path)
    assert any("[nodes.lobby] is set twice" in e for e in exc.value.errors)


def test_toml_syntax_error_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path / "console.toml", "[console\n")
    with pytest.raises(ConsoleConfigError) as exc:
        load_config(path)
    assert "not valid TOML" in exc.value.errors[0]


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConsoleConfigError) as exc:
        load_config(tmp_path / "absent.toml")
    assert "cannot read" in exc.value.errors[0]


def test_config_dataclass_is_frozen(tmp_path: Path) -> None:
    cfg = parse_config(console_dict(), base_dir=tmp_path)
    assert isinstance(cfg, ConsoleConfig)
    with pytest.raises(AttributeError):
        cfg.site = "other"  # type: ignore[misc]
