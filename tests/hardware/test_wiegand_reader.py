"""WiegandReader on mock pins, driven by the simulator's real pulse trains.

Most tests use SimFactory: the pins' edge timestamps come from SimTicks, which the simulator
advances by real Wiegand timings, so framing is deterministic however fast the test runs.
"""

from __future__ import annotations

import random
import threading
from typing import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from hardware import DigitalInput, HardwareError, PinConfigError
from hardware.readers import CardRead, WiegandFrameError, WiegandReader, encode_card
from hardware.readers.wiegand import WAKE_MARGIN_S
from hardware.sim import SimFactory, SimTicks, WiegandSimulator
from hardware.sim.wiegand import SIA_INTERVAL_US, SIA_PULSE_US

D0, D1 = 5, 6


class Cards:
    """on_card: keeps reads, lets the test wait for a count."""

    def __init__(self) -> None:
        self.reads: list[CardRead] = []
        self._cond = threading.Condition()

    def __call__(self, read: CardRead) -> None:
        with self._cond:
            self.reads.append(read)
            self._cond.notify_all()

    def wait(self, n: int, timeout_s: float = 5.0) -> list[CardRead]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.reads) >= n, timeout_s), self.reads
            return list(self.reads)


@pytest.fixture
def factory() -> Iterator[SimFactory]:
    f = SimFactory(SimTicks())
    yield f
    f.close()


@pytest.fixture
def cards() -> Cards:
    return Cards()


def reader(factory: MockFactory, cards: Cards, **kw) -> WiegandReader:
    return WiegandReader(D0, D1, name="lobby-in", pin_factory=factory, on_card=cards, **kw)


def test_26_bit_card_is_reported_with_facility_number_and_raw_hex(factory, cards) -> None:
    with reader(factory, cards, clock=lambda: 42.0):
        WiegandSimulator(factory, D0, D1).present_card(123, 4567)
        [read] = cards.wait(1)
    assert read == CardRead(reader="lobby-in", card="2F623AE", number=4567, facility=123,
                            at=42.0, format="wiegand26")


def test_34_bit_card_is_reported(factory, cards) -> None:
    with reader(factory, cards):
        WiegandSimulator(factory, D0, D1).present_card(4660, 22136, bits=34)
        [read] = cards.wait(1)
    assert (read.format, read.facility, read.number) == ("wiegand34", 4660, 22136)


def test_keypad_8_bit_keys_arrive_in_order(factory, cards) -> None:
    keys: list[tuple[str, int]] = []
    with reader(factory, cards, on_key=lambda name, key: keys.append((name, key))) as r:
        WiegandSimulator(factory, D0, D1).press_keys("1234#")
        assert r.wait_for(lambda c: c["keys"] == 5)
    assert keys == [("lobby-in", 1), ("lobby-in", 2), ("lobby-in", 3), ("lobby-in", 4),
                    ("lobby-in", 11)]


def test_keypad_4_bit_keys(factory, cards) -> None:
    keys: list[int] = []
    with reader(factory, cards, on_key=lambda name, key: keys.append(key)) as r:
        WiegandSimulator(factory, D0, D1).press_keys("90*", bits=4)
        assert r.wait_for(lambda c: c["keys"] == 3)
    assert keys == [9, 0, 10]


def test_parity_error_goes_to_on_error_and_is_counted(factory, cards) -> None:
    errors: list[WiegandFrameError] = []
    with reader(factory, cards, on_error=errors.append) as r:
        corrupted = "0" + "01111011" + "0001000111010111" + "0"   # leading parity flipped
        WiegandSimulator(factory, D0, D1).send_bits(corrupted)
        assert r.wait_for(lambda c: c["parity_errors"] == 1)
    assert [e.reason for e in errors] == ["parity"] and errors[0].bits == corrupted
    assert cards.reads == []


def test_half_frame_then_a_good_card(factory, cards) -> None:
    errors: list[WiegandFrameError] = []
    with reader(factory, cards, on_error=errors.append) as r:
        sim = WiegandSimulator(factory, D0, D1)
        sim.send_bits("1011110110001")          # the card pulled away half-way
        sim.present_card(123, 4567)
        cards.wait(1)
        assert r.wait_for(lambda c: c["bad_length"] == 1 and c["frames"] == 1)
    assert [e.reason for e in errors] == ["bad_length"]
    assert cards.reads[0].number == 4567


def test_frames_are_split_by_the_edges_timestamps_not_by_when_callbacks_ran(factory, cards) -> None:
    # both frames' edges are delivered within microseconds of wall time; only their ticks
    # say 30 ms of silence separated them
    with reader(factory, cards):
        sim = WiegandSimulator(factory, D0, D1)
        sim.send_bits("10111101100010001110101110", idle_after=False)
        sim.idle(30_000)
        sim.present_card(7, 8)
        reads = cards.wait(2)
    assert [(r.facility, r.number) for r in reads] == [(123, 4567), (7, 8)]


def test_jittered_pulses_across_the_sia_range_decode(factory, cards) -> None:
    rng = random.Random(7)
    with reader(factory, cards) as r:
        sim = WiegandSimulator(factory, D0, D1, pulse_us=SIA_PULSE_US, interval_us=SIA_INTERVAL_US,
                               rng=rng)
        for n in range(20):
            sim.present_card(n, 60000 + n, bits=26 if n % 2 else 34)
        reads = cards.wait(20)
        assert r.counters["parity_errors"] == 0 and r.counters["bad_length"] == 0
    assert [(x.facility, x.number) for x in reads] == [(n, 60000 + n) for n in range(20)]


def test_on_card_exception_is_counted_and_reading_goes_on(factory) -> None:
    seen = threading.Event()

    def broken(read: CardRead) -> None:
        if read.number == 1:
            raise RuntimeError("consumer bug")
        seen.set()

    with WiegandReader(D0, D1, name="r", pin_factory=factory, on_card=broken) as r:
        sim = WiegandSimulator(factory, D0, D1)
        sim.present_card(1, 1)
        sim.present_card(1, 2)
        assert seen.wait(5)
        assert r.wait_for(lambda c: c["reads"] == 2 and c["callback_errors"] == 1)


def test_works_on_a_plain_mock_factory_with_real_ticks(cards) -> None:
    factory = MockFactory()
    try:
        with reader(factory, cards):
            WiegandSimulator(factory, D0, D1).present_card(123, 4567)   # ends after real silence
            [read] = cards.wait(1)
        assert read.number == 4567
    finally:
        factory.close()


def test_constructing_claims_nothing_start_claims_the_pins(factory, cards) -> None:
    r = reader(factory, cards)
    DigitalInput(D0, name="free-still", pin_factory=factory).close()
    r.start()
    with pytest.raises(PinConfigError):
        DigitalInput(D0, name="taken", pin_factory=factory)
    r.close()


def test_pins_in_use_are_refused(factory, cards) -> None:
    with DigitalInput(D1, name="exit-button", pin_factory=factory):
        with pytest.raises(PinConfigError):
            reader(factory, cards).start()
        # the failed start released D0 again
        DigitalInput(D0, name="d0-free", pin_factory=factory).close()


def test_close_is_idempotent_frees_the_pins_and_stops_callbacks(factory, cards) -> None:
    r = reader(factory, cards).start()
    r.close()
    r.close()
    with pytest.raises(HardwareError):
        r.start()
    with DigitalInput(D0, name="again", pin_factory=factory):
        pass
    # pulses on the released pins reach nobody
    factory.pin(D1).drive_low()
    factory.pin(D1).drive_high()
    assert cards.reads == [] and r.counters["edges"] == 0


def test_cards_end_two_bit_intervals_after_the_last_edge_by_default(factory, cards) -> None:
    with reader(factory, cards):
        sim = WiegandSimulator(factory, D0, D1, idle_after_us=4_500)   # 2.25 intervals of 2 ms
        sim.present_card(123, 4567)
        sim.present_card(124, 4568)
        reads = cards.wait(2)
    assert [(r.facility, r.number) for r in reads] == [(123, 4567), (124, 4568)]


def test_eof_intervals_off_waits_the_whole_gap(factory, cards) -> None:
    with reader(factory, cards, eof_intervals=None) as r:
        sim = WiegandSimulator(factory, D0, D1, idle_after_us=4_500)
        sim.present_card(123, 4567)
        sim.present_card(124, 4568)                 # 4.5 ms apart: one 52-bit frame
        sim.idle(30_000)
        assert r.wait_for(lambda c: c["bad_length"] == 1)
    assert cards.reads == []


def test_reader_thread_wakes_right_after_the_end_of_frame_deadline(factory, cards) -> None:
    # a wait that ends just before the deadline must not be followed by a fixed slice (it was
    # 0.5 ms: half a bit interval at 1 ms/bit added to the end-of-frame wait)
    with reader(factory, cards) as r:
        WiegandSimulator(factory, D0, D1).send_bits(encode_card(123, 4567), idle_after=False)
        with r._cond:
            deadline = r._decoder.deadline_us
            assert deadline is not None
            factory.sim_ticks.advance_us(deadline - r._now_us() - 10)     # 10 µs before it
            assert r._wait_s() <= 10e-6 + WAKE_MARGIN_S + 1e-6
            assert WAKE_MARGIN_S <= 0.0001
        factory.sim_ticks.advance_us(20)                                  # past it: closed
        [read] = cards.wait(1)
    assert (read.facility, read.number) == (123, 4567)
