"""RDM6300 reader bench: decoder throughput, and card-read latency from the serial write to the
``on_card`` callback over a real pty pair (the path a USB-serial adapter takes).

Usage: python bench/reader.py [--frames N] [--reads N]
Prints readable lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

from hardware import CardRead, Rdm6300Decoder, Rdm6300Reader, encode_frame, open_serial
from hardware.sim import PtyPair, Rdm6300Simulator


def decoder_throughput(frames: int, chunk: int = 4096) -> dict[str, float]:
    """Frames per second the pure decoder parses from 4 KiB chunks."""
    stream = b"".join(encode_frame(f"{i % 0xFFFFFFFFFF:010X}") for i in range(frames))
    decoder = Rdm6300Decoder()
    start = time.perf_counter()
    for i in range(0, len(stream), chunk):
        decoder.feed(stream[i:i + chunk])
    elapsed = time.perf_counter() - start
    assert decoder.frames == frames, decoder.counters
    return {"frames": frames, "elapsed_s": round(elapsed, 4), "frames_per_s": round(frames / elapsed),
            "mb_per_s": round(len(stream) / elapsed / 1e6, 2)}


def read_latency(reads: int) -> dict[str, float]:
    """Write one frame into the pty master, time until on_card runs in the reader thread."""
    arrived = threading.Event()
    stamp: list[float] = []

    def on_card(read: CardRead) -> None:
        stamp.append(time.perf_counter())
        arrived.set()

    latencies_ms: list[float] = []
    with PtyPair() as pty:
        sim = Rdm6300Simulator(pty.write)
        with Rdm6300Reader(open_serial(pty.device_path), name="bench", on_card=on_card,
                           repeat_window_s=0.5) as reader:
            for i in range(reads):
                arrived.clear()
                stamp.clear()
                start = time.perf_counter()
                sim.present(f"{i + 1:010X}")          # a different card each time: never a repeat
                if not arrived.wait(5):
                    raise SystemExit(f"read {i} never arrived: {reader.counters}")
                latencies_ms.append((stamp[0] - start) * 1000)
            counters = reader.counters
    assert counters["reads"] == reads, counters
    q = statistics.quantiles(latencies_ms, n=100)
    return {"reads": reads, "p50_ms": round(q[49], 3), "p99_ms": round(q[98], 3),
            "max_ms": round(max(latencies_ms), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50_000, help="frames for the decoder (default 50000)")
    ap.add_argument("--reads", type=int, default=300, help="card reads over the pty (default 300)")
    args = ap.parse_args()

    dec = decoder_throughput(args.frames)
    print(f"decoder: {dec['frames']} frames in {dec['elapsed_s']} s = {dec['frames_per_s']} frames/s "
          f"({dec['mb_per_s']} MB/s); the wire carries at most 68 frames/s at 9600 baud")
    lat = read_latency(args.reads)
    print(f"pty read latency over {lat['reads']} reads: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
          f"max {lat['max_ms']} ms (write to on_card; excludes the 14.6 ms a frame takes at 9600 baud)")
    print(json.dumps({"bench": "reader", "decoder": dec, "pty_read": lat}))


if __name__ == "__main__":
    main()
