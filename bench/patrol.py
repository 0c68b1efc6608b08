"""Bench the patrol round engine (web.patrol) as pure logic, on a simulated compound.

The plan: --checkpoints check-points (default 200), --routes routes (default 20) of --points
points each (default 30, drawn from the check-points, so routes share points), every route
walked every hour round the clock by its own guard. Each guard taps every point near its
expected time (jitter -2..+3 min); 2 % of points are skipped, 18 % tapped twice, and 1 % of taps
arrive 30 minutes late (a node offline), which exercises the corrections. The clock advances with
the taps and the engine ticks every simulated minute.

Scenarios:
  day     one day through a fresh engine
  month   --days days (default 30) through a fresh engine (>= 500,000 taps with the defaults)
  report  the month's report (patrol_report + report_csv), --report-runs times

Figures: taps_per_s (taps / time spent in on_tap and tick), on_tap_p99_ms, tick_p99_ms,
report_first_ms (the first report builds every round's view; closed rounds' views are cached),
report_p99_ms (report + CSV after that), rss_mb.

    python bench/patrol.py [--checkpoints 200] [--routes 20] [--points 30] [--days 30]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from web.patrol import (Checkpoint, PatrolPlan, PatrolUser, Route, RoundEngine, RoutePoint,
                        Schedule, Tap, patrol_report, report_csv)

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


def run_days(plan: PatrolPlan, days: int, rng: random.Random) -> tuple[dict[str, Any], RoundEngine]:
    clock = [0]
    first = int(datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=ZoneInfo(TZ))
                .astimezone(timezone.utc).timestamp() * 1000)
    last = first + days * 86_400_000
    engine = RoundEngine(plan, clock=lambda: clock[0], tz=TZ, since=first)
    seq = [0]
    tap_times: list[float] = []
    tick_times: list[float] = []
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
    }
    return figures, engine


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
        month, engine = run_days(plan, args.days, random.Random(args.seed))
        print(f"month      {month['taps']} taps over {args.days} days, {month['rounds']} rounds: "
              f"{month['taps_per_s']} taps/s, tap p99 {month['on_tap_p99_ms']} ms, "
              f"tick p99 {month['tick_p99_ms']} ms")
        result["month"] = month
        t0 = time.perf_counter()
        report = patrol_report(engine, FIRST_DAY, FIRST_DAY + timedelta(days=args.days - 1))
        first_ms = round((time.perf_counter() - t0) * 1000, 2)
        times = []
        rows = 0
        last = FIRST_DAY + timedelta(days=args.days - 1)
        for _ in range(args.report_runs):
            t0 = time.perf_counter()
            report = patrol_report(engine, FIRST_DAY, last)
            text = report_csv(report)
            times.append(time.perf_counter() - t0)
            rows = len(report.rows)
        result["report"] = {"days": args.days, "rows": rows, "csv_bytes": len(text.encode()),
                            "completion_pct": report.total.completion_pct,
                            "report_first_ms": first_ms,
                            "report_p50_ms": round(quantile(times, 0.5) * 1000, 2),
                            "report_p99_ms": round(quantile(times, 0.99) * 1000, 2)}
        print(f"report     {args.days} days, {rows} rows, completion "
              f"{report.total.completion_pct} %: first (views built) {first_ms} ms, then with CSV "
              f"p99 {result['report']['report_p99_ms']} ms")
    result["rss_mb"] = rss_mb()
    print(f"memory     max rss {result['rss_mb']} MB")
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
