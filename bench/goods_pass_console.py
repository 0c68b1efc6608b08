"""Goods-pass console bench (issue 7, desk side): issue + sign, the printable page, gate
releases through the ingest's event handlers, and the ten-day archive over a large history.

Scenarios (a console database in a temporary directory, SQLite WAL, synchronous=FULL as in
production; the site key is a generated Ed25519 key):

  issue    --issues passes issued one after another through GoodsPassStore.issue (next id of
           the day, token built and signed with Ed25519, one committed transaction each):
           issue_p50_ms / issue_p99_ms, issues_per_s; plus the same through the issue form
           (POST /passes/new with the Flask test client: validation, unit registry, signing,
           audit): form_p99_ms
  print    GET /passes/<id>/print (both copies, QR code rendered as SVG by segno) --renders
           times: print_p50_ms / print_p99_ms
  history  --history passes over 100 days (500 a day, filled in batches), 90 % released at a
           gate through the ingest's event handlers (events.add + handlers in batch
           transactions of 500, as the ingest does), 1 % of those released twice, plus 100
           releases of unknown pass ids: releases_per_s
  archive  the ten-day report (build_archive) and its CSV (GET /passes/archive.csv) over that
           history, and a report of the whole 100 days: archive_10d_ms, csv_10d_ms,
           archive_100d_ms; and the revocations snapshot build: snapshot_ms

    python bench/goods_pass_console.py [--issues 1000] [--renders 300] [--history 50000]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

DAY_MS = 86_400_000
T0 = 1_772_413_200_000           # 2026-03-02 09:00 Asia/Shanghai
TZ = "Asia/Shanghai"
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))], 3)


def build(tmp: Path, clock: Clock) -> tuple[Any, Any, Any]:
    from web import create_app
    from web.auth.users import UserStore
    from web.config import parse_config
    from web.services import build_services
    from web.signing import SiteSigner
    from web.units import parse_unit

    cfg = parse_config({"console": {"site": "bench", "db": "console.db", "users_db": "users.json",
                                    "secret_key": "bench-" + "s" * 40, "timezone": TZ}},
                       base_dir=tmp)
    services = build_services(cfg.services_config(), clock=clock, signer=SiteSigner.generate())
    services.start()
    for b in range(1, 21):
        for n in range(1, 51):
            services.units.save(parse_unit({"building": str(b), "number": f"{n:04d}", "residents": [
                {"name": f"业主{b}-{n}", "relation": "owner"}]}), by="bench", create=True)
    users = UserStore(cfg.users_db_path, clock=clock, hash_method="pbkdf2:sha256:1000").open()
    users.add("desk1", PASSWORD, role="desk")
    app = create_app(cfg, services=services, clock=clock)
    return cfg, services, app


def draft(i: int, day_start_ms: int) -> Any:
    from web.passes import PassDraft, PassLine

    b, n = i % 20 + 1, i % 50 + 1
    return PassDraft(unit=f"{b}-{n:04d}", carrier_name=f"业主{b}-{n}", carrier_relation="owner",
                     carrier_id_last4="1234", vehicle_plate="沪A12345",
                     items=(PassLine("双门冰箱", 1, True), PassLine("纸箱（衣物）", 4)),
                     valid_from_ms=day_start_ms, valid_until_ms=day_start_ms + DAY_MS - 60_000)


def issue_scenario(services: Any, app: Any, clock: Clock, n: int) -> dict[str, Any]:
    sign = services.signer().sign
    day0 = T0 - 9 * 3_600_000
    times = []
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        services.passes.issue(draft(i, day0), sign=sign, by="desk1")
        times.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - start
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": token, "username": "desk1", "password": PASSWORD})
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/passes/new").get_data(as_text=True)).group(1)
    form_times = []
    for i in range(min(n, 300)):
        data = {"csrf_token": token, "unit": "1-0001", "carrier_name": "业主1-1",
                "carrier_relation": "owner", "carrier_id_last4": "1234",
                "authorisation": "in_person", "valid_from": "2026-03-02",
                "valid_until": "2026-03-02", "items-0-description": "冰箱",
                "items-0-quantity": "1", "items-1-description": "纸箱", "items-1-quantity": "3"}
        t = time.perf_counter()
        resp = client.post("/passes/new", data=data)
        form_times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 303, resp.status_code
    return {"issues": n, "issue_p50_ms": pct(times, 50), "issue_p99_ms": pct(times, 99),
            "issues_per_s": round(n / total, 1), "form_posts": len(form_times),
            "form_p50_ms": pct(form_times, 50), "form_p99_ms": pct(form_times, 99),
            "_client": client}


def print_scenario(services: Any, client: Any, n: int) -> dict[str, Any]:
    ids = [p.pass_id for p in services.passes.search(limit=n)]
    times = []
    size = 0
    for i in range(n):
        t = time.perf_counter()
        resp = client.get(f"/passes/{ids[i % len(ids)]}/print")
        body = resp.get_data()
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200
        size = len(body)
    return {"renders": n, "print_p50_ms": pct(times, 50), "print_p99_ms": pct(times, 99),
            "page_kb": round(size / 1024, 1)}


def history_scenario(services: Any, clock: Clock, n: int) -> dict[str, Any]:
    from mqtt_topics import EventEnvelope

    sign = services.signer().sign
    per_day = 500
    days = max(1, n // per_day)
    first_day = T0 - 9 * 3_600_000 - days * DAY_MS
    ids: list[tuple[str, int]] = []
    t = time.perf_counter()
    for d in range(days):
        day = first_day + d * DAY_MS
        clock.now = day + 9 * 3_600_000
        with services.db.transaction():
            for i in range(per_day):
                ids.append((services.passes.issue(draft(i, day), sign=sign, by="desk1").pass_id,
                            day))
    fill_s = time.perf_counter() - t
    handlers = services.event_handlers
    releases = []
    for k, (pid, day) in enumerate(ids):
        if k % 10 == 9:
            continue                           # 10 % never used
        releases.append((pid, day + 10 * 3_600_000 + k))
        if k % 100 == 0:
            releases.append((pid, day + 11 * 3_600_000 + k))        # released twice
    for u in range(100):
        releases.append((f"gp-20250101-{u:04d}", first_day + u * DAY_MS // 2))
    logging.getLogger("web.passes.store").setLevel(logging.ERROR)
    t = time.perf_counter()
    for start in range(0, len(releases), 500):
        with services.db.transaction():
            for seq, (pid, ts) in enumerate(releases[start:start + 500], start=start + 1):
                env = EventEnvelope(event_id=f"gate:b1:{seq}", node="gate",
                                    kind="goods_pass.released", ts=ts, seq=seq,
                                    data={"gate": "gate-north", "pass_id": pid, "unit": "1-0001",
                                          "items": 5})
                ev = services.events.add(env, received_at=ts)
                for h in handlers:
                    h(ev)
    rel_s = time.perf_counter() - t
    clock.now = T0
    return {"passes": len(ids), "days": days, "fill_s": round(fill_s, 2),
            "releases": len(releases), "releases_per_s": round(len(releases) / rel_s, 1),
            "first_day_ms": first_day}


def archive_scenario(services: Any, client: Any, first_day: int) -> dict[str, Any]:
    from web.passes.archive import build_archive

    today = T0 - 9 * 3_600_000
    since10 = today - 10 * DAY_MS
    t = time.perf_counter()
    rep10 = build_archive(services.passes, since10, today, T0)
    a10 = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    resp = client.get("/passes/archive.csv?since=2026-02-20&until=2026-03-01")
    body = resp.get_data()
    c10 = (time.perf_counter() - t) * 1000
    assert resp.status_code == 200
    t = time.perf_counter()
    page = client.get("/passes/archive?since=2026-02-20&until=2026-03-01")
    p10 = (time.perf_counter() - t) * 1000
    assert page.status_code == 200
    t = time.perf_counter()
    rep100 = build_archive(services.passes, first_day, today, T0)
    a100 = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    snap = services.passes.revocations_snapshot()
    snap_ms = (time.perf_counter() - t) * 1000
    return {"rows_10d": len(rep10.rows), "flags_10d": {k: v for k, v in rep10.totals.items()},
            "archive_10d_ms": round(a10, 1), "archive_page_10d_ms": round(p10, 1),
            "csv_10d_ms": round(c10, 1), "csv_10d_kb": round(len(body) / 1024, 1),
            "rows_100d": len(rep100.rows), "archive_100d_ms": round(a100, 1),
            "snapshot_ms": round(snap_ms, 2), "snapshot_ids": len(snap.data["revoked"]) +
            len(snap.data["used"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--issues", type=int, default=1000)
    ap.add_argument("--renders", type=int, default=300)
    ap.add_argument("--history", type=int, default=50_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    out: dict[str, Any] = {"bench": "goods_pass_console"}
    with tempfile.TemporaryDirectory(prefix="passes-console-bench-") as tmp:
        clock = Clock(T0)
        _cfg, services, app = build(Path(tmp), clock)
        try:
            iss = issue_scenario(services, app, clock, args.issues)
            client = iss.pop("_client")
            print(f"issue + sign (store, synchronous=FULL) x{iss['issues']}: p50 "
                  f"{iss['issue_p50_ms']} ms, p99 {iss['issue_p99_ms']} ms, "
                  f"{iss['issues_per_s']} passes/s; through the form x{iss['form_posts']}: p50 "
                  f"{iss['form_p50_ms']} ms, p99 {iss['form_p99_ms']} ms")
            pr = print_scenario(services, client, args.renders)
            print(f"printable page (2 copies, SVG QR) x{pr['renders']}: p50 {pr['print_p50_ms']} ms, "
                  f"p99 {pr['print_p99_ms']} ms, {pr['page_kb']} KB")
            hist = history_scenario(services, clock, args.history)
            print(f"history: {hist['passes']} passes over {hist['days']} days filled in "
                  f"{hist['fill_s']} s; {hist['releases']} gate releases through the ingest "
                  f"handlers at {hist['releases_per_s']} events/s")
            arc = archive_scenario(services, client, hist.pop("first_day_ms"))
            print(f"ten-day archive ({arc['rows_10d']} rows, flags {arc['flags_10d']}): report "
                  f"{arc['archive_10d_ms']} ms, page {arc['archive_page_10d_ms']} ms, CSV "
                  f"{arc['csv_10d_ms']} ms ({arc['csv_10d_kb']} KB); whole history "
                  f"({arc['rows_100d']} rows) {arc['archive_100d_ms']} ms; revocations snapshot "
                  f"({arc['snapshot_ids']} ids) {arc['snapshot_ms']} ms")
        finally:
            from web import close_app

            close_app(app)
            services.stop()
    out.update(issue=iss, print=pr, history=hist, archive=arc)
    out["issue_p99_ms"] = iss["issue_p99_ms"]
    out["issues_per_s"] = iss["issues_per_s"]
    out["print_p99_ms"] = pr["print_p99_ms"]
    out["archive_10d_ms"] = arc["archive_10d_ms"]
    out["archive_100d_ms"] = arc["archive_100d_ms"]
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
