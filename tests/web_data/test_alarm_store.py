"""AlarmStore: alarm events and console alarms stay open until acknowledged with a note."""

from __future__ import annotations

import pytest

from web.db import Database
from web.errors import AlreadyDone, NotFound
from web.live import LiveFeed
from web.stores import AlarmStore, EventStore, StoredEvent

from wd_helpers import T0, envelope


@pytest.fixture
def refused(events: EventStore) -> StoredEvent:
    ev = events.add(envelope(1, kind="command.refused", data={"cmd_id": "x", "action": "relay.pulse",
                                                            "reason": "expired"}), received_at=T0 + 5)
    assert ev is not None
    return ev


def test_alarm_event_raises_an_open_alarm(alarms: AlarmStore, refused: StoredEvent) -> None:
    a = alarms.raise_for_event(refused)
    assert (a.kind, a.node, a.event_id, a.ts, a.raised_at, a.is_open) == (
        "command.refused", "lobby", refused.event_id, refused.ts, T0 + 5, True)
    assert a.data["reason"] == "expired"
    assert alarms.open() == [a]


def test_raising_for_the_same_event_twice_keeps_one_alarm(alarms: AlarmStore, refused: StoredEvent) -> None:
    assert alarms.raise_for_event(refused) == alarms.raise_for_event(refused)
    assert len(alarms.recent()) == 1


def test_console_alarm_is_raised_at_console_time(alarms: AlarmStore) -> None:
    a = alarms.raise_console("console.seq_gap", node="lobby", data={"from_seq": 3}, now=T0)
    assert (a.kind, a.node, a.event_id, a.ts, a.raised_at, a.data) == (
        "console.seq_gap", "lobby", None, T0, T0, {"from_seq": 3})
    assert alarms.get(a.id) == a


def test_acknowledge_closes_the_alarm_with_note_and_user(alarms: AlarmStore) -> None:
    a = alarms.raise_console("console.node_offline", node="gate", data={}, now=T0)
    done = alarms.acknowledge(a.id, user="desk1", note="  power cut, electrician called ", now=T0 + 60_000)
    assert (done.acknowledged_at, done.acknowledged_by, done.note) == (
        T0 + 60_000, "desk1", "power cut, electrician called")
    assert alarms.open() == [] and alarms.count_open() == 0
    assert alarms.get(a.id) == done


def test_acknowledging_twice_is_already_done(alarms: AlarmStore) -> None:
    a = alarms.raise_console("console.node_offline", node="gate", data={}, now=T0)
    alarms.acknowledge(a.id, user="desk1", note="checked", now=T0 + 1)
    with pytest.raises(AlreadyDone):
        alarms.acknowledge(a.id, user="desk2", note="me too", now=T0 + 2)
    assert alarms.get(a.id).acknowledged_by == "desk1"


@pytest.mark.parametrize("note", ["", "   ", "x" * 501, None])
def test_acknowledge_needs_a_note(alarms: AlarmStore, note: str | None) -> None:
    a = alarms.raise_console("console.clock_skew", node="gate", data={}, now=T0)
    with pytest.raises(ValueError):
        alarms.acknowledge(a.id, user="desk1", note=note, now=T0 + 1)
    assert alarms.get(a.id).is_open


def test_acknowledge_unknown_alarm_is_not_found(alarms: AlarmStore) -> None:
    with pytest.raises(NotFound):
        alarms.acknowledge(999, user="desk1", note="?", now=T0)


def test_get_unknown_alarm_is_not_found(alarms: AlarmStore) -> None:
    with pytest.raises(NotFound):
        alarms.get(12345)


def test_open_and_recent_are_newest_first(alarms: AlarmStore) -> None:
    ids = [alarms.raise_console("console.seq_gap", node="lobby", data={"n": n}, now=T0 + n).id
           for n in range(3)]
    alarms.acknowledge(ids[1], user="desk1", note="ok", now=T0 + 9)
    assert [a.id for a in alarms.open()] == [ids[2], ids[0]]
    assert [a.id for a in alarms.recent(limit=2)] == [ids[2], ids[1]]


def test_acknowledge_is_published_on_the_live_feed(db: Database) -> None:
    live = LiveFeed()
    store = AlarmStore(db, live=live)
    a = store.raise_console("console.seq_gap", node="lobby", data={}, now=T0)
    with live.subscribe() as sub:
        store.acknowledge(a.id, user="desk1", note="seen", now=T0 + 1)
        channel, payload = sub.get(timeout_s=1)
    assert channel == "alarm_ack" and payload["id"] == a.id and payload["note"] == "seen"


def test_an_acknowledgement_rolled_back_with_its_transaction_is_never_shown(db: Database) -> None:
    live = LiveFeed()
    store = AlarmStore(db, live=live)
    alarm = store.raise_console("console.seq_gap", node="lobby", data={}, now=T0)
    with live.subscribe() as sub:
        with pytest.raises(RuntimeError):
            with db.transaction():
                store.acknowledge(alarm.id, user="desk1", note="checked", now=T0 + 1)
                raise RuntimeError("rolled back")
        assert sub.get(timeout_s=0.05) is None
    assert store.get(alarm.id).is_open
