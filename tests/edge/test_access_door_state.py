"""DoorSupervisor: grants and re-lock, forced, held (pre-alarm, alarm), exit button, fire
follow/latch, tamper, remote hold-open, debounce, fail-safe/fail-secure outputs."""

from __future__ import annotations

import pytest

from edge.access import AccessError, DoorConfig, DoorSupervisor, relay_safe_state
from mqtt_topics import EVENT_KINDS, is_alarm


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def door(clock: Clock | None = None, **kw) -> tuple[DoorSupervisor, Clock]:
    clock = clock or Clock()
    cfg = DoorConfig(**{"door_id": "lobby", "debounce_s": 0.0, **kw})
    return DoorSupervisor(cfg, clock=clock), clock


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events if e["kind"] != "door.state"]


def states(events: list[dict]) -> list[str]:
    return [e["data"]["state"] for e in events if e["kind"] == "door.state"]


def run(d: DoorSupervisor, clock: Clock, seconds: float) -> list[dict]:
    clock.now += seconds
    return d.tick()


# -- outputs -----------------------------------------------------------------------------------

def test_starts_locked_fail_secure_strike_is_unpowered() -> None:
    d, _ = door(fail_mode="fail_secure")
    assert d.state == "locked" and not d.unlocked and not d.lock_energised
    assert relay_safe_state("fail_secure") == "off"


def test_fail_safe_maglock_is_powered_while_locked() -> None:
    d, _ = door(fail_mode="fail_safe")
    assert d.lock_energised
    d.grant()
    assert not d.lock_energised
    assert relay_safe_state("fail_safe") == "on"


# -- grants ------------------------------------------------------------------------------------

def test_grant_unlocks_for_unlock_s_then_relocks() -> None:
    d, clock = door(unlock_s=5)
    assert states(d.grant()) == ["unlocked"]
    assert d.next_deadline() == 105.0
    assert run(d, clock, 4.999) == [] and d.unlocked
    assert states(run(d, clock, 0.001)) == ["locked"] and not d.unlocked


def test_door_relocks_as_soon_as_it_closes_after_a_grant() -> None:
    d, clock = door(unlock_s=5)
    d.grant()
    clock.now += 1
    assert kinds(d.set_input("contact", True)) == []          # authorised: no alarm
    clock.now += 1
    d.set_input("contact", False)
    assert not d.unlocked and d.state == "locked"


def test_second_opening_after_relock_is_forced() -> None:
    d, clock = door(unlock_s=5)
    d.grant()
    d.set_input("contact", True)
    d.set_input("contact", False)
    clock.now += 1
    assert kinds(d.set_input("contact", True)) == ["door.forced"]   # tailgating a closed door


def test_relock_on_close_can_be_turned_off() -> None:
    d, clock = door(unlock_s=5, relock_on_close=False)
    d.grant()
    d.set_input("contact", True)
    d.set_input("contact", False)
    assert d.unlocked


# -- forced ------------------------------------------------------------------------------------

def test_forced_open_raises_an_alarm_and_closing_secures_it() -> None:
    d, clock = door()
    events = d.set_input("contact", True)
    assert kinds(events) == ["door.forced"] and states(events) == ["forced"]
    assert is_alarm("door.forced")
    clock.now += 12
    events = d.set_input("contact", False)
    assert kinds(events) == ["door.secured"]
    assert events[0]["data"] == {"door": "lobby", "after": "forced", "open_s": 12.0}
    assert d.state == "locked"


def test_forced_door_left_open_gets_no_held_alarm() -> None:
    d, clock = door(held_alarm_s=30)
    d.set_input("contact", True)
    assert kinds(run(d, clock, 100)) == []


# -- held --------------------------------------------------------------------------------------

def test_held_prealarm_then_alarm_timed_from_the_opening() -> None:
    d, clock = door(unlock_s=5, held_prealarm_s=20, held_alarm_s=30)
    d.grant()
    clock.now += 2
    d.set_input("contact", True)                               # opened at 102
    assert kinds(run(d, clock, 19.9)) == []                    # 121.9
    events = run(d, clock, 0.1)                                # 122.0
    assert kinds(events) == ["door.held_prealarm"] and events[0]["data"]["open_s"] == 20.0
    assert kinds(run(d, clock, 9.9)) == []
    events = run(d, clock, 0.1)                                # 132.0
    assert kinds(events) == ["door.held"] and states(events) == ["held"]


def test_late_tick_processes_both_held_stages_in_order() -> None:
    d, clock = door(held_prealarm_s=20, held_alarm_s=30)
    d.grant()
    d.set_input("contact", True)
    events = run(d, clock, 500)
    assert kinds(events) == ["door.held_prealarm", "door.held"]
    assert [e["data"].get("open_s") for e in events if e["kind"] != "door.state"] == [20.0, 30.0]


def test_closing_a_held_door_secures_it() -> None:
    d, clock = door(held_prealarm_s=0, held_alarm_s=30)
    d.grant()
    d.set_input("contact", True)
    run(d, clock, 31)
    events = d.set_input("contact", False)
    assert kinds(events) == ["door.secured"] and events[0]["data"]["after"] == "held"
    assert d.state == "locked"


def test_closing_before_the_pre_alarm_raises_nothing() -> None:
    d, clock = door()
    d.grant()
    d.set_input("contact", True)
    clock.now += 3
    assert kinds(d.set_input("contact", False)) == []
    assert kinds(run(d, clock, 100)) == []


# -- exit button -------------------------------------------------------------------------------

def test_exit_button_unlocks_and_authorises_the_opening() -> None:
    d, clock = door(unlock_s=5)
    events = d.set_input("rex", True)
    assert kinds(events) == ["door.exit_request"] and d.unlocked
    d.set_input("rex", False)
    assert kinds(d.set_input("contact", True)) == []


def test_exit_button_on_a_mechanical_handle_door_only_shunts_forced() -> None:
    d, clock = door(unlock_s=5, rex_unlocks=False)
    d.set_input("rex", True)
    assert not d.unlocked
    clock.now += 2
    assert kinds(d.set_input("contact", True)) == []           # pushed the bar: not forced
    d.set_input("contact", False)
    d.set_input("rex", False)
    clock.now += 1
    assert kinds(d.set_input("contact", True)) == ["door.forced"]


def test_exit_shunt_expires() -> None:
    d, clock = door(unlock_s=5, rex_unlocks=False)
    d.set_input("rex", True)
    d.set_input("rex", False)
    run(d, clock, 5)
    assert kinds(d.set_input("contact", True)) == ["door.forced"]


# -- fire release ------------------------------------------------------------------------------

def test_fire_follow_mode_unlocks_while_active_and_relocks_after() -> None:
    d, clock = door(fire_mode="follow")
    events = d.set_input("fire", True)
    assert kinds(events) == ["door.fire_release"] and states(events) == ["fire"] and d.unlocked
    assert is_alarm("door.fire_release")
    run(d, clock, 3600)
    assert d.unlocked                                           # no timer relocks it
    events = d.set_input("fire", False)
    assert kinds(events) == ["door.fire_reset"] and not d.unlocked


def test_fire_latch_mode_holds_until_reset_after_the_input_clears() -> None:
    d, clock = door(fire_mode="latch")
    d.set_input("fire", True)
    assert d.reset_fire() == [] and d.unlocked                  # input still active: refused
    d.set_input("fire", False)
    assert d.unlocked and d.state == "fire"
    events = d.reset_fire()
    assert kinds(events) == ["door.fire_reset"] and not d.unlocked and d.state == "locked"


def test_fire_release_overrides_a_remote_release() -> None:
    d, _ = door()
    d.set_input("fire", True)
    d.release(by="desk-1")
    assert d.unlocked


def test_no_forced_or_held_alarm_during_fire_release() -> None:
    d, clock = door(fire_mode="follow")
    d.set_input("fire", True)
    assert kinds(d.set_input("contact", True)) == []
    assert kinds(run(d, clock, 600)) == []


def test_door_open_when_fire_clears_starts_its_held_timer_then() -> None:
    d, clock = door(held_prealarm_s=0, held_alarm_s=30)
    d.set_input("fire", True)
    d.set_input("contact", True)
    clock.now += 600
    d.set_input("fire", False)
    assert kinds(run(d, clock, 29)) == []
    assert kinds(run(d, clock, 1)) == ["door.held"]


# -- remote commands ---------------------------------------------------------------------------

def test_hold_open_until_release_records_the_operator() -> None:
    d, clock = door()
    events = d.hold_open(by="desk-1", cmd_id="cmd-9")
    assert events[0]["data"] == {"door": "lobby", "action": "hold_open", "seconds": None,
                                 "by": "desk-1", "cmd_id": "cmd-9"}
    run(d, clock, 7200)
    assert d.unlocked
    d.set_input("contact", True)
    assert kinds(run(d, clock, 600)) == []                      # held open on purpose
    d.release(by="desk-1")
    assert not d.unlocked


def test_hold_open_with_an_end_time_relocks_by_itself() -> None:
    d, clock = door()
    d.hold_open(seconds=60, by="admin")
    run(d, clock, 59.9)
    assert d.unlocked
    run(d, clock, 0.1)
    assert not d.unlocked


def test_remote_unlock_is_momentary() -> None:
    d, clock = door(unlock_s=5)
    events = d.unlock(by="desk-1")
    assert kinds(events) == ["door.remote"] and events[0]["data"]["action"] == "unlock"
    run(d, clock, 5)
    assert not d.unlocked


# -- tamper ------------------------------------------------------------------------------------

def test_tamper_raises_and_clears() -> None:
    d, _ = door()
    assert kinds(d.set_input("tamper", True)) == ["door.tamper"] and is_alarm("door.tamper")
    assert kinds(d.set_input("tamper", False)) == ["door.tamper_cleared"]
    assert not d.unlocked


# -- debounce ----------------------------------------------------------------------------------

def test_input_shorter_than_debounce_is_ignored() -> None:
    d, clock = door(debounce_s=0.05)
    d.set_input("contact", True)
    clock.now += 0.049
    d.set_input("contact", False)
    assert kinds(run(d, clock, 1)) == [] and d.glitches == 1 and d.state == "locked"


def test_input_counts_once_stable_for_debounce_timed_from_its_change() -> None:
    d, clock = door(debounce_s=0.05)
    assert d.set_input("contact", True) == []
    assert d.next_deadline() == pytest.approx(100.05)
    assert kinds(run(d, clock, 0.05)) == ["door.forced"]


def test_debounce_over_400_ms_is_refused() -> None:
    with pytest.raises(AccessError, match="debounce"):
        DoorConfig(door_id="lobby", debounce_s=0.5)


def test_door_open_at_start_is_not_forced() -> None:
    clock = Clock()
    d = DoorSupervisor(DoorConfig(door_id="lobby", held_prealarm_s=0, held_alarm_s=30),
                       clock=clock, inputs={"contact": True})
    assert d.state == "open"
    clock.now += 30
    assert kinds(d.tick()) == ["door.held"]


# -- contract ----------------------------------------------------------------------------------

def test_every_event_kind_emitted_is_declared() -> None:
    d, clock = door(held_prealarm_s=1, held_alarm_s=2, fire_mode="latch")
    emitted = []
    emitted += d.set_input("contact", True)
    emitted += d.set_input("contact", False)
    emitted += d.set_input("rex", True)
    emitted += d.set_input("contact", True)
    emitted += run(d, clock, 10)
    emitted += d.set_input("contact", False)
    emitted += d.set_input("tamper", True) + d.set_input("tamper", False)
    emitted += d.set_input("fire", True) + d.set_input("fire", False) + d.reset_fire()
    emitted += d.unlock(by="x") + d.hold_open(by="x") + d.release(by="x")
    assert {e["kind"] for e in emitted} <= set(EVENT_KINDS)
    assert {e["kind"] for e in emitted} >= {"door.forced", "door.secured", "door.exit_request",
                                            "door.held_prealarm", "door.held", "door.tamper",
                                            "door.tamper_cleared", "door.fire_release",
                                            "door.fire_reset", "door.remote", "door.state"}
    assert all(e["data"]["door"] == "lobby" for e in emitted)
