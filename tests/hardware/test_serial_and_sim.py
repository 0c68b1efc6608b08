"""open_serial, the pty pair and the RDM6300 simulator's bytes."""

from __future__ import annotations

import pytest

from hardware import HardwareError, SerialPortError, encode_frame, open_serial
from hardware.sim import PtyPair, Rdm6300Simulator


def test_open_serial_loop_is_9600_8n1_with_the_read_timeout() -> None:
    port = open_serial("loop://", timeout_s=0.2)
    try:
        assert (port.baudrate, port.bytesize, port.parity, port.stopbits, port.timeout) == \
            (9600, 8, "N", 1, 0.2)
    finally:
        port.close()


def test_open_serial_missing_device_names_the_port(tmp_path) -> None:
    path = str(tmp_path / "ttyUSB9")
    with pytest.raises(SerialPortError, match="ttyUSB9"):
        open_serial(path)


def test_open_serial_refuses_a_zero_timeout() -> None:
    with pytest.raises(SerialPortError):
        open_serial("loop://", timeout_s=0)


def test_pty_pair_carries_bytes_unchanged_to_the_serial_port(pty) -> None:
    port = open_serial(pty.device_path, timeout_s=2)
    try:
        data = bytes(range(256))       # 0x03 (^C), 0x0D, 0x11 (XON) included: raw mode
        pty.write(data)
        got = b""
        while len(got) < len(data):
            chunk = port.read(len(data) - len(got))
            assert chunk, "timed out"
            got += chunk
    finally:
        port.close()
    assert got == data


def test_pty_pair_is_not_open_until_opened() -> None:
    pair = PtyPair()
    with pytest.raises(HardwareError):
        pair.device_path
    pair.close()


def test_simulator_writes_the_real_frames() -> None:
    written: list[bytes] = []
    sim = Rdm6300Simulator(written.append)
    sim.present("0F00B4C5D2", repeats=2)
    sim.truncated("0F00B4C5D2")
    sim.bad_checksum("0F00B4C5D2")
    sim.garbage(b"\x00")
    assert written == [encode_frame("0F00B4C5D2")] * 2 + [
        b"\x020F00B4", b"\x020F00B4C5D253\x03", b"\x00"]
