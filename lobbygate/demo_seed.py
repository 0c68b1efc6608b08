"""The demo console's starting data, put in through the console's own stores (never SQL).

:func:`seed_console` fills an opened :class:`web.services.ConsoleServices` (no ingest, before
the console process runs): units and residents, door credentials, the staff's key-cabinet
credentials, the key register (:data:`~lobbygate.demo_people.KEYS` in the desk cabinet's
slots), the plant room's meters in the meter registry with DEMO HISTORY readings (see
:func:`seed_meter_history`), the patrol plan (three check-points, a route, a schedule, the
guard as patrol user), a few goods passes and a visitor invite signed with the site key, and
the visitor desk's watchlist. Each part is seeded only while its store has none of it, so a
kept ``--dir`` is seeded once. One audit record (``demo.seed``) says what was added.
"""

from __future__ import annotations

import random
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .demo_nodes import CABINET, CHECKPOINTS, METER_BUS, METERS, PATROL_ROUTE
from .demo_people import (CABINET_HOLDERS, CARDS, GUARD_CARD, KEYS, PATROL_USER, UNITS,
                          WATCHLIST)

__all__ = ["SeedResult", "seed_console", "seed_meter_history", "meter_register",
           "HISTORY_DAYS", "SEEDED_BY", "MINUTE_MS", "HOUR_MS", "DAY_MS"]

SEEDED_BY = "demo"
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
#: Days of DEMO HISTORY readings written for each meter (covers the last billing period, so
#: the statement and the unit pages' charts are not empty on first open).
HISTORY_DAYS = 75
#: Patrol: the route and the schedule the guard walks. The route's points are due 0, 3 and 6
#: minutes after its start (5 minutes either side), and it takes taps 5 minutes longer: a round
#: spans 16 minutes (:data:`ROUTE_SPAN_MIN`), and the guard's taps in that time belong to it.
ROUTE_ID, SCHEDULE_ID = "main", "shift"
ROUTE_SPAN_MIN = 16
#: Check-point -> (name, building, floor).
_CHECKPOINT_NAMES = {"b1-lobby": ("大堂 Lobby", "1栋", "1F"),
                     "gate-house": ("北门 门岗 Gate house", "", ""),
                     "plant-room": ("设备房 Plant room", "1栋", "B1")}


@dataclass
class SeedResult:
    """What :func:`seed_console` left: ``credentials_version`` / ``keys_version`` (the
    snapshot versions the doors and the cabinet must reach), ``meter_totals`` (meter name ->
    the highest total journaled, so a restarted meter simulator does not count backwards) and
    ``added`` (what was added this time, by part)."""

    credentials_version: int
    keys_version: int
    meter_totals: dict[str, float] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)


def _minute(ms: int) -> int:
    return ms - ms % MINUTE_MS


def meter_register(map_name: str) -> str:
    """The billed cumulative register of a meter with register map ``map_name``."""
    return "total_volume_m3" if map_name == "water_generic" else "import_energy_kwh"


def seed_console(services: Any, *, now_ms: int | None = None) -> SeedResult:
    """Seed every part still empty (see the module note); ``services.signer()`` signs the
    passes and the invite. ``now_ms``: UTC ms (default the services' clock)."""
    from web.audit import AuditLog

    now = services.clock() if now_ms is None else now_ms
    added = {"units": _units(services), "credentials": _credentials(services),
             "keys": _keys(services, now), "meters": _meters(services),
             "meter readings": _meter_history(services, now),
             "patrol items": _patrol(services, now), "goods passes": _passes(services, now),
             "invites": _invites(services, now), "watchlist": _watchlist(services)}
    if any(added.values()):
        AuditLog(services.db).open().record(
            "demo.seed", user=SEEDED_BY, target="console",
            detail=", ".join(f"{n} {what}" for what, n in added.items() if n))
    totals = {}
    for name, _slave, map_name, _unit, start in METERS:
        latest = services.meters.readings.latest(name, meter_register(map_name))
        totals[name] = max(start, latest.value) if latest is not None else start
    return SeedResult(credentials_version=int(services.credentials.version()),
                      keys_version=int(services.keys.register.version()),
                      meter_totals=totals, added=added)


# -- units, credentials -----------------------------------------------------------------------

def _units(services: Any) -> int:
    from web.units import parse_unit
    n = 0
    for u in UNITS:
        if services.units.get(u.code) is None:
            unit = parse_unit({"building": u.building, "number": u.number, "vacant": u.vacant,
                               "residents": [{"name": name, "phone": p, "relation": r}
                                             for name, p, r in u.residents]})
            services.units.save(unit, by=SEEDED_BY, create=True)
            n += 1
    return n


def _credentials(services: Any) -> int:
    from web.access.model import CredentialRecord
    records = [CredentialRecord(credential_id=c.credential_id, cards=(c.key,), doors=c.doors,
                                holder=c.holder, unit=c.unit, kind=c.kind, enabled=c.enabled)
               for c in CARDS]
    records += [CredentialRecord(credential_id=h.credential_id, cards=(f"em:{h.card}",),
                                 doors=("lobby",), holder=h.holder, unit="", kind=h.kind)
                for h in CABINET_HOLDERS]
    n = 0
    for record in records:
        if services.credentials.get(record.credential_id) is None:
            services.credentials.save(record, by=SEEDED_BY, create=True)
            n += 1
    return n


# -- the key cabinet --------------------------------------------------------------------------

def _keys(services: Any, now: int) -> int:
    from web.keys.model import KeyRecord
    n = 0
    for k in KEYS:
        if services.keys.register.get(k.number) is not None:
            continue
        services.keys.register.save(KeyRecord(
            number=k.number, label=k.label, unit=k.unit, kind=k.kind, cabinet=CABINET.id,
            slot=k.slot, takers=tuple(f"cred:{t}" for t in k.takers), two_person=k.two_person,
            max_loan_min=k.max_loan_min, authorised_by=k.authorised_by,
            authorised_until=now + k.authorised_days * DAY_MS if k.authorised_days else None,
            borrowers=k.borrowers, note="demo"), by=SEEDED_BY, create=True)
        n += 1
    return n


# -- meters -----------------------------------------------------------------------------------

def _meters(services: Any) -> int:
    from web.meters.model import KNOWN_MAPS, Meter
    n = 0
    for name, slave, map_name, unit, _start in METERS:
        if services.meters.registry.get(name) is None:
            services.meters.registry.save(Meter(
                meter_id=name, unit=unit, kind=KNOWN_MAPS[map_name], map=map_name, node="plant",
                bus=METER_BUS, slave=slave, register=meter_register(map_name),
                note="demo: simulated by the plant node's Modbus bus"), by=SEEDED_BY, create=True)
            n += 1
    return n


def _meter_history(services: Any, now: int) -> int:
    n = 0
    for name, _slave, map_name, _unit, start in METERS:
        register = meter_register(map_name)
        if services.meters.readings.latest(name, register) is None:
            n += seed_meter_history(services.meters.readings, services.db, meter=name,
                                    register=register,
                                    water=map_name == "water_generic", end_total=start,
                                    now_ms=now, tz=services.config.timezone)
    return n


def seed_meter_history(readings: Any, db: Any, *, meter: str, register: str, water: bool,
                       end_total: float, now_ms: int, days: int = HISTORY_DAYS,
                       tz: str = "Asia/Shanghai") -> int:
    """DEMO HISTORY: made-up hourly totals for the ``days`` before ``now_ms`` (UTC ms), ending
    just below ``end_total`` (the simulated meter's total at start), written through the
    readings store (``readings``, on database ``db``) as the node's hourly totals would be
    (reason ``hour``, node ``plant``, no event). A household profile: electricity 6-16 kWh a day with morning and evening peaks;
    water 0.25-0.6 m³ a day, none between 01:00 and 05:00 (no leak). Deterministic per meter.
    Returns the readings written (one transaction)."""
    rng = random.Random(f"demo-history:{meter}")
    zone = zoneinfo.ZoneInfo(tz)
    last_hour = now_ms - now_ms % HOUR_MS
    if last_hour >= now_ms - MINUTE_MS:          # leave room for the node's first reading
        last_hour -= HOUR_MS
    hours = [last_hour - k * HOUR_MS for k in range(days * 24)]        # newest first
    day_use = {}
    total = end_total - (0.05 if not water else 0.002)
    values = []
    for ts in hours:
        local = datetime.fromtimestamp(ts / 1000, tz=timezone.utc).astimezone(zone)
        day = local.date()
        if day not in day_use:
            day_use[day] = rng.uniform(0.25, 0.6) if water else rng.uniform(6.0, 16.0)
        values.append((ts, round(total, 3)))
        total -= day_use[day] * _share(local.hour, water) * rng.uniform(0.7, 1.3)
        if total < 0:
            break
    with db.transaction():
        for ts, value in reversed(values):
            readings.add(meter, register, ts, value, reason="hour", node="plant",
                         received_at=ts + 2_000)
    return len(values)


#: Share of a day's use in each local hour (electricity; water: none 01:00-05:00).
_POWER = (2, 1.5, 1.5, 1.5, 1.5, 2, 4, 7, 6, 4, 3, 3, 4, 3, 3, 3, 4, 6, 9, 10, 9, 7, 5, 3)
_WATER = (1, 0, 0, 0, 0, 1, 6, 9, 7, 4, 3, 3, 4, 3, 2, 2, 3, 5, 8, 9, 8, 6, 4, 2)


def _share(hour: int, water: bool) -> float:
    table = _WATER if water else _POWER
    return table[hour] / sum(table)


# -- patrol -----------------------------------------------------------------------------------

def _patrol(services: Any, now: int) -> int:
    from web.patrol.model import Checkpoint, PatrolUser, Route, RoutePoint, Schedule
    plan = services.patrol.plan
    items: list[Any] = []
    by_checkpoint = {cp: (node, reader) for node, (reader, cp) in CHECKPOINTS.items()}
    for cp in PATROL_ROUTE:
        if cp not in plan.checkpoints:
            node, reader = by_checkpoint[cp]
            name, building, floor = _CHECKPOINT_NAMES[cp]
            items.append(Checkpoint(id=cp, name=name, node=node, reader=reader,
                                    building=building, floor=floor))
    user, name = PATROL_USER
    if user not in plan.users:
        items.append(PatrolUser(user=user, cards=(GUARD_CARD,), name=name, team="guards"))
    if ROUTE_ID not in plan.routes:
        items.append(Route(id=ROUTE_ID, name="大堂-门岗-设备房 Lobby, gate, plant room",
                           points=tuple(RoutePoint(checkpoint=cp, expected_min=3 * i,
                                                   tolerance_min=5)
                                        for i, cp in enumerate(PATROL_ROUTE)),
                           ordered=True, grace_min=5, adhoc=True))
    if SCHEDULE_ID not in plan.schedules:
        items.append(Schedule.every(id=SCHEDULE_ID, route=ROUTE_ID, start="00:00", end="22:00",
                                    every_min=120, tz=services.config.timezone,
                                    assignees=(user,), active_from_ms=now))
    for item in items:
        services.patrol.save_item(item)
    return len(items)


# -- goods passes, invites, watchlist ---------------------------------------------------------

def _passes(services: Any, now: int) -> int:
    from web.passes import PassDraft, PassLine, check_draft
    if services.passes.count():
        return 0
    start = _minute(now) - MINUTE_MS
    drafts = [
        PassDraft(unit="1-1201", carrier_name="王建国", carrier_relation="owner",
                  carrier_id_last4="1201", items=(PassLine("旧沙发 old sofa", 1, large=True),),
                  valid_from_ms=start, valid_until_ms=start + 3 * DAY_MS,
                  note="业主本人 the owner in person"),
        PassDraft(unit="2-0801", carrier_name="刘师傅 (顺达搬家)", carrier_relation="mover",
                  carrier_id_last4="0801", authorisation="letter", letter_ref="WT-2026-0801",
                  items=(PassLine("冰箱 refrigerator", 1, large=True),
                         PassLine("纸箱 cardboard boxes", 6)),
                  valid_from_ms=start, valid_until_ms=start + 2 * DAY_MS,
                  vehicle_plate="沪B·12345"),
        PassDraft(unit="1-1201", carrier_name="李秀英", carrier_relation="household",
                  carrier_id_last4="0013", items=(PassLine("自行车 bicycle", 1),),
                  valid_from_ms=start, valid_until_ms=start + 3 * DAY_MS),
        PassDraft(unit="1-1202", carrier_name="吴师傅", carrier_relation="worker",
                  carrier_id_last4="5566", authorisation="desk", kind="tools",
                  items=(PassLine("电钻 drill", 1), PassLine("切割机 cutter", 1)),
                  valid_from_ms=start, valid_until_ms=start + 12 * HOUR_MS,
                  note="装修 renovation"),
    ]
    signer = services.signer()
    for draft in drafts:
        problems = check_draft(draft, unit=services.units.get(draft.unit), now_ms=now)
        if problems:
            raise ValueError(f"demo goods pass for {draft.unit} breaks the desk's rules: "
                             f"{problems}")
        services.passes.issue(draft, sign=signer.sign, by=SEEDED_BY)
    return len(drafts)


def _invites(services: Any, now: int) -> int:
    if services.visitors.invites.recent(limit=1):
        return 0
    services.visitors.create_invite(signer=services.signer(), by=SEEDED_BY, name="周女士",
                                    phone="136 0000 1202", unit="1-1202", purpose="探亲 family visit",
                                    valid_from=now, valid_until=now + 2 * DAY_MS, uses=3)
    return 1


def _watchlist(services: Any) -> int:
    if services.visitors.watchlist.all():
        return 0
    for kind, value, note in WATCHLIST:
        services.visitors.watchlist.add(kind, value, note=note, by=SEEDED_BY)
    return len(WATCHLIST)
