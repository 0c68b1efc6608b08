"""Helpers for the console goods-pass tests: a clock, a log-in client with CSRF tokens, a unit
registry entry, pass drafts and gate events going through the stores as the ingest does."""

from __future__ import annotations

from typing import Any

from mqtt_topics import EventEnvelope

import console_client
from console_client import PASSWORD, csrf_token, login

__all__ = ["SITE", "TZ", "PASSWORD", "SECRET", "ROLES", "T0", "DAY_MS", "TODAY_START",
           "TODAY_END", "UNIT", "FakeClock", "csrf_token", "login", "issue_data", "add_unit",
           "draft", "gate_event"]

SITE = "test-site"
TZ = "Asia/Shanghai"
SECRET = "passes-test-secret-" + "p" * 40
ROLES = ("admin", "desk", "guard", "patrol")
#: 2026-03-02 09:00 in Shanghai (01:00 UTC), ms
T0 = 1_772_413_200_000
DAY_MS = 86_400_000
#: 2026-03-02 00:00 and 23:59 in Shanghai, ms
TODAY_START = T0 - 9 * 3_600_000
TODAY_END = TODAY_START + DAY_MS - 60_000
UNIT = "A-1201"


class FakeClock(console_client.FakeClock):
    """UTC ms that only moves when told to; starts at ``T0`` unless given ``start_ms``."""

    def __init__(self, start_ms: int = T0) -> None:
        super().__init__(start_ms)


def issue_data(client: Any, **overrides: Any) -> dict[str, Any]:
    """A valid issue-form POST body (the owner in person, two items), with a fresh token."""
    data: dict[str, Any] = {
        "csrf_token": csrf_token(client, "/passes/new"), "unit": UNIT,
        "carrier_name": "王芳", "carrier_relation": "owner", "carrier_id_last4": "123X",
        "authorisation": "in_person", "letter_ref": "", "vehicle_plate": "沪A12345",
        "valid_from": "2026-03-02", "valid_until": "2026-03-02", "note": "",
        "items-0-description": "冰箱", "items-0-quantity": "1", "items-0-large": "y",
        "items-1-description": "纸箱", "items-1-quantity": "3"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def add_unit(services: Any, code: str = UNIT) -> None:
    from web.units import parse_unit

    building, number = code.split("-")
    services.units.save(parse_unit({"building": building, "number": number, "residents": [
        {"name": "王芳", "phone": "13800000001", "relation": "owner"},
        {"name": "李雷", "phone": "13800000002", "relation": "household"},
        {"name": "张三", "phone": "13800000003", "relation": "tenant"}]}), by="test", create=True)


def draft(**overrides: Any) -> Any:
    from web.passes import PassDraft, PassLine

    values: dict[str, Any] = dict(
        unit=UNIT, carrier_name="王芳", carrier_relation="owner", carrier_id_last4="1234",
        items=(PassLine("冰箱", 1, True), PassLine("纸箱", 3)), valid_from_ms=TODAY_START,
        valid_until_ms=TODAY_END)
    values.update(overrides)
    return PassDraft(**values)


def gate_event(services: Any, seq: int, kind: str, *, pass_id: str, gate: str = "gate",
               node: str = "gate", ts: int = T0, reason: str | None = None,
               boot: str = "b1") -> Any:
    """Store a gate event and run the ingest's event handlers on it, in one transaction (what
    the ingest does for each new event)."""
    data: dict[str, Any] = {"gate": gate, "pass_id": pass_id, "unit": UNIT, "items": 4,
                            "valid_from": TODAY_START, "valid_until": TODAY_END}
    if reason is not None:
        data["reason"] = reason
    env = EventEnvelope(event_id=f"{node}:{boot}:{seq}", node=node, kind=kind, ts=ts, seq=seq,
                        data=data)
    with services.db.transaction():
        ev = services.events.add(env, received_at=ts)
        assert ev is not None
        for handler in services.event_handlers:
            handler(ev)
    return ev
