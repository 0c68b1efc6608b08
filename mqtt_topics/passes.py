"""Goods passes (物品持出证): the signed token printed as a QR code, and the revocation snapshot.

Standard library only: this module defines the bytes; signing and verifying them with the site's
Ed25519 key is done by the callers with ``cryptography`` (the console signs with the site's
private key, ``SITE_DIR/console/site-signing.key``; a gate node verifies with the public key,
``site-signing.pub``, see :mod:`edge.passes.verify`)::

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    token = GoodsPassToken(pass_id="gp-20261125-0007", site="demo", unit="3-2-501",
                           valid_from_ms=..., valid_until_ms=..., **describe_items(items))
    text = token.to_qr_text(private_key.sign(token.signing_bytes()))   # -> "LG1.xxxx..."
    token, signature = GoodsPassToken.from_qr_text(text)              # strict, ContractError
    public_key.verify(signature, token.signing_bytes())                # InvalidSignature if forged

QR text (version 1): ``"LG1." + base64url(body + signature)``, no padding, where ``signature`` is
the 64-byte Ed25519 signature and ``body`` is, in order:

====================  ============================================================================
pass id               1 length byte + ASCII ``[a-z0-9-]{1,32}``
site                  1 length byte + ASCII ``[a-z0-9-]{1,32}``
unit                  1 length byte + UTF-8, 1-32 bytes (房号, e.g. ``3-2-501``)
valid from            4 bytes, big-endian, UTC minutes since the epoch
valid for             unsigned LEB128 varint, minutes (1 .. 366 days); valid until = from + this
item count            unsigned LEB128 varint, 1 .. 9999: the total quantity of goods on the pass
items digest          6 bytes: ``sha256(canonical item list)[:6]`` (:func:`items_digest`)
====================  ============================================================================

The signature covers :data:`SIGNING_CONTEXT` + body: the context names the format and version, so a
goods-pass signature can never be replayed as an update-bundle or invite signature made with the same
site key, nor as a later format's. A typical pass (12-character pass id, 9-character site, unit
``3-2-501``) is 148 characters of QR text (QR version 7 at error-correction level M); the longest
possible, about 245. Times are whole minutes; the API speaks UTC ms like the rest of the contract
(``valid_from_ms`` / ``valid_until_ms`` must be multiples of 60 000).

Revocations: the console publishes, retained, ``sync/pass-revocations`` (:data:`REVOCATIONS_DATASET`)
as a :class:`~mqtt_topics.payloads.SyncSnapshot` whose ``data`` is::

    {"format": 1,
     "revoked": ["gp-20261125-0007", ...],   # cancelled passes: a gate refuses them ("revoked")
     "used": ["gp-20261124-0003", ...]}      # optional: released at some gate ("already_used")

The whole list at each ``version`` (rising by one per change); a pass may be dropped from both
lists once it has expired. :func:`revocations_snapshot` builds it, :func:`parse_revocations` reads
it strictly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .errors import ContractError
from .payloads import SyncSnapshot, dumps

__all__ = ["GoodsPassToken", "PassItem", "QR_PREFIX", "SIGNING_CONTEXT", "SIGNATURE_BYTES",
           "DIGEST_BYTES", "MAX_QR_CHARS", "REVOCATIONS_DATASET", "REVOCATIONS_FORMAT",
           "Revocations", "items_digest", "describe_items", "encode", "parse_revocations",
           "revocations_snapshot"]

#: Format version 1: the QR text starts with this.
QR_PREFIX = "LG1."
#: Prepended to the body in the signed message (domain separation, see the module note).
SIGNING_CONTEXT = b"lobbygate goods-pass v1\n"
VERSION = 1
SIGNATURE_BYTES = 64
DIGEST_BYTES = 6
#: Longest QR text accepted (characters); the longest valid token is about 245.
MAX_QR_CHARS = 400
MAX_ITEM_COUNT = 9999
MAX_VALID_MIN = 366 * 24 * 60
_MINUTE_MS = 60_000
MAX_UNIT_BYTES = 32
REVOCATIONS_DATASET = "pass-revocations"
REVOCATIONS_FORMAT = 1
#: Most pass ids accepted in one revocations snapshot (revoked + used).
MAX_REVOCATIONS = 1_000_000

_ID_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_MAX_TS_MIN = 2**32 - 1


def _check_pass_id(value: object, what: str = "pass id") -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ContractError(f"goods pass: {what} must match [a-z0-9-]{{1,32}}, got {value!r}")
    return value


def _check_unit(value: object) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise ContractError(f"goods pass: unit must be a non-empty string without outer spaces, "
                            f"got {value!r}")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise ContractError(f"goods pass: unit has control characters: {value!r}")
    if len(value.encode("utf-8")) > MAX_UNIT_BYTES:
        raise ContractError(f"goods pass: unit longer than {MAX_UNIT_BYTES} UTF-8 bytes: {value!r}")
    return value


# -- items ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PassItem:
    """One line of a pass: ``description`` (what the desk wrote) and ``quantity`` (>= 1)."""

    description: str
    quantity: int = 1


def _canonical_items(items: Iterable[PassItem | tuple[str, int] | Mapping[str, Any]]) -> list[dict]:
    out = []
    for item in items:
        if isinstance(item, PassItem):
            desc, qty = item.description, item.quantity
        elif isinstance(item, Mapping):
            desc, qty = item.get("description"), item.get("quantity", 1)
        else:
            desc, qty = item
        if not isinstance(desc, str) or not desc.strip():
            raise ContractError(f"goods pass: item description must be a non-empty string, got {desc!r}")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_ITEM_COUNT:
            raise ContractError(f"goods pass: item quantity must be 1..{MAX_ITEM_COUNT}, got {qty!r}")
        out.append({"description": " ".join(unicodedata.normalize("NFC", desc).split()),
                    "quantity": qty})
    if not out:
        raise ContractError("goods pass: at least one item is needed")
    return out


def items_digest(items: Iterable[PassItem | tuple[str, int] | Mapping[str, Any]]) -> bytes:
    """The 6-byte digest of an item list, in the order the desk entered it.

    Canonical form: each description NFC-normalised with runs of white space made one space and
    outer space removed; the list ``[{"description", "quantity"}, ...]`` as compact JSON with
    sorted keys (UTF-8); ``sha256`` of that, first 6 bytes. Raises :class:`ContractError` for an
    empty list, an empty description or a quantity outside 1..9999."""
    return hashlib.sha256(dumps(_canonical_items(items))).digest()[:DIGEST_BYTES]


def describe_items(items: Iterable[PassItem | tuple[str, int] | Mapping[str, Any]]) -> dict[str, Any]:
    """``{"item_count": total quantity, "items_digest": 6 bytes}`` for :class:`GoodsPassToken`."""
    canon = _canonical_items(list(items))
    count = sum(i["quantity"] for i in canon)
    if count > MAX_ITEM_COUNT:
        raise ContractError(f"goods pass: {count} items in total, more than {MAX_ITEM_COUNT}")
    return {"item_count": count,
            "items_digest": hashlib.sha256(dumps(canon)).digest()[:DIGEST_BYTES]}


# -- the token -------------------------------------------------------------------------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise ContractError(f"goods pass: token cut short in {what}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def short_str(self, what: str) -> bytes:
        return self.take(self.take(1, what)[0], what)

    def varint(self, what: str) -> int:
        value, shift = 0, 0
        for i in range(4):                   # at most 28 bits: every varint here is smaller
            byte = self.take(1, what)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and i > 0:
                    raise ContractError(f"goods pass: {what} is not minimally encoded")
                return value
            shift += 7
        raise ContractError(f"goods pass: {what} is too large")


@dataclass(frozen=True)
class GoodsPassToken:
    """What a goods pass's QR code says (see the module note for the wire format).

    - ``pass_id``, ``site``: ``[a-z0-9-]{1,32}``; ``unit``: the unit number (1-32 UTF-8 bytes);
    - ``valid_from_ms`` / ``valid_until_ms``: UTC ms, whole minutes, until > from, at most
      366 days apart; valid while ``from <= now <= until``;
    - ``item_count``: total quantity of goods (1..9999), for the guard to check;
    - ``items_digest``: 6 bytes, :func:`items_digest` of the pass's item list;
    - ``version``: the format version (1).

    The constructor validates and raises :class:`ContractError`."""

    pass_id: str
    site: str
    unit: str
    valid_from_ms: int
    valid_until_ms: int
    item_count: int
    items_digest: bytes
    version: int = VERSION

    def __post_init__(self) -> None:
        _check_pass_id(self.pass_id)
        _check_pass_id(self.site, "site")
        _check_unit(self.unit)
        if self.version != VERSION:
            raise ContractError(f"goods pass: unsupported version {self.version!r}")
        for name in ("valid_from_ms", "valid_until_ms"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v % _MINUTE_MS \
                    or v // _MINUTE_MS > _MAX_TS_MIN + MAX_VALID_MIN:
                raise ContractError(f"goods pass: {name} must be UTC ms in whole minutes, got {v!r}")
        if self.valid_from_ms // _MINUTE_MS > _MAX_TS_MIN:
            raise ContractError(f"goods pass: valid_from_ms too large: {self.valid_from_ms}")
        span = (self.valid_until_ms - self.valid_from_ms) // _MINUTE_MS
        if not 1 <= span <= MAX_VALID_MIN:
            raise ContractError(f"goods pass: valid_until_ms must be 1 minute to 366 days after "
                                f"valid_from_ms, got {span} minutes")
        c = self.item_count
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= MAX_ITEM_COUNT:
            raise ContractError(f"goods pass: item_count must be 1..{MAX_ITEM_COUNT}, got {c!r}")
        if not isinstance(self.items_digest, bytes) or len(self.items_digest) != DIGEST_BYTES:
            raise ContractError(f"goods pass: items_digest must be {DIGEST_BYTES} bytes")

    # -- encoding -----------------------------------------------------------------------------

    def body(self) -> bytes:
        """The encoded fields (what the QR code carries before the signature)."""
        unit = self.unit.encode("utf-8")
        return b"".join([
            bytes([len(self.pass_id)]), self.pass_id.encode("ascii"),
            bytes([len(self.site)]), self.site.encode("ascii"),
            bytes([len(unit)]), unit,
            struct.pack(">I", self.valid_from_ms // _MINUTE_MS),
            _varint((self.valid_until_ms - self.valid_from_ms) // _MINUTE_MS),
            _varint(self.item_count),
            self.items_digest,
        ])

    def signing_bytes(self) -> bytes:
        """The exact bytes the site key signs: :data:`SIGNING_CONTEXT` + :meth:`body`."""
        return SIGNING_CONTEXT + self.body()

    def to_qr_text(self, signature: bytes) -> str:
        """``"LG1." + base64url(body + signature)`` (no padding). ``signature``: 64 bytes."""
        if not isinstance(signature, (bytes, bytearray)) or len(signature) != SIGNATURE_BYTES:
            raise ContractError(f"goods pass: a signature is {SIGNATURE_BYTES} bytes")
        raw = self.body() + bytes(signature)
        return QR_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def from_qr_text(cls, text: str) -> tuple["GoodsPassToken", bytes]:
        """Parse QR text strictly into ``(token, signature)``; the signature is NOT checked here.

        Raises :class:`ContractError` for: not a string, too long, another prefix or version,
        characters outside base64url, padding or a non-canonical encoding, fields cut short or
        out of range, trailing bytes."""
        if not isinstance(text, str):
            raise ContractError(f"goods pass: QR text must be a string, got {type(text).__name__}")
        if len(text) > MAX_QR_CHARS:
            raise ContractError(f"goods pass: QR text of {len(text)} characters, at most {MAX_QR_CHARS}")
        if not text.startswith(QR_PREFIX):
            if re.match(r"^LG\d+\.", text):
                raise ContractError(f"goods pass: unsupported version {text.split('.')[0]!r}")
            raise ContractError("goods pass: not a lobbygate goods pass (no 'LG1.' prefix)")
        b64 = text[len(QR_PREFIX):]
        if not _B64URL_RE.match(b64) or len(b64) % 4 == 1:
            raise ContractError("goods pass: token is not unpadded base64url")
        try:
            raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except (binascii.Error, ValueError):
            raise ContractError("goods pass: token is not unpadded base64url") from None
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != b64:
            raise ContractError("goods pass: token is not canonical base64url")
        if len(raw) <= SIGNATURE_BYTES:
            raise ContractError("goods pass: token too short")
        body, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
        r = _Reader(body)
        try:
            pass_id = r.short_str("pass id").decode("ascii")
            site = r.short_str("site").decode("ascii")
            unit = r.short_str("unit").decode("utf-8")
        except UnicodeDecodeError:
            raise ContractError("goods pass: a text field is not valid text") from None
        (valid_from,) = struct.unpack(">I", r.take(4, "valid from"))
        span = r.varint("validity")
        count = r.varint("item count")
        digest = r.take(DIGEST_BYTES, "items digest")
        if r.pos != len(body):
            raise ContractError(f"goods pass: {len(body) - r.pos} unexpected byte(s) after the fields")
        token = cls(pass_id=pass_id, site=site, unit=unit, valid_from_ms=valid_from * _MINUTE_MS,
                    valid_until_ms=(valid_from + span) * _MINUTE_MS, item_count=count,
                    items_digest=digest)
        return token, signature

    def to_dict(self) -> dict[str, Any]:
        """The fields for an event or a page (``items_digest`` as hex)."""
        return {"pass_id": self.pass_id, "site": self.site, "unit": self.unit,
                "valid_from": self.valid_from_ms, "valid_until": self.valid_until_ms,
                "items": self.item_count, "items_digest": self.items_digest.hex()}


def encode(token: GoodsPassToken) -> bytes:
    """The bytes to sign for ``token`` (same as :meth:`GoodsPassToken.signing_bytes`)."""
    return token.signing_bytes()


# -- revocations ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Revocations:
    """A parsed ``sync/pass-revocations`` snapshot: ``version``, ``revoked`` and ``used`` ids."""

    version: int
    revoked: frozenset[str]
    used: frozenset[str] = frozenset()


def revocations_snapshot(*, version: int, ts: int, revoked: Iterable[str],
                         used: Iterable[str] = ()) -> SyncSnapshot:
    """The snapshot the console publishes (retained) on ``sync/pass-revocations``."""
    rev = sorted({_check_pass_id(p) for p in revoked})
    use = sorted({_check_pass_id(p) for p in used})
    return SyncSnapshot(dataset=REVOCATIONS_DATASET, version=version, ts=ts,
                        data={"format": REVOCATIONS_FORMAT, "revoked": rev, "used": use})


def parse_revocations(snapshot: SyncSnapshot) -> Revocations:
    """Read a ``pass-revocations`` snapshot strictly; :class:`ContractError` names the problem
    (another dataset, unknown format or field, a bad pass id, too many ids)."""
    if snapshot.dataset != REVOCATIONS_DATASET:
        raise ContractError(f"pass revocations: dataset {snapshot.dataset!r}, "
                            f"expected {REVOCATIONS_DATASET!r}")
    data = snapshot.data
    extra = set(data) - {"format", "revoked", "used"}
    if extra:
        raise ContractError(f"pass revocations: unknown field(s) {sorted(extra)}")
    if data.get("format") != REVOCATIONS_FORMAT:
        raise ContractError(f"pass revocations: format must be {REVOCATIONS_FORMAT}, "
                            f"got {data.get('format')!r}")
    lists = {}
    for name in ("revoked", "used"):
        value = data.get(name, [])
        if name == "revoked" and name not in data:
            raise ContractError("pass revocations: missing field 'revoked'")
        if not isinstance(value, list):
            raise ContractError(f"pass revocations: {name!r} must be a list of pass ids")
        lists[name] = frozenset(_check_pass_id(p, f"{name} pass id") for p in value)
    if len(lists["revoked"]) + len(lists["used"]) > MAX_REVOCATIONS:
        raise ContractError(f"pass revocations: more than {MAX_REVOCATIONS} pass ids")
    return Revocations(version=snapshot.version, revoked=lists["revoked"], used=lists["used"])
