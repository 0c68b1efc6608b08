"""mqtt_topics.cards: the card-key format the node and the console share."""

from __future__ import annotations

import pytest

from mqtt_topics.cards import normalize_card
from mqtt_topics.errors import ContractError


def test_wiegand26_key_drops_leading_zeros_and_lowercases_the_prefix() -> None:
    assert normalize_card("W26:0123:04567") == "w26:123:4567"


def test_wiegand34_key_accepts_the_largest_facility_and_number() -> None:
    assert normalize_card("w34:65535:65535") == "w34:65535:65535"


def test_em4100_key_is_upper_case_hex_without_surrounding_spaces() -> None:
    assert normalize_card(" em:0a12345678 ") == "em:0A12345678"


def test_other_format_key_keeps_the_card_as_given() -> None:
    assert normalize_card("QR:pass-77") == "qr:pass-77"


def test_contract_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        normalize_card("em:123")


def test_non_string_is_refused() -> None:
    with pytest.raises(ContractError, match="is not a string"):
        normalize_card(1234)  # type: ignore[arg-type]


def test_wiegand_key_without_a_number_is_refused() -> None:
    with pytest.raises(ContractError, match=r"is not w26:<facility>:<number>"):
        normalize_card("w26:1")


def test_wiegand_key_with_non_digits_is_refused() -> None:
    with pytest.raises(ContractError, match=r"is not w34:<facility>:<number>"):
        normalize_card("w34:1a:2")


def test_wiegand26_facility_above_255_is_refused() -> None:
    with pytest.raises(ContractError, match="too large for w26"):
        normalize_card("w26:256:1")


def test_wiegand34_number_above_65535_is_refused() -> None:
    with pytest.raises(ContractError, match="too large for w34"):
        normalize_card("w34:1:65536")


def test_em4100_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ContractError, match="is not em:<10 hex digits>"):
        normalize_card("em:123")


def test_em4100_key_with_a_non_hex_digit_is_refused() -> None:
    with pytest.raises(ContractError, match="is not em:<10 hex digits>"):
        normalize_card("em:0A1234567G")


def test_key_without_a_format_is_refused() -> None:
    with pytest.raises(ContractError, match="is not a card key"):
        normalize_card("4567")


def test_empty_key_is_refused() -> None:
    with pytest.raises(ContractError, match="is not a card key"):
        normalize_card("")


def test_card_with_a_space_is_refused() -> None:
    with pytest.raises(ContractError, match="is not a card key"):
        normalize_card("qr:a b")


def test_format_starting_with_a_digit_is_refused() -> None:
    with pytest.raises(ContractError, match="is not a card key"):
        normalize_card("123:4567")


def test_card_with_non_ascii_characters_is_refused() -> None:
    with pytest.raises(ContractError, match="is not a card key"):
        normalize_card("qr:卡1")
