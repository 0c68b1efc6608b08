"""The RDM6300 frame decoder: pure byte-stream parsing, no I/O."""

from __future__ import annotations

import pytest

from hardware import CardFrame, FrameError, Rdm6300Decoder, encode_frame, frame_checksum

CARD = "0F00B4C5D2"           # checksum 0F^00^B4^C5^D2 = AC
OTHER = "1A2B3C4D5E"


def kinds(items: list) -> list[str]:
    return [i.card if isinstance(i, CardFrame) else f"error:{i.reason}" for i in items]


def test_encode_frame_is_the_wire_format() -> None:
    assert encode_frame(CARD) == b"\x020F00B4C5D2AC\x03"
    assert frame_checksum(CARD) == 0xAC


def test_encode_frame_rejects_a_card_that_is_not_ten_hex_digits() -> None:
    with pytest.raises(FrameError):
        encode_frame("0F00B4C5")
    with pytest.raises(FrameError):
        encode_frame("0F00B4C5ZZ")


def test_good_frame_gives_the_card_with_version_and_number() -> None:
    d = Rdm6300Decoder()
    [frame] = d.feed(encode_frame(CARD))
    assert frame == CardFrame("0F00B4C5D2")
    assert frame.version == 0x0F
    assert frame.number == 0x00B4C5D2 == 11847122
    assert d.counters == {"frames": 1, "checksum_errors": 0, "malformed": 0, "garbage_bytes": 0}


def test_lower_case_hex_is_accepted_and_normalised() -> None:
    d = Rdm6300Decoder()
    assert kinds(d.feed(b"\x020f00b4c5d2ac\x03")) == [CARD]


def test_consecutive_frames_in_one_chunk_are_all_decoded() -> None:
    d = Rdm6300Decoder()
    assert kinds(d.feed(encode_frame(CARD) + encode_frame(OTHER) + encode_frame(CARD))) == \
        [CARD, OTHER, CARD]


def test_garbage_before_a_frame_is_counted_reported_and_skipped() -> None:
    d = Rdm6300Decoder()
    out = d.feed(b"\xff\x00noise" + encode_frame(CARD))
    assert kinds(out) == ["error:garbage", CARD]
    assert out[0].raw == b"\xff\x00noise"
    assert d.garbage_bytes == 7


def test_a_long_run_of_garbage_is_reported_without_waiting_for_a_frame() -> None:
    d = Rdm6300Decoder()
    out = d.feed(b"\x55" * 64)
    assert kinds(out) == ["error:garbage"]
    assert d.garbage_bytes == 64


def test_truncated_frame_is_malformed_and_the_next_frame_decodes() -> None:
    d = Rdm6300Decoder()
    out = d.feed(encode_frame(CARD)[:7] + encode_frame(OTHER))
    assert kinds(out) == ["error:malformed", OTHER]
    assert out[0].raw == encode_frame(CARD)[:7]
    assert d.malformed == 1 and d.frames == 1


def test_over_long_frame_is_malformed_and_its_tail_is_not_counted_as_garbage() -> None:
    d = Rdm6300Decoder()
    out = d.feed(b"\x02" + b"0F00B4C5D2AC00" + b"\x03" + encode_frame(OTHER))
    assert kinds(out) == ["error:malformed", OTHER]
    assert d.garbage_bytes == 0


def test_non_hex_character_inside_a_frame_is_malformed() -> None:
    d = Rdm6300Decoder()
    out = d.feed(b"\x020F00#4C5D2AC\x03" + encode_frame(OTHER))
    assert kinds(out) == ["error:malformed", OTHER]


def test_short_frame_at_its_end_byte_is_malformed() -> None:
    d = Rdm6300Decoder()
    assert kinds(d.feed(b"\x020F00B\x03")) == ["error:malformed"]
    assert d.malformed == 1


def test_bad_checksum_is_reported_and_the_next_frame_decodes() -> None:
    d = Rdm6300Decoder()
    out = d.feed(b"\x020F00B4C5D2AD\x03" + encode_frame(CARD))
    assert kinds(out) == ["error:checksum", CARD]
    assert d.checksum_errors == 1 and d.frames == 1


STREAM = (b"\x00\xfe" + encode_frame(CARD) + encode_frame(OTHER)[:9] + encode_frame(CARD)
          + b"\x020F00B4C5D2AD\x03" + b"zz" + encode_frame(OTHER))
EXPECTED = ["error:garbage", CARD, "error:malformed", CARD, "error:checksum", "error:garbage", OTHER]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 13, 14, len(STREAM)])
def test_output_does_not_depend_on_how_the_stream_is_split(chunk: int) -> None:
    d = Rdm6300Decoder()
    out = []
    for i in range(0, len(STREAM), chunk):
        out += d.feed(STREAM[i:i + chunk])
    assert kinds(out) == EXPECTED
    assert d.counters == {"frames": 3, "checksum_errors": 1, "malformed": 1, "garbage_bytes": 4}
