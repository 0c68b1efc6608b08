"""Door access on the console: building and publishing the ``credentials`` snapshot with
schedules and holidays, and the card-enrolment poll over a large events table.

Scenarios:
  snapshot   a console database with --credentials credentials (10 % on one of --schedules
             schedules, each with two intervals on weekdays and one at weekends) and --holidays
             holiday dates: CredentialStore.snapshot() (one read transaction) and its JSON
             encoding, p50/p99 over --runs; the node's CredentialSet.from_snapshot on those bytes
  change     one schedule edit (ScheduleStore.save: row + version bump) followed by the snapshot
             build, as the editor page does before publishing, p50/p99 over --runs
  enrol      --events stored events from 20 nodes, then the enrolment poll (web.access.enrol.poll)
             for a card read just stored at one node: p50/p99 over 200 polls

    python bench/door_console.py [--credentials 100000] [--schedules 20] [--holidays 30]
                                 [--runs 10] [--events 200000]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edge.access.credentials import CredentialSet
from mqtt_topics import EventEnvelope, SyncSnapshot
from web.access import CredentialRecord, CredentialStore, ScheduleStore
from web.access import enrol
from web.access.schedule_model import Holiday, validate_schedule
from web.db import Database
from web.stores.events import EventStore

NOW_MS = 1_767_225_600_000


def pct(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _schedule(i: int):  # type: ignore[no-untyped-def]
    weekday = f"{7 + i % 3:02d}:00-12:00 13:30-{18 + i % 4}:00"
    schedule, errors = validate_schedule({"schedule_id": f"s-{i}", **{d: weekday for d in
                                          ("mon", "tue", "wed", "thu", "fri")},
                                          "sat": "09:00-17:00", "sun": "22:00-06:00",
                                          "holiday": "10:00-11:00"})
    assert schedule is not None, errors
    return schedule


def build_registry(db: Database, n: int, schedules: int, holidays: int) -> tuple[CredentialStore, ScheduleStore]:
    creds = CredentialStore(db, clock=lambda: NOW_MS, timezone="Asia/Shanghai")
    sched = ScheduleStore(db, clock=lambda: NOW_MS)
    for i in range(schedules):
        sched.save(_schedule(i), by="bench", create=True)
    for d in range(holidays):
        sched.set_holiday(Holiday(day=f"2026-{1 + d // 28:02d}-{1 + d % 28:02d}", name=f"h{d}"),
                          by="bench")
    records = [(i, CredentialRecord(credential_id=f"c-{i}", cards=(f"w34:{i >> 16}:{i & 0xFFFF}",),
                                    holder=f"住户{i}", unit=f"{i % 30 + 1}-{i % 4 + 1}-{i % 2000 + 101}",
                                    schedule=f"s-{i % schedules}" if i % 10 == 0 else None))
               for i in range(n)]
    problems, added, _ = creds.import_records(records, by="bench")
    assert not problems and added == n
    return creds, sched


def snapshot_scenario(creds: CredentialStore, runs: int) -> dict[str, Any]:
    build: list[float] = []
    encode: list[float] = []
    wire = b""
    for _ in range(runs):
        t0 = time.perf_counter()
        snap = creds.snapshot()
        t1 = time.perf_counter()
        wire = snap.to_json()
        t2 = time.perf_counter()
        build.append((t1 - t0) * 1000)
        encode.append((t2 - t1) * 1000)
    t0 = time.perf_counter()
    loaded = CredentialSet.from_snapshot(SyncSnapshot.from_json(wire))
    load_ms = (time.perf_counter() - t0) * 1000
    assert not loaded.rejected, loaded.rejected[:3]
    return {"credentials": len(loaded), "schedules": len(loaded.schedules), "runs": runs,
            "build_p50_ms": round(pct(build, 50), 1), "build_p99_ms": round(pct(build, 99), 1),
            "encode_p50_ms": round(pct(encode, 50), 1), "snapshot_mb": round(len(wire) / 1e6, 2),
            "node_load_ms": round(load_ms, 1)}


def change_scenario(creds: CredentialStore, sched: ScheduleStore, runs: int) -> dict[str, Any]:
    lat: list[float] = []
    schedule = _schedule(0)
    for _ in range(runs):
        t0 = time.perf_counter()
        version = sched.save(schedule, by="bench", create=False)
        snap = creds.snapshot()
        snap.to_json()
        lat.append((time.perf_counter() - t0) * 1000)
        assert snap.version == version
    return {"runs": runs, "change_p50_ms": round(pct(lat, 50), 1),
            "change_p99_ms": round(pct(lat, 99), 1)}


def enrol_scenario(db: Database, events: int) -> dict[str, Any]:
    store = EventStore(db)
    kinds = ("door.granted", "door.state", "card.read", "node.started")
    with db.transaction():
        for i in range(events):
            node = f"n{i % 20}"
            env = EventEnvelope(event_id=f"{node}:b:{i + 1}", node=node, kind=kinds[i % 4],
                                ts=NOW_MS + i, seq=i + 1,
                                data={"door": node, "reader": "r", "card": f"w26:1:{i & 0xFFFF}"})
            store.add(env, received_at=NOW_MS + i)
    lat: list[float] = []
    found = 0
    for j in range(200):
        started = enrol.start(db, now_ms=NOW_MS + events)
        env = EventEnvelope(event_id=f"n3:c:{j + 1}", node="n3", kind="door.denied",
                            ts=NOW_MS + events, seq=j + 1,
                            data={"door": "n3", "reader": "r", "reason": "unknown_card",
                                  "card": f"w26:2:{j}"})
        store.add(env, received_at=NOW_MS + events)
        t0 = time.perf_counter()
        got = enrol.poll(db, node="n3", reader=None, after=started.after, since=started.since,
                         now_ms=NOW_MS + events)
        lat.append((time.perf_counter() - t0) * 1000)
        found += got.state == "found" and got.card == f"w26:2:{j}"
    assert found == 200
    return {"events": events, "polls": 200, "poll_p50_ms": round(pct(lat, 50), 3),
            "poll_p99_ms": round(pct(lat, 99), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--credentials", type=int, default=100_000)
    ap.add_argument("--schedules", type=int, default=20)
    ap.add_argument("--holidays", type=int, default=30)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--events", type=int, default=200_000)
    args = ap.parse_args()
    out: dict[str, Any] = {"bench": "door_console"}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "console.db", synchronous="NORMAL").open()
        try:
            t0 = time.perf_counter()
            creds, sched = build_registry(db, args.credentials, args.schedules, args.holidays)
            print(f"registry: {args.credentials} credentials, {args.schedules} schedules, "
                  f"{args.holidays} holidays written in {time.perf_counter() - t0:.1f} s")
            snap = snapshot_scenario(creds, args.runs)
            print(f"snapshot build ({snap['credentials']} credentials, {snap['schedules']} "
                  f"schedules): p50 {snap['build_p50_ms']} ms, p99 {snap['build_p99_ms']} ms; "
                  f"JSON {snap['encode_p50_ms']} ms, {snap['snapshot_mb']} MB; node load "
                  f"{snap['node_load_ms']} ms")
            out["snapshot"] = snap
            change = change_scenario(creds, sched, args.runs)
            print(f"schedule edit + snapshot: p50 {change['change_p50_ms']} ms, "
                  f"p99 {change['change_p99_ms']} ms")
            out["change"] = change
            en = enrol_scenario(db, args.events)
            print(f"enrolment poll over {en['events']} events: p50 {en['poll_p50_ms']} ms, "
                  f"p99 {en['poll_p99_ms']} ms")
            out["enrol"] = en
        finally:
            db.close()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
