"""Bench the node's event journal (edge.journal) on the real disk.

Scenarios, in order, on one journal under a temp dir in /tmp:
  append     append --rows events one by one (synchronous=FULL: one fsync'd commit each)
  size       file bytes per event once closed (WAL checkpointed)
  open       reopen time with --rows unsent rows (counts are rebuilt on open)
  unsent     read every unsent row in pages of --page rows, in seq order
  full       append --full-appends more events to the full journal (each drops one routine row)
  mark_sent  mark every unsent row sent in batches of --page (pruning on, keep_sent 10,000)

    python bench/journal.py [--rows 100000] [--page 1000] [--full-appends 2000]

(run from the repository root with the package installed, or with PYTHONPATH=.)

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import sys
import time
from pathlib import Path
from typing import Any

from edge.journal import EventJournal

BOOT = "bench-boot"
KIND = "input.changed"  # routine: may be dropped when full


def data(n: int) -> dict[str, Any]:
    """A typical small event body (~150-byte envelope)."""
    return {"input": "door-contact", "active": n % 2 == 0, "n": n}


def quantile_ms(samples_s: list[float], q: float) -> float:
    ordered = sorted(samples_s)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def run(rows: int, page: int, full_appends: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="lobbygate-journal-bench-", dir="/tmp"))
    path = tmp / "journal.db"
    result: dict[str, Any] = {"rows": rows, "page_rows": page}
    try:
        journal = EventJournal(path, node="bench", capacity=rows).open()
        lat: list[float] = []
        t0 = time.perf_counter()
        for n in range(rows):
            t = time.perf_counter()
            journal.append(KIND, data(n), boot_id=BOOT)
            lat.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - t0
        result["append"] = {"append_per_s": round(rows / elapsed),
                            "p50_ms": round(statistics.median(lat) * 1000, 3),
                            "p99_ms": quantile_ms(lat, 0.99), "max_ms": quantile_ms(lat, 1.0)}
        print(f"append     {rows} events in {elapsed:.1f} s: {rows / elapsed:,.0f}/s, "
              f"p50 {result['append']['p50_ms']} ms, p99 {result['append']['p99_ms']} ms")
        journal.close()

        size = sum(p.stat().st_size for p in tmp.iterdir())
        result["size"] = {"bytes_per_event": round(size / rows, 1), "file_mb": round(size / 2**20, 1)}
        print(f"size       {size / 2**20:.1f} MiB: {size / rows:.0f} bytes/event")

        t = time.perf_counter()
        journal = EventJournal(path, node="bench", capacity=rows).open()
        result["open"] = {"open_ms": round((time.perf_counter() - t) * 1000, 1)}
        print(f"open       {result['open']['open_ms']} ms with {rows} unsent rows")

        t = time.perf_counter()
        first = journal.unsent(limit=page)
        first_ms = (time.perf_counter() - t) * 1000
        read, after = len(first), first[-1].seq
        t0 = time.perf_counter()
        while True:
            batch = journal.unsent(after_seq=after, limit=page)
            if not batch:
                break
            read += len(batch)
            after = batch[-1].seq
        elapsed = time.perf_counter() - t0
        result["unsent"] = {"rows_per_s": round((read - len(first)) / elapsed),
                            "first_page_ms": round(first_ms, 2),
                            "page_ms": round(elapsed * 1000 / max(1, (read - len(first)) / page), 2)}
        print(f"unsent     {read} rows in pages of {page}: {result['unsent']['rows_per_s']:,}/s, "
              f"first page {first_ms:.2f} ms")

        t0 = time.perf_counter()
        for n in range(full_appends):
            journal.append(KIND, data(n), boot_id=BOOT)
        elapsed = time.perf_counter() - t0
        stats = journal.stats()
        result["full"] = {"append_per_s": round(full_appends / elapsed),
                          "dropped": stats.dropped_total}
        print(f"full       {full_appends} appends to the full journal: "
              f"{full_appends / elapsed:,.0f}/s, {stats.dropped_total} routine rows dropped")

        marked, after, batches, elapsed = 0, 0, 0, 0.0
        while True:
            batch = journal.unsent(after_seq=after, limit=page)
            if not batch:
                break
            seqs = [r.seq for r in batch]
            t = time.perf_counter()
            marked += journal.mark_sent(seqs)
            elapsed += time.perf_counter() - t
            after = seqs[-1]
            batches += 1
        stats = journal.stats()
        result["mark_sent"] = {"marks_per_s": round(marked / elapsed), "batch_rows": page,
                               "batch_ms": round(elapsed * 1000 / max(1, batches), 2),
                               "rows_left": stats.total}
        print(f"mark_sent  {marked} rows in batches of {page} (one commit each, pruning on): "
              f"{marked / elapsed:,.0f}/s, {result['mark_sent']['batch_ms']} ms/batch; "
              f"{stats.total} sent rows kept")
        journal.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="unsent rows (default 100000)")
    parser.add_argument("--page", type=int, default=1000, help="rows per page/batch (default 1000)")
    parser.add_argument("--full-appends", type=int, default=2000,
                        help="appends to the full journal (default 2000)")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="log        %(message)s")
    print(json.dumps(run(args.rows, args.page, args.full_appends)))


if __name__ == "__main__":
    main()
