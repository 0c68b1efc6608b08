"""Node configuration (edge.config) of a TLS client certificate: ``mqtt.certfile`` and
``mqtt.keyfile`` replace the password, both or neither, only with TLS, readable PEM files."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import parse_config
from edge.errors import ConfigError

CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"


def _config(tmp_path: Path, **mqtt: object) -> dict:
    (tmp_path / "c.crt").write_text(CERT_PEM)
    (tmp_path / "c.key").write_text(KEY_PEM)
    return {"node": {"id": "door-1", "site": "garden", "journal": "journal.db"},
            "mqtt": {"host": "broker", "tls": True, **mqtt},
            "commands": {"key": "ab" * 16}}


def _errors(data: dict, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, base_dir=tmp_path)
    return info.value.errors


def test_client_certificate_replaces_the_password(tmp_path: Path) -> None:
    conf = parse_config(_config(tmp_path, certfile="c.crt", keyfile="c.key"), base_dir=tmp_path)
    assert conf.mqtt.certfile == tmp_path.resolve() / "c.crt"
    assert conf.mqtt.keyfile == tmp_path.resolve() / "c.key"
    assert conf.mqtt.password == "" and conf.mqtt.port == 8883


def test_certfile_without_keyfile_is_refused(tmp_path: Path) -> None:
    errors = _errors(_config(tmp_path, certfile="c.crt"), tmp_path)
    assert "mqtt.keyfile: required with mqtt.certfile" in errors


def test_client_certificate_needs_tls(tmp_path: Path) -> None:
    errors = _errors(_config(tmp_path, certfile="c.crt", keyfile="c.key", tls=False), tmp_path)
    assert "mqtt.certfile: only used with tls = true" in errors


def test_missing_or_non_pem_files_are_reported(tmp_path: Path) -> None:
    data = _config(tmp_path, certfile="c.key", keyfile="nope.key")
    errors = _errors(data, tmp_path)
    assert any(e.startswith("mqtt.certfile:") and "not a PEM certificate" in e for e in errors)
    assert any(e.startswith("mqtt.keyfile: cannot read") for e in errors)


def test_neither_password_nor_certificate_is_refused(tmp_path: Path) -> None:
    errors = _errors(_config(tmp_path), tmp_path)
    assert any(e.startswith("mqtt.password: required") and "certfile" in e for e in errors)
