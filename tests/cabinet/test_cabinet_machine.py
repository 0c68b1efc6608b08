"""The cabinet state machine's rules, one per test, with an injected clock."""

from __future__ import annotations

from cabinet_helpers import (ALICE, BOB, CAROL, RETURNER, VISITOR, FakeClock, kinds, machine,
                             permissions)
from edge.cabinet import CabinetMachine, Loan


def test_permitted_card_releases_exactly_the_slots_of_keys_it_may_take():
    m = machine(FakeClock())
    events = m.card(CAROL)
    assert kinds(events) == ["cabinet.granted"]
    assert events[0]["data"]["slots"] == [2] and events[0]["data"]["holder"] == "carol"
    assert m.released_slots == {2} and m.door_unlocked


def test_slot_whose_key_is_out_is_not_released():
    m = machine(FakeClock())
    m.card(CAROL)
    m.slot_changed(2, False)
    m.door_changed(True), m.door_changed(False)
    assert m.card(ALICE)[0]["data"]["slots"] == [1]


def test_unknown_card_is_denied_and_unlocks_nothing():
    m = machine(FakeClock())
    assert kinds(m.card(VISITOR)) == ["cabinet.denied"]
    assert not m.door_unlocked and m.released_slots == frozenset()


def test_registered_card_without_keys_opens_only_the_door():
    m = machine(FakeClock())
    events = m.card(RETURNER)
    assert events[0]["data"]["slots"] == [] and m.door_unlocked and m.released_slots == frozenset()


def test_removing_a_released_key_records_key_taken():
    m = machine(FakeClock())
    m.card(CAROL)
    events = m.slot_changed(2, False)
    assert kinds(events) == ["key.taken"]
    assert events[0]["data"] == {"cabinet": "main", "key": "k2", "slot": 2, "holder": "carol",
                                 "card": CAROL, "witness": None}
    assert m.loans["k2"].holder == "carol"


def test_slots_relock_when_the_time_ends():
    clock = FakeClock()
    m = machine(clock, release_s=20)
    m.card(CAROL)
    clock.advance(19.9)
    assert m.tick() == [] and m.released_slots == {2}
    clock.advance(0.1)
    assert kinds(m.tick()) == ["cabinet.locked"]
    assert m.released_slots == frozenset() and not m.door_unlocked


def test_slots_relock_when_the_door_closes():
    m = machine(FakeClock())
    m.card(CAROL)
    m.door_changed(True)
    events = m.door_changed(False)
    assert kinds(events) == ["cabinet.door", "cabinet.locked"]
    assert events[1]["data"]["reason"] == "door_closed" and m.released_slots == frozenset()


def test_two_person_key_waits_for_a_second_card():
    m = machine(FakeClock())
    events = m.card(ALICE)
    assert events[0]["data"]["slots"] == [1, 2] and events[0]["data"]["awaiting_second"] == ["k3"]
    assert 3 not in m.released_slots


def test_two_person_key_released_by_a_second_different_authorised_card():
    clock = FakeClock()
    m = machine(clock)
    m.card(ALICE)
    clock.advance(29)
    events = m.card(BOB)
    assert events[0]["data"]["two_person_confirmed"] == ["k3"] and 3 in m.released_slots
    taken = m.slot_changed(3, False)
    assert taken[0]["data"]["holder"] == "alice" and taken[0]["data"]["witness"] == BOB


def test_two_person_key_not_released_by_the_same_card_twice():
    m = machine(FakeClock())
    m.card(ALICE)
    m.card(ALICE)
    assert 3 not in m.released_slots


def test_two_person_key_not_released_after_the_window():
    clock = FakeClock()
    m = machine(clock, two_person_window_s=30)
    m.card(ALICE)
    clock.advance(30.5)
    m.card(BOB)
    assert 3 not in m.released_slots


def test_two_person_second_card_must_itself_be_allowed_the_key():
    m = machine(FakeClock())
    m.card(ALICE)
    m.card(CAROL)                # registered, but not for k3
    assert 3 not in m.released_slots


def test_key_inserted_into_its_own_slot_is_returned():
    clock = FakeClock()
    m = machine(clock)
    m.card(CAROL)
    m.slot_changed(2, False)
    clock.advance(3600)
    events = m.slot_changed(2, True)
    assert kinds(events) == ["key.returned"]
    assert events[0]["data"]["holder"] == "carol" and events[0]["data"]["out_s"] == 3600
    assert "k2" not in m.loans


def test_key_inserted_into_an_unassigned_slot_is_wrong_at_once():
    m = machine(FakeClock())
    m.card(RETURNER)
    events = m.slot_changed(4, True)
    assert kinds(events) == ["key.wrong_slot"] and events[0]["data"]["expected"] is None


def test_identified_key_in_another_keys_slot_is_wrong():
    m = machine(FakeClock())
    m.card(CAROL)
    m.slot_changed(2, False)
    events = m.slot_changed(2, True, key="k1")
    assert kinds(events) == ["key.wrong_slot"] and events[0]["data"]["expected"] == "k2"


def test_wrong_slot_is_raised_again_until_fixed():
    clock = FakeClock()
    m = machine(clock, wrong_slot_repeat_s=10)
    m.slot_changed(4, True)
    clock.advance(10)
    again = m.tick()
    assert kinds(again) == ["key.wrong_slot"] and again[0]["data"]["times"] == 2
    assert kinds(m.slot_changed(4, False)) == ["key.wrong_slot_cleared"]
    clock.advance(60)
    assert m.tick() == []


def test_wrongly_filled_slot_is_released_while_the_door_is_open():
    m = machine(FakeClock())
    m.slot_changed(4, True)
    assert 4 not in m.released_slots
    m.door_changed(True)
    assert 4 in m.released_slots


def test_key_removed_from_a_locked_slot_is_forced():
    m = machine(FakeClock())
    events = m.slot_changed(1, False)
    assert kinds(events) == ["key.forced"] and events[0]["data"]["key"] == "k1"
    assert m.loans["k1"].how == "forced"


def test_key_removed_from_a_slot_released_to_someone_else_is_forced():
    m = machine(FakeClock())
    m.card(CAROL)                          # releases slot 2 only
    assert kinds(m.slot_changed(1, False)) == ["key.forced"]


def test_door_open_too_long_raises_door_held_once():
    clock = FakeClock()
    m = machine(clock, door_held_s=60)
    m.card(RETURNER)
    m.door_changed(True)
    clock.advance(59)
    assert "cabinet.door_held" not in kinds(m.tick())
    clock.advance(1)
    assert kinds(m.tick()) == ["cabinet.door_held"]
    clock.advance(600)
    assert "cabinet.door_held" not in kinds(m.tick())


def test_next_deadline_is_the_session_end():
    clock = FakeClock()
    m = machine(clock, release_s=20)
    assert m.next_deadline() is None
    m.card(CAROL)
    assert m.next_deadline() == clock() + 20


def test_power_up_reports_differences_with_the_last_state():
    clock = FakeClock()
    m = CabinetMachine(cabinet="main", slots=[1, 2, 3, 4], permissions=permissions(), clock=clock)
    events = m.power_up({1: True, 2: False, 3: True, 4: False},
                        last_present={1: True, 2: True, 3: False, 4: False},
                        loans=[Loan(key="k3", slot=3, holder="bob", card=BOB, taken_ms=0)])
    inventory = events[0]
    assert inventory["kind"] == "cabinet.inventory"
    assert inventory["data"]["differences"] == [
        {"slot": 2, "key": "k2", "was": True, "now": False},
        {"slot": 3, "key": "k3", "was": False, "now": True}]
    assert m.loans["k2"].how == "missing" and "k3" not in m.loans
    assert inventory["data"]["out"] == ["k2"]


def test_power_up_alarms_on_a_key_in_an_unassigned_slot():
    m = CabinetMachine(cabinet="main", slots=[1, 2, 3, 4], permissions=permissions(),
                       clock=FakeClock())
    assert kinds(m.power_up({1: True, 2: True, 3: True, 4: True})) == ["cabinet.inventory",
                                                                      "key.wrong_slot"]


def test_state_round_trips_loans():
    m = machine(FakeClock())
    m.card(CAROL)
    m.slot_changed(2, False)
    state = m.state()
    assert state["present"]["2"] is False and state["loans"][0]["key"] == "k2"


def test_permissions_skip_bad_entries_and_other_cabinets():
    p = permissions()
    assert set(p.keys) == {"k1", "k2", "k3"}
    assert p.holder(ALICE.lower()).holder == "alice"


def test_new_permissions_giving_a_wrongly_filled_slot_a_key_end_its_alarm():
    from edge.cabinet import KeyPermissions
    m = CabinetMachine(cabinet="main", slots=[1, 2, 3, 4], permissions=permissions(),
                       clock=FakeClock())
    m.power_up({1: True, 2: True, 3: True, 4: True})
    data = {"keys": [{"key": "k4", "slot": 4}], "cards": []}
    events = m.update(KeyPermissions.from_data(data, cabinet="main", version=2))
    assert kinds(events) == ["key.wrong_slot_cleared"] and m.wrong_slots == frozenset()
