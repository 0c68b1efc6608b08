"""Outbox replay bench: a node comes back online with 100,000 unsent events in its journal.

Scenarios, in order, against a real Mosquitto started on a free port:
  append   durable appends (synchronous=FULL, one fsync'd commit each) into the node journal,
           --measure appends timed; the rest of the --events backlog is filled with
           synchronous=OFF (the fill itself is not a figure, only a way to get a big backlog fast)
  replay   the node's MqttBridge + OutboxPump start with that backlog and publish it (QoS 1,
           window --window); a QoS 1 subscriber checks it got every seq, once, in order;
           events_per_s = backlog / (bridge start -> subscriber has the last one)
  live     with the bridge connected, --live events are appended back to back, then --paced
           events at --paced-rate per second; the pump publishes each as it lands:
           append -> PUBACK latency p50/p99 (what health reports)

    python bench/replay.py [--events 100000] [--window 100] [--measure 10000] [--live 2000]
                           [--paced 500] [--paced-rate 250]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.bridge import MqttBridge  # noqa: E402
from edge.config import MqttSettings  # noqa: E402
from edge.counters import LatencyWindow  # noqa: E402
from edge.journal import EventJournal  # noqa: E402
from edge.outbox import OutboxPump  # noqa: E402
from firmware.mosquitto import MosquittoBroker  # noqa: E402
from mqtt_topics import topics as T  # noqa: E402

SITE, NODE, BOOT = "bench-site", "bench", "benchboot0001"


class Subscriber:
    """Counts what arrives on the node's event topics (QoS 1); keeps (seq, event_id) pairs."""

    def __init__(self, broker: MosquittoBroker) -> None:
        creds = broker.credentials("observer")
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-subscriber")
        self.client.username_pw_set("observer", creds["password"])
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(
            T.event(SITE, NODE, "x").rsplit("/", 1)[0] + "/#", qos=1)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.cond = threading.Condition()
        self.payloads: list[bytes] = []
        self.subscribed = False
        self.last_at = 0.0
        self.client.connect(creds["host"], creds["port"])
        self.client.loop_start()
        with self.cond:
            assert self.cond.wait_for(lambda: self.subscribed, 10), "no SUBACK"

    def _on_subscribe(self, *args: Any) -> None:
        with self.cond:
            self.subscribed = True
            self.cond.notify_all()

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.payloads.append(msg.payload)
            self.last_at = time.perf_counter()
            self.cond.notify_all()

    def wait_count(self, n: int, timeout_s: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.payloads) >= n, timeout_s)

    def seqs(self) -> list[int]:
        with self.cond:
            return [json.loads(p)["seq"] for p in self.payloads]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def fill(journal: EventJournal, events: int, measure: int) -> float:
    """Append ``events`` card reads; time the first ``measure`` (durable); returns appends/s."""
    data = {"reader": "lobby-in", "card": "0A00B1C2D3", "number": 11649747, "facility": 10,
            "format": "em4100"}
    t0 = time.perf_counter()
    for _ in range(min(measure, events)):
        journal.append("card.read", data, boot_id=BOOT)
    rate = min(measure, events) / (time.perf_counter() - t0)
    # Bench-only shortcut: the rest of the backlog without an fsync per row (not measured).
    journal._conn.execute("PRAGMA synchronous = OFF")  # noqa: SLF001
    for _ in range(events - min(measure, events)):
        journal.append("card.read", data, boot_id=BOOT)
    journal._conn.execute("PRAGMA synchronous = FULL")  # noqa: SLF001
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000, help="backlog size (default 100000)")
    ap.add_argument("--window", type=int, default=100, help="outbox window (default 100)")
    ap.add_argument("--measure", type=int, default=10_000, help="durable appends timed (default 10000)")
    ap.add_argument("--live", type=int, default=2_000,
                    help="live events appended back to back (default 2000; 0 skips live)")
    ap.add_argument("--paced", type=int, default=500, help="live events at --paced-rate (default 500)")
    ap.add_argument("--paced-rate", type=int, default=250, help="paced events per second (default 250)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname).1s %(name)s: %(message)s")

    tmp = Path(tempfile.mkdtemp(prefix="lobbygate-replay-bench-", dir="/tmp"))
    result: dict[str, Any] = {}
    try:
        journal = EventJournal(tmp / "journal.db", node=NODE,
                               capacity=args.events + args.live + args.paced + 10).open()
        append_rate = fill(journal, args.events, args.measure)
        print(f"append: {round(append_rate)} durable appends/s (synchronous=FULL, "
              f"{min(args.measure, args.events)} timed); backlog {journal.stats().unsent} unsent")

        with MosquittoBroker(directory=tmp / "broker", site=SITE, nodes=[NODE]) as broker:
            sub = Subscriber(broker)
            creds = broker.credentials(NODE)
            settings = MqttSettings(host=creds["host"], port=creds["port"], username=NODE,
                                    password=creds["password"], outbox_window=args.window)
            bridge = MqttBridge(settings, site=SITE, node=NODE, boot_id=BOOT, version="bench",
                                window=args.window)
            pump = OutboxPump(journal, site=SITE, node=NODE, publish=bridge.publish_event,
                              window=args.window)
            bridge.on_ready, bridge.on_lost = pump.connection_ready, pump.connection_lost
            bridge.on_ack = pump.acknowledged
            # -- replay ------------------------------------------------------------------------
            t0 = time.perf_counter()
            pump.start()
            bridge.start()
            ok = sub.wait_count(args.events, timeout_s=max(60.0, args.events / 500))
            elapsed = (sub.last_at or time.perf_counter()) - t0
            drained = pump.wait_idle(30)
            seqs = sub.seqs()
            firsts, seen = [], set()
            for s in seqs:
                if s not in seen:
                    seen.add(s)
                    firsts.append(s)
            in_order = ok and firsts == list(range(1, args.events + 1))
            replay = {"events": args.events, "window": args.window, "elapsed_s": round(elapsed, 3),
                      "events_per_s": round(args.events / elapsed), "in_order": in_order,
                      "received": len(seqs), "duplicates": len(seqs) - len(seen),
                      "journal_unsent_after": journal.stats().unsent, "drained": drained}
            result["replay"] = replay
            print(f"replay: {args.events} events in {replay['elapsed_s']} s = "
                  f"{replay['events_per_s']} events/s (window {args.window}); in order: {in_order}, "
                  f"duplicates: {replay['duplicates']}, unsent after: {replay['journal_unsent_after']}")
            # -- live ------------------------------------------------------------------------------
            if args.live:
                base = len(seqs)
                for label, count, gap_s in (("live_burst", args.live, 0.0),
                                            ("live_paced", args.paced, 1.0 / args.paced_rate)):
                    pump.latency = LatencyWindow(size=max(count, 1))
                    for n in range(count):
                        journal.append("input.changed", {"input": "door", "active": n % 2 == 0},
                                       boot_id=BOOT)
                        pump.wake()
                        if gap_s:
                            time.sleep(gap_s)  # a bench paces its load; tests never sleep
                    base += count
                    sub.wait_count(base, timeout_s=60)
                    pump.wait_idle(30)
                    figures = {"events": count,
                               "append_to_puback_p50_ms": pump.latency.quantile(0.50),
                               "append_to_puback_p99_ms": pump.latency.quantile(0.99)}
                    if gap_s:
                        figures["rate_per_s"] = args.paced_rate
                    result[label] = figures
                    how = (f"at {args.paced_rate}/s" if gap_s else "back to back")
                    print(f"{label}: {count} events appended {how} while connected: append -> PUBACK "
                          f"p50 {figures['append_to_puback_p50_ms']} ms, "
                          f"p99 {figures['append_to_puback_p99_ms']} ms (1 ms clock resolution)")
            pump.pause()
            bridge.stop()
            pump.stop()
            sub.close()
        journal.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["append_per_s"] = round(append_rate)
    if result["replay"]["events_per_s"] < 1000 or not result["replay"]["in_order"]:
        print("replay: BELOW GOAL (>= 1,000 events/s, all in order)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
