"""Visitor invites (访客邀请): the signed token a visitor shows as a QR code at the lobby door.

Standard library only: this module defines the bytes; the console signs them with the site's
Ed25519 private key (the same key as goods passes) and a door node verifies them offline with the
public key (:mod:`edge.extensions.intercom_invites`)::

    token = InviteToken(invite_id="iv-20261125-0003", site="demo", unit="1201",
                        valid_from_ms=..., valid_until_ms=..., uses=2)
    text = token.to_qr_text(private_key.sign(token.signing_bytes()))   # -> "LI1.xxxx..."
    token, signature = InviteToken.from_qr_text(text)                  # strict, ContractError
    public_key.verify(signature, token.signing_bytes())                 # InvalidSignature if forged

QR text (version 1): ``"LI1." + base64url(body + signature)``, no padding; ``signature`` is the
64-byte Ed25519 signature; ``body`` is, in order: invite id (1 length byte + ASCII
``[a-z0-9-]{1,32}``), site (same), unit (1 length byte + UTF-8, 1-32 bytes), valid from (4 bytes
big-endian, UTC minutes since the epoch), valid for (4 bytes big-endian, minutes, 1 .. 366 days),
uses (1 byte, 1-255: how many times the door opens for it).

The signature covers :data:`SIGNING_CONTEXT` + body, so an invite signature can never be passed off
as a goods pass signed with the same site key, nor the other way round.

Revocations: the console publishes, retained, ``sync/invite-revocations``
(:data:`REVOCATIONS_DATASET`) as a :class:`~mqtt_topics.payloads.SyncSnapshot` whose ``data`` is
``{"format": 1, "revoked": ["iv-...", ...]}`` (the whole list at each version).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .errors import ContractError
from .payloads import SyncSnapshot

__all__ = ["InviteToken", "QR_PREFIX", "SIGNING_CONTEXT", "SIGNATURE_BYTES", "MAX_QR_CHARS",
           "MAX_USES", "REVOCATIONS_DATASET", "REVOCATIONS_FORMAT", "invite_revocations_snapshot",
           "parse_invite_revocations"]

QR_PREFIX = "LI1."
SIGNING_CONTEXT = b"lobbygate visitor-invite v1\n"
SIGNATURE_BYTES = 64
MAX_QR_CHARS = 400
MAX_USES = 255
MAX_VALID_MIN = 366 * 24 * 60
MAX_UNIT_BYTES = 32
REVOCATIONS_DATASET = "invite-revocations"
REVOCATIONS_FORMAT = 1
_MINUTE_MS = 60_000
_ID_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_TIMES = struct.Struct(">IIB")


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ContractError(f"{what} must match [a-z0-9-]{{1,32}}, got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class InviteToken:
    """A visitor invite: for ``unit`` at ``site``, valid from ``valid_from_ms`` until
    ``valid_until_ms`` (UTC ms, whole minutes), opening the door ``uses`` times (1-255)."""

    invite_id: str
    site: str
    unit: str
    valid_from_ms: int
    valid_until_ms: int
    uses: int = 1

    def __post_init__(self) -> None:
        _check_id(self.invite_id, "invite id")
        _check_id(self.site, "site")
        if not isinstance(self.unit, str) or not 1 <= len(self.unit.encode("utf-8")) <= MAX_UNIT_BYTES:
            raise ContractError(f"unit must be 1-{MAX_UNIT_BYTES} bytes of UTF-8, got {self.unit!r}")
        for name in ("valid_from_ms", "valid_until_ms", "uses"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ContractError(f"{name} must be an integer, got {v!r}")
        if self.valid_from_ms % _MINUTE_MS or self.valid_until_ms % _MINUTE_MS or self.valid_from_ms < 0:
            raise ContractError("valid_from_ms / valid_until_ms must be whole minutes (UTC ms) >= 0")
        span = (self.valid_until_ms - self.valid_from_ms) // _MINUTE_MS
        if not 1 <= span <= MAX_VALID_MIN:
            raise ContractError(f"an invite is valid 1 minute to 366 days, got {span} minutes")
        if self.valid_from_ms // _MINUTE_MS >= 2 ** 32:
            raise ContractError("valid_from_ms is out of range")
        if not 1 <= self.uses <= MAX_USES:
            raise ContractError(f"uses must be 1-{MAX_USES}, got {self.uses}")

    def body(self) -> bytes:
        out = bytearray()
        for text in (self.invite_id, self.site, self.unit):
            raw = text.encode("utf-8")
            out += bytes([len(raw)]) + raw
        out += _TIMES.pack(self.valid_from_ms // _MINUTE_MS,
                           (self.valid_until_ms - self.valid_from_ms) // _MINUTE_MS, self.uses)
        return bytes(out)

    def signing_bytes(self) -> bytes:
        """What the site key signs: the domain-separation context, then the body."""
        return SIGNING_CONTEXT + self.body()

    def to_qr_text(self, signature: bytes) -> str:
        if len(signature) != SIGNATURE_BYTES:
            raise ContractError(f"an Ed25519 signature is {SIGNATURE_BYTES} bytes, got {len(signature)}")
        return QR_PREFIX + base64.urlsafe_b64encode(self.body() + signature).decode("ascii").rstrip("=")

    @classmethod
    def from_qr_text(cls, text: str) -> tuple["InviteToken", bytes]:
        """``(token, signature)`` from QR text; strict: raises :class:`ContractError` for
        anything but a well-formed version-1 invite (the signature is not checked here)."""
        if not isinstance(text, str) or len(text) > MAX_QR_CHARS or not text.startswith(QR_PREFIX):
            raise ContractError(f"not a visitor invite (must start with {QR_PREFIX!r})")
        b64 = text[len(QR_PREFIX):]
        if not re.fullmatch(r"[A-Za-z0-9_-]+", b64):
            raise ContractError("invite: not base64url")
        try:
            raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ContractError(f"invite: bad base64url ({exc})") from None
        pos, parts = 0, []
        try:
            for what in ("invite id", "site", "unit"):
                n = raw[pos]
                parts.append(raw[pos + 1:pos + 1 + n].decode("ascii" if what != "unit" else "utf-8"))
                if len(parts[-1].encode("utf-8")) != n:
                    raise ContractError(f"invite: {what} is cut short")
                pos += 1 + n
        except (IndexError, UnicodeDecodeError) as exc:
            raise ContractError(f"invite: bad text field ({exc})") from None
        if len(raw) != pos + _TIMES.size + SIGNATURE_BYTES:
            raise ContractError(f"invite: {len(raw)} bytes, expected {pos + _TIMES.size + SIGNATURE_BYTES}")
        start, span, uses = _TIMES.unpack_from(raw, pos)
        token = cls(invite_id=parts[0], site=parts[1], unit=parts[2], valid_from_ms=start * _MINUTE_MS,
                    valid_until_ms=(start + span) * _MINUTE_MS, uses=uses)
        return token, raw[pos + _TIMES.size:]

    def to_dict(self) -> dict[str, Any]:
        return {"invite_id": self.invite_id, "unit": self.unit, "valid_from": self.valid_from_ms,
                "valid_until": self.valid_until_ms, "uses": self.uses}


def invite_revocations_snapshot(*, version: int, ts: int, revoked: Iterable[str]) -> SyncSnapshot:
    """The ``sync/invite-revocations`` snapshot (the console publishes it retained)."""
    ids = sorted({_check_id(i, "revoked invite id") for i in revoked})
    return SyncSnapshot(dataset=REVOCATIONS_DATASET, version=version, ts=ts,
                        data={"format": REVOCATIONS_FORMAT, "revoked": ids})


def parse_invite_revocations(snapshot: SyncSnapshot) -> frozenset[str]:
    """The revoked invite ids of a snapshot; :class:`ContractError` if it is not one."""
    data = snapshot.data
    if snapshot.dataset != REVOCATIONS_DATASET or not isinstance(data, Mapping):
        raise ContractError(f"not an {REVOCATIONS_DATASET} snapshot")
    if data.get("format") != REVOCATIONS_FORMAT or not isinstance(data.get("revoked"), list):
        raise ContractError(f"{REVOCATIONS_DATASET}: needs format {REVOCATIONS_FORMAT} and a revoked list")
    return frozenset(_check_id(i, "revoked invite id") for i in data["revoked"])
