"""Bench the console's meter reading (web.meters): the readings ingest and the monthly statement.

Scenarios:
  ingest     --events meter.total events (2 registers each, as an SDM120 sends) through the
             event store and the meters' ingest handler, in batch transactions of --batch like
             the console's ingest, on a database with synchronous=FULL: events_per_s
  statement  --units units x 2 meters (electricity + water) with hourly totals over --days days
             (a few meters reset, silent for a day, or installed mid-month), written straight
             into the journal with their segments and gaps; --moved of them changed unit in
             mid-month (the registry's edit, effective back-dated: two statement rows each);
             then the monthly statement
             (build_statement) --runs times: statement_p50_ms / statement_max_ms; the
             statement CSV rows; one unit's page data (daily series of a month for 2 meters);
             the anomaly job over every meter
Figures also: readings stored, database size (db_mb), rss_mb.

    python bench/meters_console.py [--events 20000] [--units 2000] [--days 35] [--moved 40]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mqtt_topics import EventEnvelope
from web.meters import Meter, build_statement, day_starts, period_named
from web.meters.statements import statement_csv_rows
from web.services import ServicesConfig, build_services
from web.units import parse_unit

H = 3_600_000
TZ = "Asia/Shanghai"


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def services(path: Path, clock: Any) -> Any:
    s = build_services(ServicesConfig(db_path=path, site="bench", timezone=TZ), clock=clock)
    return s.start()


def bench_ingest(tmp: Path, n_events: int, batch: int) -> dict[str, Any]:
    t0 = 1_767_369_600_000
    svc = services(tmp / "ingest.db", lambda: t0)
    try:
        meters = [f"e-{i:04d}" for i in range(200)]
        envs = []
        for i in range(n_events):
            m = meters[i % len(meters)]
            ts = t0 + (i // len(meters)) * 900_000
            envs.append(EventEnvelope(
                event_id=f"meters-a:b1:{i + 1}", node="meters-a", kind="meter.total", ts=ts,
                seq=i + 1, data={"meter": m, "unit": "A-101", "kind": "electricity",
                                 "reason": "interval", "read_ts": ts,
                                 "totals": {"import_energy_kwh": 100 + i * 0.01,
                                            "export_energy_kwh": 0.0}}))
        handler = svc.meters.ingest.on_event
        started = time.perf_counter()
        for k in range(0, n_events, batch):
            with svc.db.transaction():
                for env in envs[k:k + batch]:
                    ev = svc.events.add(env, received_at=env.ts)
                    with svc.db.savepoint("handler"):
                        handler(ev)
        elapsed = time.perf_counter() - started
        stored = svc.meters.readings.count()
    finally:
        svc.stop()
    return {"events": n_events, "readings": stored, "batch": batch,
            "events_per_s": round(n_events / elapsed), "seconds": round(elapsed, 2)}


def seed(svc: Any, n_units: int, days: int, start: int, rng: random.Random) -> int:
    units = [f"{1 + i // 200}-{i % 200 + 101}" for i in range(n_units)]
    svc.units.upsert_many((parse_unit({"building": u.split("-")[0], "number": u.split("-")[1],
                                       "vacant": i % 50 == 0}) for i, u in enumerate(units)),
                          by="bench")
    meters = []
    for u in units:
        meters.append(Meter(meter_id=f"e-{u}", unit=u, kind="electricity",
                            register="import_energy_kwh", node="meters-a", map="eastron_sdm120"))
        meters.append(Meter(meter_id=f"w-{u}", unit=u, kind="water", register="total_volume_m3",
                            node="meters-a", map="water_generic"))
    svc.meters.registry.import_meters(meters, by="bench")
    hours = days * 24
    rows = 0
    c = svc.db.conn()
    for n, m in enumerate(meters):
        batch = []
        value = rng.uniform(0, 5000)
        seg = 0
        prev_ts = None
        first = 0
        if n % 97 == 0:
            first = 10 * 24                       # installed mid-month
        silent = range(15 * 24, 16 * 24) if n % 53 == 0 else range(0)
        for h in range(first, hours):
            if h in silent:
                continue
            ts = start + h * H
            reason = "hour"
            if n % 71 == 0 and h == 20 * 24:       # replaced: a new segment
                value, seg, reason = rng.uniform(0, 2), seg + 1, "reset"
            else:
                value += rng.uniform(0, 0.6 if m.kind == "electricity" else 0.02)
            gap = None if prev_ts is None else ts - prev_ts
            batch.append((m.meter_id, m.register, ts, round(value, 3), seg, gap, reason,
                          "meters-a", ts, None))
            prev_ts = ts
        with svc.db.transaction() as tx:
            tx.executemany("INSERT INTO meter_readings (meter_id, register, ts, value, segment, "
                           "gap_before_ms, reason, node, received_at, event_id) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        rows += len(batch)
    del c
    return rows


def page_times(tmp: Path, svc: Any, now: int, period: str) -> dict[str, float]:
    """Server time of the statement page, its CSV and one unit's page (test client, ms)."""
    import re

    from web import close_app, create_app
    from web.auth.users import UserStore
    from web.config import parse_config

    cfg = parse_config({"console": {"site": "bench", "db": "pages.db", "users_db": "users.json",
                                    "secret_key": "b" * 48, "timezone": TZ}}, base_dir=tmp)
    UserStore(cfg.users_db_path, hash_method="pbkdf2:sha256:1000").open().add(
        "desk1", "bench password 1", role="desk")
    app = create_app(cfg, services=svc, clock=lambda: now)
    try:
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"csrf_token": token, "username": "desk1",
                                    "password": "bench password 1"})
        out = {}
        for name, url in (("statement_page_ms", f"/meters/statements?period={period}"),
                          ("statement_csv_ms", f"/meters/statements.csv?period={period}"),
                          ("unit_page_ms", f"/meters/unit/1-101?period={period}"),
                          ("unit_monthly_page_ms", "/meters/unit/1-101?view=monthly")):
            t = time.perf_counter()
            resp = client.get(url)
            resp.get_data()
            out[name] = round((time.perf_counter() - t) * 1000, 1)
            assert resp.status_code == 200, (url, resp.status_code)
        return out
    finally:
        close_app(app)


def move(svc: Any, n_moved: int, at: int) -> None:
    """Move ``n_moved`` meters (spread over the registry) to the next unit, effective ``at``."""
    meters = list(svc.meters.registry)
    units = sorted({m.unit for m in meters})
    step = max(1, len(meters) // max(1, n_moved))
    for m in meters[::step][:n_moved]:
        to = units[(units.index(m.unit) + 1) % len(units)]
        svc.meters.registry.save(m.with_changes(unit=to), by="bench", create=False,
                                 effective_at=at)


def bench_statement(tmp: Path, n_units: int, days: int, runs: int,
                    n_moved: int = 0) -> dict[str, Any]:
    period = period_named("2026-01", tz=TZ)
    now = period.end + 5 * 24 * H
    svc = services(tmp / "statement.db", lambda: now)
    try:
        started = time.perf_counter()
        rows = seed(svc, n_units, days, period.start - 2 * 24 * H, random.Random(1))
        move(svc, n_moved, period.start + 12 * 24 * H + 5 * 60_000)
        seed_s = time.perf_counter() - started
        db_mb = round(os.path.getsize(tmp / "statement.db") / 1e6, 1)
        print(f"seed       {rows} readings for {2 * n_units} meters in {seed_s:.1f} s ({db_mb} MB)")
        times = []
        st = None
        for _ in range(runs):
            t = time.perf_counter()
            st = build_statement(period, registry=svc.meters.registry, readings=svc.meters.readings,
                                 now=now)
            times.append((time.perf_counter() - t) * 1000)
        assert st is not None
        t = time.perf_counter()
        csv_rows = sum(1 for _ in statement_csv_rows(st, fmt=str))
        csv_ms = (time.perf_counter() - t) * 1000
        marked = st.flagged()
        t = time.perf_counter()
        cuts = day_starts(period, tz=TZ)
        for m in svc.meters.registry.of_unit("1-101"):
            svc.meters.readings.series(m.meter_id, m.billed_register, cuts, now=now)
        unit_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        svc.meters.watch.check(period.start + 20 * 24 * H)
        anomaly_ms = (time.perf_counter() - t) * 1000
        pages = page_times(tmp, svc, now, period.name)
    finally:
        svc.stop()
    return {"units": n_units, "meters": 2 * n_units, "moved": n_moved, "readings": rows,
            "db_mb": db_mb,
            "statement_p50_ms": round(statistics.median(times), 1),
            "statement_max_ms": round(max(times), 1), "rows_marked": marked,
            "csv_ms": round(csv_ms, 1), "csv_rows": csv_rows - 1,
            "unit_daily_series_ms": round(unit_ms, 1), "anomaly_job_ms": round(anomaly_ms, 1),
            "pages": pages}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--days", type=int, default=35)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--moved", type=int, default=40,
                    help="meters that changed unit mid-month (default 40, 1%%)")
    args = ap.parse_args()
    logging.getLogger("web.meters").setLevel(logging.ERROR)   # the anomaly alarms found
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="meters-bench-") as d:
        tmp = Path(d)
        ing = bench_ingest(tmp, args.events, args.batch)
        print(f"ingest     {ing['events']} meter.total events ({ing['readings']} readings) in "
              f"batches of {ing['batch']}: {ing['events_per_s']} events/s")
        result["ingest"] = ing
        result["events_per_s"] = ing["events_per_s"]
        st = bench_statement(tmp, args.units, args.days, args.runs, args.moved)
        print(f"statement  {st['meters']} meters ({st['moved']} moved mid-month), "
              f"{st['readings']} readings: statement p50 "
              f"{st['statement_p50_ms']} ms (max {st['statement_max_ms']} ms), {st['rows_marked']} "
              f"rows marked; CSV {st['csv_ms']} ms; one unit's daily chart data "
              f"{st['unit_daily_series_ms']} ms; anomaly job {st['anomaly_job_ms']} ms")
        print("pages      " + ", ".join(f"{k} {v}" for k, v in st["pages"].items()))
        result["statement"] = st
        result["statement_ms"] = st["statement_p50_ms"]
    result["rss_mb"] = rss_mb()
    print(f"memory     max rss {result['rss_mb']} MB")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
