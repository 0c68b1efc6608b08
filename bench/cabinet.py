"""Key cabinet bench: card recognised -> slot solenoids energised, with 200 keys and 5,000
permission entries (cards), through the cabinet extension's worker (machine + outputs).

Scenarios:
  memory_io    outputs in memory: the decision and the worker hand-off alone
  modbus_tcp   outputs as coils on a REAL pymodbus TCP server (hardware.sim.modbus_io), one
               write per changed coil; key-present read as discrete inputs every poll

Each card is handed to the extension as the reader thread does (``present_card``); the figure is
the extension's ``decide_latency`` (card handed over -> outputs applied). The
session time is made tiny (0.5 ms) so each card starts a fresh session: every released slot's
coil is written again for each card.

    python bench/cabinet.py [--keys 200] [--cards 5000] [--reads 500]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from edge.cabinet.io import SlotWiring
from edge.cabinet.settings import CabinetSettings, ModbusModuleSettings
from edge.counters import CounterRegistry
from edge.extensions.base import NodeContext
from edge.extensions.cabinet import CabinetExtension
from mqtt_topics import EventEnvelope, SyncSnapshot


class MemoryIO:
    """Door and slots in memory; a test double for the bench only."""

    description = "memory"

    def __init__(self, slots: int) -> None:
        self.door = False
        self.present = {s: True for s in range(1, slots + 1)}
        self.released: frozenset[int] = frozenset()

    def open(self) -> list[str]:
        return []

    def apply(self, door_unlocked: bool, released: frozenset[int]) -> None:
        self.released = released

    def read(self) -> tuple[bool, dict[int, bool]]:
        return self.door, dict(self.present)

    def close(self) -> None:
        pass


def snapshot(keys: int, cards: int, rng: random.Random) -> SyncSnapshot:
    data = {"keys": [{"key": f"k{i}", "slot": i, "two_person": i % 50 == 0} for i in range(1, keys + 1)],
            "cards": [{"card": f"0B{c:08X}", "holder": f"p{c}",
                       "keys": [f"k{rng.randint(1, keys)}" for _ in range(rng.randint(0, 4))]}
                      for c in range(cards)]}
    return SyncSnapshot(dataset="key-permissions", version=1, ts=int(time.time() * 1000), data=data)


def run(io_kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = random.Random(8)
    snap = snapshot(args.keys, args.cards, rng)
    (workdir / f"{io_kind}-perm.json").write_bytes(snap.to_json())
    sim = None
    slots = tuple(SlotWiring(slot=s, lock=s, present=s) for s in range(1, args.keys + 1))
    if io_kind == "modbus_tcp":
        from hardware.sim.modbus_io import ModbusIoSim
        sim = ModbusIoSim(slaves=(1,), coils=args.keys + 1, inputs=args.keys + 1).open()
        for s in range(1, args.keys + 1):
            sim.set_input(1, s, True)
        modbus = ModbusModuleSettings(kind="tcp", host=sim.host, tcp_port=sim.port, slave=1)
        settings = CabinetSettings(id="bench", io="modbus", door_lock=0, door_contact=0, slots=slots,
                                   modbus=modbus, poll_s=0.05, release_s=0.0005,
                                   cache=workdir / f"{io_kind}-perm.json", state=workdir / f"{io_kind}-state.json")
        ext = CabinetExtension(settings)
        memory = None
    else:
        settings = CabinetSettings(id="bench", door_lock=0, door_contact=0, slots=slots, poll_s=0.05,
                                   release_s=0.0005,
                                   cache=workdir / f"{io_kind}-perm.json",
                                   state=workdir / f"{io_kind}-state.json")
        memory = MemoryIO(args.keys)
        ext = CabinetExtension(settings, io=memory)
    cond = threading.Condition()
    decided: list[str] = []

    def emit(kind: str, data: Any) -> EventEnvelope:
        if kind in ("cabinet.granted", "cabinet.denied"):
            with cond:
                decided.append(kind)
                cond.notify_all()
        return EventEnvelope(event_id="bench:b:1", node="bench", kind=kind, ts=1, seq=1, data=data)

    ctx = NodeContext(config=None, boot_id="bench", emit=emit, publish_telemetry=lambda d, v: False,  # type: ignore[arg-type]
                      register_command=lambda a, h: None, register_sync=lambda d, h: None,
                      open_serial=lambda r: None, pin_factory=None, counters=CounterRegistry(),  # type: ignore[arg-type]
                      health_figures=dict, clock=lambda: int(time.time() * 1000))
    ext.open_outputs(ctx)
    ext.start(ctx)
    try:
        cards = [c["card"] for c in snap.data["cards"] if c["keys"]]
        for i in range(args.reads):
            ext.present_card(rng.choice(cards))
            with cond:
                assert cond.wait_for(lambda: len(decided) > i, 10), "no decision"
        p50 = ext.decide_latency.quantile(0.50)
        p99 = ext.decide_latency.quantile(0.99)
    finally:
        ext.stop()
        if sim is not None:
            sim.close()
    print(f"{io_kind:11s} {args.keys} keys, {args.cards} cards, {args.reads} reads: "
          f"decide p50 {p50:.3f} ms, p99 {p99:.3f} ms (goal p99 <= 5)")
    return {"decide_p50_ms": round(p50, 3), "decide_p99_ms": round(p99, 3), "reads": args.reads,
            "keys": args.keys, "permission_entries": args.cards}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--cards", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=500)
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("memory_io", "modbus_tcp"):
            out[kind] = run(kind, args, Path(tmp))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
