"""Ingest under pressure: a locked database is retried until the batch is stored, and tiny
queues and batches still store every event in order."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable, Iterator

import pytest

from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from web.db import Database
from web.ingest import Ingest
from web.live import LiveFeed
from web.stores import AlarmStore, EventStore, NodeStore, StoredEvent

from wd_helpers import SITE, NodeClient, broker_settings, envelope, wait_channel


@pytest.fixture
def make_ingest(tmp_path: Path, broker: MosquittoBroker) -> Iterator[Callable[..., Ingest]]:
    made: list[tuple[Ingest, Database]] = []

    def make(**kw: object) -> Ingest:
        import web.stores  # noqa: F401
        db = Database(tmp_path / "console.db", busy_timeout_s=0.05).open()
        events = EventStore(db)
        ingest = Ingest(site=SITE, broker=broker_settings(broker), events=events, nodes=NodeStore(db),
                        alarms=AlarmStore(db), live=LiveFeed(), commands=None, **kw)
        made.append((ingest, db))
        ingest.start()
        assert ingest.wait_connected(10)
        return ingest

    yield make
    for ingest, db in made:
        ingest.stop()
        db.close()


def test_locked_database_is_retried_until_the_event_is_stored(make_ingest: Callable[..., Ingest],
                                                              lobby: NodeClient,
                                                              tmp_path: Path) -> None:
    ingest = make_ingest()
    blocker = sqlite3.connect(tmp_path / "console.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with ingest.live.subscribe() as sub:
            lobby.event(envelope(1))
            assert wait_until(lambda: ingest.counters.get("db_errors", 0) >= 1, timeout_s=10)
            assert ingest.events.get(envelope(1).event_id) is None
            blocker.execute("COMMIT")
            wait_channel(sub, "event", lambda p: p["seq"] == 1)
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()
    assert ingest.events.count() == 1


def test_tiny_queue_and_batches_store_every_event_in_order(make_ingest: Callable[..., Ingest],
                                                           lobby: NodeClient) -> None:
    ingest = make_ingest(max_pending=2, batch_max=3)
    with ingest.live.subscribe(maxsize=1000) as sub:
        lobby.publish_events(envelope(s) for s in range(1, 301))
        wait_channel(sub, "event", lambda p: p["seq"] == 300)
    assert [e.seq for e in ingest.events.iter_search(node="lobby")] == list(range(300, 0, -1))
    assert ingest.events.gaps() == []


def test_failing_event_handler_keeps_the_event_and_counts_the_error(make_ingest: Callable[..., Ingest],
                                                                   lobby: NodeClient) -> None:
    calls: list[int] = []

    def broken(ev: StoredEvent) -> None:
        calls.append(ev.seq)
        ev_db.conn().execute("INSERT INTO handler_rows VALUES (?)", (ev.seq,))
        raise RuntimeError("feature bug")

    ingest = make_ingest(event_handlers=[broken])
    ev_db = ingest.events.db
    ev_db.conn().execute("CREATE TABLE handler_rows (seq INTEGER)")
    with ingest.live.subscribe() as sub:
        lobby.event(envelope(1))
        wait_channel(sub, "event", lambda p: p["seq"] == 1)
    assert calls == [1] and ingest.events.count() == 1
    assert ingest.counters["handler_errors"] == 1
    assert ev_db.conn().execute("SELECT count(*) FROM handler_rows").fetchone()[0] == 0  # its writes undone


def test_a_handler_effect_runs_once_after_the_retried_batch_commits(make_ingest: Callable[..., Ingest],
                                                                     lobby: NodeClient,
                                                                     tmp_path: Path) -> None:
    effects: list[tuple[int, int]] = []
    failures = ["disk I/O error"]

    def committed_events() -> int:
        other = sqlite3.connect(tmp_path / "console.db")
        try:
            return other.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            other.close()

    def publishing(ev: StoredEvent) -> None:   # a feature telling live screens about ev
        ingest.events.db.after_commit(lambda: effects.append((ev.seq, committed_events())))

    def flaky(ev: StoredEvent) -> None:        # the database fails once: the batch rolls back
        if failures:
            raise sqlite3.OperationalError(failures.pop())

    ingest = make_ingest(event_handlers=[publishing, flaky])
    lobby.event(envelope(1))
    assert wait_until(lambda: effects, timeout_s=10)
    assert ingest.counters["db_errors"] == 1          # the first try was rolled back...
    assert effects == [(1, 1)]                        # ...and its effect never ran


def test_a_failing_handler_s_deferred_effects_are_dropped(make_ingest: Callable[..., Ingest],
                                                          lobby: NodeClient) -> None:
    effects: list[str] = []

    def broken(ev: StoredEvent) -> None:
        ingest.events.db.after_commit(lambda: effects.append("broken"))
        raise RuntimeError("feature bug")

    def fine(ev: StoredEvent) -> None:
        ingest.events.db.after_commit(lambda: effects.append("fine"))

    ingest = make_ingest(event_handlers=[broken, fine])
    lobby.event(envelope(1))
    assert wait_until(lambda: effects, timeout_s=10)
    assert effects == ["fine"] and ingest.counters["handler_errors"] == 1


def test_a_kind_filtered_handler_sees_only_its_kinds(make_ingest: Callable[..., Ingest],
                                                     lobby: NodeClient) -> None:
    from web.handlers import for_kinds

    seen: list[str] = []
    ingest = make_ingest(event_handlers=[for_kinds(lambda ev: seen.append(ev.kind), "door.")])
    with ingest.live.subscribe() as sub:
        lobby.event(envelope(1, kind="card.read"))
        lobby.event(envelope(2, kind="door.granted", data={"door": "lobby"}))
        wait_channel(sub, "event", lambda p: p["seq"] == 2)
    assert seen == ["door.granted"]
