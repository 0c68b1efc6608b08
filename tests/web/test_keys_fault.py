"""The cabinet board and I/O faults: ``cabinet.fault`` shows the slots it names as ``fault`` over
their own state until ``cabinet.fault_cleared``; stored through the real stores."""

from __future__ import annotations

import pytest

from console_helpers import T0, login
from keys_helpers import Feed, add_key


def _states(services):  # type: ignore[no-untyped-def]
    return {s.slot: s.state for s in services.keys.board.board()[0].slots}


def _two_keys_one_out(services):  # type: ignore[no-untyped-def]
    add_key(services, "K-001", slot=1)
    add_key(services, "K-002", slot=2)
    feed = Feed(services)
    feed("key.taken", T0, key="K-002", slot=2, holder="c-alice", card="0A00000001")
    return feed


def _fault(feed, ts=T0 + 10, slots="all"):  # type: ignore[no-untyped-def]
    return feed("cabinet.fault", ts, slots=slots, operation="read", reason="timeout",
                error="modbus tcp://10.0.0.9:502 slave 1: read discrete 0+3: no reply")


def test_fault_for_all_slots_marks_every_slot_fault(services) -> None:  # type: ignore[no-untyped-def]
    _fault(_two_keys_one_out(services))
    assert _states(services) == {1: "fault", 2: "fault"}
    assert {s.io_fault for s in services.keys.board.board()[0].slots} == {"timeout"}


def test_fault_naming_slots_marks_only_those(services) -> None:  # type: ignore[no-untyped-def]
    _fault(_two_keys_one_out(services), slots=[2])
    assert _states(services) == {1: "present", 2: "fault"}


def test_fault_cleared_restores_each_slots_own_state(services) -> None:  # type: ignore[no-untyped-def]
    feed = _two_keys_one_out(services)
    _fault(feed)
    feed("cabinet.fault_cleared", T0 + 20, slots="all", errors=4, fault_s=10.0)
    assert _states(services) == {1: "present", 2: "out"}
    assert {s.io_fault for s in services.keys.board.board()[0].slots} == {None}


def test_events_during_a_fault_update_the_state_shown_after_it(services) -> None:  # type: ignore[no-untyped-def]
    feed = _two_keys_one_out(services)
    _fault(feed)
    feed("cabinet.fault_cleared", T0 + 20, slots="all", errors=1, fault_s=10.0)
    feed("key.forced", T0 + 21, key="K-001", slot=1)
    assert _states(services) == {1: "fault", 2: "out"}
    assert services.keys.board.board()[0].slots[0].io_fault is None


def test_a_late_replayed_clear_does_not_end_a_newer_fault(services) -> None:  # type: ignore[no-untyped-def]
    feed = _two_keys_one_out(services)
    _fault(feed, ts=T0 + 30)
    feed("cabinet.fault_cleared", T0 + 20, slots="all", errors=1, fault_s=1.0)
    assert _states(services) == {1: "fault", 2: "fault"}


def test_fault_is_raised_as_an_alarm(services) -> None:  # type: ignore[no-untyped-def]
    _fault(_two_keys_one_out(services))
    assert [a.kind for a in services.alarms.open()] == ["cabinet.fault"]


@pytest.mark.parametrize("slots", [None, "some", [], [1, "2"], [True]])
def test_fault_with_unusable_slots_is_refused(services, slots) -> None:  # type: ignore[no-untyped-def]
    feed = _two_keys_one_out(services)
    with pytest.raises(ValueError, match="slots"):
        _fault(feed, slots=slots)


def test_board_json_carries_the_io_fault(client, services) -> None:  # type: ignore[no-untyped-def]
    _fault(_two_keys_one_out(services), slots=[1])
    login(client, "guard1")
    (cab,) = client.get("/keys/cabinets.json").get_json()["cabinets"]
    assert [(s["slot"], s["state"], s["io_fault"]) for s in cab["slots"]] == \
        [(1, "fault", "timeout"), (2, "out", None)]
    assert 'data-state="fault"' in client.get("/keys/cabinets").get_data(as_text=True)
