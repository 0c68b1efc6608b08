"""AccessDecider: one test per reason, anti-passback, lock-out timing, card + PIN."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from edge.access import (REASONS, AccessDecider, AccessError, Credential, CredentialSet, Decision,
                         PinPending, WeeklySchedule, hash_pin)
from hardware.readers import CardRead
from mqtt_topics import EVENT_KINDS, is_alarm

# Monday 2025-06-02 10:00 in Shanghai
T0 = datetime(2025, 6, 2, 2, 0, tzinfo=timezone.utc).timestamp()
DAY_MS = 86_400_000
T0_MS = round(T0 * 1000)
PIN_HASH = hash_pin("4821", iterations=1000)


class Clock:
    """Wall (UTC seconds) and monotonic clocks moved together by the test."""

    def __init__(self) -> None:
        self.wall = T0
        self.mono = 500.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def creds(*items: Credential) -> CredentialSet:
    office = WeeklySchedule("office", week={"mon": ["08:00-18:00"]}, timezone="Asia/Shanghai")
    return CredentialSet(items, schedules={"office": office})


def cred(cid: str = "c-1", card: str = "w26:1:1", **kw) -> Credential:
    base = {"doors": "*", "holder": "王芳", "unit": "3-2-501", "pin_hash": PIN_HASH}
    return Credential(credential_id=cid, cards=[card], **{**base, **kw})


def decider(*items: Credential, clock: Clock | None = None, **kw) -> tuple[AccessDecider, Clock]:
    clock = clock or Clock()
    d = AccessDecider("lobby", creds(*(items or (cred(),))), clock=lambda: clock.wall,
                      monotonic=lambda: clock.mono, **kw)
    return d, clock


def decide(d: AccessDecider, card: str = "w26:1:1", reader: str = "lobby-in") -> Decision:
    result = d.decide(card, reader=reader)
    assert isinstance(result, Decision), result
    return result


# -- one test per reason -----------------------------------------------------------------------

def test_granted() -> None:
    d, _ = decider()
    r = decide(d)
    assert (r.granted, r.reason, r.credential_id, r.holder, r.unit, r.alarm) == \
        (True, "granted", "c-1", "王芳", "3-2-501", False)
    assert r.at_ms == T0_MS and r.door == "lobby" and r.card == "w26:1:1"


def test_unknown_card() -> None:
    d, _ = decider()
    r = decide(d, "w26:9:9")
    assert (r.granted, r.reason, r.credential_id, r.card) == (False, "unknown_card", None, "w26:9:9")


def test_disabled() -> None:
    d, _ = decider(cred(enabled=False))
    assert decide(d).reason == "disabled"


def test_expired_at_valid_until_exactly() -> None:
    d, _ = decider(cred(valid_until=T0_MS))
    assert decide(d).reason == "expired"


def test_not_yet_valid_until_valid_from() -> None:
    d, clock = decider(cred(valid_from=T0_MS + 1000))
    assert decide(d).reason == "not_yet_valid"
    clock.advance(1)
    assert decide(d).reason == "granted"


def test_outside_schedule() -> None:
    d, clock = decider(cred(schedule="office"))
    assert decide(d).reason == "granted"
    clock.advance(8 * 3600)     # 18:00 Shanghai
    assert decide(d).reason == "outside_schedule"


def test_unknown_schedule_is_outside_schedule() -> None:
    d, _ = decider(cred(schedule="nights"))
    r = decide(d)
    assert r.reason == "outside_schedule" and "nights" in r.detail


def test_door_not_allowed() -> None:
    d, _ = decider(cred(doors=["gate-north"]))
    assert decide(d).reason == "door_not_allowed"


def test_antipassback() -> None:
    d, _ = decider(antipassback="hard", readers={"lobby-in": "in", "lobby-out": "out"})
    assert decide(d, reader="lobby-in").granted
    r = decide(d, reader="lobby-in")
    assert (r.granted, r.reason, r.direction) == (False, "antipassback", "in")


def test_pin_wrong() -> None:
    d, _ = decider(require_pin=True)
    assert isinstance(d.decide("w26:1:1", reader="lobby-in"), PinPending)
    for k in (1, 1, 1, 1):
        assert d.key("lobby-in", k) is None
    r = d.key("lobby-in", 11)
    assert (r.granted, r.reason, r.credential_id) == (False, "pin_wrong", "c-1")


def test_locked_out() -> None:
    d, _ = decider(lockout_after=2, lockout_s=30)
    decide(d, "w26:9:9")
    decide(d, "w26:9:9")
    r = decide(d)                  # a good card, but the reader is locked out
    assert (r.granted, r.reason, r.credential_id) == (False, "locked_out", "c-1")


def test_reasons_are_exactly_the_documented_ten() -> None:
    assert set(REASONS) == {"granted", "unknown_card", "disabled", "expired", "not_yet_valid",
                            "outside_schedule", "door_not_allowed", "antipassback", "pin_wrong",
                            "locked_out"}


# -- order of checks and contractors -------------------------------------------------------------

def test_disabled_wins_over_expired_and_wrong_door() -> None:
    d, _ = decider(cred(enabled=False, valid_until=T0_MS - 1, doors=["gate"]))
    assert decide(d).reason == "disabled"


def test_contractor_opens_only_its_doors_within_its_dates() -> None:
    worker = cred("w-1", "w26:2:2", kind="contractor", doors=["lobby"],
                  valid_from=T0_MS - DAY_MS, valid_until=T0_MS + 90 * DAY_MS)
    d, clock = decider(worker)
    gate = AccessDecider("gate-north", creds(worker), clock=lambda: clock.wall,
                         monotonic=lambda: clock.mono)
    assert decide(d, "w26:2:2").granted
    assert gate.decide("w26:2:2", reader="gate-in").reason == "door_not_allowed"
    clock.advance(90 * 86_400)
    assert decide(d, "w26:2:2").reason == "expired"


def test_present_takes_a_card_read_from_a_reader() -> None:
    d, _ = decider(cred(card="w26:123:4567"))
    r = d.present(CardRead(reader="lobby-in", card="2F623AE", number=4567, facility=123, at=1.0,
                           format="wiegand26"))
    assert r.granted and r.reader == "lobby-in"


def test_update_switches_to_a_new_credential_set() -> None:
    d, _ = decider()
    d.update(creds(cred(enabled=False)))
    assert decide(d).reason == "disabled"


# -- anti-passback -----------------------------------------------------------------------------

READERS = {"lobby-in": "in", "lobby-out": "out"}


def test_antipassback_alternating_in_and_out_is_fine() -> None:
    d, _ = decider(antipassback="hard", readers=READERS)
    results = [decide(d, reader=r).reason for r in ("lobby-in", "lobby-out", "lobby-in", "lobby-out")]
    assert results == ["granted"] * 4


def test_antipassback_first_read_may_go_either_way() -> None:
    d, _ = decider(antipassback="hard", readers=READERS)
    assert decide(d, reader="lobby-out").granted


def test_hard_antipassback_denial_does_not_change_the_direction() -> None:
    d, _ = decider(antipassback="hard", readers=READERS)
    decide(d, reader="lobby-in")
    decide(d, reader="lobby-in")                       # denied: the card was passed back
    assert decide(d, reader="lobby-out").granted       # the holder can still leave


def test_soft_antipassback_grants_with_an_alarm() -> None:
    d, _ = decider(antipassback="soft", readers=READERS)
    decide(d, reader="lobby-in")
    r = decide(d, reader="lobby-in")
    assert (r.granted, r.reason, r.alarm) == (True, "antipassback", True)
    kinds = [e["kind"] for e in r.events()]
    assert kinds == ["door.granted", "door.antipassback"] and is_alarm("door.antipassback")


def test_antipassback_is_per_credential() -> None:
    d, _ = decider(cred("c-1", "w26:1:1"), cred("c-2", "w26:1:2"), antipassback="hard",
                   readers=READERS)
    decide(d, "w26:1:1", "lobby-in")
    assert decide(d, "w26:1:2", "lobby-in").granted


def test_forgive_clears_antipassback_state() -> None:
    d, _ = decider(antipassback="hard", readers=READERS)
    decide(d, reader="lobby-in")
    d.forgive("c-1")
    assert decide(d, reader="lobby-in").granted


def test_antipassback_needs_an_in_and_an_out_reader() -> None:
    with pytest.raises(AccessError):
        decider(antipassback="hard", readers={"lobby-in": "in"})


# -- lock-out ----------------------------------------------------------------------------------

def test_lockout_starts_on_the_mth_denial_and_raises_an_alarm() -> None:
    d, _ = decider(lockout_after=3, lockout_s=30)
    first, second, third = (decide(d, "w26:9:9") for _ in range(3))
    assert first.lockout_s is None and second.lockout_s is None
    assert third.reason == "unknown_card" and third.lockout_s == 30 and third.alarm
    assert [e["kind"] for e in third.events()] == ["door.denied", "door.lockout"]


def test_lockout_lasts_exactly_lockout_s() -> None:
    d, clock = decider(lockout_after=2, lockout_s=30)
    decide(d, "w26:9:9")
    decide(d, "w26:9:9")
    clock.advance(29.999)
    assert decide(d).reason == "locked_out"
    clock.advance(0.001)
    assert decide(d).reason == "granted"


def test_a_grant_breaks_the_run_of_denials() -> None:
    d, _ = decider(lockout_after=3)
    decide(d, "w26:9:9")
    decide(d, "w26:9:9")
    decide(d)
    decide(d, "w26:9:9")
    assert decide(d, "w26:9:9").lockout_s is None


def test_reads_during_lockout_do_not_extend_it() -> None:
    d, clock = decider(lockout_after=2, lockout_s=30)
    decide(d, "w26:9:9")
    decide(d, "w26:9:9")
    for _ in range(10):
        clock.advance(2)
        decide(d, "w26:9:9")
    clock.advance(10)
    assert decide(d).granted


def test_lockout_is_per_reader() -> None:
    d, _ = decider(lockout_after=2)
    decide(d, "w26:9:9", "lobby-in")
    decide(d, "w26:9:9", "lobby-in")
    assert decide(d, reader="lobby-out").granted


def test_lockout_after_zero_never_locks() -> None:
    d, _ = decider(lockout_after=0)
    for _ in range(20):
        decide(d, "w26:9:9")
    assert decide(d).granted


# -- card + PIN --------------------------------------------------------------------------------

def key_in(d: AccessDecider, keys: str, reader: str = "lobby-in") -> Decision | None:
    result = None
    for k in keys:
        result = d.key(reader, "0123456789*#".index(k))
    return result


def test_card_then_right_pin_grants() -> None:
    d, _ = decider(require_pin=True)
    pending = d.decide("w26:1:1", reader="lobby-in")
    assert isinstance(pending, PinPending) and pending.deadline == 510.0
    r = key_in(d, "4821#")
    assert r.granted and r.reason == "granted"


def test_star_starts_the_pin_over() -> None:
    d, _ = decider(require_pin=True)
    d.decide("w26:1:1", reader="lobby-in")
    assert key_in(d, "99*4821#").granted


def test_pin_not_entered_in_time_is_pin_wrong() -> None:
    d, clock = decider(require_pin=True, pin_timeout_s=10)
    d.decide("w26:1:1", reader="lobby-in")
    assert d.next_deadline() == 510.0
    clock.advance(9.9)
    assert d.expire() == []
    clock.advance(0.1)
    [r] = d.expire()
    assert (r.reason, r.detail) == ("pin_wrong", "PIN not entered in time")
    assert d.pending("lobby-in") is None and d.next_deadline() is None


def test_keys_after_the_deadline_are_a_timeout_not_a_grant() -> None:
    d, clock = decider(require_pin=True, pin_timeout_s=10)
    d.decide("w26:1:1", reader="lobby-in")
    key_in(d, "48")
    clock.advance(10)
    r = d.key("lobby-in", 2)
    assert r is not None and r.reason == "pin_wrong"


def test_credential_without_a_pin_is_refused_at_a_pin_door() -> None:
    d, _ = decider(cred(pin_hash=None), require_pin=True)
    r = decide(d)
    assert (r.reason, r.detail) == ("pin_wrong", "no PIN enrolled")


def test_keys_without_a_card_are_ignored() -> None:
    d, _ = decider(require_pin=True)
    assert key_in(d, "4821#") is None
    assert d.counters["keys_ignored"] == 5


def test_pin_is_awaited_per_reader() -> None:
    d, _ = decider(require_pin=True)
    d.decide("w26:1:1", reader="lobby-in")
    assert key_in(d, "4821#", reader="lobby-out") is None
    assert key_in(d, "4821#", reader="lobby-in").granted


def test_other_checks_come_before_the_pin() -> None:
    d, _ = decider(cred(enabled=False), require_pin=True)
    assert decide(d).reason == "disabled"


def test_wrong_pins_count_towards_lockout() -> None:
    d, _ = decider(require_pin=True, lockout_after=2)
    d.decide("w26:1:1", reader="lobby-in")
    key_in(d, "0000#")
    d.decide("w26:1:1", reader="lobby-in")
    r = key_in(d, "0000#")
    assert r.lockout_s == 30


# -- events ------------------------------------------------------------------------------------

def test_decision_events_use_declared_kinds_and_carry_the_reason() -> None:
    d, _ = decider()
    granted, denied = decide(d), decide(d, "w26:9:9")
    [g] = granted.events()
    [n] = denied.events()
    assert g["kind"] == "door.granted" and n["kind"] == "door.denied"
    assert n["data"]["reason"] == "unknown_card" and n["data"]["card"] == "w26:9:9"
    assert {g["kind"], n["kind"], "door.lockout", "door.antipassback"} <= set(EVENT_KINDS)


def test_counters_count_decisions_per_reason() -> None:
    d, _ = decider()
    decide(d)
    decide(d, "w26:9:9")
    decide(d, "w26:9:9")
    c = d.counters
    assert (c["granted"], c["unknown_card"], c["disabled"]) == (1, 2, 0)
