"""Helpers for the goods-pass tests: a site key pair, a signer the way the console signs, a
UTC-ms clock the test moves by hand."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mqtt_topics.passes import GoodsPassToken, describe_items

SITE = "test-site"
#: 2026-11-25 08:00 UTC, ms
NOW_MS = 1_795_593_600_000
DAY_MS = 24 * 3600 * 1000
ITEMS = [("冰箱 refrigerator", 1), ("纸箱 cardboard boxes", 3)]


class MsClock:
    """UTC ms, moved by hand."""

    def __init__(self, now_ms: int = NOW_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def make_token(pass_id: str = "gp-2611-0007", *, site: str = SITE, unit: str = "3-2-501",
               valid_from_ms: int = NOW_MS - 3600_000, valid_until_ms: int = NOW_MS + DAY_MS,
               items=ITEMS) -> GoodsPassToken:
    return GoodsPassToken(pass_id=pass_id, site=site, unit=unit, valid_from_ms=valid_from_ms,
                          valid_until_ms=valid_until_ms, **describe_items(items))


def sign(key: Ed25519PrivateKey, token: GoodsPassToken) -> str:
    """What the console prints in the QR code: the token signed with the site's private key."""
    return token.to_qr_text(key.sign(token.signing_bytes()))
