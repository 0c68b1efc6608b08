"""Offline checks of a goods-pass QR code on a gate node, with the site's Ed25519 public key.

:class:`PassVerifier` does what needs no state: the format (:mod:`mqtt_topics.passes`), the site,
the signature and the validity window. Whether a pass was revoked or already used is the
:class:`~edge.passes.ledger.PassLedger`'s business. Checks run in this order and the first failure
is the reason, in the issue's words (the ``reason`` of ``goods_pass.rejected``): ``unreadable``
(not a goods-pass QR text) -> ``forged`` (names another site, or the signature does not verify
with this site's key: a tampered field, another key) -> (ledger: ``revoked`` -> ``already_used``)
-> ``not_yet_valid`` -> ``expired``. A pass naming another site is folded into ``forged`` (the
``detail`` says which site): no other compound's genuine pass can verify with this site's key, so
it is never releasable here and presenting it is worth the same alarm.

The console signs with ``cryptography`` the same way (see :mod:`mqtt_topics.passes`)::

    signature = site_private_key.sign(token.signing_bytes())
    text = token.to_qr_text(signature)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mqtt_topics import ContractError
from mqtt_topics.passes import GoodsPassToken

from .errors import PassError

__all__ = ["PassCheck", "PassVerifier", "load_public_key", "REASONS"]

#: Every reason a gate rejects a scanned pass for (``goods_pass.rejected``), as the issue names them.
REASONS = ("forged", "expired", "not_yet_valid", "revoked", "already_used", "unreadable")


def load_public_key(source: bytes | str | Path | Ed25519PublicKey) -> Ed25519PublicKey:
    """The site's Ed25519 public key from a PEM file path, PEM bytes, 32 raw bytes or 64 hex
    characters (or a key, returned as is). Raises :class:`PassError` otherwise."""
    if isinstance(source, Ed25519PublicKey):
        return source
    where = "public key"
    data: bytes
    if isinstance(source, Path):
        where = str(source)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise PassError(f"{source}: cannot read the site public key: {exc.strerror or exc}") from None
    elif isinstance(source, str):
        data = source.encode("ascii", "replace")
    else:
        data = bytes(source)
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        elif len(data) == 32:
            key = Ed25519PublicKey.from_public_bytes(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(data.decode("ascii").strip()))
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise PassError(f"{where}: not an Ed25519 public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PassError(f"{where}: not an Ed25519 public key ({type(key).__name__})")
    return key


@dataclass(frozen=True)
class PassCheck:
    """The outcome of :meth:`PassVerifier.check`: ``reason`` (``"ok"`` if every check passed,
    else one of :data:`REASONS`), the ``token`` when the code parsed, and a ``detail`` for logs."""

    reason: str
    token: GoodsPassToken | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


class PassVerifier:
    """Check goods-pass QR codes for ``site`` with ``public_key`` (see :func:`load_public_key`).

    ``clock``: UTC ms (the node's). Thread-safe (no state)."""

    def __init__(self, public_key: bytes | str | Path | Ed25519PublicKey, *, site: str,
                 clock: Callable[[], int]) -> None:
        self._key = load_public_key(public_key)
        self.site = site
        self._clock = clock

    def parse(self, code: str) -> PassCheck:
        """Format, site and signature only: ``ok`` / ``unreadable`` / ``forged``."""
        try:
            token, signature = GoodsPassToken.from_qr_text(code)
        except ContractError as exc:
            return PassCheck("unreadable", None, str(exc))
        if token.site != self.site:
            return PassCheck("forged", token, f"pass for site {token.site!r}, this is {self.site!r}")
        try:
            self._key.verify(signature, token.signing_bytes())
        except InvalidSignature:
            return PassCheck("forged", token, "the signature does not verify with the site key")
        return PassCheck("ok", token)

    def window(self, token: GoodsPassToken, now_ms: int | None = None) -> PassCheck:
        """The validity window against the clock: ``ok`` / ``not_yet_valid`` / ``expired``
        (both ends inclusive)."""
        now = self._clock() if now_ms is None else now_ms
        if now < token.valid_from_ms:
            return PassCheck("not_yet_valid", token, f"valid from {token.valid_from_ms}, now {now}")
        if now > token.valid_until_ms:
            return PassCheck("expired", token, f"valid until {token.valid_until_ms}, now {now}")
        return PassCheck("ok", token)

    def check(self, code: str) -> PassCheck:
        """:meth:`parse` then :meth:`window` (no revocation / use check)."""
        result = self.parse(code)
        return self.window(result.token) if result.ok and result.token is not None else result
