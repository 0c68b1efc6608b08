"""Provisioning and broker TLS bench: how long `provision node add` takes per node (new and
re-run), how long a broker reload takes to refuse a revoked node, and the TLS connect time
(TCP + TLS handshake + MQTT CONNACK) of provisioned nodes against a real Mosquitto running the
`broker-config` output: password nodes on the TLS listener, client-certificate nodes
(`--auth cert`) on the client-certificate listener (CRL checked).

Usage: python bench/provision.py [--nodes N] [--connects N] [--cert-nodes N] [--cert-connects N]
Prints readable lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware import broker_config
from firmware.broker_process import MosquittoProcess
from firmware.mosquitto import free_port
from firmware.site import Site


def _pct(values: list[float], q: float) -> float:
    return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 3)


def connect_ms(port: int, node: str, bundle: Path, *, cert: bool = False) -> tuple[float, bool]:
    """Milliseconds from connect() to CONNACK over TLS, and whether it was accepted.
    ``cert``: authenticate with the bundle's client certificate instead of its password."""
    done, rc = threading.Event(), []
    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    if cert:
        c.tls_set(ca_certs=str(bundle / "ca.crt"), certfile=str(bundle / "mqtt-client.crt"),
                  keyfile=str(bundle / "mqtt-client.key"))
    else:
        c.username_pw_set(node, (bundle / "mqtt.password").read_text().strip())
        c.tls_set(ca_certs=str(bundle / "ca.crt"))
    c.on_connect = lambda cl, u, f, r, p: (rc.append(r), done.set())
    start = time.perf_counter()
    try:
        c.connect("localhost", port, keepalive=30)
        c.loop_start()
        done.wait(10)
        return (time.perf_counter() - start) * 1000, bool(rc) and not rc[0].is_failure
    except OSError:
        return (time.perf_counter() - start) * 1000, False
    finally:
        c.disconnect()
        c.loop_stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=30)
    ap.add_argument("--connects", type=int, default=100)
    ap.add_argument("--cert-nodes", type=int, default=5)
    ap.add_argument("--cert-connects", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "site"
        port = free_port()
        cert_port = free_port()
        while cert_port == port:
            cert_port = free_port()
        t = time.perf_counter()
        site = Site(d)
        site.init(site_id="bench-site", broker_hosts=["localhost"], tls_port=port,
                  cert_port=cert_port)
        init_ms = (time.perf_counter() - t) * 1000
        add_new, add_again = [], []
        for i in range(args.nodes):
            t = time.perf_counter()
            site.add_node(f"node-{i}")
            add_new.append((time.perf_counter() - t) * 1000)
        for i in range(args.nodes):
            t = time.perf_counter()
            site.add_node(f"node-{i}")
            add_again.append((time.perf_counter() - t) * 1000)
        print(f"init {init_ms:.1f} ms; node add: new p50 {_pct(add_new, .5)} ms, "
              f"re-run p50 {_pct(add_again, .5)} ms ({args.nodes} nodes)")
        add_cert = []
        for i in range(args.cert_nodes):
            t = time.perf_counter()
            site.add_node(f"cert-{i}", auth="cert")
            add_cert.append((time.perf_counter() - t) * 1000)
        print(f"node add --auth cert: new p50 {_pct(add_cert, .5)} ms ({args.cert_nodes} nodes)")

        broker_config.main(["--dir", str(d), "--bind", "127.0.0.1", "--data-dir", str(d / "data"),
                            "--run-as", getpass.getuser(), "--pid-file", str(d / "mosquitto.pid"),
                            "--log-file", str(d / "mosquitto.log")])
        (d / "data").mkdir()
        with MosquittoProcess(conf=d / "broker" / "mosquitto.conf", host="127.0.0.1", port=port,
                              other_ports=[cert_port]) as broker:
            times = []
            for i in range(args.connects):
                node = f"node-{i % args.nodes}"
                ms, ok = connect_ms(port, node, d / "bundles" / node)
                assert ok, f"{node} refused"
                times.append(ms)
            print(f"TLS connect to CONNACK: p50 {_pct(times, .5)} ms, p99 {_pct(times, .99)} ms "
                  f"({args.connects} connects)")
            cert_times = []
            for i in range(args.cert_connects):
                node = f"cert-{i % args.cert_nodes}"
                ms, ok = connect_ms(cert_port, node, d / "bundles" / node, cert=True)
                assert ok, f"{node} refused"
                cert_times.append(ms)
            print(f"TLS client-certificate connect to CONNACK: p50 {_pct(cert_times, .5)} ms, "
                  f"p99 {_pct(cert_times, .99)} ms ({args.cert_connects} connects)")
            bundle = d / "bundles" / "node-0"
            saved = Path(tmp) / "node-0"
            saved.mkdir()
            for f in ("mqtt.password", "ca.crt"):
                (saved / f).write_bytes((bundle / f).read_bytes())
            t = time.perf_counter()
            site.revoke_node("node-0")
            broker.reload()
            while connect_ms(port, "node-0", saved)[1]:  # bounded: the reload takes milliseconds
                if time.perf_counter() - t > 10:
                    raise SystemExit("revoked node still accepted after 10 s")
            revoke_ms = (time.perf_counter() - t) * 1000
            print(f"revoke + reload until refused: {revoke_ms:.1f} ms")
    print(json.dumps({
        "provision": {"init_ms": round(init_ms, 1), "node_add_new_p50_ms": _pct(add_new, .5),
                      "node_add_rerun_p50_ms": _pct(add_again, .5), "nodes": args.nodes},
        "tls_connect": {"p50_ms": _pct(times, .5), "p99_ms": _pct(times, .99),
                        "mean_ms": round(statistics.fmean(times), 3), "connects": args.connects},
        "tls_client_cert_connect": {"p50_ms": _pct(cert_times, .5), "p99_ms": _pct(cert_times, .99),
                                    "mean_ms": round(statistics.fmean(cert_times), 3),
                                    "connects": args.cert_connects,
                                    "node_add_p50_ms": _pct(add_cert, .5)},
        "revoke_until_refused_ms": round(revoke_ms, 1),
    }))


if __name__ == "__main__":
    main()
