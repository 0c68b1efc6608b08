"""Key cabinet on the console: loan ingest, the overdue scan, the cabinet view.

Scenarios (one SQLite file in a temp directory, ``synchronous=FULL`` as in production):

- ``ingest``: cabinet events (``key.taken`` / ``key.returned`` for 200 keys in 4 cabinets)
  stored and handed to the key feature's handlers (loans + cabinet board) in batches of 500
  per transaction, as the console's ingest does (the MQTT part is measured by
  ``bench/ingest.py``): ``events_per_s``.
- ``overdue``: ``KeyLoanStore.check_overdue`` over ``--loans`` loans (default 100,000: most
  returned, 1,000 out, 50 of them past due): the first run raising 50 alarms
  (``raise_ms``), then steady-state runs that find nothing new (``scan_p50_ms``/``scan_p99_ms``).
- ``view``: ``GET /keys/cabinets`` and ``GET /keys/cabinets.json`` through the Flask app
  (logged in as the desk) over that database: ``p50_ms``/``p99_ms`` of ``--requests``.

Usage: ``python bench/keys_console.py [--loans 100000] [--events 20000] [--requests 300]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from mqtt_topics import EventEnvelope
from web import close_app, create_app
from web.auth.users import UserStore
from web.config import parse_config
from web.keys.model import KeyRecord
from web.services import ConsoleServices, ServicesConfig, build_services

SITE = "bench-site"
CABINETS = ("east", "west", "north", "south")
KEYS_PER_CABINET = 50
BATCH = 500
_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def p(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def keys_of(cabinet: str) -> list[str]:
    return [f"{cabinet[0].upper()}-{n:03d}" for n in range(1, KEYS_PER_CABINET + 1)]


def register(services: ConsoleServices) -> None:
    for cab in CABINETS:
        for slot, number in enumerate(keys_of(cab), start=1):
            services.keys.register.save(KeyRecord(number=number, label=f"{cab} {slot}", cabinet=cab,
                                                  slot=slot, takers=("role:staff",),
                                                  max_loan_min=240), by="bench", create=True)


def bench_ingest(services: ConsoleServices, n: int) -> dict[str, Any]:
    """Store ``n`` take/return events and run the key handlers, 500 per transaction."""
    handlers = (services.keys.loans.on_event, services.keys.board.on_event)
    all_keys = [(cab, slot, k) for cab in CABINETS for slot, k in enumerate(keys_of(cab), start=1)]
    ts = 1_767_225_600_000
    events: list[EventEnvelope] = []
    for i in range(n):
        cab, slot, key = all_keys[(i // 2) % len(all_keys)]
        kind = "key.taken" if i % 2 == 0 else "key.returned"
        data = {"cabinet": cab, "key": key, "slot": slot, "holder": f"c-{i % 97}",
                "card": f"0A{i % 97:08d}"}
        if kind == "key.returned":
            data["returned_by"] = data["card"]
        events.append(EventEnvelope(event_id=f"cab-{cab}:b1:{i + 1}", node=f"cab-{cab}", kind=kind,
                                    ts=ts + i * 1000, seq=i + 1, data=data))
    db = services.db
    t0 = time.perf_counter()
    for start in range(0, n, BATCH):
        with db.transaction():
            for env in events[start:start + BATCH]:
                ev = services.events.add(env, received_at=env.ts)
                assert ev is not None
                for h in handlers:
                    with db.savepoint("handler"):
                        h(ev)
    elapsed = time.perf_counter() - t0
    return {"events": n, "seconds": round(elapsed, 3), "events_per_s": round(n / elapsed)}


def fill_loans(services: ConsoleServices, total: int, now: int) -> None:
    """``total`` loans straight into the table: all returned except 1,000 out (50 overdue)."""
    all_keys = [k for cab in CABINETS for k in keys_of(cab)]
    rows = []
    for i in range(total):
        key = all_keys[i % len(all_keys)]
        taken = now - (total - i) * 60_000
        out = i >= total - 1000
        if not out:
            due = taken + 240 * 60_000
        elif i < total - 950:                  # the first 50 of the 1,000 out are overdue
            due = now - 3_600_000
        else:
            due = now + 3_600_000
        rows.append((key, "east", 1, "cab-east", f"c-{i % 97}", "", "card",
                     "out" if out else "returned", taken, due, None if out else taken + 600_000,
                     now))
    with services.db.transaction() as c:
        c.execute("DELETE FROM key_loans")
        c.executemany("INSERT INTO key_loans (key, cabinet, slot, node, holder, holder_name, how, "
                      "state, taken_at, due_at, returned_at, created_at) VALUES "
                      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def bench_overdue(services: ConsoleServices, total: int, now: int, runs: int = 50) -> dict[str, Any]:
    fill_loans(services, total, now)
    t0 = time.perf_counter()
    raised = services.keys.loans.check_overdue(now)
    raise_ms = (time.perf_counter() - t0) * 1000
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        again = services.keys.loans.check_overdue(now + i)
        times.append((time.perf_counter() - t0) * 1000)
        assert again == []
    return {"loans": total, "alarms_raised": len(raised), "raise_ms": round(raise_ms, 2),
            "scan_p50_ms": round(p(times, 0.5), 3), "scan_p99_ms": round(p(times, 0.99), 3)}


def bench_view(directory: Path, config: Any, services: ConsoleServices, requests: int) -> dict[str, Any]:
    users = UserStore(config.users_db_path, hash_method="pbkdf2:sha256:1000").open()
    users.add("bench-desk", "bench password 123", role="desk")
    users.close()
    app = create_app(config, services=services)
    out: dict[str, Any] = {}
    try:
        client = app.test_client()
        token = html.unescape(_TOKEN_RE.search(client.get("/login").get_data(as_text=True)).group(1))  # type: ignore[union-attr]
        resp = client.post("/login", data={"csrf_token": token, "username": "bench-desk",
                                           "password": "bench password 123"})
        if resp.status_code not in (302, 303):
            raise SystemExit(f"bench log-in failed: {resp.status_code}")
        for name, url in (("page", "/keys/cabinets"), ("json", "/keys/cabinets.json")):
            first = client.get(url)
            if first.status_code != 200:
                raise SystemExit(f"{url}: HTTP {first.status_code}")
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                r = client.get(url)
                r.get_data()
                times.append((time.perf_counter() - t0) * 1000)
            out[name] = {"p50_ms": round(p(times, 0.5), 2), "p99_ms": round(p(times, 0.99), 2),
                         "bytes": len(first.get_data())}
    finally:
        close_app(app)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loans", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-keys-") as tmp:
        directory = Path(tmp)
        config = parse_config({"console": {"site": SITE, "db": "keys.db",
                                           "users_db": "users.json",
                                           "secret_key": "bench-secret-" + "k" * 40}},
                              base_dir=directory)
        now = 1_800_000_000_000
        with build_services(ServicesConfig(db_path=config.db_path, site=SITE),
                            clock=lambda: now) as services:
            register(services)
            ingest = bench_ingest(services, args.events)
            print(f"ingest: {ingest['events']} key events through the loan + board handlers in "
                  f"{ingest['seconds']} s = {ingest['events_per_s']} events/s (batches of {BATCH})")
            overdue = bench_overdue(services, args.loans, now)
            print(f"overdue: {overdue['loans']} loans, first run raised {overdue['alarms_raised']} "
                  f"alarms in {overdue['raise_ms']} ms; steady scan p50 {overdue['scan_p50_ms']} ms, "
                  f"p99 {overdue['scan_p99_ms']} ms")
            view = bench_view(directory, config, services, args.requests)
            print(f"cabinet view ({len(CABINETS)} cabinets x {KEYS_PER_CABINET} slots, "
                  f"{args.loans} loans): page p50 {view['page']['p50_ms']} ms, p99 "
                  f"{view['page']['p99_ms']} ms; JSON p50 {view['json']['p50_ms']} ms, p99 "
                  f"{view['json']['p99_ms']} ms")
    print(json.dumps({"bench": "keys_console", "ingest": ingest, "overdue": overdue,
                      "view": view}))


if __name__ == "__main__":
    main()
