"""The console's site signing key: loaded from console.signing_key_file, checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from web.config import parse_config
from web.errors import ConsoleConfigError
from web.signing import SigningUnavailable, SiteSigner, load_signer


def _console(tmp_path: Path, **extra) -> dict:
    return {"console": {"site": "tower-a", "db": str(tmp_path / "c.db"),
                        "users_db": str(tmp_path / "u.json"), "secret_key": "s" * 40, **extra}}


def test_signature_verifies_with_the_public_key(tmp_path: Path) -> None:
    key_file = tmp_path / "site-signing.key"
    key_file.write_bytes(SiteSigner.generate().private_key_pem())
    signer = load_signer(key_file)
    Ed25519PublicKey.from_public_bytes(signer.public_key_raw()).verify(signer.sign(b"x"), b"x")


def test_missing_key_file_is_signing_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SigningUnavailable, match="site signing key"):
        load_signer(tmp_path / "nope.key")


def test_config_reports_a_key_file_that_is_not_a_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(ConsoleConfigError, match="signing_key_file"):
        parse_config(_console(tmp_path, signing_key_file=str(bad)), base_dir=tmp_path)


def test_config_carries_the_key_file_to_the_services(tmp_path: Path) -> None:
    key_file = tmp_path / "k.pem"
    key_file.write_bytes(SiteSigner.generate().private_key_pem())
    cfg = parse_config(_console(tmp_path, signing_key_file=str(key_file)), base_dir=tmp_path)
    assert cfg.services_config().signing_key_file == key_file
