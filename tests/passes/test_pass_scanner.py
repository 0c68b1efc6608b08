"""The line-based QR/barcode scanner driver: the line splitter (CR, LF, CRLF in any chunking,
over-long and garbage lines) and the reader thread over loop:// and a pty carrying real lines."""

from __future__ import annotations

import threading

import pytest

from hardware import open_serial
from hardware.errors import FrameError, HardwareError
from hardware.readers.scanner import ScanLineDecoder, ScannerReader, ScanRead
from hardware.sim import ScannerSimulator

CODE = "LG1.EGdwLTIwMjYxMTI1"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Scans:
    """on_scan callback the test can wait on."""

    def __init__(self) -> None:
        self.items: list[ScanRead] = []
        self._cond = threading.Condition()

    def __call__(self, read: ScanRead) -> None:
        with self._cond:
            self.items.append(read)
            self._cond.notify_all()

    def wait_count(self, n: int) -> list[ScanRead]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, 5), self.items
            return list(self.items)


def feed_all(decoder: ScanLineDecoder, data: bytes, size: int) -> list:
    out = []
    for i in range(0, len(data), size):
        out += decoder.feed(data[i:i + size])
    return out


# -- the line splitter -------------------------------------------------------------------------

@pytest.mark.parametrize("end", [b"\r", b"\n", b"\r\n"])
@pytest.mark.parametrize("size", [1, 2, 7, 1000])
def test_any_terminator_in_any_chunking_gives_the_same_lines(end: bytes, size: int) -> None:
    stream = b"A1" + end + CODE.encode() + end + b"B2" + end
    assert feed_all(ScanLineDecoder(), stream, size) == ["A1", CODE, "B2"]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    d = ScanLineDecoder()
    assert d.feed(b"A1\r") == ["A1"]
    assert d.feed(b"\nB2\r\n") == ["B2"]


def test_empty_lines_are_skipped() -> None:
    assert ScanLineDecoder().feed(b"\r\r\n\nA1\n\n") == ["A1"]


def test_cr_terminator_ignores_line_feeds() -> None:
    assert ScanLineDecoder(terminator="cr").feed(b"\nA1\r\nB2\r") == ["A1", "B2"]


def test_lf_terminator_ignores_carriage_returns() -> None:
    assert ScanLineDecoder(terminator="lf").feed(b"A1\rX\n") == ["A1X"]


def test_overlong_line_is_dropped_up_to_its_end_and_counted() -> None:
    d = ScanLineDecoder(max_line=16)
    out = d.feed(b"B" * 40 + b"\r\n" + b"A1\r\n")
    assert isinstance(out[0], FrameError) and out[0].reason == "overlong"
    assert out[1:] == ["A1"] and d.counters == {"lines": 1, "overlong": 1, "garbage": 0}


def test_line_of_exactly_max_line_bytes_is_accepted() -> None:
    assert ScanLineDecoder(max_line=16).feed(b"C" * 16 + b"\n") == ["C" * 16]


@pytest.mark.parametrize("raw", [b"\xff\xfe\x80", b"AB\x02CD", b"\x1b[0m"])
def test_non_text_line_is_garbage(raw: bytes) -> None:
    d = ScanLineDecoder()
    [error, line] = d.feed(raw + b"\n" + b"A1\n")
    assert isinstance(error, FrameError) and error.reason == "garbage" and line == "A1"
    assert d.garbage == 1


def test_utf8_text_is_a_line() -> None:
    assert ScanLineDecoder().feed("物品放行-0007\r\n".encode()) == ["物品放行-0007"]


def test_unknown_terminator_is_refused() -> None:
    with pytest.raises(HardwareError, match="terminator"):
        ScanLineDecoder(terminator="tab")  # type: ignore[arg-type]


# -- the reader thread --------------------------------------------------------------------------

def test_reads_a_code_over_loop_port(loop_port) -> None:
    scans, clock = Scans(), Clock()
    with ScannerReader(loop_port, name="gate", on_scan=scans, clock=clock):
        ScannerSimulator(loop_port.write).scan(CODE)
        [read] = scans.wait_count(1)
    assert read == ScanRead(reader="gate", code=CODE, at=100.0)


def test_reads_a_code_over_a_pty_in_pieces(pty) -> None:
    scans = Scans()
    port = open_serial(pty.device_path)
    with ScannerReader(port, name="gate", on_scan=scans, clock=Clock()):
        ScannerSimulator(pty.write, terminator="cr").scan_in_pieces(CODE, 5)
        [read] = scans.wait_count(1)
    assert read.code == CODE


def test_repeats_within_the_window_are_one_scan(loop_port) -> None:
    scans, clock = Scans(), Clock()
    with ScannerReader(loop_port, name="gate", on_scan=scans, clock=clock,
                       repeat_window_s=2.0) as reader:
        ScannerSimulator(loop_port.write).scan(CODE, repeats=5)
        assert reader.wait_for(lambda c: c["lines"] == 5)
        clock.now += 2.5
        ScannerSimulator(loop_port.write).scan(CODE)
        scans.wait_count(2)
        assert reader.counters["repeats_suppressed"] == 4 and reader.counters["scans"] == 2


def test_a_different_code_is_reported_at_once(loop_port) -> None:
    scans = Scans()
    with ScannerReader(loop_port, name="gate", on_scan=scans, clock=Clock()):
        sim = ScannerSimulator(loop_port.write)
        sim.scan("A1")
        sim.scan("B2")
        assert [r.code for r in scans.wait_count(2)] == ["A1", "B2"]


def test_noise_is_reported_counted_and_reading_goes_on(loop_port) -> None:
    scans, errors = Scans(), []
    with ScannerReader(loop_port, name="gate", on_scan=scans, on_error=errors.append,
                       clock=Clock(), max_line=64) as reader:
        sim = ScannerSimulator(loop_port.write)
        sim.garbage(b"\x00\xff\x13\r\n")
        sim.overlong(200)
        sim.scan(CODE)
        scans.wait_count(1)
        assert reader.wait_for(lambda c: c["garbage"] == 1 and c["overlong"] == 1)
    assert [e.reason for e in errors] == ["garbage", "overlong"]


def test_a_failing_callback_is_counted_and_reading_goes_on(loop_port) -> None:
    scans = Scans()

    def flaky(read: ScanRead) -> None:
        if read.code == "A1":
            raise RuntimeError("boom")
        scans(read)

    with ScannerReader(loop_port, name="gate", on_scan=flaky, clock=Clock()) as reader:
        sim = ScannerSimulator(loop_port.write)
        sim.scan("A1")
        sim.scan("B2")
        scans.wait_count(1)
        assert reader.counters["callback_errors"] == 1


def test_a_closed_pty_is_a_serial_error_then_reopened(pty) -> None:
    from hardware.sim import PtyPair
    scans, errors = Scans(), []
    second = PtyPair().open()
    ports = iter([open_serial(pty.device_path), open_serial(second.device_path)])
    try:
        with ScannerReader(None, name="gate", on_scan=scans, on_error=errors.append,
                           clock=Clock(), reopen=lambda: next(ports)) as reader:
            assert reader.wait_for(lambda c: c["reopens"] == 1)
            pty.close()                                          # the adapter is unplugged
            assert reader.wait_for(lambda c: c["reopens"] == 2)
            ScannerSimulator(second.write).scan(CODE)
            assert scans.wait_count(1)[0].code == CODE
        assert errors and errors[0].__class__.__name__ == "SerialPortError"
    finally:
        second.close()


def test_close_is_idempotent_and_start_after_close_fails(loop_port) -> None:
    reader = ScannerReader(loop_port, name="gate", on_scan=Scans()).start()
    reader.close()
    reader.close()
    with pytest.raises(HardwareError, match="closed"):
        reader.start()
