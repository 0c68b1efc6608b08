"""PIN codes for card + PIN doors: stored only as salted PBKDF2-HMAC-SHA256 hashes.

Part of the contract: the console hashes (``web.access.pin``) and the node verifies
(``edge.access.pin``) with this one module, so the two can never disagree.

A PIN is never stored or synced in clear. The console hashes it with :func:`hash_pin` and the
snapshot carries the encoded hash; the node checks a keyed-in PIN with :func:`verify_pin`
(constant-time compare). Encoded form::

    pbkdf2_sha256$<iterations>$<salt, base64url>$<hash, base64url>

The iteration count travels with each hash, so it can be raised later without breaking old
hashes. The default (:data:`DEFAULT_ITERATIONS`) keeps a check around 10-30 ms on a Raspberry Pi 4:
a 4-8 digit PIN has too few values for hashing cost alone to protect a leaked hash; the salt stops
precomputed tables and the hash keeps the PIN out of logs, backups and the broker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 20_000
SALT_BYTES = 16
MIN_DIGITS = 4
MAX_DIGITS = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_pin_format(pin: str) -> None:
    """Raise ``ValueError`` unless ``pin`` is 4-12 decimal digits."""
    if not (isinstance(pin, str) and pin.isascii() and pin.isdigit()
            and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        raise ValueError(f"a PIN is {MIN_DIGITS}-{MAX_DIGITS} digits")


def hash_pin(pin: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """The encoded hash of ``pin`` (4-12 digits) with a fresh random 16-byte salt (or ``salt``,
    for tests). Raises ``ValueError`` for a PIN that is not 4-12 digits."""
    check_pin_format(pin)
    if iterations < 1:
        raise ValueError("iterations must be >= 1")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def check_pin_hash(encoded: str) -> None:
    """Raise ``ValueError`` unless ``encoded`` is a well-formed hash from :func:`hash_pin`."""
    parts = encoded.split("$") if isinstance(encoded, str) else []
    if len(parts) != 4 or parts[0] != ALGORITHM or not parts[1].isdigit() or int(parts[1]) < 1:
        raise ValueError(f"a PIN hash is '{ALGORITHM}$<iterations>$<salt>$<hash>'")
    try:
        if len(_unb64(parts[2])) < 8 or len(_unb64(parts[3])) != 32:
            raise ValueError("PIN hash: salt under 8 bytes or hash not 32 bytes")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"PIN hash: bad base64 ({exc})") from None


def verify_pin(pin: str, encoded: str) -> bool:
    """True if ``pin`` matches ``encoded``; False for a wrong PIN or an unusable hash.
    The digests are compared in constant time."""
    try:
        check_pin_hash(encoded)
    except ValueError:
        return False
    _, iterations, salt, expected = encoded.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), _unb64(salt), int(iterations))
    return hmac.compare_digest(candidate, _unb64(expected))
