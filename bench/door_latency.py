"""Door latency bench: a real node with a [door] table, reads on simulated wires, the broker up
and down.

A real Mosquitto (firmware.mosquitto.MosquittoBroker) and a real edge.node.Node built from a node
config whose ``[door]`` table has a Wiegand reader (D0/D1 on MockFactory pins, the default
``eof_intervals`` of 2 or ``--eof-intervals``) and an RDM6300 reader (a pty pair carrying real
frames), a fail-secure lock relay and a door contact; 100,000 credentials in the node's credential cache (loaded at start, as after a
reboot). For each broker state (``broker_up``: connected; ``broker_down``: broker stopped, the
node reconnecting in the background) and each reader, ``--reads`` granted reads, one at a time:

- Wiegand frames are sent in real time (50 µs pulses every ``--interval-ms``, default 1 ms, inside
  the SIA 0.2-20 ms range; see bench/door.py ``send_paced``); RDM6300 frames are written whole;
- ``eof``: last edge (Wiegand: last falling edge; RDM6300: just before the frame's one write) ->
  the door extension's ``on_card`` (the frame recognised); goal for Wiegand <= 3 bit intervals;
- ``decide``: frame recognised -> the lock pin changed level (a level-change hook on the mock
  pin), the decision against 100,000 credentials included; goal p99 <= 5 ms;
- after each grant the contact opens and closes, so the door re-locks before the next read.

``lookup_p99_ms``: CredentialSet.lookup over ``--lookups`` random keys at 100,000 credentials.

    python bench/door_latency.py [--reads 2000] [--interval-ms 1.0] [--credentials 100000]
                                 [--eof-intervals 2.0]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from gpiozero.pins.mock import MockFactory, MockPin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edge.node  # noqa: E402
from edge.access import CredentialCache  # noqa: E402
from edge.config import parse_config  # noqa: E402
from edge.extensions.door import DoorExtension  # noqa: E402
from firmware.mosquitto import MosquittoBroker  # noqa: E402
from hardware.readers import CardRead, encode_card  # noqa: E402
from hardware.readers.wiegand import DEFAULT_EOF_INTERVALS  # noqa: E402
from hardware.sim import PtyPair  # noqa: E402
from hardware.sim.rdm6300 import Rdm6300Simulator  # noqa: E402
from mqtt_topics import SyncSnapshot  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from door import send_paced  # noqa: E402  (bench/door.py: real-time Wiegand pacing)

SITE, NODE = "bench-site", "lobby"
D0, D1, LOCK, CONTACT = 5, 6, 22, 17
KEY = bytes(range(1, 33))
#: The sender sleeps each bit interval but its last SPIN_S, spinning then for an exact edge;
#: a short spin leaves the GIL to the reader and the node (the wire never waits for either).
SPIN_S = 0.0002


# -- what the bench watches --------------------------------------------------------------------

class Stamps:
    """Times (time.monotonic) of the frame recognised and of each lock pin change."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.recognised: float | None = None
        self.lock_changes: list[tuple[float, bool]] = []
        self.reader_errors = 0

    def clear(self) -> None:
        with self.cond:
            self.recognised = None
            self.lock_changes.clear()
            self.reader_errors = 0

    def wait(self, pred: Any, timeout_s: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(pred, timeout_s)


STAMPS = Stamps()


class LockWatchPin(MockPin):
    """A MockPin that stamps every level change of the lock pin."""

    def _change_state(self, value: bool) -> bool:
        changed = super()._change_state(value)
        if changed and self.info.name == f"GPIO{LOCK}":
            t = time.monotonic()
            with STAMPS.cond:
                STAMPS.lock_changes.append((t, bool(value)))
                STAMPS.cond.notify_all()
        return changed


class TimedDoor(DoorExtension):
    """The door extension, stamping the moment a reader hands it a frame."""

    def _card(self, read: CardRead) -> None:
        t = time.monotonic()
        with STAMPS.cond:
            STAMPS.recognised = t
            STAMPS.cond.notify_all()
        super()._card(read)

    def _reader_error(self, reader: str) -> Callable[[Exception], None]:
        counted = super()._reader_error(reader)

        def on_error(error: Exception) -> None:
            counted(error)
            with STAMPS.cond:
                STAMPS.reader_errors += 1
                STAMPS.cond.notify_all()
        return on_error


# -- set-up ---------------------------------------------------------------------------------------

def card_keys(i: int) -> tuple[str, str]:
    return f"w26:{i >> 16}:{i & 0xFFFF}", f"em:{i + 0x0A00000000:010X}"


def snapshot(n: int) -> SyncSnapshot:
    creds = [{"id": f"c-{i}", "cards": list(card_keys(i)), "holder": f"住户{i}",
              "unit": f"{i % 30 + 1}-{i % 4 + 1}-{i % 2000 + 101}", "kind": "resident", "doors": "*"}
             for i in range(n)]
    return SyncSnapshot(dataset="credentials", version=1, ts=int(time.time() * 1000),
                        data={"format": 1, "timezone": "Asia/Shanghai", "credentials": creds})


def node_config(broker: MosquittoBroker, work: Path, name: str, rdm_port: str,
                eof_intervals: float = DEFAULT_EOF_INTERVALS) -> Any:
    creds = broker.credentials(NODE)
    return parse_config({
        "node": {"id": NODE, "site": SITE, "journal": str(work / f"{name}-journal.db"),
                 "health_interval_s": 3600},
        "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"],
                 "reconnect_min_s": 0.2, "reconnect_max_s": 1.0},
        "commands": {"key": KEY.hex()},
        "gpio": {"pin_factory": "mock"},
        "door": {"id": "lobby", "fail_mode": "fail_secure", "unlock_s": 30, "debounce_s": 0.0,
                 "cache": str(work / "credentials.json"), "lock": {"pin": LOCK},
                 "inputs": {"contact": {"pin": CONTACT}},
                 "readers": [{"name": "wg", "kind": "wiegand", "d0": D0, "d1": D1,
                              "eof_intervals": eof_intervals},
                             {"name": "em", "kind": "rdm6300", "port": rdm_port}]},
    }, base_dir=work)


# -- scenarios ------------------------------------------------------------------------------------

def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


def relock(factory: MockFactory) -> None:
    """Open and close the door after a grant: the supervisor re-locks on close."""
    contact = factory.pin(CONTACT)
    contact.drive_low()                      # pulled-up contact: low = open
    contact.drive_high()
    if not STAMPS.wait(lambda: any(not level for _, level in STAMPS.lock_changes)):
        raise SystemExit("the door did not re-lock after the contact closed")


def run_reads(kind: str, reads: int, factory: MockFactory, rdm: Rdm6300Simulator,
              interval_s: float, rng: random.Random, n_creds: int) -> dict[str, Any]:
    """``reads`` granted reads; a Wiegand frame the reader split because the sender (this
    process, competing for the GIL with the node) sent an edge late by more than the
    end-of-frame silence is counted in ``split_frames`` and sent again, not timed."""
    eof: list[float] = []
    decide: list[float] = []
    sent_max = 0.0
    split = 0
    in_intervals: list[float] = []     # Wiegand: eof / the frame's longest bit interval as sent
    lines = (factory.pin(D0), factory.pin(D1))
    while len(eof) < reads:
        i = rng.randrange(n_creds)
        STAMPS.clear()
        if kind == "wiegand":
            last, longest = send_paced(lines, encode_card(i >> 16, i & 0xFFFF), interval_s=interval_s,
                                       spin_s=SPIN_S)
            sent_max = max(sent_max, longest)
        else:
            last = time.monotonic()            # the 14 bytes go into the pty in one write
            rdm.present(card_keys(i)[1][3:])
        if not STAMPS.wait(lambda: STAMPS.reader_errors or (
                STAMPS.recognised is not None and any(level for _, level in STAMPS.lock_changes))):
            raise SystemExit(f"{kind}: card {i} did not unlock the door")
        if STAMPS.reader_errors:
            split += 1
            if split > reads // 10:
                raise SystemExit(f"{kind}: {split} frames split or corrupted; host too loaded")
            STAMPS.wait(lambda: False, timeout_s=0.05)    # let the rest of the frame close
            if any(level for _, level in STAMPS.lock_changes):
                relock(factory)
            continue
        with STAMPS.cond:
            recognised = STAMPS.recognised
            assert recognised is not None
            changed = next(t for t, level in STAMPS.lock_changes if level)
        eof.append((recognised - last) * 1000)
        if kind == "wiegand":
            in_intervals.append((recognised - last) / longest)
        decide.append((changed - recognised) * 1000)
        relock(factory)
    out = {"reads": reads, "eof_p50_ms": round(pct(eof, 50), 3), "eof_p99_ms": round(pct(eof, 99), 3),
           "decide_p50_ms": round(pct(decide, 50), 3), "decide_p99_ms": round(pct(decide, 99), 3),
           "decide_max_ms": round(max(decide), 3)}
    if kind == "wiegand":
        out["split_frames"] = split
        out["sent_interval_max_ms"] = round(sent_max * 1000, 2)
        out["bit_interval_ms"] = interval_s * 1000
        # the reader ends a complete card after eof_intervals x the frame's own longest interval,
        # so a late sender edge (GIL, sleep overshoot) lengthens eof in ms but not in intervals
        out["eof_p99_bit_intervals"] = round(pct(in_intervals, 99), 2)
    return out


def run_node(broker: MosquittoBroker, work: Path, name: str, reads: int, interval_s: float,
             n_creds: int, *, connected: bool, eof_intervals: float = DEFAULT_EOF_INTERVALS
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    factory = MockFactory(pin_class=LockWatchPin)
    pty = PtyPair().open()
    node = edge.node.Node(node_config(broker, work, name, pty.device_path, eof_intervals),
                          pin_factory=factory, drain_s=0.5)
    try:
        t0 = time.perf_counter()
        node.start()
        start_s = time.perf_counter() - t0
        door = node.extensions["door"]
        assert isinstance(door, TimedDoor)
        if connected and not node.bridge.wait_ready(10):
            raise SystemExit("node did not connect to the broker")
        if not connected and node.bridge.connected:
            raise SystemExit("broker_down: but the node is connected")
        rng = random.Random(name)
        rdm = Rdm6300Simulator(pty.write)
        out = {}
        for kind in ("wiegand", "rdm6300"):
            out[kind] = run_reads(kind, reads, factory, rdm, interval_s, rng, n_creds)
            out[kind]["node_start_s"] = round(start_s, 2)
        counters = door.counters()
        if counters["granted"] != 2 * reads:
            raise SystemExit(f"{name}: {counters['granted']} grants for {2 * reads} reads: {counters}")
        extra = {"lookup_credentials": len(door.decider.credentials),
                 "connected_during_run": node.bridge.connected}
        lookups = [card_keys(rng.randrange(n_creds))[rng.randrange(2)] for _ in range(20_000)]
        times = []
        creds = door.decider.credentials
        for key in lookups:
            t = time.perf_counter()
            found = creds.lookup(key)
            times.append((time.perf_counter() - t) * 1000)
            assert found is not None
        extra["lookup_p99_ms"] = round(pct(times, 99), 4)
        return out, extra
    finally:
        node.stop()
        pty.close()
        factory.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=2000, help="granted reads per reader and broker state")
    ap.add_argument("--interval-ms", type=float, default=1.0, help="Wiegand bit interval, ms (SIA 0.2-20)")
    ap.add_argument("--credentials", type=int, default=100_000, help="credentials on the node")
    ap.add_argument("--eof-intervals", type=float, default=DEFAULT_EOF_INTERVALS,
                    help="the Wiegand reader's eof_intervals (default: the node's default, 2; "
                         "the end-of-frame wait is at least that many bit intervals)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    edge.node.DoorExtension = TimedDoor      # the node builds its door from [door] with this class
    interval_s = args.interval_ms / 1000

    with tempfile.TemporaryDirectory(prefix="door-latency-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        snap = snapshot(args.credentials)
        CredentialCache(work / "credentials.json").offer(snap)
        print(f"{args.credentials} credentials cached on the node in {time.perf_counter() - t0:.1f} s")
        broker = MosquittoBroker(directory=work / "broker", site=SITE, nodes=[NODE]).start()
        out: dict[str, Any] = {"bench": "door_latency", "credentials": args.credentials,
                               "eof_intervals": args.eof_intervals,
                               "wiegand": {}, "rdm6300": {}}
        try:
            for state, connected in (("broker_up", True), ("broker_down", False)):
                if not connected:
                    broker.stop()
                res, extra = run_node(broker, work, state, args.reads, interval_s,
                                      args.credentials, connected=connected,
                                      eof_intervals=args.eof_intervals)
                for kind, r in res.items():
                    out[kind][state] = r
                    print(f"{kind:8s} {state:11s}: {r['reads']} reads; end of frame p50 "
                          f"{r['eof_p50_ms']} ms, p99 {r['eof_p99_ms']} ms"
                          + (f" (p99 {r['eof_p99_bit_intervals']} x the frame's longest bit interval; nominal "
                             f"{r['bit_interval_ms']} ms, longest sent {r['sent_interval_max_ms']} ms; "
                             f"{r['split_frames']} frames split by a late sender edge, resent)"
                             if kind == "wiegand" else "")
                          + f"; recognised -> lock relay p50 {r['decide_p50_ms']} ms, "
                            f"p99 {r['decide_p99_ms']} ms, max {r['decide_max_ms']} ms; "
                            f"node started in {r['node_start_s']} s")
                out.setdefault("lookup", {})[state] = extra
                print(f"lookup at {extra['lookup_credentials']} credentials: p99 "
                      f"{extra['lookup_p99_ms']} ms ({state}; connected: {extra['connected_during_run']})")
        finally:
            broker.stop()
        out["lookup_p99_ms"] = max(v["lookup_p99_ms"] for v in out["lookup"].values())
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
