"""The site's Ed25519 signing key on the console: goods passes and visitor invites are signed
with it, and every node verifies them offline with the public half (DESIGN.md, "Security").

``lobbygate provision`` creates the key (``SITE_DIR/console/site-signing.key``); the console
reads it from ``console.signing_key_file``.  Without it the console runs, and the features that
sign refuse with :class:`SigningUnavailable` (a clear page, not a crash).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .errors import ConsoleError

__all__ = ["SiteSigner", "SigningUnavailable", "load_signer"]


class SigningUnavailable(ConsoleError):
    """No site signing key is configured (``console.signing_key_file``), or it is unreadable."""


class SiteSigner:
    """Signs bytes with the site's Ed25519 private key.  ``key``: the private key object."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> "SiteSigner":
        """A signer with a fresh key (tests and the demo)."""
        return cls(Ed25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._key.sign(data)

    def public_key_raw(self) -> bytes:
        """The 32-byte public key."""
        return self._key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)

    def private_key_pem(self) -> bytes:
        """PEM (PKCS#8, unencrypted) for writing a key file (demo and tests)."""
        return self._key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())


def load_signer(path: str | os.PathLike[str]) -> SiteSigner:
    """The signer from a PEM private-key file; :class:`SigningUnavailable` with the reason when
    the file is missing, unreadable or not an Ed25519 key."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SigningUnavailable(f"site signing key {path}: {exc.strerror or exc}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningUnavailable(f"site signing key {path}: not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningUnavailable(f"site signing key {path}: not an Ed25519 key")
    return SiteSigner(key)
