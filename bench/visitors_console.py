"""Bench the console side of the intercom desk and visitors (issue 6).

Scenarios (a real Mosquitto in a temp dir, the console database on the real disk,
``synchronous=FULL``):
  call_to_desk   a node client (paho, QoS 1) publishes ``intercom.call`` --calls times, one at a
                 time; measured from the publish until the desk page's live message for that call
                 is rendered (ingest commit -> desk handler -> live feed -> the /desk/stream
                 renderer with the unit's residents), p50/p99 ms
  registration   VisitorDesk.register (validation, watchlist of --watch entries, insert) --regs
                 times: registrations/s; and the /visitors/new form over the Flask test client
                 (log-in, CSRF, redirect) --http-regs times: registrations/s and p99 ms
  anonymise      the anonymisation job over --visits old visits (generated with executemany),
                 one run, ms

    python bench/visitors_console.py [--calls 300] [--regs 3000] [--http-regs 300]
                                     [--visits 100000] [--watch 100]

(run from the repository root with the package installed, or with PYTHONPATH=.)
Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware.mosquitto import MosquittoBroker
from mqtt_topics import EventEnvelope, make_event_id
from mqtt_topics import topics as T
from web import close_app, create_app
from web.auth.users import UserStore
from web.config import parse_config
from web.ingest import BrokerSettings
from web.services import ServicesConfig, build_services
from web.units import parse_unit

SITE = "bench"
PASSWORD = "bench password 123"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def quantiles(values_s: list[float]) -> dict[str, float]:
    s = sorted(values_s)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.5), 3), "p99_ms": round(pick(0.99), 3),
            "max_ms": round(s[-1] * 1000, 3), "runs": len(s)}


def visit(i: int) -> dict[str, Any]:
    return {"name": f"访客{i}", "id_type": "resident_id", "id_number": f"1101011990{i:08d}",
            "phone": "13900000000", "unit": f"A-{1200 + i % 50}", "purpose": "探亲",
            "plate": f"沪A{i % 100000:05d}", "people": "1", "call_id": ""}


def setup(tmp: Path, broker: MosquittoBroker | None) -> tuple[Any, Any]:
    cfg = parse_config({"console": {"site": SITE, "db": "console.db", "users_db": "users.json",
                                    "secret_key": "bench-secret-" + "b" * 40}}, base_dir=tmp)
    bs = None
    if broker is not None:
        c = broker.credentials("console")
        bs = BrokerSettings(host=str(c["host"]), port=int(c["port"]), username="console",
                            password=str(c["password"]), client_id="bench-console")
    services = build_services(ServicesConfig(db_path=cfg.db_path, site=SITE, broker=bs,
                                             clock_settle_ms=0))
    services.start()
    if services.ingest is not None:
        assert services.ingest.wait_connected(10), "console did not connect"
    units = [parse_unit({"building": "A", "number": str(1200 + n), "residents": [
        {"name": f"住户{n}", "phone": f"1380000{n:04d}", "relation": "owner"}]}) for n in range(50)]
    services.units.upsert_many(units, by="bench")
    UserStore(cfg.users_db_path, hash_method="pbkdf2:sha256:1000").open().add(
        "desk1", PASSWORD, role="desk")
    return cfg, services


def call_to_desk(tmp: Path, n: int) -> dict[str, Any]:
    from web.views.desk import _message

    with MosquittoBroker(directory=tmp / "broker", site=SITE, nodes=["lobby"]) as broker:
        cfg, services = setup(tmp / "calls", broker)
        app = create_app(cfg, services=services)
        node = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-lobby")
        creds = broker.credentials("lobby")
        node.username_pw_set("lobby", str(creds["password"]))
        connected = threading.Event()
        node.on_connect = lambda *a: connected.set()
        node.connect(str(creds["host"]), int(creds["port"]))
        node.loop_start()
        assert connected.wait(10)
        latencies: list[float] = []
        try:
            with services.live.subscribe() as sub, app.test_request_context("/desk"):
                for i in range(n):
                    call_id = f"b1-{i}"
                    env = EventEnvelope(event_id=make_event_id("lobby", "b1", i + 1), node="lobby",
                                        kind="intercom.call", ts=int(time.time() * 1000),
                                        seq=i + 1, data={"panel": "lobby-panel", "call_id": call_id,
                                                         "unit": str(1200 + i % 50), "via": "keypad"})
                    t0 = time.perf_counter()
                    node.publish(T.event(SITE, "lobby", "intercom.call"), env.to_json(), qos=1)
                    while True:
                        item = sub.get(timeout_s=10)
                        assert item is not None, f"call {i} never reached the desk"
                        if item[0] == "event" and item[1]["data"].get("call_id") == call_id:
                            text = _message(*item)
                            assert text and "住户" in text
                            latencies.append(time.perf_counter() - t0)
                            break
        finally:
            node.loop_stop()
            node.disconnect()
            close_app(app)
            services.stop()
    q = quantiles(latencies)
    print(f"call_to_desk      {n} calls: p50 {q['p50_ms']} ms, p99 {q['p99_ms']} ms, "
          f"max {q['max_ms']} ms")
    return q


def registration(tmp: Path, n: int, n_http: int, watch: int) -> dict[str, Any]:
    cfg, services = setup(tmp / "regs", None)
    desk = services.visitors
    for i in range(watch):
        desk.watchlist.add("plate", f"京B{i:05d}", note="bench", by="bench")
    t0 = time.perf_counter()
    for i in range(n):
        desk.register(visit(i), by="bench")
    dt = time.perf_counter() - t0
    per_s = round(n / dt, 1)
    print(f"registration      {n} registrations (service): {per_s}/s")
    app = create_app(cfg, services=services)
    client = app.test_client()
    token = html.unescape(_TOKEN.search(client.get("/login").get_data(as_text=True)).group(1))
    assert client.post("/login", data={"csrf_token": token, "username": "desk1",
                                       "password": PASSWORD}).status_code == 303
    token = html.unescape(_TOKEN.search(client.get("/visitors/new").get_data(as_text=True)).group(1))
    times: list[float] = []
    for i in range(n_http):
        t = time.perf_counter()
        resp = client.post("/visitors/new", data={"csrf_token": token, **visit(n + i)})
        times.append(time.perf_counter() - t)
        assert resp.status_code == 303, resp.status_code
    close_app(app)
    services.stop()
    q = quantiles(times)
    http_per_s = round(n_http / sum(times), 1)
    print(f"registration      {n_http} registrations (HTTP form): {http_per_s}/s, "
          f"p99 {q['p99_ms']} ms")
    return {"service_registrations_per_s": per_s, "http_registrations_per_s": http_per_s,
            "http_p99_ms": q["p99_ms"], "watchlist_entries": watch}


def anonymise(tmp: Path, n: int) -> dict[str, Any]:
    _cfg, services = setup(tmp / "anon", None)
    now = int(time.time() * 1000)
    old = now - 200 * 86_400_000
    rows = [(f"访客{i}", "resident_id", f"{i % 10000:04d}", "13900000000", f"A-{1200 + i % 50}",
             "探亲", f"沪A{i % 100000:05d}", 1, old + i, "bench") for i in range(n)]
    with services.db.transaction() as c:
        c.executemany("INSERT INTO visits (name, id_type, id_tail, phone, unit, purpose, plate, "
                      "people, registered_at, registered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      rows)
    t0 = time.perf_counter()
    changed = services.visitors.anonymise(now)
    ms = (time.perf_counter() - t0) * 1000
    assert changed == n, changed
    t1 = time.perf_counter()
    again = services.visitors.anonymise(now)
    idle_ms = (time.perf_counter() - t1) * 1000
    services.stop()
    print(f"anonymise         {n} visits: {ms:.0f} ms (a run with nothing to do: {idle_ms:.1f} ms)")
    return {"visits": n, "anonymise_ms": round(ms, 1), "idle_run_ms": round(idle_ms, 2),
            "changed_again": again}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--regs", type=int, default=3000)
    parser.add_argument("--http-regs", type=int, default=300)
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--watch", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-visitors-") as d:
        tmp = Path(d)
        calls = call_to_desk(tmp, args.calls)
        regs = registration(tmp, args.regs, args.http_regs, args.watch)
        anon = anonymise(tmp, args.visits)
    rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"memory            max rss {rss} MB")
    print(json.dumps({"call_to_desk": calls, "registration": regs, "anonymise": anon,
                      "p99_ms": calls["p99_ms"], "rss_mb": rss}))


if __name__ == "__main__":
    main()
