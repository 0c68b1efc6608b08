"""Wiegand timing across the SIA range (pulse 20-100 µs, pulse-to-pulse 0.2-20 ms) on mock pins:
the simulator's pulse trains, stamped with SimTicks, through a WiegandReader."""

from __future__ import annotations

import random
import threading
from typing import Iterator

import pytest

from hardware.readers import CardRead, WiegandReader
from hardware.sim import SimFactory, SimTicks, WiegandSimulator
from hardware.sim.wiegand import SIA_INTERVAL_US, SIA_PULSE_US

D0, D1 = 5, 6
FAST, SLOW = (SIA_PULSE_US[0], SIA_INTERVAL_US[0]), (SIA_PULSE_US[1], SIA_INTERVAL_US[1])


class Collected:
    """on_card / on_key: keeps what arrives, lets the test wait for a count."""

    def __init__(self) -> None:
        self.items: list = []
        self._cond = threading.Condition()

    def card(self, read: CardRead) -> None:
        with self._cond:
            self.items.append((read.facility, read.number))
            self._cond.notify_all()

    def key(self, reader: str, key: int) -> None:
        with self._cond:
            self.items.append(key)
            self._cond.notify_all()

    def wait(self, n: int, timeout_s: float = 5.0) -> list:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, timeout_s), self.items
            return list(self.items)


@pytest.fixture
def factory() -> Iterator[SimFactory]:
    f = SimFactory(SimTicks())
    yield f
    f.close()


def start(factory: SimFactory, got: Collected, **kw) -> WiegandReader:
    return WiegandReader(D0, D1, name="lobby-in", pin_factory=factory, on_card=got.card,
                         on_key=got.key, **kw).start()


@pytest.mark.parametrize("pulse_us,interval_us", [FAST, SLOW, (SIA_PULSE_US[1], SIA_INTERVAL_US[0]),
                                                   (SIA_PULSE_US[0], SIA_INTERVAL_US[1])],
                         ids=["fastest", "slowest", "wide-pulse-short-gap", "narrow-pulse-long-gap"])
@pytest.mark.parametrize("bits", [26, 34])
def test_cards_decode_at_each_corner_of_the_sia_range(factory, pulse_us, interval_us, bits) -> None:
    got = Collected()
    with start(factory, got) as reader:
        sim = WiegandSimulator(factory, D0, D1, pulse_us=pulse_us, interval_us=interval_us)
        for n in range(3):
            sim.present_card(200 + n, 65535 - n, bits=bits)
        assert got.wait(3) == [(200 + n, 65535 - n) for n in range(3)]
        assert reader.counters["parity_errors"] == reader.counters["bad_length"] == 0


def test_every_bit_jittered_independently_across_the_range_decodes_100_cards(factory) -> None:
    got = Collected()
    rng = random.Random(2026)
    with start(factory, got) as reader:
        sim = WiegandSimulator(factory, D0, D1, pulse_us=SIA_PULSE_US,
                               interval_us=SIA_INTERVAL_US, rng=rng)
        expected = []
        for n in range(100):
            facility, number = rng.randrange(256), rng.randrange(65536)
            sim.present_card(facility, number, bits=rng.choice((26, 34)))
            expected.append((facility, number))
        assert got.wait(100) == expected
        assert reader.counters["parity_errors"] == reader.counters["bad_length"] == 0


@pytest.mark.parametrize("bits", [4, 8])
def test_keypad_keys_decode_with_jittered_sia_timing(factory, bits) -> None:
    got = Collected()
    with start(factory, got):
        sim = WiegandSimulator(factory, D0, D1, pulse_us=SIA_PULSE_US,
                               interval_us=SIA_INTERVAL_US, rng=random.Random(bits))
        sim.press_keys("0123456789*#", bits=bits)
        assert got.wait(12) == list(range(12))


def test_eof_intervals_decodes_a_reader_with_pulse_jitter_and_10_percent_interval_jitter(factory) -> None:
    # the default eof_intervals (2.0) with one reader's own bit rate steady within ±10 %,
    # pulse width anywhere in the SIA range
    got = Collected()
    with start(factory, got) as reader:
        sim = WiegandSimulator(factory, D0, D1, pulse_us=SIA_PULSE_US, interval_us=(1800, 2200),
                               idle_after_us=10_000, rng=random.Random(3))
        for n in range(20):
            sim.present_card(n, 1000 + n, bits=26 if n % 2 else 34)
        assert got.wait(20) == [(n, 1000 + n) for n in range(20)]
        assert reader.counters["parity_errors"] == reader.counters["bad_length"] == 0
