"""Helpers for the intercom desk / visitor / unit-registry console tests: units in the registry,
intercom events stored and handled as the ingest does, a services builder on the real broker."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Any, Iterator

from web.units import parse_unit

from console_helpers import T0, make_event

LOBBY_KEY = b"lobby-command-key-0123456789abcdef"
_seq = itertools.count(1)


def add_unit(services: Any, building: str = "A", number: str = "1201", *, vacant: bool = False,
             residents: list[dict[str, str]] | None = None) -> Any:
    """Register a unit (default A-1201 with owner 王芳 13800000000)."""
    if residents is None:
        residents = [{"name": "王芳", "phone": "13800000000", "relation": "owner"}]
    unit = parse_unit({"building": building, "number": number, "vacant": vacant,
                       "residents": residents})
    return services.units.save(unit, by="admin1", create=True)


def intercom_event(services: Any, kind: str, data: dict[str, Any], *, node: str = "lobby",
                   ts: int | None = None, publish: bool = True) -> Any:
    """Store an ``intercom.*`` event and run the desk's handler in the same transaction, then
    announce it on the live feed after commit, as the ingest does."""
    with services.db.transaction():
        ev, alarm = make_event(services, node=node, kind=kind, seq=next(_seq), boot="boot-t",
                               ts=ts if ts is not None else services.clock(), data=data)
        services.visitors.on_event(ev)
    if publish:
        services.live.publish("event", ev.to_dict())
        if alarm is not None:
            services.live.publish("alarm", alarm.to_dict())
    return ev


def ring(services: Any, unit: str = "1201", *, call_id: str = "boot-t-1", node: str = "lobby",
         **kw: Any) -> str:
    """A visitor calls ``unit`` at the lobby panel; the call's key."""
    intercom_event(services, "intercom.call", {"panel": "lobby-panel", "call_id": call_id,
                                               "unit": unit, "via": "keypad"}, node=node, **kw)
    return f"{node}:{call_id}"


def visit_values(**kw: Any) -> dict[str, Any]:
    base = {"name": "张伟", "id_type": "resident_id", "id_number": "110101199003074518",
            "phone": "13912345678", "unit": "A-1201", "purpose": "探亲", "plate": "沪A 12345",
            "people": "2", "call_id": ""}
    base.update(kw)
    return base


__all__ = ["LOBBY_KEY", "T0", "add_unit", "intercom_event", "ring", "visit_values",
           "lobby_services"]


def broker_settings(broker: Any) -> Any:
    """The console's broker settings for a test MosquittoBroker."""
    from web.ingest import BrokerSettings

    c = broker.credentials("console")
    return BrokerSettings(host=str(c["host"]), port=int(c["port"]), username="console",
                          password=str(c["password"]), client_id="console-visitors-test")


@contextmanager
def lobby_services(config: Any, clock: Any, *, signer: Any = None,
                   **options: Any) -> Iterator[Any]:
    """Console services (no broker) for the console ``config``, whose node ``lobby`` has the
    command key ``LOBBY_KEY``; ``options``: more ServicesConfig fields (e.g. ``timezone``).
    Stopped on leaving the block."""
    from web.services import ServicesConfig, build_services

    cfg = ServicesConfig(db_path=config.db_path, site=config.site, broker=None,
                         node_keys={"lobby": LOBBY_KEY}, **options)
    svc = build_services(cfg, clock=clock, signer=signer)
    with svc:
        yield svc
