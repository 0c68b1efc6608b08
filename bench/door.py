"""Door access bench: decision latency over large credential sets, snapshot load time, Wiegand
decode rate, and the Wiegand reader's end-of-frame wait on mock pins.

Scenarios:
  decide_<n>     a credentials snapshot of n credentials (10 % on a schedule, 5 % contractors,
                 2 % disabled) parsed from its JSON bytes (SyncSnapshot + CredentialSet), then
                 --decisions reads through AccessDecider.decide (90 % known cards): p50/p99 per read
  pin_verify     one PBKDF2 PIN check at the default iteration count
  decoder        WiegandDecoder fed --frames 26-bit frames as timestamped edges
  reader_eof     WiegandReader on a plain MockFactory (real monotonic ticks), frames paced in real
                 time (50 µs pulses every 2 ms): from the last falling edge of a frame to on_card,
                 over --reads frames, with the fixed 25 ms end-of-frame gap (eof_intervals off)
                 and with the default eof_intervals=2 (a complete card ends after 2 bit
                 intervals of silence)

    python bench/door.py [--sizes 10000,100000] [--decisions 20000] [--frames 20000] [--reads 200]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from typing import Any

from gpiozero.pins.mock import MockFactory

from edge.access import AccessDecider, CredentialSet, Decision, hash_pin, verify_pin
from hardware.readers import CardRead, WiegandDecoder, WiegandReader, encode_card
from hardware.readers.wiegand import DEFAULT_EOF_INTERVALS
from mqtt_topics import SyncSnapshot

DAY_MS = 86_400_000
NOW_S = 1_748_829_600.0          # Monday 2025-06-02 10:00 in Shanghai


def build_snapshot(n: int, rng: random.Random) -> bytes:
    now_ms = int(NOW_S * 1000)
    creds = []
    for i in range(n):
        c: dict[str, Any] = {"id": f"c-{i}", "cards": [f"w34:{i >> 16}:{i & 0xFFFF}"],
                             "holder": f"住户{i}", "unit": f"{i % 30 + 1}-{i % 4 + 1}-{i % 2000 + 101}",
                             "kind": "resident", "doors": "*"}
        r = i % 100
        if r < 10:
            c["schedule"] = "day"
        elif r < 15:
            c.update(kind="contractor", doors=["lobby"], valid_from=now_ms - DAY_MS,
                     valid_until=now_ms + 90 * DAY_MS)
        elif r < 17:
            c["enabled"] = False
        creds.append(c)
    data = {"format": 1, "timezone": "Asia/Shanghai", "holidays": ["2025-10-01"],
            "schedules": {"day": {"week": {d: ["07:00-22:00"] for d in
                                           ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}},
            "credentials": creds}
    return SyncSnapshot(dataset="credentials", version=1, ts=int(NOW_S * 1000), data=data).to_json()


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


def decide_scenario(n: int, decisions: int) -> dict[str, Any]:
    rng = random.Random(n)
    wire = build_snapshot(n, rng)
    start = time.perf_counter()
    creds = CredentialSet.from_snapshot(SyncSnapshot.from_json(wire))
    load_s = time.perf_counter() - start
    assert len(creds) == n and not creds.rejected, creds
    decider = AccessDecider("lobby", creds, clock=lambda: NOW_S, lockout_after=0)
    cards = [f"w34:{(i >> 16)}:{i & 0xFFFF}" if rng.random() < 0.9 else f"w26:{rng.randrange(256)}:1"
             for i in (rng.randrange(n) for _ in range(decisions))]
    lat: list[float] = []
    granted = 0
    for card in cards:
        t0 = time.perf_counter()
        result = decider.decide(card, reader="lobby-in")
        lat.append((time.perf_counter() - t0) * 1000)
        granted += isinstance(result, Decision) and result.granted
    lookups: list[float] = []
    for card in cards[:5000]:
        t0 = time.perf_counter()
        creds.lookup(card)
        lookups.append((time.perf_counter() - t0) * 1000)
    return {"credentials": n, "snapshot_mb": round(len(wire) / 1e6, 2), "load_s": round(load_s, 3),
            "decisions": decisions, "granted": granted,
            "decide_p50_ms": round(pct(lat, 50), 4), "decide_p99_ms": round(pct(lat, 99), 4),
            "lookup_p99_ms": round(pct(lookups, 99), 5)}


def pin_scenario() -> dict[str, Any]:
    h = hash_pin("482193")
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        assert verify_pin("482193", h)
        times.append((time.perf_counter() - t0) * 1000)
    return {"iterations": int(h.split("$")[1]), "pin_verify_p50_ms": round(statistics.median(times), 2)}


def decoder_scenario(frames: int) -> dict[str, Any]:
    edges = []
    t = 0
    for i in range(frames):
        for bit in encode_card(i & 0xFF, i & 0xFFFF):
            edges.append((int(bit), t))
            t += 2000
        t += 50_000
    dec = WiegandDecoder()
    start = time.perf_counter()
    got = 0
    for line, tick in edges:
        got += len(dec.edge(line, tick))
    got += len(dec.flush())
    elapsed = time.perf_counter() - start
    assert got == frames and dec.frames == frames, dec.counters
    return {"frames": frames, "elapsed_s": round(elapsed, 3),
            "frames_per_s": round(frames / elapsed), "edges_per_s": round(len(edges) / elapsed)}


def send_paced(lines: tuple[Any, Any], bits: str, *, pulse_s: float = 50e-6,
               interval_s: float = 0.002, spin_s: float = 0.001) -> tuple[float, float]:
    """Drive a frame on the mock pins in real time (50 µs pulses every 2 ms, as a reader does:
    sleep most of each interval so the reader thread gets the GIL, spin the last ``spin_s``).
    Returns (monotonic time of the last falling edge, the longest interval actually sent, s):
    on a loaded host a late edge makes that interval longer than 2 ms."""
    start = time.monotonic()
    last = prev = start
    longest = 0.0
    for n, bit in enumerate(bits):
        t = start + n * interval_s
        ahead = t - time.monotonic()
        if ahead > spin_s:
            time.sleep(ahead - spin_s)
        while time.monotonic() < t:
            pass
        pin = lines[int(bit)]
        pin.drive_low()
        last = time.monotonic()
        if n:
            longest = max(longest, last - prev)
        prev = last
        while time.monotonic() < last + pulse_s:
            pass
        pin.drive_high()
    return last, longest


def reader_eof_scenario(reads: int, eof_intervals: float | None) -> dict[str, Any]:
    """Frames through a WiegandReader on real ticks; a frame the reader split (a sender edge
    late by more than the end-of-frame silence) is counted in ``split_frames``, not timed."""
    arrived = threading.Event()
    stamps: list[float] = []

    def on_card(read: CardRead) -> None:
        stamps.append(time.monotonic())
        arrived.set()

    factory = MockFactory()
    eof: list[float] = []
    late_ms: list[float] = []
    split = 0
    try:
        with WiegandReader(5, 6, name="bench", pin_factory=factory, on_card=on_card,
                           eof_intervals=eof_intervals) as reader:
            lines = (factory.pin(5), factory.pin(6))
            for i in range(reads):
                arrived.clear()
                stamps.clear()
                before = reader.counters["bad_length"] + reader.counters["parity_errors"]
                last_edge, longest = send_paced(lines, encode_card(i & 0xFF, i & 0xFFFF))
                late_ms.append(longest * 1000)
                if not arrived.wait(0.5):
                    if not reader.wait_for(lambda c: c["bad_length"] + c["parity_errors"] > before,
                                           timeout_s=5):
                        raise SystemExit(f"read {i} never arrived: {reader.counters}")
                    split += 1
                    continue
                eof.append((stamps[0] - last_edge) * 1000)
            counters = reader.counters
    finally:
        factory.close()
    assert counters["reads"] == reads - split, counters
    return {"reads": reads, "eof_intervals": eof_intervals, "split_frames": split,
            "sent_interval_max_ms": round(max(late_ms), 2),
            "eof_p50_ms": round(pct(eof, 50), 2), "eof_p99_ms": round(pct(eof, 99), 2),
            "eof_max_ms": round(max(eof), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="credential counts (default 10000,100000)")
    ap.add_argument("--decisions", type=int, default=20_000, help="reads decided per size (default 20000)")
    ap.add_argument("--frames", type=int, default=20_000, help="frames for the decoder (default 20000)")
    ap.add_argument("--reads", type=int, default=200, help="frames through the reader (default 200)")
    args = ap.parse_args()

    out: dict[str, Any] = {"bench": "door"}
    for n in (int(s) for s in args.sizes.split(",")):
        r = decide_scenario(n, args.decisions)
        print(f"{n} credentials: snapshot {r['snapshot_mb']} MB loaded in {r['load_s']} s; "
              f"decide p50 {r['decide_p50_ms']} ms, p99 {r['decide_p99_ms']} ms over {r['decisions']} "
              f"reads ({r['granted']} granted); lookup p99 {r['lookup_p99_ms']} ms")
        out[f"decide_{n}"] = r
    pin = pin_scenario()
    print(f"PIN check (PBKDF2-SHA256, {pin['iterations']} iterations): {pin['pin_verify_p50_ms']} ms "
          "(outside the decider's lock; card+PIN doors only)")
    out["pin_verify"] = pin
    dec = decoder_scenario(args.frames)
    print(f"Wiegand decoder: {dec['frames']} 26-bit frames in {dec['elapsed_s']} s = "
          f"{dec['frames_per_s']} frames/s ({dec['edges_per_s']} edges/s); the wire carries ~13 frames/s")
    out["decoder"] = dec
    for name, factor, what in (("reader_eof_fixed_gap", None, "eof_intervals off: fixed 25 ms gap"),
                               ("reader_eof", DEFAULT_EOF_INTERVALS,
                                f"default eof_intervals={DEFAULT_EOF_INTERVALS:g}, 2 ms bits")):
        eof = reader_eof_scenario(args.reads, factor)
        print(f"Wiegand reader end of frame ({what}; last edge -> on_card): p50 "
              f"{eof['eof_p50_ms']} ms, p99 {eof['eof_p99_ms']} ms, max {eof['eof_max_ms']} ms "
              f"over {eof['reads']} reads; {eof['split_frames']} frames split by a late sender edge "
              f"(longest interval sent {eof['sent_interval_max_ms']} ms)")
        out[name] = eof
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
