"""Rdm6300Reader over real serial transports (pyserial loop:// and a pty pair) carrying real
frames; repeat suppression with a fake clock; failures never stop the reader thread."""

from __future__ import annotations

import threading

import pytest

from hardware import (CardRead, FrameError, HardwareError, Rdm6300Reader, SerialPortError,
                      open_serial)
from hardware.sim import PtyPair, Rdm6300Simulator

CARD = "0F00B4C5D2"
OTHER = "1A2B3C4D5E"


def settled(reader: Rdm6300Reader, frames: int) -> dict[str, int]:
    """Wait until the reader thread has handled ``frames`` good frames; return its counters."""
    assert reader.wait_for(lambda c: c["frames"] >= frames, timeout_s=5), reader.counters
    return reader.counters


def test_reads_a_card_over_loop_port(loop_port, clock, collector) -> None:
    with Rdm6300Reader(loop_port, name="lobby-in", on_card=collector, clock=clock):
        Rdm6300Simulator(loop_port.write).present(CARD)
        [read] = collector.wait_count(1)
    assert read == CardRead(reader="lobby-in", card=CARD, number=0x00B4C5D2, facility=0x0F,
                            at=clock.now, format="em4100")


def test_reads_a_card_over_a_pty_pair(pty, clock, collector) -> None:
    port = open_serial(pty.device_path)
    with Rdm6300Reader(port, name="gate", on_card=collector, clock=clock):
        Rdm6300Simulator(pty.write).present(OTHER)
        [read] = collector.wait_count(1)
    assert (read.card, read.number, read.facility) == (OTHER, 0x2B3C4D5E, 0x1A)


def test_held_card_repeats_collapse_into_one_read(loop_port, clock, collector) -> None:
    sim = Rdm6300Simulator(loop_port.write)
    with Rdm6300Reader(loop_port, name="lobby", on_card=collector, clock=clock,
                       repeat_window_s=0.5) as reader:
        for i in range(10):                       # a frame every 80 ms for 0.8 s
            sim.present(CARD)
            settled(reader, i + 1)
            clock.now += 0.08
        counters = reader.counters
    assert len(collector.items) == 1
    assert counters["reads"] == 1 and counters["repeats_suppressed"] == 9


def test_card_presented_again_after_the_window_is_reported_again(loop_port, clock, collector) -> None:
    sim = Rdm6300Simulator(loop_port.write)
    with Rdm6300Reader(loop_port, name="lobby", on_card=collector, clock=clock,
                       repeat_window_s=0.5) as reader:
        sim.present(CARD, repeats=3)
        settled(reader, 3)
        clock.now += 0.6                          # card away for 0.6 s > window
        sim.present(CARD)
        reads = collector.wait_count(2)
    assert [r.at for r in reads] == [clock.now - 0.6, clock.now]


def test_a_different_card_is_reported_at_once(loop_port, clock, collector) -> None:
    sim = Rdm6300Simulator(loop_port.write)
    with Rdm6300Reader(loop_port, name="lobby", on_card=collector, clock=clock):
        sim.present(CARD)
        sim.present(OTHER)
        reads = collector.wait_count(2)
    assert [r.card for r in reads] == [CARD, OTHER]


def test_bad_frames_reach_on_error_and_good_cards_still_read(loop_port, clock, collector) -> None:
    errors: list[HardwareError] = []
    sim = Rdm6300Simulator(loop_port.write)
    with Rdm6300Reader(loop_port, name="lobby", on_card=collector, on_error=errors.append,
                       clock=clock) as reader:
        sim.garbage(b"\xff\xfe")
        sim.truncated(OTHER)
        sim.bad_checksum(OTHER)
        sim.present(CARD)
        collector.wait_count(1)
        counters = settled(reader, 1)
    assert [e.reason for e in errors if isinstance(e, FrameError)] == ["garbage", "malformed", "checksum"]
    assert counters["garbage_bytes"] == 2 and counters["malformed"] == 1
    assert counters["checksum_errors"] == 1 and counters["reads"] == 1


def test_on_card_exception_does_not_stop_the_reader(loop_port, clock, collector) -> None:
    def on_card(read: CardRead) -> None:
        collector(read)
        if read.card == CARD:
            raise RuntimeError("consumer bug")

    sim = Rdm6300Simulator(loop_port.write)
    with Rdm6300Reader(loop_port, name="lobby", on_card=on_card, clock=clock) as reader:
        sim.present(CARD)
        collector.wait_count(1)
        sim.present(OTHER)
        reads = collector.wait_count(2)
        counters = settled(reader, 2)
    assert [r.card for r in reads] == [CARD, OTHER]
    assert counters["callback_errors"] == 1


def test_on_error_exception_does_not_stop_the_reader(loop_port, clock, collector) -> None:
    def on_error(error: HardwareError) -> None:
        raise RuntimeError("consumer bug")

    sim = Rdm6300Simulator(loop_port.write)
    with Rdm6300Reader(loop_port, name="lobby", on_card=collector, on_error=on_error,
                       clock=clock) as reader:
        sim.bad_checksum(CARD)
        sim.present(OTHER)
        collector.wait_count(1)
        assert reader.wait_for(lambda c: c["callback_errors"] == 1)


class FailingPort:
    """A port whose adapter is gone: every read raises, as pyserial does on EIO."""

    timeout = 0.1

    def __init__(self) -> None:
        self.reads = 0
        self.closed = False

    def read(self, size: int = 1) -> bytes:
        import serial
        self.reads += 1
        raise serial.SerialException("read failed: [Errno 5] Input/output error")

    @property
    def in_waiting(self) -> int:
        return 0

    def close(self) -> None:
        self.closed = True


def test_a_failing_port_is_retried_after_the_back_off_not_at_once(clock, collector) -> None:
    port = FailingPort()
    errors: list[HardwareError] = []
    reader = Rdm6300Reader(port, name="lobby", on_card=collector, on_error=errors.append,
                           clock=clock, backoff_s=30.0, max_backoff_s=60.0).start()
    try:
        assert reader.wait_for(lambda c: c["serial_errors"] >= 1)
    finally:
        reader.close()                 # interrupts the 30 s back-off
    assert port.reads == 1 and reader.counters["serial_errors"] == 1
    assert isinstance(errors[0], SerialPortError)
    assert port.closed


def test_unplugged_adapter_is_reopened_and_reading_resumes(clock, collector) -> None:
    first, second = PtyPair().open(), PtyPair().open()
    attempts: list[str] = []

    def reopen():
        attempts.append("try")
        if len(attempts) == 1:
            raise SerialPortError("cannot open /dev/ttyUSB0: no such device")  # not back yet
        return open_serial(second.device_path)

    try:
        with Rdm6300Reader(open_serial(first.device_path), name="gate", on_card=collector,
                           clock=clock, reopen=reopen, backoff_s=0.01) as reader:
            first.close()                                  # adapter unplugged
            assert reader.wait_for(lambda c: c["reopens"] == 1)
            Rdm6300Simulator(second.write).present(CARD)
            [read] = collector.wait_count(1)
            counters = reader.counters
    finally:
        first.close()
        second.close()
    assert read.card == CARD
    assert counters["serial_errors"] == 2       # the read on the dead pty, then the failed reopen


def test_port_none_with_reopen_opens_the_port_in_the_thread(pty, clock, collector) -> None:
    with Rdm6300Reader(None, name="gate", on_card=collector, clock=clock,
                       reopen=lambda: open_serial(pty.device_path)) as reader:
        assert reader.wait_for(lambda c: c["reopens"] == 1)
        Rdm6300Simulator(pty.write).present(CARD)
        collector.wait_count(1)


def test_close_joins_the_thread_closes_the_port_and_is_idempotent(loop_port, collector) -> None:
    reader = Rdm6300Reader(loop_port, name="door-7", on_card=collector).start()
    assert any(t.name == "rdm6300-door-7" for t in threading.enumerate())
    reader.close()
    reader.close()
    assert not any(t.name == "rdm6300-door-7" for t in threading.enumerate())
    assert not loop_port.is_open


def test_constructing_starts_no_thread(loop_port, collector) -> None:
    Rdm6300Reader(loop_port, name="door-8", on_card=collector)
    assert not any(t.name == "rdm6300-door-8" for t in threading.enumerate())


def test_start_after_close_is_refused(loop_port, collector) -> None:
    reader = Rdm6300Reader(loop_port, name="lobby", on_card=collector)
    reader.close()
    with pytest.raises(HardwareError):
        reader.start()


def test_a_non_blocking_port_is_refused(collector) -> None:
    port = open_serial("loop://")
    port.timeout = 0
    try:
        with pytest.raises(SerialPortError):
            Rdm6300Reader(port, name="lobby", on_card=collector)
    finally:
        port.close()


def test_counters_is_a_copy(loop_port, collector) -> None:
    reader = Rdm6300Reader(loop_port, name="lobby", on_card=collector)
    reader.counters["reads"] = 99
    assert reader.counters["reads"] == 0
