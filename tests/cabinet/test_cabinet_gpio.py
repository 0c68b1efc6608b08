"""The cabinet extension with its door and slots on GPIO (gpiozero MockFactory pins)."""

from __future__ import annotations

from pathlib import Path

from gpiozero.pins.mock import MockFactory

from cabinet_helpers import (ALICE, CAROL, DOOR_LOCK, SLOTS, Recorder, context, energised,
                             gpio_settings as settings, write_permissions_cache)
from edge.extensions.cabinet import CabinetExtension


def run(tmp_path: Path, factory: MockFactory, present: tuple[int, ...]) -> tuple[CabinetExtension, Recorder]:
    rec = Recorder()
    ext = CabinetExtension(settings(tmp_path))
    ctx = context(rec, factory)
    ext.open_outputs(ctx)
    for slot, (_, pin) in SLOTS.items():
        (factory.pin(pin).drive_low if slot in present else factory.pin(pin).drive_high)()
    ext.start(ctx)
    rec.wait_kind("cabinet.inventory")
    return ext, rec


def test_every_solenoid_and_the_door_are_locked_at_open_outputs(tmp_path, factory):
    ext = CabinetExtension(settings(tmp_path))
    described = ext.open_outputs(context(Recorder(), factory))
    try:
        assert [energised(factory, p) for p in (12, 16, 20, DOOR_LOCK)] == [False] * 4
        assert len(described) == 4
    finally:
        ext.stop()


def test_permitted_card_energises_exactly_its_slots_from_the_cached_permissions(tmp_path, factory):
    write_permissions_cache(tmp_path / "perm.json")          # offline: nothing synced this boot
    ext, rec = run(tmp_path, factory, present=(1, 2, 3))
    try:
        ext.present_card(CAROL)
        rec.wait_kind("cabinet.granted")
        assert energised(factory, 16) and energised(factory, DOOR_LOCK)
        assert not energised(factory, 12) and not energised(factory, 20)
    finally:
        ext.stop()
    assert not any(energised(factory, p) for p in (12, 16, 20, DOOR_LOCK))


def test_removing_the_released_key_journals_key_taken(tmp_path, factory):
    write_permissions_cache(tmp_path / "perm.json")
    ext, rec = run(tmp_path, factory, present=(1, 2, 3))
    try:
        ext.present_card(ALICE)
        rec.wait_kind("cabinet.granted")
        factory.pin(13).drive_high()                            # key k1 lifted out of slot 1
        taken = rec.wait_kind("key.taken")[0]["data"]
        assert (taken["key"], taken["slot"], taken["holder"]) == ("k1", 1, "alice")
    finally:
        ext.stop()


def test_key_lifted_from_a_locked_slot_is_forced(tmp_path, factory):
    write_permissions_cache(tmp_path / "perm.json")
    ext, rec = run(tmp_path, factory, present=(1, 2, 3))
    try:
        factory.pin(19).drive_high()
        assert rec.wait_kind("key.forced")[0]["data"]["key"] == "k2"
    finally:
        ext.stop()


def test_power_up_reconciles_with_the_persisted_state(tmp_path, factory):
    write_permissions_cache(tmp_path / "perm.json")
    ext, _ = run(tmp_path, factory, present=(1, 2, 3))
    ext.stop()
    ext2, rec = run(tmp_path, factory, present=(1, 3))          # k2 vanished while powered off
    try:
        inventory = rec.of("cabinet.inventory")[0]["data"]
        assert inventory["differences"] == [{"slot": 2, "key": "k2", "was": True, "now": False}]
        assert inventory["out"] == ["k2"]
    finally:
        ext2.stop()


def test_snapshot_received_is_cached_and_used(tmp_path, factory):
    from mqtt_topics import SyncSnapshot
    from cabinet_helpers import permissions_data
    rec, syncs = Recorder(), {}
    ext = CabinetExtension(settings(tmp_path))
    ctx = context(rec, factory, syncs)
    ext.open_outputs(ctx)
    factory.pin(19).drive_low()
    ext.start(ctx)
    try:
        rec.wait_kind("cabinet.inventory")
        syncs["key-permissions"](SyncSnapshot(dataset="key-permissions", version=4, ts=1,
                                              data=permissions_data()))
        ext.present_card(CAROL)
        assert rec.wait_kind("cabinet.granted")[0]["data"]["slots"] == [2]
        assert b'"version":4' in (tmp_path / "perm.json").read_bytes().replace(b" ", b"")
    finally:
        ext.stop()
