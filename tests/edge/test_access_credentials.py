"""Credentials, card keys, the credentials snapshot shape, PIN hashes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from edge.access import (Credential, CredentialDataError, CredentialSet, card_key, hash_pin,
                         normalize_card, verify_pin)
from hardware.readers import CardRead
from mqtt_topics import SyncSnapshot

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)
T0_MS = int(T0.timestamp() * 1000)


def snapshot(credentials: list[dict], *, version: int = 1, **extra) -> SyncSnapshot:
    return SyncSnapshot(dataset="credentials", version=version, ts=T0_MS,
                        data={"format": 1, "credentials": credentials, **extra})


def resident(cid: str = "c-1", card: str = "w26:123:4567", **kw) -> dict:
    return {"id": cid, "cards": [card], "doors": "*", "holder": "王芳", "unit": "3-2-501",
            "kind": "resident", **kw}


# -- card keys ---------------------------------------------------------------------------------

def test_card_key_per_reader_format() -> None:
    def read(fmt: str, card: str, facility: int, number: int) -> CardRead:
        return CardRead(reader="r", card=card, number=number, facility=facility, at=0.0, format=fmt)

    assert card_key(read("wiegand26", "2F623AE", 123, 4567)) == "w26:123:4567"
    assert card_key(read("wiegand34", "0", 4660, 22136)) == "w34:4660:22136"
    assert card_key(read("em4100", "0a12345678", 10, 0x12345678)) == "em:0A12345678"
    assert card_key(read("qr", "ABC", 0, 0)) == "qr:ABC"


@pytest.mark.parametrize("raw,canonical", [("W26:0123:04567", "w26:123:4567"),
                                           (" em:0a12345678 ", "em:0A12345678"),
                                           ("w34:65535:65535", "w34:65535:65535"),
                                           ("qr:pass-77", "qr:pass-77")])
def test_normalize_card(raw: str, canonical: str) -> None:
    assert normalize_card(raw) == canonical


@pytest.mark.parametrize("raw", ["w26:256:1", "w26:1", "w34:1:65536", "em:123", "em:0A1234567G",
                                 "4567", ""])
def test_malformed_card_keys_are_refused(raw: str) -> None:
    with pytest.raises(CredentialDataError):
        normalize_card(raw)


# -- a credential ------------------------------------------------------------------------------

def test_credential_accepts_aware_datetimes_iso_strings_and_ms() -> None:
    c = Credential(credential_id="c-1", cards=["w26:1:2"], doors="*", valid_from=T0,
                   valid_until="2025-06-03T09:00:00+08:00")
    assert c.valid_from == T0_MS
    assert c.valid_until == int(datetime(2025, 6, 3, 1, 0, tzinfo=timezone.utc).timestamp() * 1000)
    assert Credential(credential_id="c-2", cards=["w26:1:3"], doors="*", valid_from=5).valid_from == 5


def test_naive_times_are_refused() -> None:
    with pytest.raises(CredentialDataError):
        Credential(credential_id="c-1", cards=["w26:1:2"], doors="*", valid_from=datetime(2025, 1, 1))


def test_valid_until_must_follow_valid_from() -> None:
    with pytest.raises(CredentialDataError):
        Credential(credential_id="c-1", cards=["w26:1:2"], doors="*", valid_from=T0, valid_until=T0)


def test_contractor_needs_an_end_date() -> None:
    with pytest.raises(CredentialDataError, match="valid_until"):
        Credential(credential_id="w-1", cards=["w26:1:2"], doors=["lobby"], kind="contractor")


def test_contractor_must_name_its_doors() -> None:
    with pytest.raises(CredentialDataError, match="doors"):
        Credential(credential_id="w-1", cards=["w26:1:2"], doors="*", kind="contractor",
                   valid_until=T0)


@pytest.mark.parametrize("field,value", [("kind", "visitor"), ("doors", "lobby"),
                                         ("doors", ["Lobby Door"]), ("cards", []),
                                         ("credential_id", "has space"), ("enabled", "yes"),
                                         ("pin_hash", "1234")])
def test_bad_fields_are_refused(field: str, value: object) -> None:
    kw = {"credential_id": "c-1", "cards": ["w26:1:2"], "doors": "*", field: value}
    with pytest.raises(CredentialDataError):
        Credential(**kw)


def test_json_form_round_trips_and_leaves_defaults_out() -> None:
    c = Credential.from_json_obj(resident(valid_until=T0_MS, schedule="office"))
    obj = c.to_json_obj()
    assert "enabled" not in obj and "pin" not in obj and "valid_from" not in obj
    assert Credential.from_json_obj(obj) == c


# -- the set and its snapshot ------------------------------------------------------------------

def test_snapshot_loads_and_indexes_every_card() -> None:
    snap = snapshot([resident("c-1", "w26:123:4567"),
                     {**resident("c-2", "w26:1:1"), "cards": ["w26:1:1", "em:0a12345678"]}],
                    version=7, timezone="Asia/Shanghai",
                    schedules={"office": {"week": {"mon": ["08:00-18:00"]}}})
    s = CredentialSet.from_snapshot(snap)
    assert (len(s), s.version, s.timezone, s.rejected) == (2, 7, "Asia/Shanghai", [])
    assert s.lookup("em:0A12345678").credential_id == "c-2"
    assert s.lookup("w26:123:4567").holder == "王芳"
    assert s.lookup("w26:9:9") is None
    assert s.schedules["office"].tz.key == "Asia/Shanghai"


def test_bad_records_are_skipped_and_listed_the_rest_load() -> None:
    snap = snapshot([resident("c-1"), {"id": "c-2", "cards": ["nonsense"], "doors": "*"},
                     {"id": "c-3", "doors": "*"}, resident("c-4", "w26:9:9", kind="alien")])
    s = CredentialSet.from_snapshot(snap)
    assert [c.credential_id for c in s] == ["c-1"]
    assert len(s.rejected) == 3 and all(r.startswith("#") for r in s.rejected)


def test_a_card_listed_twice_stays_with_the_first_credential() -> None:
    s = CredentialSet.from_snapshot(snapshot([resident("c-1", "w26:1:1"), resident("c-2", "W26:001:1")]))
    assert s.lookup("w26:1:1").credential_id == "c-1"
    assert len(s) == 2 and "already belongs to c-1" in s.rejected[0]


def test_unknown_schedule_is_kept_but_reported() -> None:
    s = CredentialSet.from_snapshot(snapshot([resident(schedule="nights")]))
    assert len(s) == 1 and "unknown schedule" in s.rejected[0]


def test_bad_schedule_is_rejected_others_load() -> None:
    s = CredentialSet.from_snapshot(snapshot(
        [resident()], schedules={"bad": {"week": {"mon": ["9-5"]}}, "ok": {"week": {}}}))
    assert set(s.schedules) == {"ok"} and "bad" in s.rejected[0]


def test_snapshot_of_another_dataset_is_refused() -> None:
    other = SyncSnapshot(dataset="patrol-plan", version=1, ts=T0_MS, data={"format": 1})
    with pytest.raises(CredentialDataError):
        CredentialSet.from_snapshot(other)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(CredentialDataError, match="format"):
        CredentialSet.from_snapshot(SyncSnapshot(dataset="credentials", version=1, ts=T0_MS,
                                                 data={"format": 2, "credentials": []}))


def test_set_round_trips_through_a_snapshot_on_the_wire() -> None:
    s = CredentialSet.from_snapshot(snapshot(
        [resident(pin=hash_pin("1234", iterations=1000)),
         resident("w-1", "w26:5:5", kind="contractor", doors=["lobby"], valid_until=T0_MS)],
        schedules={"office": {"week": {"mon": ["08:00-18:00"]}}}))
    wire = s.to_snapshot(version=3).to_json()
    again = CredentialSet.from_snapshot(SyncSnapshot.from_json(wire))
    assert again.version == 3 and list(again) == list(s)
    assert again.schedules["office"].to_json_obj() == s.schedules["office"].to_json_obj()


# -- PIN hashes --------------------------------------------------------------------------------

def test_pin_hash_verifies_only_the_right_pin() -> None:
    h = hash_pin("4821", iterations=1000)
    assert verify_pin("4821", h)
    assert not verify_pin("4822", h)
    assert not verify_pin("", h)


def test_pin_hash_is_salted_and_holds_no_pin() -> None:
    a, b = hash_pin("4821", iterations=1000), hash_pin("4821", iterations=1000)
    assert a != b and "4821" not in a


def test_malformed_hash_never_verifies() -> None:
    assert not verify_pin("1234", "pbkdf2_sha256$1000$xx$yy")
    assert not verify_pin("1234", "1234")


@pytest.mark.parametrize("pin", ["123", "12a4", "1234567890123", "١٢٣٤"])
def test_pins_must_be_4_to_12_ascii_digits(pin: str) -> None:
    with pytest.raises(ValueError):
        hash_pin(pin)


def test_credential_opens_only_its_doors() -> None:
    c = Credential(credential_id="c-1", cards=["w26:1:2"], doors=["lobby"],
                   valid_from=T0, valid_until=T0 + timedelta(days=90))
    assert c.opens("lobby") and not c.opens("gate")
