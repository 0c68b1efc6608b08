"""Goods-pass bench (issue 7): scan line received -> verdict shown on a gate node, with a large
ledger.

The gate's ledger holds --revoked revoked pass ids (a ``pass-revocations`` snapshot) and --used
passes already released here. Scenarios:

  verify   PassVerifier.parse on --scans genuine QR texts: parse + site + Ed25519 signature check
           alone (verify_p50_ms / verify_p99_ms)
  decide   GoodsGateExtension.decide on --scans codes (80 % fresh valid passes, 8 % revoked, 7 %
           already used, 5 % forged): verification + ledger look-ups (decide_p50_ms / _p99_ms)
  scan     a whole gate node (real Mosquitto, pty scanner, mock-pin LEDs and buttons, journal):
           --scans lines written one after another into the scanner's pty by the simulator; each
           valid pass is then released by the guard (GoodsGateExtension.release, what the button
           calls). ``verdict_*``: line received -> verdict LEDs set (the issue's figure, goal p99
           <= 20 ms, over every scan); ``scan_*``: line written into the pty -> verdict shown and
           journalled; ``release_*``: the guard's release -> pass marked used (SQLite,
           synchronous=FULL) and ``goods_pass.released`` journalled

    python bench/goods_pass.py [--scans 2000] [--revoked 10000] [--used 100000]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory

from edge.config import parse_config
from edge.counters import LatencyWindow
from edge.extensions.goods_gate import VALID, GoodsGateExtension
from edge.node import Node
from edge.passes import PassLedger, PassVerifier
from firmware.mosquitto import MosquittoBroker
from hardware.sim import PtyPair, ScannerSimulator
from mqtt_topics.passes import GoodsPassToken, Revocations, describe_items

SITE = "bench"
MINUTE_MS = 60_000
DAY_MS = 86_400_000


def quantiles(samples: list[float], prefix: str) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {f"{prefix}_p50_ms": round(statistics.median(samples), 3),
            f"{prefix}_p99_ms": round(cuts[98], 3), f"{prefix}_max_ms": round(max(samples), 3)}


def token(pass_id: str, now_ms: int) -> GoodsPassToken:
    start = now_ms // MINUTE_MS * MINUTE_MS - 3_600_000
    return GoodsPassToken(pass_id=pass_id, site=SITE, unit=f"{len(pass_id) % 30 + 1}-2-501",
                          valid_from_ms=start, valid_until_ms=start + DAY_MS,
                          **describe_items([("冰箱 refrigerator", 1), ("boxes", 3)]))


def signed(key: Ed25519PrivateKey, t: GoodsPassToken) -> str:
    return t.to_qr_text(key.sign(t.signing_bytes()))


def prepare_ledger(path: Path, revoked: int, used: int, now_ms: int) -> None:
    with PassLedger(path) as ledger:
        ledger.apply(Revocations(version=1, revoked=frozenset(f"gp-r{i}" for i in range(revoked))))
        ledger.record_released((f"gp-u{i}", now_ms - 3_600_000, now_ms + DAY_MS) for i in range(used))


def codes(key: Ed25519PrivateKey, n: int, now_ms: int, revoked: int, used: int, tag: str,
          rng: random.Random) -> list[str]:
    forger = Ed25519PrivateKey.generate()
    out = []
    for i in range(n):
        r = rng.random()
        if r < 0.80:
            out.append(signed(key, token(f"gp-{tag}{i}", now_ms)))
        elif r < 0.88:
            out.append(signed(key, token(f"gp-r{rng.randrange(revoked)}", now_ms)))
        elif r < 0.95:
            out.append(signed(key, token(f"gp-u{rng.randrange(used)}", now_ms)))
        else:
            out.append(signed(forger, token(f"gp-f{i}", now_ms)))
    return out


def verify_scenario(key: Ed25519PrivateKey, scans: int, now_ms: int) -> dict[str, Any]:
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    verifier = PassVerifier(pem, site=SITE, clock=lambda: now_ms)
    texts = [signed(key, token(f"gp-v{i}", now_ms)) for i in range(scans)]
    samples = []
    for text in texts:
        t0 = time.perf_counter()
        ok = verifier.parse(text).ok
        samples.append((time.perf_counter() - t0) * 1000)
        assert ok
    return {"scans": scans, "qr_chars": len(texts[0]), **quantiles(samples, "verify")}


def gate_config(broker: MosquittoBroker, work: Path, pty: PtyPair, key: Ed25519PrivateKey) -> Any:
    (work / "site-signing.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    creds = broker.credentials("gate")
    return parse_config({
        "node": {"id": "gate", "site": SITE, "journal": str(work / "journal.db"),
                 "health_interval_s": 3600},
        "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"]},
        "commands": {"key": "ab" * 32},
        "gpio": {"pin_factory": "mock"},
        "goods_gate": {"scanner_port": pty.device_path, "public_key_file": "site-signing.pub",
                       "ledger": str(work / "goods-gate.db"), "green_pin": 23, "red_pin": 24,
                       "buzzer_pin": 25, "release_pin": 5, "deny_pin": 6, "repeat_window_s": 0},
    }, base_dir=work)


def node_scenarios(key: Ed25519PrivateKey, scans: int, revoked: int, used: int,
                   work: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = random.Random(7)
    now_ms = int(time.time() * 1000)
    prepare_ledger(work / "goods-gate.db", revoked, used, now_ms)
    factory = MockFactory()
    with MosquittoBroker(directory=work / "broker", site=SITE, nodes=["gate"]) as broker, \
            PtyPair() as pty:
        done = threading.Event()
        reasons: dict[str, int] = {}
        last: dict[str, str] = {}

        def on_verdict(verdict: str, data: dict[str, Any]) -> None:
            reasons[verdict] = reasons.get(verdict, 0) + 1
            last["verdict"] = verdict
            done.set()

        node = Node(gate_config(broker, work, pty, key), pin_factory=factory, drain_s=2.0)
        with node:
            gate: GoodsGateExtension = node.extensions["goods_gate"]  # type: ignore[assignment]
            # decide: in-process, no scanner
            samples = []
            for code in codes(key, scans, now_ms, revoked, used, "d", rng):
                t0 = time.perf_counter()
                gate.decide(code)
                samples.append((time.perf_counter() - t0) * 1000)
            decide = {"scans": scans, **quantiles(samples, "decide")}
            # scan: over the pty, one line after another
            gate.on_verdict = on_verdict
            gate.verdict_latency = LatencyWindow(size=scans)      # every scan, not the last 2048
            sim = ScannerSimulator(pty.write)
            assert gate.scanner is not None
            assert gate.scanner.wait_for(lambda c: c["reopens"] >= 1, timeout_s=10), "scanner port"
            samples, releases = [], []
            for code in codes(key, scans, now_ms, revoked, used, "s", rng):
                done.clear()
                before = sum(reasons.values())
                t0 = time.perf_counter()
                sim.scan(code)
                if not done.wait(10):
                    raise RuntimeError(f"no verdict after 10 s; counters {gate.counters()}")
                samples.append((time.perf_counter() - t0) * 1000)
                assert sum(reasons.values()) == before + 1
                if last["verdict"] == VALID:
                    t0 = time.perf_counter()
                    gate.release()
                    releases.append((time.perf_counter() - t0) * 1000)
            window = gate.verdict_latency
            c = gate.counters()
            scan = {"scans": scans, **quantiles(samples, "scan"),
                    "verdict_p50_ms": round(window.quantile(0.5) or 0, 3),
                    "verdict_p99_ms": round(window.quantile(0.99) or 0, 3),
                    **quantiles(releases, "release"), "released": c["released"],
                    "verdicts": dict(sorted(reasons.items()))}
            assert node.pump is not None and node.journal is not None
            node.pump.wait_idle(30)
            scan["journal_unsent_after"] = node.journal.stats().unsent
    factory.close()
    return decide, scan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=2000)
    ap.add_argument("--revoked", type=int, default=10_000)
    ap.add_argument("--used", type=int, default=100_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)       # forged passes are logged as warnings
    key = Ed25519PrivateKey.generate()
    out: dict[str, Any] = {"bench": "goods_pass", "scans": args.scans, "revoked_ids": args.revoked,
                           "used_ids": args.used}
    v = verify_scenario(key, args.scans, int(time.time() * 1000))
    print(f"verify (parse + Ed25519 signature) over {v['scans']} passes of {v['qr_chars']} QR "
          f"characters: p50 {v['verify_p50_ms']} ms, p99 {v['verify_p99_ms']} ms")
    out["verify"] = v
    with tempfile.TemporaryDirectory(prefix="goods-gate-bench-") as tmp:
        decide, scan = node_scenarios(key, args.scans, args.revoked, args.used, Path(tmp))
    print(f"decide (verify + ledger of {args.revoked} revoked / {args.used} used) "
          f"over {decide['scans']} codes: p50 {decide['decide_p50_ms']} ms, p99 {decide['decide_p99_ms']} ms")
    print(f"scan over a pty in a running node: line received -> verdict shown p50 "
          f"{scan['verdict_p50_ms']} ms, p99 {scan['verdict_p99_ms']} ms over {scan['scans']} scans; "
          f"line written -> verdict journalled p50 {scan['scan_p50_ms']} ms, p99 "
          f"{scan['scan_p99_ms']} ms; verdicts {scan['verdicts']}")
    print(f"guard's release -> marked used + journalled over {scan['released']} releases: p50 "
          f"{scan['release_p50_ms']} ms, p99 {scan['release_p99_ms']} ms")
    out["decide"] = decide
    out["scan"] = scan
    out["verify_p99_ms"] = v["verify_p99_ms"]
    out["scan_p99_ms"] = scan["scan_p99_ms"]
    out["verdict_p50_ms"] = scan["verdict_p50_ms"]
    out["verdict_p99_ms"] = scan["verdict_p99_ms"]
    out["verdict_goal_p99_ms"] = 20
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
