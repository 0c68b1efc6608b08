"""Demo bench: how long ``lobbygate demo --check``'s site takes to start and to pass its scenario,
and what a running demo costs (CPU of the demo process and of the console child, memory, events
stored per second) with the simulated people active.

Usage: python bench/demo.py [--seconds S] [--interval-ms MS]
Prints readable lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from lobbygate.demo import DemoSite

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _stored(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def check_run(directory: Path) -> dict[str, float]:
    """Start an idle site, run the scripted check, stop it."""
    t0 = time.perf_counter()
    site = DemoSite(directory, activity="idle").start()
    try:
        started = time.perf_counter()
        ok, line = site.run_check()
        checked = time.perf_counter()
    finally:
        site.stop()
    assert ok, line
    return {"start_s": round(started - t0, 2), "check_s": round(checked - started, 2),
            "stop_s": round(time.perf_counter() - checked, 2)}


def running(directory: Path, seconds: float, interval_ms: int) -> dict[str, float]:
    """Run a site with the simulated people for ``seconds``; CPU % of one core, memory, events."""
    site = DemoSite(directory, activity="random", interval_ms=interval_ms).start()
    db = directory / "console" / "console.sqlite"
    try:
        assert site.console is not None
        console_pid = site.console.pid
        me = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, console0, events0 = me.ru_utime + me.ru_stime, _cpu_s(console_pid), _stored(db)
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        me = resource.getrusage(resource.RUSAGE_SELF)
        demo_cpu = me.ru_utime + me.ru_stime - cpu0
        console_cpu = _cpu_s(console_pid) - console0
        events = _stored(db) - events0
        rss = {"demo_rss_mb": _rss_mb(os.getpid()), "console_rss_mb": _rss_mb(console_pid)}
        steps = site.people.steps if site.people else 0
    finally:
        site.stop()
    return {"seconds": round(elapsed, 1), "interval_ms": interval_ms, "steps": steps,
            "events_per_s": round(events / elapsed, 2),
            "demo_cpu_pct": round(100 * demo_cpu / elapsed, 2),
            "console_cpu_pct": round(100 * console_cpu / elapsed, 2), **rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="how long to run (default 30)")
    ap.add_argument("--interval-ms", type=int, default=4000,
                    help="mean time between simulated steps (default 4000, the demo's)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lobbygate-bench-demo-") as tmp:
        check = check_run(Path(tmp) / "check")
        print(f"check: site up in {check['start_s']} s, scenario + exactly-once comparison in "
              f"{check['check_s']} s, stopped in {check['stop_s']} s")
        run = running(Path(tmp) / "run", args.seconds, args.interval_ms)
        print(f"running {run['seconds']} s with a step every ~{args.interval_ms} ms ({run['steps']} "
              f"steps): {run['events_per_s']} events/s stored; CPU demo {run['demo_cpu_pct']} %, "
              f"console {run['console_cpu_pct']} % of one core; RSS demo {run['demo_rss_mb']} MB, "
              f"console {run['console_rss_mb']} MB")
    print(json.dumps({"bench": "demo", "check": check, "running": run}))


if __name__ == "__main__":
    main()
