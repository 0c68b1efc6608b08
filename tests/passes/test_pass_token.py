"""The goods-pass token (mqtt_topics.passes): QR text round trip, size, every strict-parse
rejection, the items digest, and the offline verifier (signature, site, window)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.passes import PassError, PassVerifier, load_public_key
from mqtt_topics import ContractError
from mqtt_topics.passes import (QR_PREFIX, SIGNING_CONTEXT, GoodsPassToken, PassItem,
                                describe_items, items_digest)
from pass_helpers import DAY_MS, NOW_MS, SITE, MsClock, make_token, public_pem, sign

SIG = bytes(range(64))


def raw_of(text: str) -> bytes:
    b64 = text[len(QR_PREFIX):]
    return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))


def text_of(raw: bytes) -> str:
    return QR_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- format -------------------------------------------------------------------------------------

def test_qr_text_round_trips_token_and_signature() -> None:
    token = make_token()
    parsed, sig = GoodsPassToken.from_qr_text(token.to_qr_text(SIG))
    assert parsed == token and sig == SIG


def test_typical_pass_fits_a_qr_code_comfortably() -> None:
    text = make_token().to_qr_text(SIG)
    assert text.startswith("LG1.") and len(text) < 150


def test_unicode_unit_round_trips() -> None:
    token = make_token(unit="12栋-3-1801")
    assert GoodsPassToken.from_qr_text(token.to_qr_text(SIG))[0].unit == "12栋-3-1801"


def test_signing_bytes_carry_the_format_context() -> None:
    token = make_token()
    assert token.signing_bytes() == SIGNING_CONTEXT + token.body()


@pytest.mark.parametrize("text, words", [
    ("", "prefix"),
    ("gp-2611-0007", "prefix"),
    ("LG2.AAAA", "unsupported version"),
    ("LG1.", "base64url"),
    ("LG1.abc$def", "base64url"),
    ("LG1.abcd==", "base64url"),
    ("LG1.A", "base64url"),
    ("LG1." + "A" * 500, "at most"),
])
def test_bad_qr_text_is_refused(text: str, words: str) -> None:
    with pytest.raises(ContractError, match=words):
        GoodsPassToken.from_qr_text(text)


def test_non_string_is_refused() -> None:
    with pytest.raises(ContractError, match="string"):
        GoodsPassToken.from_qr_text(b"LG1.AAAA")  # type: ignore[arg-type]


def test_non_canonical_base64_is_refused() -> None:
    # 1 byte more than a multiple of 3: the last character carries 4 unused low bits
    body = next(b for b in (make_token(p).body() for p in ("g", "gp", "gp-")) if len(b) % 3 == 0)
    text = text_of(body + SIG + b"\x00")
    last = text[-1]
    # flipping an unused bit decodes to the same bytes
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    assert raw_of(text[:-1] + twin) == raw_of(text)
    with pytest.raises(ContractError, match="canonical"):
        GoodsPassToken.from_qr_text(text[:-1] + twin)


def test_token_without_room_for_a_signature_is_refused() -> None:
    with pytest.raises(ContractError, match="too short"):
        GoodsPassToken.from_qr_text(text_of(bytes(64)))


def test_truncated_fields_are_refused() -> None:
    body = make_token().body()
    with pytest.raises(ContractError, match="cut short"):
        GoodsPassToken.from_qr_text(text_of(body[:20] + SIG))


def test_trailing_bytes_are_refused() -> None:
    body = make_token().body()
    with pytest.raises(ContractError, match="unexpected byte"):
        GoodsPassToken.from_qr_text(text_of(body + b"\x00" + SIG))


def test_bad_pass_id_inside_the_token_is_refused() -> None:
    body = bytearray(make_token().body())
    body[1] = ord("A")                      # upper case is not a pass id
    with pytest.raises(ContractError, match="pass id"):
        GoodsPassToken.from_qr_text(text_of(bytes(body) + SIG))


def test_non_minimal_varint_is_refused() -> None:
    token = make_token(items=[("box", 5)])
    body = token.body()
    # item count 5 is the byte before the 6-byte digest; write it as 0x85 0x00
    bad = body[:-7] + b"\x85\x00" + body[-6:]
    with pytest.raises(ContractError, match="minimally"):
        GoodsPassToken.from_qr_text(text_of(bad + SIG))


@pytest.mark.parametrize("field, value, words", [
    ("pass_id", "", "pass id"),
    ("pass_id", "x" * 33, "pass id"),
    ("site", "Demo", "site"),
    ("unit", "", "unit"),
    ("unit", "5\n01", "unit"),
    ("unit", "长" * 11, "32 UTF-8 bytes"),
    ("valid_from_ms", NOW_MS + 1000, "whole minutes"),
    ("valid_until_ms", NOW_MS - 3600_000, "1 minute to 366 days"),
    ("valid_until_ms", NOW_MS + 367 * DAY_MS, "1 minute to 366 days"),
    ("item_count", 0, "item_count"),
    ("item_count", 10_000, "item_count"),
    ("items_digest", b"short", "items_digest"),
    ("version", 2, "unsupported version"),
])
def test_bad_fields_are_refused_by_the_constructor(field: str, value: object, words: str) -> None:
    fields = dict(pass_id="gp-1", site=SITE, unit="3-2-501", valid_from_ms=NOW_MS - 3600_000,
                  valid_until_ms=NOW_MS + DAY_MS, item_count=1, items_digest=bytes(6))
    fields[field] = value
    with pytest.raises(ContractError, match=words):
        GoodsPassToken(**fields)  # type: ignore[arg-type]


def test_signature_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ContractError, match="64 bytes"):
        make_token().to_qr_text(b"x" * 63)


# -- items ----------------------------------------------------------------------------------------

def test_item_count_is_the_total_quantity() -> None:
    assert describe_items([("sofa", 1), ("chairs", 4)])["item_count"] == 5


def test_items_digest_ignores_spacing_and_unicode_form_but_not_order() -> None:
    a = items_digest([PassItem("Cafe\u0301  table", 1), PassItem("lamp", 2)])
    assert a == items_digest([("Caf\u00e9 table ", 1), {"description": "lamp", "quantity": 2}])
    assert a != items_digest([("lamp", 2), ("Caf\u00e9 table", 1)])
    assert a != items_digest([("Caf\u00e9 table", 1), ("lamp", 3)])


@pytest.mark.parametrize("items", [[], [("", 1)], [("box", 0)], [("box", True)]])
def test_bad_item_lists_are_refused(items: list) -> None:
    with pytest.raises(ContractError):
        items_digest(items)


# -- verification ------------------------------------------------------------------------------------

@pytest.fixture
def verifier(site_key: Ed25519PrivateKey, ms_clock: MsClock) -> PassVerifier:
    return PassVerifier(public_pem(site_key), site=SITE, clock=ms_clock)


def test_pass_signed_by_the_site_key_is_ok(site_key, verifier) -> None:
    check = verifier.check(sign(site_key, make_token()))
    assert check.ok and check.token == make_token()


def test_pass_signed_with_another_key_is_forged(verifier) -> None:
    check = verifier.check(sign(Ed25519PrivateKey.generate(), make_token()))
    assert check.reason == "forged"


def test_tampered_field_is_forged(site_key, verifier) -> None:
    genuine = sign(site_key, make_token(items=[("box", 1)]))
    token, sig = GoodsPassToken.from_qr_text(genuine)
    more = make_token(items=[("box", 9)])                       # same pass, more goods
    assert verifier.check(more.to_qr_text(sig)).reason == "forged"


def test_signature_over_the_body_without_context_is_forged(site_key, verifier) -> None:
    token = make_token()
    text = token.to_qr_text(site_key.sign(token.body()))       # e.g. another use of the site key
    assert verifier.check(text).reason == "forged"


def test_pass_for_another_site_is_forged(site_key, verifier) -> None:
    check = verifier.check(sign(site_key, make_token(site="other-site")))
    assert check.reason == "forged" and "other-site" in check.detail


def test_garbage_is_unreadable(verifier) -> None:
    check = verifier.check("6901234567892")
    assert check.reason == "unreadable" and check.token is None and "prefix" in check.detail


def test_pass_before_its_window_is_not_yet_valid(site_key, verifier, ms_clock) -> None:
    ms_clock.now_ms = NOW_MS - 3600_000 - 1
    assert verifier.check(sign(site_key, make_token())).reason == "not_yet_valid"


def test_pass_after_its_window_is_expired(site_key, verifier, ms_clock) -> None:
    ms_clock.now_ms = NOW_MS + DAY_MS + 1
    assert verifier.check(sign(site_key, make_token())).reason == "expired"


def test_window_ends_are_inclusive(site_key, verifier, ms_clock) -> None:
    ms_clock.now_ms = NOW_MS + DAY_MS
    assert verifier.check(sign(site_key, make_token())).ok


def test_public_key_loads_from_pem_raw_and_hex(site_key, tmp_path) -> None:
    raw = site_key.public_key().public_bytes_raw()
    path = tmp_path / "site-signing.pub"
    path.write_bytes(public_pem(site_key))
    for source in (path, public_pem(site_key), raw, raw.hex()):
        assert load_public_key(source).public_bytes_raw() == raw


def test_a_non_ed25519_key_is_refused(tmp_path) -> None:
    with pytest.raises(PassError, match="Ed25519"):
        load_public_key(b"not a key")
    with pytest.raises(PassError, match="cannot read"):
        load_public_key(tmp_path / "missing.pub")
