"""Desk-assisted release (``cabinet.release``): the machine's rule and the extension's signed
command handler, with the slots on gpiozero MockFactory pins."""

from __future__ import annotations

import pytest

from cabinet_helpers import (SLOTS, FakeClock, Recorder, context, energised, gpio_settings as settings,
                             kinds, machine, write_permissions_cache)
from edge.cabinet.machine import ReleaseRefused
from edge.errors import CommandArgumentError
from edge.extensions.cabinet import RELEASE_ACTION, CabinetExtension
from mqtt_topics import CommandEnvelope

KEY = bytes(range(32))


def test_remote_release_opens_the_door_and_only_that_keys_slot():
    m = machine(FakeClock())
    events = m.remote_release("k2", holder="张师傅 (desk)", by="desk1", cmd_id="c-1")
    assert kinds(events) == ["cabinet.remote_release"]
    assert m.door_unlocked and m.released_slots == {2}


def test_key_taken_after_a_remote_release_names_the_borrower_operator_and_command():
    m = machine(FakeClock())
    m.remote_release("k2", holder="张师傅", by="desk1", cmd_id="c-1")
    taken = m.slot_changed(2, False)[0]
    assert taken["kind"] == "key.taken"
    assert taken["data"] | {} == {"cabinet": "main", "key": "k2", "slot": 2, "holder": "张师傅",
                                  "card": None, "witness": None, "by": "desk1", "cmd_id": "c-1"}


def test_remote_release_relocks_when_the_time_ends():
    clock = FakeClock()
    m = machine(clock)
    m.remote_release("k1", holder="x", by="desk1", cmd_id="c-1", seconds=10)
    clock.advance(10)
    assert kinds(m.tick()) == ["cabinet.locked"]
    assert not m.released_slots


@pytest.mark.parametrize("key,why", [("nope", "not a key"), ("k3", "two-person")])
def test_remote_release_refuses_unknown_and_two_person_keys(key, why):
    with pytest.raises(ReleaseRefused, match=why):
        machine(FakeClock()).remote_release(key, holder="x", by="desk1", cmd_id="c-1")


def test_remote_release_refuses_a_key_that_is_out():
    m = machine(FakeClock())
    m.slot_changed(1, False)                       # forced out
    with pytest.raises(ReleaseRefused, match="not in its slot"):
        m.remote_release("k1", holder="x", by="desk1", cmd_id="c-1")


def _running(tmp_path, factory):
    write_permissions_cache(tmp_path / "perm.json")
    rec, commands = Recorder(), {}
    ext = CabinetExtension(settings(tmp_path))
    ctx = context(rec, factory, commands=commands)
    ext.open_outputs(ctx)
    for slot, (_, pin) in SLOTS.items():
        factory.pin(pin).drive_low()               # every key in
    ext.start(ctx)
    rec.wait_kind("cabinet.inventory")
    return ext, rec, commands[RELEASE_ACTION]


def _cmd(**args):
    return CommandEnvelope.create(node="cabinet", action=RELEASE_ACTION, issued_by="desk1",
                                  now_ms=1_000, ttl_ms=60_000, args=args).signed(KEY)


def test_release_command_energises_the_slot_and_journals_it(tmp_path, factory):
    ext, rec, handler = _running(tmp_path, factory)
    try:
        handler(_cmd(key="k2", holder="张师傅"))
        assert energised(factory, SLOTS[2][0]) and not energised(factory, SLOTS[1][0])
        ev = rec.wait_kind("cabinet.remote_release")[0]["data"]
        assert (ev["key"], ev["holder"], ev["by"]) == ("k2", "张师傅", "desk1")
        factory.pin(SLOTS[2][1]).drive_high()      # the borrower lifts the key out
        taken = rec.wait_kind("key.taken")[0]["data"]
        assert (taken["holder"], taken["by"], taken["card"]) == ("张师傅", "desk1", None)
    finally:
        ext.stop()


@pytest.mark.parametrize("args,why", [
    ({"key": "k3", "holder": "x"}, "two-person"),
    ({"key": "k1"}, "holder is required"),
    ({"key": "k1", "holder": "x", "cabinet": "other"}, "cabinet is 'main'"),
    ({"key": "k1", "holder": "x", "seconds": 999}, "seconds must be"),
])
def test_release_command_with_bad_arguments_is_refused_and_nothing_unlocks(tmp_path, factory, args, why):
    ext, rec, handler = _running(tmp_path, factory)
    try:
        with pytest.raises(CommandArgumentError, match=why):
            handler(_cmd(**args))
        assert not any(energised(factory, lock) for lock, _ in SLOTS.values())
    finally:
        ext.stop()
