"""Bench the console's ingest and event search (web.ingest, web.stores.events).

Scenarios, in order (a real Mosquitto in a temp dir, the console database on the real disk,
``synchronous=FULL``):
  sustained  --nodes node clients (paho, QoS 1, one child process each) publish --events events
             as fast as the broker accepts them; events/s from the first publish until the last one is stored
             (PUBACKed by the console only after commit), checking none is lost or stored twice
  latency    one node publishes at a fixed --rate events/s for --latency-s seconds with its
             wall-clock send time in the event data; node -> stored latency is taken when the
             console's live feed announces the event (after the commit)
  search     EventStore.search on a database of --search-events events (generated directly
             with executemany, the text index rebuilt after), over a few filter combinations
  search_page the console's /events page over that database (web.create_app, services without
             a broker, a logged-in desk user on the Flask test client): server time = wall time
             around client.get, --page-requests requests per filter shape; its p99 is the
             top-level search_p99_ms (issue 3's goal: <= 200 ms on 1,000,000 events)
  rss        the bench process's peak resident set size after the ingest scenarios (the console
             and the latency publisher; broker and sustained publishers not included), and again
             after the search scenario

    python bench/ingest.py [--events 40000] [--nodes 4] [--rate 500] [--latency-s 10]
                           [--search-events 1000000] [--queries 30] [--page-requests 60]

(run from the repository root with the package installed, or with PYTHONPATH=.)

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import multiprocessing
import random
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from mqtt_topics import EventEnvelope, make_event_id
from mqtt_topics import topics as T
from web import close_app, create_app
from web.auth.users import UserStore
from web.config import parse_config
from web.db import Database
from web.ingest import BrokerSettings
from web.services import ServicesConfig, build_services
from web.stores import EventStore

SITE = "bench"
BOOT = "bench-boot"
KINDS = ("card.read", "input.changed", "reader.fault", "relay.pulsed", "node.started")


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def node_client(broker: MosquittoBroker, node: str) -> mqtt.Client:
    c = broker.credentials(node)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{node}", protocol=mqtt.MQTTv311)
    client.username_pw_set(node, str(c["password"]))
    client.max_inflight_messages_set(100)
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect(str(c["host"]), int(c["port"]), keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        raise SystemExit(f"node {node} could not connect")
    return client


def envelope(node: str, seq: int, data: dict[str, Any]) -> EventEnvelope:
    return EventEnvelope(event_id=make_event_id(node, BOOT, seq), node=node, kind="card.read",
                         ts=time.time_ns() // 1_000_000, seq=seq, data=data)


def publisher(creds: dict[str, Any], node: str, count: int, ready: Any, go: Any, done: Any) -> None:
    """Child process: one node publishing ``count`` events (QoS 1) as fast as the broker
    acknowledges them, once ``go`` is set (after putting its node id on ``ready``); puts its
    finish time (``time.time()``) on ``done``."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{node}", protocol=mqtt.MQTTv311)
    client.username_pw_set(node, str(creds["password"]))
    client.max_inflight_messages_set(100)
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect(str(creds["host"]), int(creds["port"]), keepalive=30)
    client.loop_start()
    connected.wait(10)
    msgs = [(T.event(SITE, node, "card.read"), envelope(node, s, {"reader": "r1", "card": f"{s:08d}"}).to_json())
            for s in range(1, count + 1)]
    ready.put(node)
    go.wait(60)
    infos = [client.publish(t, p, qos=1) for t, p in msgs]
    for info in infos:
        info.wait_for_publish(120)
    done.put(time.time())
    client.disconnect()
    client.loop_stop()


def sustained(broker: MosquittoBroker, services: Any, *, events: int, nodes: list[str]) -> dict[str, Any]:
    per_node = events // len(nodes)
    total = per_node * len(nodes)
    ctx = multiprocessing.get_context("spawn")  # node clients in their own processes (own GIL)
    ready, go, done = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=publisher, args=(dict(broker.credentials(n)), n, per_node, ready, go, done))
             for n in nodes]
    for p in procs:
        p.start()
    before = services.events.count()
    for _ in procs:  # each child has connected and prepared its events
        ready.get(timeout=60)
    t0_wall = time.time()
    t0 = time.perf_counter()
    go.set()
    ok = wait_until(lambda: services.events.count() - before >= total, timeout_s=120, interval_s=0.02)
    elapsed = time.perf_counter() - t0
    published = max(done.get(timeout=60) for _ in procs) - t0_wall
    for p in procs:
        p.join(30)
    stored = services.events.count() - before
    gaps = len(services.events.gaps())
    counters = services.ingest.counters
    print(f"sustained: {total} events from {len(nodes)} node processes: published in {published:.2f} s, "
          f"all stored in {elapsed:.2f} s -> {total / elapsed:,.0f} events/s "
          f"(stored {stored}, lost {total - stored}, open gaps {gaps}, "
          f"batches {counters.get('batches')}, duplicates {counters.get('duplicates', 0)})")
    return {"events": total, "nodes": len(nodes), "events_per_s": round(total / elapsed),
            "publish_events_per_s": round(total / published),
            "stored": stored, "lost": total - stored, "complete": ok and stored == total,
            "open_gaps": gaps, "mean_batch": round(counters.get("received", 0) / max(1, counters.get("batches", 1)), 1)}


def latency(broker: MosquittoBroker, services: Any, *, rate: int, seconds: float) -> dict[str, Any]:
    n = int(rate * seconds)
    node = "lat"
    client = node_client(broker, node)
    samples_ms: list[float] = []
    done = threading.Event()
    sub = services.live.subscribe(maxsize=n + 1000)

    def collect() -> None:
        while len(samples_ms) < n:
            item = sub.get(timeout_s=10)
            if item is None:
                break
            channel, payload = item
            if channel == "event" and payload["node"] == node:
                samples_ms.append((time.time_ns() // 1000 - payload["data"]["sent_us"]) / 1000)
        done.set()

    collector = threading.Thread(target=collect, daemon=True)
    collector.start()
    interval = 1.0 / rate
    start = time.perf_counter()
    for seq in range(1, n + 1):
        delay = start + (seq - 1) * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # pacing the publisher at a fixed rate
        env = envelope(node, seq, {"reader": "r1", "sent_us": time.time_ns() // 1000})
        client.publish(T.event(SITE, node, "card.read"), env.to_json(), qos=1)
    done.wait(30)
    sub.close()
    client.disconnect()
    client.loop_stop()
    p50, p99 = quantile(samples_ms, 0.5), quantile(samples_ms, 0.99)
    print(f"latency: {len(samples_ms)}/{n} events at {rate}/s: node -> stored p50 {p50:.2f} ms, "
          f"p99 {p99:.2f} ms, max {max(samples_ms):.2f} ms")
    return {"rate_events_per_s": rate, "events": n, "received": len(samples_ms),
            "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "max_ms": round(max(samples_ms), 2)}


def generate(path: Path, n: int) -> float:
    """A console database with ``n`` events from 20 nodes over ``n`` x 100 ms; returns seconds."""
    import web.stores  # noqa: F401  (schemas)
    t0 = time.perf_counter()
    rnd = random.Random(7)
    base = 1_700_000_000_000
    names = [f"node-{i:02d}" for i in range(20)]
    db = Database(path, synchronous="OFF").open()
    c = db.conn()
    c.execute("DROP TRIGGER events_fts_insert")  # bulk load: the text index is rebuilt once after

    def rows(lo: int, hi: int):
        for i in range(lo, hi):
            node = names[i % 20]
            kind = KINDS[rnd.randrange(len(KINDS))] if i % 1000 else "journal.full"
            data = {"reader": f"r{i % 3}", "card": f"{rnd.randrange(10**8):08d}", "visitor": rnd.choice(
                ("Ana Souza", "Bo Chen", "Carla Diaz", "Dmitri Ivanov", "Eve Adams", "Farid Khan"))}
            yield (f"{node}:{BOOT}:{i // 20 + 1}", node, kind, base + i * 100, i // 20 + 1,
                   json.dumps(data, sort_keys=True, separators=(",", ":")), base + i * 100 + 3, "routine")

    step = 100_000
    for lo in range(0, n, step):
        with db.transaction() as tx:
            tx.executemany("INSERT INTO events (event_id, node, kind, ts, seq, data, received_at, "
                           "event_class) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows(lo, min(n, lo + step)))
    EventStore(db).rebuild_text_index()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - t0


def search(path: Path, *, n: int, queries: int) -> dict[str, Any]:
    """Store-level search figures; generates the database at ``path`` (kept for the page bench)."""
    gen_s = generate(path, n)
    db = Database(path).open()  # re-creates the insert trigger
    store = EventStore(db)
    assert store.count() == n
    base = 1_700_000_000_000
    rnd = random.Random(11)
    cursor_mid = store.search(until_ms=base + n * 50, limit=1).next_cursor
    combos: dict[str, Callable[[], Any]] = {
        "newest": lambda: store.search(limit=50),
        "node": lambda: store.search(node=f"node-{rnd.randrange(20):02d}", limit=50),
        "kind_rare": lambda: store.search(kind="journal.full", limit=50),
        "node_kind": lambda: store.search(node=f"node-{rnd.randrange(20):02d}", kind="reader.fault", limit=50),
        "time_range": lambda: store.search(since_ms=(s := base + rnd.randrange(n) * 100), until_ms=s + 3_600_000, limit=50),
        "deep_page": lambda: store.search(cursor=cursor_mid, limit=50),
        "text_rare": lambda: store.search(text=f"{rnd.randrange(10**8):08d}"[:6], limit=50),
        "text_mid": lambda: store.search(text="journal", limit=50),
        "text_common": lambda: store.search(text="Carla", limit=50),
        "node_text": lambda: store.search(node="node-03", text="Dmitri", limit=50),
        "text_none": lambda: store.search(text="nobody-called-this", limit=50),
    }
    per: dict[str, Any] = {}
    all_ms: list[float] = []
    for name, fn in combos.items():
        fn()  # warm
        ms = []
        for _ in range(queries):
            t = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t) * 1000)
        all_ms += ms
        per[name] = {"p50_ms": round(quantile(ms, 0.5), 2), "p99_ms": round(quantile(ms, 0.99), 2)}
        print(f"search {name:12s} p50 {per[name]['p50_ms']:8.2f} ms  p99 {per[name]['p99_ms']:8.2f} ms")
    # the slowest shape: a 1-2 character term that matches nothing scans the newest
    # short_text_scan_rows rows (default 200,000); unbounded it would scan every row
    t = time.perf_counter()
    short_page = store.search(text="~~", limit=50)
    short_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    EventStore(db, short_text_scan_rows=None).search(text="~~", limit=50)
    unbounded_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    exported = sum(1 for _ in store.iter_search(node="node-05", since_ms=base, until_ms=base + 10_000_000))
    export_s = time.perf_counter() - t
    size_mb = path.stat().st_size / 1e6
    db.close()
    p99 = quantile(all_ms, 0.99)
    print(f"search: {n} events ({size_mb:.0f} MB, generated in {gen_s:.1f} s): p99 over all shapes "
          f"{p99:.2f} ms; short unmatched text {short_ms:.0f} ms (newest "
          f"{store.short_text_scan_rows:,} rows, scan_limited={short_page.scan_limited}; "
          f"unbounded full scan {unbounded_ms:.0f} ms); "
          f"iter_search export {exported} rows in {export_s * 1000:.0f} ms")
    return {"events": n, "db_mb": round(size_mb), "p99_ms": round(p99, 2), "shapes": per,
            "short_text_full_scan_ms": round(short_ms, 1),
            "short_text_unbounded_scan_ms": round(unbounded_ms, 1),
            "short_text_scan_rows": store.short_text_scan_rows,
            "export_rows_per_s": round(exported / export_s) if export_s else None}


_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_ROW_RE = re.compile(r'<tr data-id="')


def search_page(directory: Path, db_name: str, *, n: int, requests: int) -> dict[str, Any]:
    """Server time of GET /events over the database ``directory / db_name`` (``n`` events
    made by :func:`generate`), per filter shape; ms figures."""
    secret = "bench-secret-" + "k" * 40
    config = parse_config({"console": {"site": SITE, "db": db_name, "users_db": "bench-users.json",
                                       "secret_key": secret}}, base_dir=directory)
    users = UserStore(config.users_db_path, hash_method="pbkdf2:sha256:1000").open()
    users.add("bench-desk", "bench password 123", role="desk")
    users.close()
    tz = zoneinfo.ZoneInfo(config.timezone)
    base = 1_700_000_000_000
    rnd = random.Random(13)

    def local(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%dT%H:%M")

    per: dict[str, Any] = {}
    all_ms: list[float] = []
    with build_services(ServicesConfig(db_path=config.db_path, site=SITE, broker=None)) as services:
        app = create_app(config, services=services)
        try:
            client = app.test_client()
            login_page = client.get("/login").get_data(as_text=True)
            token = html.unescape(_TOKEN_RE.search(login_page).group(1))  # type: ignore[union-attr]
            resp = client.post("/login", data={"csrf_token": token, "username": "bench-desk",
                                               "password": "bench password 123"})
            if resp.status_code not in (302, 303):
                raise SystemExit(f"bench log-in failed: {resp.status_code}")
            cursor_mid = services.events.search(until_ms=base + n * 50, limit=1).next_cursor

            def time_range() -> dict[str, str]:
                start = base + rnd.randrange(n) * 100
                return {"since": local(start), "until": local(start + 3_600_000)}

            shapes: dict[str, Callable[[], dict[str, str]]] = {
                "newest": lambda: {},
                "node": lambda: {"node": f"node-{rnd.randrange(20):02d}"},
                "kind": lambda: {"kind": "relay.pulsed"},
                "kind_rare": lambda: {"kind": "journal.full"},
                "time_range": time_range,
                "text_rare": lambda: {"q": f"{rnd.randrange(10**8):08d}"[:6]},
                "text_common": lambda: {"q": "Carla"},
                "text_short_none": lambda: {"q": "~~"},
                "text_short_common": lambda: {"q": "Bo"},
                "deep_page": lambda: {"cursor": str(cursor_mid)},
            }
            for name, args in shapes.items():
                first = client.get("/events", query_string=args())  # warm
                if first.status_code != 200:
                    raise SystemExit(f"/events {name}: HTTP {first.status_code}")
                page = first.get_data(as_text=True)
                rows = len(_ROW_RE.findall(page))
                limited = "data-scan-limited" in page
                ms = []
                for _ in range(requests):
                    qs = args()
                    t = time.perf_counter()
                    r = client.get("/events", query_string=qs)
                    ms.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200:
                        raise SystemExit(f"/events {name}: HTTP {r.status_code}")
                all_ms += ms
                per[name] = {"p50_ms": round(quantile(ms, 0.5), 2), "p99_ms": round(quantile(ms, 0.99), 2),
                             "max_ms": round(max(ms), 2), "rows": rows, "scan_limited": limited}
                print(f"page   {name:17s} p50 {per[name]['p50_ms']:8.2f} ms  p99 {per[name]['p99_ms']:8.2f} ms"
                      f"  ({rows} rows{', short-term note shown' if limited else ''})")
        finally:
            close_app(app)
    p50, p99 = quantile(all_ms, 0.5), quantile(all_ms, 0.99)
    print(f"search page: GET /events on {n} events, {requests} requests x {len(per)} shapes: "
          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (goal <= 200 ms)")
    return {"events": n, "requests_per_shape": requests, "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2), "shapes": per}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=40_000)
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--latency-s", type=float, default=10.0)
    ap.add_argument("--search-events", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--page-requests", type=int, default=60)
    args, _unknown = ap.parse_known_args(argv)  # dev.sh bench passes its args to every bench
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="lobbygate-ingest-bench-", dir="/tmp"))
    result: dict[str, Any] = {}
    try:
        nodes = [f"n{i}" for i in range(args.nodes)]
        with MosquittoBroker(directory=tmp / "broker", site=SITE, nodes=nodes + ["lat"]) as broker:
            c = broker.credentials("console")
            cfg = ServicesConfig(db_path=tmp / "console.db", site=SITE,
                                 broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]),
                                                       username="console", password=str(c["password"])))
            with build_services(cfg) as services:
                if not services.ingest.wait_connected(10):
                    raise SystemExit("console could not connect")
                result["sustained"] = sustained(broker, services, events=args.events, nodes=nodes)
                result["latency"] = latency(broker, services, rate=args.rate, seconds=args.latency_s)
                result["rss_mb"] = rss_mb()
                print(f"peak RSS after the ingest scenarios (console + node clients): {result['rss_mb']} MB")
        result["search"] = search(tmp / "search.db", n=args.search_events, queries=args.queries)
        result["search_page"] = search_page(tmp, "search.db", n=args.search_events,
                                            requests=args.page_requests)
        result["search_p99_ms"] = result["search_page"]["p99_ms"]
        result["rss_peak_with_search_mb"] = rss_mb()
        print(f"peak RSS of the bench process incl. the 1M-event load: {result['rss_peak_with_search_mb']} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
