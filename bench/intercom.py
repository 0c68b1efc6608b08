"""Bench the node side of the intercom (issue 6) on loopback, against a real Mosquitto.

One lobby node with an intercom panel on gpiozero mock pins; the call button is pressed --calls
times (each call is ended by the node's timeout check before the next press, so every press is a
new call) and the desk opens the door --opens times with signed ``intercom.open`` commands.

Figures (ms, p50/p99 over the runs):
  press_journaled   button pressed -> ``intercom.call`` durable in the node journal
  press_delivered   button pressed -> the event received by a subscriber on the broker
  open_relay        desk publishes a signed ``intercom.open`` -> the door relay energised

    python bench/intercom.py [--calls 300] [--opens 200]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from edge.config import parse_config
from edge.node import Node
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe
from hardware.sim import press, release
from mqtt_topics import CommandEnvelope
from mqtt_topics import topics as T

SITE = "bench"
KEY = bytes(range(1, 33))
BUTTON, DOOR = 17, 25


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def quantiles(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.5), 3), "p99_ms": round(pick(0.99), 3),
            "max_ms": round(s[-1] * 1000, 3), "runs": len(s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--opens", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-intercom-") as tmp:
        broker = MosquittoBroker(directory=Path(tmp) / "broker", site=SITE, nodes=["lobby"])
        with broker:
            creds = broker.credentials("lobby")
            cfg = parse_config({
                "node": {"id": "lobby", "site": SITE, "journal": str(Path(tmp) / "journal.db"),
                         "health_interval_s": 3600},
                "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"]},
                "commands": {"key": KEY.hex()},
                "intercom": {"buttons": {"1201": BUTTON}, "door_pin": DOOR, "bounce_ms": 0,
                             "call_window_s": 0, "answer_timeout_s": 1, "door_pulse_s": 30}})
            node = Node(cfg, pin_factory=MockFactory(), drain_s=0.5).start()
            obs = broker.credentials("observer")
            con = broker.credentials("console")
            try:
                with MqttProbe(host=obs["host"], port=obs["port"], username="observer",
                               password=obs["password"], topic_filter=T.site_filter(SITE)) as watcher, \
                        MqttProbe(host=con["host"], port=con["port"], username="console",
                                  password=con["password"], topic_filter=T.site_filter(SITE)) as desk:
                    assert node.bridge.wait_ready(10), "node did not connect"
                    result = run(node, watcher, desk, args)
            finally:
                node.stop()
    result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"memory            max rss {result['rss_mb']} MB")
    print(json.dumps(result))


def run(node: Node, watcher: MqttProbe, desk: MqttProbe, args: argparse.Namespace) -> dict[str, Any]:
    panel = node.extensions["intercom"]
    clock = Clock()
    panel.monotonic = clock
    factory = node.pin_factory
    topic = "/event/intercom.call"
    journaled: list[float] = []
    delivered: list[float] = []
    for i in range(args.calls):
        clock.now += 2                       # the previous call is past its timeout...
        panel.check_timeouts()               # ...and ended, so this press is a new call
        t0 = time.perf_counter()
        press(factory, BUTTON)               # under MockFactory the callback runs here
        journaled.append(time.perf_counter() - t0)
        release(factory, BUTTON)
        n = i + 1
        assert watcher.wait_for(lambda ms: sum(1 for m in ms if m.topic.endswith(topic)) >= n), \
            f"call {n} not delivered"
        delivered.append(time.perf_counter() - t0)
    j, d = quantiles(journaled), quantiles(delivered)
    print(f"press_journaled   {args.calls} calls: p50 {j['p50_ms']} ms, p99 {j['p99_ms']} ms")
    print(f"press_delivered   {args.calls} calls: p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms")
    opened: list[float] = []
    for _ in range(args.opens):
        panel.door.release()
        env = CommandEnvelope.create(node="lobby", action="intercom.open", issued_by="bench",
                                     now_ms=int(time.time() * 1000), ttl_ms=60_000).signed(KEY)
        t0 = time.perf_counter()
        desk.publish(T.command(SITE, "lobby", "intercom.open"), env.to_json())
        while not panel.door.is_energised:
            if time.perf_counter() - t0 > 5:
                raise SystemExit("door relay not energised within 5 s")
            time.sleep(0.0001)
        opened.append(time.perf_counter() - t0)
    o = quantiles(opened)
    print(f"open_relay        {args.opens} opens: p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms")
    return {"press_journaled": j, "press_delivered": d, "open_relay": o}


if __name__ == "__main__":
    sys.exit(main())
