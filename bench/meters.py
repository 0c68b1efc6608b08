"""Meter polling bench, against the real pymodbus simulator (hardware/sim/modbus_meter.py).

1. Per Modbus request, over TCP loopback and over RTU on a pty pair: latency p50/p99 of one
   14-register read (the SDM120's first block). Neither wire paces bytes (loopback, pty), so the
   whole latency is software time beyond the bytes on the wire: reported as ``overhead_ms`` (p50;
   goal <= 2). For scale: the same request and reply take ``wire_ms_9600`` on a 9600-baud line.
2. 32 SDM120 meters on one TCP bus through the real BusPoller with no silent gaps: polls/s and
   requests/s; then with the default gaps (50 ms, 100 ms on a slave switch): cycle time.
3. The same 32 meters with one dead (silent) meter: cycle time ``dead_cycle_ms`` (it should
   exceed a healthy cycle by about one timeout, never more).

Usage: python bench/meters.py [--requests N] [--cycles N] [--timeout-s S]
Prints readable lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from edge.config import MeterBusSettings, MeterSettings
from edge.extensions.meters import BusPoller
from hardware.meters import load_map
from hardware.modbus import ModbusBus, rtu_bus, tcp_bus
from hardware.sim.modbus_meter import ModbusMeterSim


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def request_latency(transport: str, requests: int) -> dict[str, Any]:
    m = load_map("eastron_sdm120")
    with ModbusMeterSim(meters={1: m}, transport=transport) as sim:
        bus: ModbusBus = (tcp_bus(sim.host, sim.port, timeout_s=1.0) if transport == "tcp"
                          else rtu_bus(sim.device_path, baudrate=sim.baudrate, timeout_s=1.0))
        with bus:
            for _ in range(20):  # warm up
                bus.read_input_registers(0, 14, slave=1)
            lat: list[float] = []
            start = time.perf_counter()
            for _ in range(requests):
                t0 = time.perf_counter()
                bus.read_input_registers(0, 14, slave=1)
                lat.append((time.perf_counter() - t0) * 1000)
            elapsed = time.perf_counter() - start
    rtu_bytes = 8 + 5 + 2 * 14  # request + reply frames
    return {"requests": requests, "p50_ms": round(statistics.median(lat), 3),
            "p99_ms": round(_q(lat, 0.99), 3), "overhead_ms": round(statistics.median(lat), 3),
            "requests_per_s": round(requests / elapsed), "wire_ms_9600": round(rtu_bytes * 10 / 9600 * 1000, 1)}


class _Sink:
    def __init__(self) -> None:
        self.events = 0
        self.telemetry = 0

    def emit(self, kind: str, data: Any) -> None:
        self.events += 1

    def publish(self, device: str, values: Any) -> bool:
        self.telemetry += 1
        return True


def bus_cycles(cycles: int, *, meters: int = 32, dead: int | None = None, gap_ms: int = 0,
               switch_gap_ms: int = 0, timeout_s: float = 0.25) -> dict[str, Any]:
    """Poll ``meters`` SDM120s on one TCP bus for ``cycles`` full cycles (every meter due)."""
    m = load_map("eastron_sdm120")
    with ModbusMeterSim(meters={s: m for s in range(1, meters + 1)}) as sim:
        if dead is not None:
            sim.set_fault(dead, "silent")
        settings = MeterBusSettings(name="bench", kind="tcp", host=sim.host, tcp_port=sim.port,
                                    timeout_s=timeout_s, gap_ms=gap_ms, switch_gap_ms=switch_gap_ms,
                                    retries=1_000_000)  # a dead meter stays in every cycle
        sink = _Sink()
        poller = BusPoller(settings, [MeterSettings(name=f"m{s}", bus="bench", slave=s, map=m.name,
                                                    register_map=m, period_s=3600)
                                      for s in range(1, meters + 1)],
                           emit=sink.emit, publish_telemetry=sink.publish, clock=lambda: int(time.time() * 1000))
        poller.open()
        try:
            times: list[float] = []
            for _ in range(cycles):
                for state in poller.meters:
                    state.next_due = 0.0  # every meter due now
                t0 = time.perf_counter()
                poller.cycle()
                times.append((time.perf_counter() - t0) * 1000)
        finally:
            poller.close()
        total_s = sum(times) / 1000
        requests = poller.counters["requests"]
        return {"meters": meters, "cycles": cycles, "cycle_p50_ms": round(statistics.median(times), 2),
                "cycle_max_ms": round(max(times), 2), "requests_per_s": round(requests / total_s),
                "polls_per_s": round(poller.counters["polls"] / total_s),
                "timeouts": poller.counters["timeouts"], "gap_ms": gap_ms, "switch_gap_ms": switch_gap_ms}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000, help="requests per transport (default 1000)")
    ap.add_argument("--cycles", type=int, default=5, help="bus cycles per scenario (default 5)")
    ap.add_argument("--timeout-s", type=float, default=0.25, help="reply timeout, s (default 0.25)")
    args = ap.parse_args()

    result: dict[str, Any] = {"bench": "meters"}
    for transport in ("tcp", "rtu"):
        r = request_latency(transport, args.requests)
        result[f"request_{transport}"] = r
        print(f"{transport:>3} request (14 registers): p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
              f"{r['requests_per_s']} requests/s back to back; software overhead {r['overhead_ms']} ms "
              f"(the bytes alone take {r['wire_ms_9600']} ms at 9600 baud)")
    fast = bus_cycles(args.cycles, timeout_s=args.timeout_s)
    result["bus_32_no_gaps"] = fast
    print(f"32 meters, one TCP bus, no gaps: cycle p50 {fast['cycle_p50_ms']} ms, "
          f"{fast['polls_per_s']} polls/s, {fast['requests_per_s']} requests/s")
    gaps = bus_cycles(max(2, args.cycles // 2), gap_ms=50, switch_gap_ms=100, timeout_s=args.timeout_s)
    result["bus_32_default_gaps"] = gaps
    print(f"32 meters with default gaps (50/100 ms): cycle p50 {gaps['cycle_p50_ms']} ms, "
          f"{gaps['polls_per_s']} polls/s (the silent gaps dominate)")
    dead = bus_cycles(args.cycles, dead=16, timeout_s=args.timeout_s)
    result["bus_32_one_dead"] = dead
    print(f"32 meters, one dead, timeout {args.timeout_s} s, no gaps: cycle p50 {dead['cycle_p50_ms']} ms "
          f"(healthy {fast['cycle_p50_ms']} ms + one timeout), {dead['timeouts']} timeouts in "
          f"{dead['cycles']} cycles")
    result["overhead_ms"] = max(result["request_tcp"]["overhead_ms"], result["request_rtu"]["overhead_ms"])
    result["requests_per_s"] = fast["requests_per_s"]
    result["dead_cycle_ms"] = dead["cycle_p50_ms"]
    result["timeout_s"] = args.timeout_s
    print(json.dumps(result))


if __name__ == "__main__":
    main()
