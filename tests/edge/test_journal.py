"""The node's event journal / outbox (edge.journal): durable, seq-ordered, bounded."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

import edge
from edge.errors import ConfigError, EdgeError, JournalError
from edge.journal import JOURNAL_FULL_KIND, EventJournal, JournalRow
from mqtt_topics import ContractError, EventEnvelope, LobbygateError

REPO = Path(edge.__file__).resolve().parent.parent  # so the child imports this checkout
BOOT = "boot-1"
T0 = 1_700_000_000_000
ROUTINE = "input.changed"     # routine class: may be dropped when full
ALARM = "command.refused"     # alarm class: never dropped
ACCESS = "card.read"          # access class: never dropped


class FakeClock:
    """UTC ms that only moves when a test says so."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture
def journal(path: Path, clock: FakeClock) -> Iterator[EventJournal]:
    with EventJournal(path, node="lobby", clock=clock) as j:
        yield j


def kinds(rows: list[JournalRow]) -> list[str]:
    return [r.kind for r in rows]


def datas(rows: list[JournalRow]) -> list[dict]:
    return [json.loads(r.payload)["data"] for r in rows]


# -- seq --------------------------------------------------------------------------------------


def test_seq_starts_at_one_and_rises_by_one(journal: EventJournal) -> None:
    seqs = [journal.append(ROUTINE, {"n": i}, boot_id=BOOT).seq for i in range(3)]
    assert seqs == [1, 2, 3]


def test_seq_continues_across_close_and_reopen(path: Path, clock: FakeClock) -> None:
    with EventJournal(path, node="lobby", clock=clock) as j:
        for i in range(3):
            j.append(ROUTINE, {"n": i}, boot_id=BOOT)
    with EventJournal(path, node="lobby", clock=clock) as j:
        env = j.append(ROUTINE, {"n": 3}, boot_id="boot-2")
    assert env.seq == 4
    assert env.event_id == "lobby:boot-2:4"


def test_seq_is_not_reused_after_every_row_is_pruned(path: Path, clock: FakeClock) -> None:
    with EventJournal(path, node="lobby", clock=clock, keep_sent=0, prune_every=1) as j:
        seqs = [j.append(ROUTINE, {"n": i}, boot_id=BOOT).seq for i in range(5)]
        j.mark_sent(seqs)
        assert j.stats().total == 0
    with EventJournal(path, node="lobby", clock=clock) as j:
        assert j.append(ROUTINE, {}, boot_id=BOOT).seq == 6


def test_prune_keeps_the_newest_keep_sent_sent_rows(path: Path, clock: FakeClock) -> None:
    with EventJournal(path, node="lobby", clock=clock, keep_sent=2, prune_every=1) as j:
        seqs = [j.append(ROUTINE, {"n": i}, boot_id=BOOT).seq for i in range(6)]
        j.mark_sent(seqs[:5])
        stats = j.stats()
    assert (stats.total, stats.unsent) == (3, 1)  # sent 4 and 5 kept, unsent 6


def test_prune_waits_for_prune_every_marked_rows(path: Path, clock: FakeClock) -> None:
    with EventJournal(path, node="lobby", clock=clock, keep_sent=0, prune_every=4) as j:
        seqs = [j.append(ROUTINE, {"n": i}, boot_id=BOOT).seq for i in range(4)]
        j.mark_sent(seqs[:3])
        assert j.stats().total == 4
        j.mark_sent(seqs[3:])
        assert j.stats().total == 0


CHILD = r"""
import sys
from edge.journal import EventJournal
journal = EventJournal(sys.argv[1], node="lobby").open()
n = 0
while True:
    n += 1
    env = journal.append("input.changed", {"input": "door", "n": n}, boot_id="boot-1")
    sys.stdout.write(f"{env.seq}\n")
    sys.stdout.flush()
"""


def test_journal_runs_wal_with_synchronous_full_and_an_exclusive_lock(
        journal: EventJournal) -> None:
    assert journal.sqlite_settings() == {"journal_mode": "wal", "synchronous": "full",
                                         "locking_mode": "exclusive"}


@pytest.mark.parametrize("kill_after", [1, 300])
def test_every_returned_event_survives_sigkill(path: Path, kill_after: int) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    printed: list[int] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            printed.append(int(line))
            if len(printed) == kill_after:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        err = child.stderr.read() if child.stderr else ""
    assert len(printed) == kill_after, err
    assert child.returncode == -signal.SIGKILL
    with EventJournal(path, node="lobby") as j:
        stored = [r.seq for r in j.unsent(limit=1_000_000)]
        next_seq = j.append(ROUTINE, {}, boot_id="boot-2").seq
    assert set(printed) <= set(stored)
    assert stored == list(range(1, len(stored) + 1))  # no gap, no duplicate
    assert next_seq == len(stored) + 1


# -- the outbox -------------------------------------------------------------------------------


def test_unsent_pages_rows_in_seq_order_after_a_seq(journal: EventJournal) -> None:
    for i in range(5):
        journal.append(ROUTINE, {"n": i}, boot_id=BOOT)
    first = journal.unsent(limit=2)
    second = journal.unsent(after_seq=first[-1].seq, limit=2)
    assert [r.seq for r in first] == [1, 2]
    assert [r.seq for r in second] == [3, 4]


def test_unsent_payload_is_the_returned_envelope_json(journal: EventJournal) -> None:
    env = journal.append(ACCESS, {"reader": "r1", "card": "0012345"}, boot_id=BOOT)
    (row,) = journal.unsent()
    assert row.payload == env.to_json()
    assert EventEnvelope.from_json(row.payload) == env
    assert row.kind == ACCESS


def test_mark_sent_removes_rows_from_unsent(journal: EventJournal) -> None:
    for i in range(4):
        journal.append(ROUTINE, {"n": i}, boot_id=BOOT)
    journal.mark_sent([1, 3])
    assert [r.seq for r in journal.unsent()] == [2, 4]


def test_mark_sent_counts_only_rows_it_changed(journal: EventJournal) -> None:
    for i in range(3):
        journal.append(ROUTINE, {"n": i}, boot_id=BOOT)
    assert journal.mark_sent([1, 2]) == 2
    assert journal.mark_sent([2, 3, 3, 99, 0]) == 1  # 2 already sent; 99 and 0 unknown


def test_sent_state_survives_reopen(path: Path, clock: FakeClock) -> None:
    with EventJournal(path, node="lobby", clock=clock) as j:
        for i in range(3):
            j.append(ROUTINE, {"n": i}, boot_id=BOOT)
        j.mark_sent([1, 2])
    with EventJournal(path, node="lobby", clock=clock) as j:
        assert [r.seq for r in j.unsent()] == [3]
        assert (j.stats().unsent, j.stats().total) == (1, 3)


# -- bounded ----------------------------------------------------------------------------------


@pytest.fixture
def journal_10(path: Path, clock: FakeClock) -> Iterator[EventJournal]:
    with EventJournal(path, node="lobby", clock=clock, capacity=10) as j:
        yield j


def fill(j: EventJournal, n: int) -> list[int]:
    return [j.append(ROUTINE, {"n": i}, boot_id=BOOT).seq for i in range(n)]


def test_full_journal_drops_the_oldest_routine_rows_only(path: Path, clock: FakeClock) -> None:
    with EventJournal(path, node="lobby", clock=clock, capacity=5) as j:
        for kind, n in ((ROUTINE, 1), (ALARM, 2), (ROUTINE, 3), (ACCESS, 4), (ROUTINE, 5)):
            j.append(kind, {"n": n}, boot_id=BOOT)
        j.append(ROUTINE, {"n": 6}, boot_id=BOOT)
        rows = j.unsent()
        stats = j.stats()
    # routine 1 and 3 dropped: room for event 6 and the journal.full alarm
    assert [(r.kind, d.get("n")) for r, d in zip(rows, datas(rows))] == [
        (ALARM, 2), (ACCESS, 4), (ROUTINE, 5), (ROUTINE, 6), (JOURNAL_FULL_KIND, None)]
    assert datas(rows)[-1] == {"dropped": 2, "capacity": 5}
    assert (stats.unsent, stats.dropped_total) == (5, 2)


def test_full_journal_emits_one_journal_full_alarm_per_episode(journal_10: EventJournal) -> None:
    for i in range(30):
        journal_10.append(ROUTINE, {"n": i}, boot_id=BOOT)
    rows = journal_10.unsent()
    assert kinds(rows).count(JOURNAL_FULL_KIND) == 1
    assert len(rows) == 10
    assert journal_10.stats().dropped_total == 30 + 1 - 10


def test_journal_full_rearms_once_unsent_falls_below_90_percent(journal_10: EventJournal) -> None:
    fill(journal_10, 11)                               # episode 1: one alarm
    routine = [r.seq for r in journal_10.unsent() if r.kind == ROUTINE]
    journal_10.mark_sent(routine[:2])                  # 8 of 10 unsent: below 90 %
    fill(journal_10, 3)                                # full again: episode 2
    assert kinds(journal_10.unsent()).count(JOURNAL_FULL_KIND) == 2


def test_journal_full_does_not_rearm_at_exactly_90_percent(journal_10: EventJournal) -> None:
    fill(journal_10, 11)
    routine = [r.seq for r in journal_10.unsent() if r.kind == ROUTINE]
    journal_10.mark_sent(routine[:1])                  # 9 of 10 unsent: not below 90 %
    fill(journal_10, 3)
    assert kinds(journal_10.unsent()).count(JOURNAL_FULL_KIND) == 1


def test_fill_episode_survives_reopen(path: Path, clock: FakeClock) -> None:
    with EventJournal(path, node="lobby", clock=clock, capacity=10) as j:
        fill(j, 11)
    with EventJournal(path, node="lobby", clock=clock, capacity=10) as j:
        fill(j, 5)
        assert kinds(j.unsent()).count(JOURNAL_FULL_KIND) == 1


def test_dropped_total_survives_reopen(path: Path, clock: FakeClock) -> None:
    with EventJournal(path, node="lobby", clock=clock, capacity=10) as j:
        fill(j, 15)
        dropped = j.stats().dropped_total
    with EventJournal(path, node="lobby", clock=clock, capacity=10) as j:
        assert j.stats().dropped_total == dropped == 15 + 1 - 10


def test_journal_exceeds_capacity_rather_than_drop_alarm_or_access(
        path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="edge.journal")
    with EventJournal(path, node="lobby", clock=clock, capacity=3) as j:
        for i, kind in enumerate((ALARM, ACCESS, ALARM, ACCESS, ALARM)):
            j.append(kind, {"n": i}, boot_id=BOOT)
        rows = j.unsent()
        stats = j.stats()
    assert [d["n"] for d in datas(rows)] == [0, 1, 2, 3, 4]
    assert (stats.unsent, stats.dropped_total) == (5, 0)
    assert JOURNAL_FULL_KIND not in kinds(rows)
    assert any("over its capacity" in r.getMessage() for r in caplog.records)


# -- stats ------------------------------------------------------------------------------------


def test_stats_of_an_empty_journal(journal: EventJournal) -> None:
    stats = journal.stats()
    assert (stats.unsent, stats.total, stats.dropped_total, stats.oldest_unsent_ms,
            stats.next_seq, stats.capacity) == (0, 0, 0, None, 1, 1_000_000)


def test_stats_count_unsent_and_total_and_oldest_unsent(journal: EventJournal,
                                                         clock: FakeClock) -> None:
    for i in range(4):
        clock.now = T0 + i * 1000
        journal.append(ROUTINE, {"n": i}, boot_id=BOOT)
    journal.mark_sent([1, 2])
    stats = journal.stats()
    assert (stats.unsent, stats.total, stats.oldest_unsent_ms, stats.next_seq) == (
        2, 4, T0 + 2000, 5)


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Card Read", "", "card/read", "card.read#"])
def test_bad_kind_raises_contract_error_and_writes_nothing(journal: EventJournal,
                                                            kind: str) -> None:
    with pytest.raises(ContractError):
        journal.append(kind, {}, boot_id=BOOT)
    assert journal.stats().total == 0
    assert journal.append(ROUTINE, {}, boot_id=BOOT).seq == 1


@pytest.mark.parametrize("data", [{"x": float("nan")}, {"x": b"raw"}, {"x": "y" * 70_000}],
                         ids=["nan", "bytes", "over-64KiB"])
def test_data_the_console_would_refuse_raises_contract_error(journal: EventJournal,
                                                             data: dict) -> None:
    with pytest.raises(ContractError):
        journal.append(ROUTINE, data, boot_id=BOOT)
    assert journal.stats().total == 0


@pytest.mark.parametrize("boot_id", ["Boot:1", "", "x" * 33])
def test_bad_boot_id_raises_contract_error(journal: EventJournal, boot_id: str) -> None:
    with pytest.raises(ContractError):
        journal.append(ROUTINE, {}, boot_id=boot_id)


def test_bad_ts_raises_contract_error(journal: EventJournal) -> None:
    with pytest.raises(ContractError):
        journal.append(ROUTINE, {}, boot_id=BOOT, ts=-1)


def test_returned_envelope_does_not_follow_later_changes_to_data(journal: EventJournal) -> None:
    data = {"reader": "r1"}
    env = journal.append(ACCESS, data, boot_id=BOOT)
    data["reader"] = "changed"
    assert env.data == {"reader": "r1"}


# -- threads and clock ------------------------------------------------------------------------


def test_concurrent_appends_get_unique_contiguous_seqs(journal: EventJournal) -> None:
    threads_n, per_thread = 8, 40
    start = threading.Barrier(threads_n)
    seqs: list[list[int]] = [[] for _ in range(threads_n)]

    def worker(k: int) -> None:
        start.wait(timeout=10)
        for i in range(per_thread):
            seqs[k].append(journal.append(ROUTINE, {"t": k, "i": i}, boot_id=BOOT).seq)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    every = sorted(s for per in seqs for s in per)
    assert every == list(range(1, threads_n * per_thread + 1))
    assert [r.seq for r in journal.unsent(limit=10_000)] == every


def test_injected_clock_sets_ts_and_created_ms(journal: EventJournal, clock: FakeClock) -> None:
    clock.now = T0 + 12_345
    env = journal.append(ROUTINE, {}, boot_id=BOOT)
    (row,) = journal.unsent()
    assert env.ts == row.created_ms == T0 + 12_345


def test_explicit_ts_is_kept_and_created_ms_comes_from_the_clock(journal: EventJournal) -> None:
    env = journal.append(ROUTINE, {}, boot_id=BOOT, ts=T0 - 500)
    (row,) = journal.unsent()
    assert (env.ts, row.created_ms) == (T0 - 500, T0)


def test_wait_for_append_wakes_when_an_event_is_appended(journal: EventJournal) -> None:
    woke = threading.Event()
    result: list[bool] = []

    def waiter() -> None:
        result.append(journal.wait_for_append(0, timeout_s=30))
        woke.set()

    t = threading.Thread(target=waiter)
    t.start()
    journal.append(ROUTINE, {}, boot_id=BOOT)
    assert woke.wait(timeout=30)
    t.join(timeout=10)
    assert result == [True]


def test_wait_for_append_returns_false_when_nothing_new(journal: EventJournal) -> None:
    journal.append(ROUTINE, {}, boot_id=BOOT)
    assert journal.wait_for_append(1, timeout_s=0) is False


# -- lifecycle and errors ---------------------------------------------------------------------


def test_constructor_does_no_io(path: Path) -> None:
    EventJournal(path, node="lobby")
    assert not path.exists()


def test_invalid_options_raise_config_error_listing_every_problem(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        EventJournal(path, node="Lobby!", capacity=0, keep_sent=-1)
    assert len(info.value.errors) == 3
    assert isinstance(info.value, EdgeError) and isinstance(info.value, LobbygateError)


def test_open_is_idempotent(journal: EventJournal) -> None:
    journal.append(ROUTINE, {}, boot_id=BOOT)
    assert journal.open() is journal
    assert journal.append(ROUTINE, {}, boot_id=BOOT).seq == 2


def test_close_is_idempotent(path: Path) -> None:
    j = EventJournal(path, node="lobby").open()
    j.close()
    j.close()
    assert j.closed


def test_append_on_a_closed_journal_raises_journal_error(path: Path) -> None:
    j = EventJournal(path, node="lobby")
    with pytest.raises(JournalError, match="not open"):
        j.append(ROUTINE, {}, boot_id=BOOT)


def test_corrupt_file_raises_journal_error_naming_the_path(path: Path) -> None:
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError, match=str(path)):
        EventJournal(path, node="lobby").open()


def test_damaged_pages_raise_journal_error_naming_the_path(path: Path) -> None:
    with EventJournal(path, node="lobby") as j:
        for i in range(500):
            j.append(ROUTINE, {"n": i, "pad": "x" * 100}, boot_id=BOOT)
    size = path.stat().st_size
    with path.open("r+b") as f:  # keep the header page, overwrite the tables
        f.seek(2 * 4096)
        f.write(b"\xab" * (size - 2 * 4096))
    with pytest.raises(JournalError, match=f"{path}.*malformed"):
        EventJournal(path, node="lobby").open()


def test_journal_of_another_node_is_refused(path: Path) -> None:
    with EventJournal(path, node="gate"):
        pass
    with pytest.raises(JournalError, match="belongs to node 'gate'"):
        EventJournal(path, node="lobby").open()


def test_a_journal_in_use_cannot_be_opened_twice(journal: EventJournal, path: Path) -> None:
    with pytest.raises(JournalError, match="in use"):
        EventJournal(path, node="lobby", lock_timeout_s=0).open()
