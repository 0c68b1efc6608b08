"""Register decoding: every type, both word orders, scale."""

from __future__ import annotations

import math

import pytest

from hardware.errors import HardwareError
from hardware.meters import TYPES, decode_value, encode_value


@pytest.mark.parametrize("type_name, words, expected", [
    ("int16", [0xFFFE], -2),
    ("uint16", [0xFFFE], 65534),
    ("int32", [0xFFFF, 0xFFFE], -2),
    ("uint32", [0x0001, 0x0002], 65538),
    ("float32", [0x4366, 0x0000], 230.0),
])
def test_big_word_order_puts_the_high_word_first(type_name, words, expected):
    assert decode_value(words, type_name, word_order="big") == expected


@pytest.mark.parametrize("type_name, words, expected", [
    ("int32", [0xFFFE, 0xFFFF], -2),
    ("uint32", [0x0002, 0x0001], 65538),
    ("float32", [0x0000, 0x4366], 230.0),
])
def test_little_word_order_puts_the_low_word_first(type_name, words, expected):
    assert decode_value(words, type_name, word_order="little") == expected


def test_word_order_does_not_change_one_word_types():
    assert decode_value([0x8000], "int16", word_order="little") == -32768


def test_scale_multiplies_and_gives_a_float():
    assert decode_value([0xE665, 0x0004], "uint32", word_order="little", scale=0.001) == pytest.approx(321.125)


def test_integer_types_stay_integers_without_scale():
    assert isinstance(decode_value([7], "uint16"), int)


@pytest.mark.parametrize("type_name", list(TYPES))
@pytest.mark.parametrize("order", ["big", "little"])
def test_encode_then_decode_gives_the_value_back(type_name, order):
    value = {"int16": -1234, "uint16": 54321, "int32": -123456789, "uint32": 3_000_000_000,
             "float32": 1234.5}[type_name]
    words = encode_value(value, type_name, word_order=order)
    assert all(0 <= w <= 0xFFFF for w in words)
    assert decode_value(words, type_name, word_order=order) == value


def test_float32_nan_is_returned_for_the_caller_to_judge():
    assert math.isnan(decode_value([0x7FC0, 0x0000], "float32"))


def test_too_few_words_is_an_error():
    with pytest.raises(HardwareError, match="needs 2"):
        decode_value([1], "uint32")


def test_unknown_type_is_an_error():
    with pytest.raises(HardwareError, match="unknown register type"):
        decode_value([1], "int8")


def test_unknown_word_order_is_an_error():
    with pytest.raises(HardwareError, match="word order"):
        decode_value([1, 2], "uint32", word_order="middle")
