"""Helpers for the console's meter tests: a clock, meter events through the real event store
and the meters' ingest handler, registry and unit makers."""

from __future__ import annotations

import itertools
from typing import Any

from mqtt_topics import EventEnvelope
from web.meters import Meter
from web.units import parse_unit

from console_client import PASSWORD, FakeClock as Clock, csrf_token as csrf, login as log_in

__all__ = ["H", "PASSWORD", "T0", "Clock", "csrf", "login", "meter_event", "total", "add_unit",
           "add_meter", "fill_hourly", "settings_form", "save_settings"]

H = 3_600_000
#: 2026-01-03 00:00 Asia/Shanghai (a statement day), UTC ms.
T0 = 1_767_369_600_000
_seq = itertools.count(1)


def meter_event(svc: Any, kind: str, data: dict[str, Any], *, ts: int, node: str = "meters-a",
                handle: bool = True) -> Any:
    """Store a ``meter.*`` event as the ingest does and run the meters' handler on it."""
    seq = next(_seq)
    env = EventEnvelope(event_id=f"{node}:b1:{seq}", node=node, kind=kind, ts=ts, seq=seq,
                        data=data)
    ev = svc.events.add(env, received_at=ts)
    assert ev is not None
    if handle:
        with svc.db.transaction():
            svc.meters.ingest.on_event(ev)
    return ev


def total(svc: Any, meter: str, value: float, ts: int, *, reason: str = "interval",
          register: str = "total_volume_m3", kind: str = "water", unit: str = "A-101") -> Any:
    return meter_event(svc, "meter.total", {"meter": meter, "unit": unit, "kind": kind,
                                            "reason": reason, "read_ts": ts,
                                            "totals": {register: value}}, ts=ts)


def add_unit(svc: Any, code: str, *, vacant: bool = False) -> None:
    building, number = code.split("-")
    svc.units.save(parse_unit({"building": building, "number": number, "vacant": vacant}),
                   by="test", create=True)


def add_meter(svc: Any, meter_id: str, unit: str, kind: str = "water", **kw: Any) -> Meter:
    m = Meter(meter_id=meter_id, unit=unit, kind=kind,
              register=kw.pop("register", "total_volume_m3" if kind == "water" else "import_energy_kwh"),
              **kw)
    return svc.meters.registry.save(m, by="test", create=True)


def login(client: Any, user: str) -> None:
    """Log ``user`` in and check the log-in form redirected (accepted)."""
    r = log_in(client, user)
    assert r.status_code in (302, 303), r.status_code


def fill_hourly(svc: Any, meter: str, start: int, hours: int, first: float, per_hour: float,
                **kw: Any) -> float:
    """Hourly totals from ``start``; returns the last value."""
    v = first
    for i in range(hours + 1):
        v = first + i * per_hour
        total(svc, meter, round(v, 4), start + i * H, reason="hour", **kw)
    return v


#: Every field of the meter settings form at its default.
SETTINGS_DEFAULTS = {"statement_day": "3", "estimate_tolerance_minutes": "60",
                     "gap_minutes": "120", "leak_hours": "6", "leak_min_m3": "0.001",
                     "vacant_window_h": "24", "vacant_min_kwh": "0.5", "vacant_min_m3": "0.02",
                     "offline_minutes": "30"}


def settings_form(client: Any, **values: Any) -> dict[str, Any]:
    """The settings form's fields at their defaults, but ``values``, with a CSRF token."""
    return {"csrf_token": csrf(client, "/meters/settings"), **SETTINGS_DEFAULTS,
            **{k: str(v) for k, v in values.items()}}


def save_settings(client: Any, **values: Any) -> Any:
    """POST the settings form (see :func:`settings_form`); the response."""
    return client.post("/meters/settings", data=settings_form(client, **values))
