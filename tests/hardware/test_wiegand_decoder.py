"""WiegandDecoder: bit assembly from timestamped edges, framing by silence, formats, parities."""

from __future__ import annotations

import random

import pytest

from hardware.errors import FrameError
from hardware.readers.wiegand import (MAX_BITS, WiegandCard, WiegandDecoder, WiegandFrameError,
                                      WiegandKey, encode_card, encode_key)

GAP = 25_000
# H10301, facility 123, card 4567: even parity over 011110110001 (7 ones) = 1,
# odd parity over 000111010111 (7 ones) = 0
W26_123_4567 = "1" + "01111011" + "0001000111010111" + "0"
# 34-bit, facility 0x1234 = 4660, card 0x5678 = 22136: 5 ones -> even P 1; 8 ones -> odd P 1
W34_4660_22136 = "1" + "0001001000110100" + "0101011001111000" + "1"


def feed(dec: WiegandDecoder, bits: str, *, start_us: int = 0, interval_us: int = 2000) -> tuple[list, int]:
    """Feed a bit string as edges every interval_us; return (items closed while feeding, last tick)."""
    out, t = [], start_us
    for i, bit in enumerate(bits):
        t = start_us + i * interval_us
        out += dec.edge(int(bit), t)
    return out, t


def frame(dec: WiegandDecoder, bits: str, **kw) -> object:
    """Feed one whole frame and close it by polling after the gap; return the single item."""
    early, last = feed(dec, bits, **kw)
    assert early == []
    items = dec.poll(last + dec.gap_us + 1)
    assert len(items) == 1
    return items[0]


def test_26_bit_known_frame_decodes_facility_and_card() -> None:
    item = frame(WiegandDecoder(), W26_123_4567)
    assert isinstance(item, WiegandCard)
    assert (item.facility, item.number, item.bits, item.format) == (123, 4567, 26, "wiegand26")
    assert item.raw == int(W26_123_4567, 2)
    assert item.card == "2F623AE"
    assert item.bit_string == W26_123_4567


def test_34_bit_known_frame_decodes_facility_and_card() -> None:
    item = frame(WiegandDecoder(), W34_4660_22136)
    assert isinstance(item, WiegandCard)
    assert (item.facility, item.number, item.format) == (4660, 22136, "wiegand34")
    assert item.card == f"{int(W34_4660_22136, 2):09X}"


def test_encode_card_produces_the_known_frames() -> None:
    assert encode_card(123, 4567) == W26_123_4567
    assert encode_card(4660, 22136, bits=34) == W34_4660_22136


@pytest.mark.parametrize("bits,facility,number", [(26, 0, 0), (26, 255, 65535), (34, 0, 1),
                                                  (34, 65535, 65535), (26, 1, 2)])
def test_encoded_cards_round_trip(bits: int, facility: int, number: int) -> None:
    item = frame(WiegandDecoder(), encode_card(facility, number, bits=bits))
    assert isinstance(item, WiegandCard)
    assert (item.facility, item.number) == (facility, number)


def test_encode_card_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(FrameError):
        encode_card(256, 1)
    with pytest.raises(FrameError):
        encode_card(1, 1, bits=37)


@pytest.mark.parametrize("flip", [0, 25], ids=["leading-even", "trailing-odd"])
def test_26_bit_parity_error_is_reported_and_counted(flip: int) -> None:
    bits = list(W26_123_4567)
    bits[flip] = "1" if bits[flip] == "0" else "0"
    dec = WiegandDecoder()
    item = frame(dec, "".join(bits))
    assert isinstance(item, WiegandFrameError) and item.reason == "parity"
    assert item.bits == "".join(bits)
    assert dec.counters["parity_errors"] == 1 and dec.counters["frames"] == 0


def test_34_bit_data_bit_flip_is_a_parity_error() -> None:
    bits = list(W34_4660_22136)
    bits[20] = "1" if bits[20] == "0" else "0"
    dec = WiegandDecoder()
    item = frame(dec, "".join(bits))
    assert isinstance(item, WiegandFrameError) and item.reason == "parity"


def test_half_frame_is_bad_length() -> None:
    dec = WiegandDecoder()
    item = frame(dec, W26_123_4567[:13])
    assert isinstance(item, WiegandFrameError) and item.reason == "bad_length"
    assert dec.counters["bad_length"] == 1


def test_frame_stays_open_until_silence_exceeds_the_gap() -> None:
    dec = WiegandDecoder(gap_us=GAP)
    _, last = feed(dec, W26_123_4567)
    assert dec.poll(last + GAP) == []          # exactly the gap: not yet
    assert dec.in_frame
    assert len(dec.poll(last + GAP + 1)) == 1
    assert not dec.in_frame


def test_edge_after_the_gap_closes_the_previous_frame_by_timestamps_alone() -> None:
    # no poll between the frames: e.g. the callbacks of both frames ran late, back to back
    dec = WiegandDecoder(gap_us=GAP)
    _, last = feed(dec, W26_123_4567)
    closed, last2 = feed(dec, encode_card(7, 8), start_us=last + GAP + 1)
    assert [(c.facility, c.number) for c in closed] == [(123, 4567)]
    assert closed[0].closed_us == last + GAP
    [second] = dec.poll(last2 + GAP + 1)
    assert (second.facility, second.number) == (7, 8)


def test_late_poll_does_not_merge_frames_separated_in_time() -> None:
    dec = WiegandDecoder(gap_us=GAP)
    _, last = feed(dec, W26_123_4567[:10])
    # the remaining bits come 30 ms later: a new frame, whatever poll did or did not run
    closed, last2 = feed(dec, W26_123_4567[10:], start_us=last + 30_000)
    assert [c.reason for c in closed] == ["bad_length"]
    [tail] = dec.poll(last2 + GAP + 1)
    assert isinstance(tail, WiegandFrameError) and tail.reason == "bad_length"


def test_jittered_sia_timing_decodes() -> None:
    rng = random.Random(4)
    dec = WiegandDecoder(gap_us=GAP)
    t = 0
    got = []
    for n in range(50):
        for bit in encode_card(n, 1000 + n):
            got += dec.edge(int(bit), t)
            t += rng.randint(200, 20_000)
        t += GAP + rng.randint(1, 50_000)
    got += dec.poll(t)
    assert [(c.facility, c.number) for c in got] == [(n, 1000 + n) for n in range(50)]


@pytest.mark.parametrize("key", range(12))
def test_4_bit_key_codes(key: int) -> None:
    item = frame(WiegandDecoder(), f"{key:04b}")
    assert isinstance(item, WiegandKey)
    assert (item.key, item.bits, item.char) == (key, 4, "0123456789*#"[key])


@pytest.mark.parametrize("key", range(12))
def test_8_bit_key_codes_with_complement_nibble(key: int) -> None:
    bits = encode_key(key, bits=8)
    assert bits[:4] == f"{(~key) & 0xF:04b}"
    item = frame(WiegandDecoder(), bits)
    assert isinstance(item, WiegandKey) and item.key == key and item.bits == 8


def test_8_bit_key_with_wrong_complement_is_a_parity_error() -> None:
    dec = WiegandDecoder()
    item = frame(dec, "0000" + "0101")
    assert isinstance(item, WiegandFrameError) and item.reason == "parity"
    assert dec.counters["parity_errors"] == 1 and dec.counters["keys"] == 0


def test_4_bit_code_above_hash_is_an_unknown_key() -> None:
    dec = WiegandDecoder()
    item = frame(dec, "1100")
    assert isinstance(item, WiegandFrameError) and item.reason == "unknown_key"
    assert dec.counters["unknown_keys"] == 1


def test_noise_longer_than_any_frame_is_bad_length_with_bounded_bits() -> None:
    dec = WiegandDecoder()
    item = frame(dec, "10" * 100)
    assert isinstance(item, WiegandFrameError) and item.reason == "bad_length"
    assert len(item.bits) == MAX_BITS + 1
    assert "200-bit" in str(item)


def test_flush_closes_an_open_frame_at_once() -> None:
    dec = WiegandDecoder()
    _, last = feed(dec, W26_123_4567)
    [item] = dec.flush()
    assert isinstance(item, WiegandCard) and item.closed_us == last
    assert dec.flush() == []


def test_counters_add_up_over_a_mixed_stream() -> None:
    dec = WiegandDecoder()
    t = 0
    for bits in (W26_123_4567, W34_4660_22136, encode_key("5"), "1" * 26, "101"):
        _, last = feed(dec, bits, start_us=t)
        dec.poll(last + GAP + 1)
        t = last + 100_000
    assert dec.counters == {"frames": 2, "keys": 1, "parity_errors": 1, "bad_length": 1,
                            "unknown_keys": 0, "edges": 26 + 34 + 8 + 26 + 3}


def test_eof_intervals_ends_a_complete_card_frame_after_that_many_bit_intervals() -> None:
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2)
    _, last = feed(dec, W26_123_4567, interval_us=1000)
    assert dec.deadline_us == last + 2000
    assert dec.poll(last + 2000) == []
    [item] = dec.poll(last + 2001)
    assert isinstance(item, WiegandCard) and item.number == 4567


def test_eof_intervals_never_waits_longer_than_the_gap() -> None:
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2)
    feed(dec, W26_123_4567, interval_us=15_000)
    assert dec.current_gap_us == GAP


def test_eof_intervals_never_waits_less_than_the_minimum_gap() -> None:
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2, min_gap_us=1000)
    feed(dec, W26_123_4567, interval_us=200)
    assert dec.current_gap_us == 1000


def test_eof_intervals_uses_the_longest_interval_of_the_frame() -> None:
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2)
    feed(dec, W26_123_4567[:25], interval_us=1000)
    dec.edge(int(W26_123_4567[25]), 24_000 + 3000)       # the last interval a slower 3 ms
    assert dec.current_gap_us == 6000


def test_eof_intervals_does_not_cut_a_frame_that_pauses_midway() -> None:
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2)
    _, last = feed(dec, W26_123_4567[:13], interval_us=1000)
    assert dec.current_gap_us == GAP                         # 13 bits: not a card yet
    assert dec.poll(last + 10_000) == []                     # a 10-interval pause
    rest, end = feed(dec, W26_123_4567[13:], start_us=last + 10_000, interval_us=1000)
    assert rest == []
    assert dec.current_gap_us == 20_000                      # 2 x its longest interval, the pause
    [item] = dec.poll(end + 20_001)
    assert isinstance(item, WiegandCard) and item.number == 4567


def test_eof_intervals_lets_a_34_bit_frame_run_on_past_26_bits() -> None:
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2)
    early, last = feed(dec, W34_4660_22136, interval_us=1000)
    assert early == []
    [item] = dec.poll(last + 2001)
    assert isinstance(item, WiegandCard) and item.bits == 34 and item.number == 22136


def test_deadline_moves_earlier_when_a_card_completes() -> None:
    # the reader wakes its thread when this happens (it may be asleep until the old deadline)
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2)
    _, last = feed(dec, W26_123_4567[:25], interval_us=1000)
    assert dec.deadline_us == last + GAP
    dec.edge(int(W26_123_4567[25]), last + 1000)
    assert dec.deadline_us == last + 1000 + 2000


def test_eof_intervals_leaves_a_parity_error_to_the_gap() -> None:
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2)
    _, last = feed(dec, "1" * 26, interval_us=1000)
    assert dec.poll(last + 2001) == []
    [item] = dec.poll(last + GAP + 1)
    assert isinstance(item, WiegandFrameError) and item.reason == "parity"


def test_eof_intervals_leaves_key_codes_to_the_gap() -> None:
    dec = WiegandDecoder(gap_us=GAP, eof_intervals=2)
    _, last = feed(dec, encode_key("7"), interval_us=1000)
    assert dec.poll(last + 2001) == []
    [item] = dec.poll(last + GAP + 1)
    assert isinstance(item, WiegandKey) and item.char == "7"


def test_fixed_gap_by_default() -> None:
    dec = WiegandDecoder(gap_us=GAP)
    feed(dec, "1011", interval_us=2000)
    assert dec.current_gap_us == GAP
