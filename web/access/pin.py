"""PIN hashing for card + PIN doors, exactly as the node verifies it.

A re-implementation (standard library only; the console imports nothing from ``edge``) of
``edge.access.pin.hash_pin``: salted PBKDF2-HMAC-SHA256, encoded as::

    pbkdf2_sha256$<iterations>$<salt, base64url, no padding>$<hash, base64url, no padding>

``tests/web/test_console_credentials.py`` checks a console hash against the node's verifier.
"""

from __future__ import annotations

import base64
import hashlib
import os

__all__ = ["hash_pin", "check_pin_format", "ALGORITHM", "DEFAULT_ITERATIONS", "MIN_DIGITS",
           "MAX_DIGITS"]

ALGORITHM = "pbkdf2_sha256"
#: Same default as the node (a check takes 10-30 ms on a Raspberry Pi 4).
DEFAULT_ITERATIONS = 20_000
SALT_BYTES = 16
MIN_DIGITS = 4
MAX_DIGITS = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def check_pin_format(pin: str) -> None:
    """Raise ``ValueError`` unless ``pin`` is 4-12 ASCII decimal digits."""
    if not (isinstance(pin, str) and pin.isascii() and pin.isdigit()
            and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        raise ValueError(f"a PIN is {MIN_DIGITS}-{MAX_DIGITS} digits")


def hash_pin(pin: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """The encoded hash of ``pin`` with a fresh random 16-byte salt (``salt`` for tests).
    Raises ``ValueError`` for a PIN that is not 4-12 digits or ``iterations`` < 1."""
    check_pin_format(pin)
    if iterations < 1:
        raise ValueError("iterations must be >= 1")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"
