"""Bench patrol rounds (web.patrol): the round engine with pruning into the round store, and the
console's report and supervisor pages over a month of rounds.

The plan: --checkpoints check-points (default 200), --routes routes (default 20) of --points
points each (default 30, drawn from the check-points, so routes share points), every route
walked every hour round the clock by its own guard. Each guard taps every point near its
expected time (jitter -2..+3 min); 2 % of points are skipped, 18 % tapped twice, and 1 % of taps
arrive 30 minutes late (a node offline), which exercises the corrections. The clock advances with
the taps and the engine ticks every simulated minute.

Scenarios:
  day     one day through a fresh engine
  month   --days days (default 30) through a fresh engine (>= 500,000 taps with the defaults)
  report  the month's report from memory + the round store (patrol_report), then the
          report page, its CSV and the supervisor page through the console app, --report-runs
          times each

Figures: taps_per_s (taps / time spent in on_tap and tick), on_tap_p99_ms, tick_p99_ms,
prune_p99_ms (hourly move of closed rounds to the store), rounds_in_memory, report_build_ms,
render_p99_ms (the month's report page, server time), csv_p99_ms, live_page_p99_ms, rss_mb.

    python bench/patrol.py [--checkpoints 200] [--routes 20] [--points 30] [--days 30]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import re
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from web.patrol import (Checkpoint, PatrolPlan, PatrolUser, Route, RoundEngine, RoutePoint,
                        Schedule, Tap, patrol_report)
from web.patrol.service import DEFAULT_RETAIN_MS

TZ = "Asia/Shanghai"
FIRST_DAY = date(2026, 11, 2)
MIN = 60_000


def build_plan(n_checkpoints: int, n_routes: int, n_points: int, rng: random.Random) -> PatrolPlan:
    cps = [Checkpoint(id=f"cp-{i:03d}", name=f"{i // 10}栋 {i % 10}层", building=str(i // 10),
                      floor=str(i % 10), node=f"node-{i // 4:02d}", reader=f"r{i % 4}")
           for i in range(n_checkpoints)]
    routes = []
    for r in range(n_routes):
        chosen = rng.sample(cps, min(n_points, n_checkpoints))
        points = tuple(RoutePoint(checkpoint=c.id, expected_min=k * 1.5, tolerance_min=3,
                                  min_walk_s=20 if k else 0) for k, c in enumerate(chosen))
        routes.append(Route(id=f"route-{r:02d}", name=f"路线 {r}", points=points,
                            ordered=r % 2 == 0, start_tolerance_min=5, grace_min=10))
    users = [PatrolUser(user=f"guard{g}", cards=(f"0B{g:08X}",)) for g in range(n_routes)]
    schedules = [Schedule.every(id=f"sched-{r:02d}", route=f"route-{r:02d}", start="00:00",
                                end="23:00", every_min=60, tz=TZ, assignees=(f"guard{r}",))
                 for r in range(n_routes)]
    return PatrolPlan(checkpoints=cps, routes=routes, schedules=schedules, users=users)


def day_taps(plan: PatrolPlan, day: date, rng: random.Random, seq: list[int]) -> list[tuple[int, Tap]]:
    """(arrival ms, tap) of one service day, by arrival."""
    zone = ZoneInfo(TZ)
    out: list[tuple[int, Tap]] = []
    for g, s in enumerate(plan.schedules.values()):
        route = plan.routes[s.route]
        for offset, t in s.starts:
            d = day + timedelta(days=offset)
            start = int(datetime(d.year, d.month, d.day, t.hour, t.minute, tzinfo=zone)
                        .astimezone(timezone.utc).timestamp() * 1000)
            card = f"0B{g:08X}"           # guard g walks route g
            for p in route.points:
                roll = rng.random()
                if roll < 0.02:
                    continue
                ts = start + int((p.expected_min + rng.uniform(-0.3, 0.4)) * MIN)
                cp = plan.checkpoints[p.checkpoint]
                for extra in range(2 if roll > 0.82 else 1):
                    seq[0] += 1
                    tap = Tap(event_id=f"{cp.node}:b:{seq[0]}", node=cp.node, reader=cp.reader,
                              checkpoint=cp.id, card=card, ts=ts + extra * 20_000)
                    arrival = tap.ts + (30 * MIN if rng.random() < 0.01 else 200)
                    out.append((arrival, tap))
    out.sort(key=lambda at: at[0])
    return out


def quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def run_days(plan: PatrolPlan, days: int, rng: random.Random, *,
             keep: Callable[[list], object] | None = None,
             retain_ms: int = DEFAULT_RETAIN_MS) -> tuple[dict[str, Any], RoundEngine]:
    """Feed ``days`` of taps; every simulated hour the engine prunes rounds closed more than
    ``retain_ms`` ago (as the console's tick job does) and hands them to ``keep``."""
    clock = [0]
    first = int(datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=ZoneInfo(TZ))
                .astimezone(timezone.utc).timestamp() * 1000)
    last = first + days * 86_400_000
    engine = RoundEngine(plan, clock=lambda: clock[0], tz=TZ, since=first)
    seq = [0]
    tap_times: list[float] = []
    tick_times: list[float] = []
    prune_times: list[float] = []
    pruned = ticks = 0
    n = 0
    busy = 0.0
    for k in range(days):
        taps = day_taps(plan, FIRST_DAY + timedelta(days=k), rng, seq)
        next_tick = taps[0][0] if taps else 0
        for arrival, tap in taps:
            while next_tick <= arrival:
                clock[0] = next_tick
                t0 = time.perf_counter()
                engine.tick(next_tick)
                dt = time.perf_counter() - t0
                tick_times.append(dt)
                busy += dt
                ticks += 1
                if ticks % 60 == 0:
                    t0 = time.perf_counter()
                    gone = engine.prune(next_tick - retain_ms)
                    if keep is not None:
                        keep(gone)
                    prune_times.append(time.perf_counter() - t0)
                    pruned += len(gone)
                next_tick += MIN
            clock[0] = arrival
            t0 = time.perf_counter()
            engine.on_tap(tap, now=arrival)
            dt = time.perf_counter() - t0
            tap_times.append(dt)
            busy += dt
            n += 1
    end = last + 50 * MIN                  # every round of the period has closed by then
    t0 = time.perf_counter()
    engine.tick(end)
    tick_times.append(time.perf_counter() - t0)
    c = engine.counters
    figures = {
        "taps": n, "rounds": c["closed"], "alarms": c["alarms"], "corrections": c["corrections"],
        "taps_per_s": round(n / busy) if busy else 0,
        "on_tap_p50_ms": round(quantile(tap_times, 0.50) * 1000, 4),
        "on_tap_p99_ms": round(quantile(tap_times, 0.99) * 1000, 4),
        "tick_p99_ms": round(quantile(tick_times, 0.99) * 1000, 4),
        "tick_max_ms": round(max(tick_times) * 1000, 3),
        "pruned_rounds": pruned, "rounds_in_memory": engine.in_memory(),
        "prune_p99_ms": round(quantile(prune_times, 0.99) * 1000, 3),
    }
    return figures, engine


class Console:
    """The console app over a temporary database, an administrator logged in (test client)."""

    def __init__(self, tmp: Path, now_ms: int) -> None:
        from web import create_app
        from web.auth.users import UserStore
        from web.config import parse_config
        from web.services import ServicesConfig, build_services

        cfg = parse_config({"console": {"site": "bench", "db": "console.db",
                                        "users_db": "users.json", "secret_key": "b" * 48,
                                        "timezone": TZ}}, base_dir=tmp)
        self.services = build_services(ServicesConfig(db_path=cfg.db_path, site=cfg.site,
                                                      broker=None, timezone=TZ,
                                                      synchronous="NORMAL"),
                                       clock=lambda: now_ms)
        self.services.start()
        users = UserStore(cfg.users_db_path, hash_method="pbkdf2:sha256:1000").open()
        users.add("admin1", "bench password 1", role="admin")
        self.app = create_app(cfg, services=self.services, clock=lambda: now_ms)
        self.client = self.app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        resp = self.client.post("/login", data={"csrf_token": token, "username": "admin1",
                                                "password": "bench password 1"})
        assert resp.status_code == 303, resp.status_code

    def get(self, url: str) -> tuple[float, int]:
        t0 = time.perf_counter()
        resp = self.client.get(url)
        body = resp.get_data()
        dt = time.perf_counter() - t0
        assert resp.status_code == 200, (url, resp.status_code)
        return dt, len(body)

    def close(self) -> None:
        from web import close_app
        close_app(self.app)
        self.services.stop()


def bench_report(console: Console, args: argparse.Namespace) -> dict[str, Any]:
    """The month's report: built from memory + the round store, then the report page and its
    CSV through the console app (server time per request)."""
    last = FIRST_DAY + timedelta(days=args.days - 1)
    source = console.services.patrol
    t0 = time.perf_counter()
    report = patrol_report(source, FIRST_DAY, last)
    first_ms = round((time.perf_counter() - t0) * 1000, 2)
    query = f"start={FIRST_DAY.isoformat()}&end={last.isoformat()}"
    pages, csvs = [], []
    size = csv_size = 0
    for _ in range(args.report_runs):
        dt, size = console.get(f"/patrol/reports?{query}")
        pages.append(dt)
        dt, csv_size = console.get(f"/patrol/reports.csv?{query}")
        csvs.append(dt)
    console.get("/patrol/live")                     # makes the next day's planned rounds
    live_dt = [console.get("/patrol/live")[0] for _ in range(args.report_runs)]
    out = {"days": args.days, "rows": len(report.rows), "rounds": report.total.rounds,
           "stored_rounds": source.rounds.count(),
           "completion_pct": report.total.completion_pct, "report_build_ms": first_ms,
           "page_bytes": size, "csv_bytes": csv_size,
           "render_p50_ms": round(quantile(pages, 0.5) * 1000, 2),
           "render_p99_ms": round(quantile(pages, 0.99) * 1000, 2),
           "csv_p99_ms": round(quantile(csvs, 0.99) * 1000, 2),
           "live_page_p99_ms": round(quantile(live_dt, 0.99) * 1000, 2)}
    print(f"report     {args.days} days, {out['rounds']} rounds ({out['stored_rounds']} from the "
          f"store), {out['rows']} rows, completion {out['completion_pct']} %: built in "
          f"{first_ms} ms; report page p99 {out['render_p99_ms']} ms, CSV p99 "
          f"{out['csv_p99_ms']} ms, live page p99 {out['live_page_p99_ms']} ms")
    return out


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=200)
    parser.add_argument("--routes", type=int, default=20)
    parser.add_argument("--points", type=int, default=30)
    parser.add_argument("--days", type=int, default=30, help="days of the month scenario (0: skip)")
    parser.add_argument("--report-runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    plan = build_plan(args.checkpoints, args.routes, args.points, rng)
    print(f"plan       {len(plan.checkpoints)} check-points, {len(plan.routes)} routes x "
          f"{args.points} points, hourly rounds, one guard per route")
    result: dict[str, Any] = {"checkpoints": len(plan.checkpoints), "routes": len(plan.routes),
                              "points_per_route": args.points}
    day, _ = run_days(plan, 1, random.Random(args.seed))
    print(f"day        {day['taps']} taps, {day['rounds']} rounds closed, {day['alarms']} alarms, "
          f"{day['corrections']} corrections: {day['taps_per_s']} taps/s, tap p99 "
          f"{day['on_tap_p99_ms']} ms, tick p99 {day['tick_p99_ms']} ms")
    result["day"] = day
    if args.days > 0:
        with tempfile.TemporaryDirectory(prefix="patrol-bench-") as tmp:
            first = int(datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day,
                                 tzinfo=ZoneInfo(TZ)).astimezone(timezone.utc).timestamp() * 1000)
            console = Console(Path(tmp), first + args.days * 86_400_000 - 3_600_000)
            try:
                month, engine = run_days(plan, args.days, random.Random(args.seed),
                                         keep=console.services.patrol.rounds.save)
                console.services.patrol._engine = engine       # the engine fed above
                print(f"month      {month['taps']} taps over {args.days} days, {month['rounds']} "
                      f"rounds: {month['taps_per_s']} taps/s, tap p99 {month['on_tap_p99_ms']} ms, "
                      f"tick p99 {month['tick_p99_ms']} ms; {month['pruned_rounds']} rounds moved "
                      f"to the store, {month['rounds_in_memory']} in memory")
                result["month"] = month
                result["report"] = bench_report(console, args)
            finally:
                console.close()
    result["rss_mb"] = rss_mb()
    print(f"memory     max rss {result['rss_mb']} MB")
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
