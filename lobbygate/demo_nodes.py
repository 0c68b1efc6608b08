"""The demo site's four nodes: what each has wired where, and its ``node.toml`` as data.

- ``lobby`` (大堂): the lobby door (Wiegand reader ``lobby-in``, strike, door contact, exit
  button), the intercom panel (call buttons for three units, the help button, a QR scanner for
  visitor invites, its own strike relay) and the ``b1-lobby`` patrol check-point;
- ``gate`` (门岗): the compound gate (Wiegand reader ``gate-in``, barrier relay, gate contact,
  the guard's open button), the goods-pass scanner with its release / deny buttons and verdict
  LEDs, and the ``gate-house`` check-point;
- ``desk`` (前台): the key cabinet (three slots on GPIO, an RDM6300 reader);
- ``plant`` (设备房): a Modbus TCP meter bus with three meters (two electricity, one water) and the
  ``plant-room`` check-point.

Pins are BCM numbers on each node's own (simulated) GPIO header. :func:`node_data` returns the
config mapping that :func:`edge.config.parse_config` validates, exactly as a ``node.toml`` would
say it; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

__all__ = ["NODE_IDS", "DoorPins", "LOBBY_DOOR", "GATE_DOOR", "PANEL", "GOODS_GATE",
           "CHECKPOINTS", "PATROL_ROUTE", "CABINET", "CabinetPins", "CABINET_READER", "METERS",
           "METER_BUS", "node_data"]

NODE_IDS: tuple[str, ...] = ("lobby", "gate", "desk", "plant")


@dataclass(frozen=True)
class DoorPins:
    """A door node's wiring: Wiegand ``d0``/``d1``, the ``lock`` relay, the ``contact`` and the
    exit button (``rex``)."""

    door: str
    reader: str
    d0: int = 5
    d1: int = 6
    lock: int = 22
    contact: int = 17
    rex: int = 27


LOBBY_DOOR = DoorPins("lobby", "lobby-in")
GATE_DOOR = DoorPins("gate", "gate-in")


@dataclass(frozen=True)
class PanelPins:
    """The lobby intercom panel: a call button per unit, help, LED, buzzer, strike relay."""

    name: str = "lobby-panel"
    buttons: Mapping[str, int] = field(default_factory=lambda: {"1-1201": 12, "1-1202": 13,
                                                                "2-0801": 19})
    emergency: int = 26
    led: int = 20
    buzzer: int = 16
    door: int = 21

    @property
    def scanner_port(self) -> str:
        return f"{self.name}-scanner"


@dataclass(frozen=True)
class GoodsGatePins:
    """The gate's goods-pass station: verdict LEDs, buzzer, the guard's two buttons."""

    name: str = "gate-north"
    green: int = 23
    red: int = 24
    buzzer: int = 25
    release: int = 7
    deny: int = 8

    @property
    def scanner_port(self) -> str:
        return f"{self.name}-scanner"


PANEL = PanelPins()
GOODS_GATE = GoodsGatePins()
#: node -> (patrol reader name, check-point id)
CHECKPOINTS: dict[str, tuple[str, str]] = {"lobby": ("lobby-cp", "b1-lobby"),
                                           "gate": ("gate-cp", "gate-house"),
                                           "plant": ("plant-cp", "plant-room")}
#: The guard's round, in order: check-point ids of :data:`CHECKPOINTS`.
PATROL_ROUTE: tuple[str, ...] = ("b1-lobby", "gate-house", "plant-room")


@dataclass(frozen=True)
class CabinetPins:
    """The desk's key cabinet ``id``: door lock and contact, and per slot (lock, key-present).
    The key-present switches are open at rest (``present_invert``): a slot reads full until its
    pin is pressed (a key taken out); the contact pressed is the door open."""

    id: str = "desk-keys"
    door_lock: int = 4
    door_contact: int = 14
    slots: Mapping[int, tuple[int, int]] = field(default_factory=lambda: {
        1: (15, 18), 2: (23, 24), 3: (10, 9)})

    def present_pin(self, slot: int) -> int:
        return self.slots[slot][1]


CABINET = CabinetPins()
CABINET_READER = "cabinet-in"
#: The plant room's meter bus name (in the node's config and the meter registry).
METER_BUS = "plant-rs485"
#: (meter name, slave id, register map, unit, starting total)
METERS: tuple[tuple[str, int, str, str, float], ...] = (
    ("m-1-1201-power", 1, "eastron_sdm120", "1-1201", 1834.5),
    ("m-1-1202-power", 2, "eastron_sdm120", "1-1202", 962.25),
    ("m-2-0801-water", 3, "water_generic", "2-0801", 215.125),
)


def _door(pins: DoorPins, cache: str, *, unlock_s: float) -> dict[str, Any]:
    return {"id": pins.door, "fail_mode": "fail_secure", "unlock_s": unlock_s, "cache": cache,
            "lock": {"pin": pins.lock},
            "inputs": {"contact": {"pin": pins.contact}, "rex": {"pin": pins.rex}},
            "readers": [{"name": pins.reader, "kind": "wiegand", "d0": pins.d0, "d1": pins.d1,
                         "direction": "in"}]}


def node_data(node_id: str, *, base: Mapping[str, Any], node_dir: str, port: Callable[[str], str],
              public_key_file: str, meter_bus: tuple[str, int] | None = None,
              quick: bool = False) -> dict[str, Any]:
    """The config of node ``node_id`` (one of :data:`NODE_IDS`).

    ``base``: the ``node``/``mqtt``/``commands``/``gpio`` sections; ``node_dir``: its files;
    ``port(name) -> device path``: the simulated serial line ``name``; ``public_key_file``: the
    site's Ed25519 public key (PEM); ``meter_bus``: the meters' Modbus TCP (host, port) (plant);
    ``quick``: settings for the scripted check (short unlocks, calls that do not time out during
    it, totals only at the first reading and each hour)."""
    data: dict[str, Any] = {k: dict(v) for k, v in base.items()}
    unlock_s = 2.0 if quick else 4.0
    if node_id in CHECKPOINTS:
        reader, checkpoint = CHECKPOINTS[node_id]
        data["readers"] = [{"name": reader, "kind": "rdm6300", "port": port(reader)}]
        data["patrol"] = {"readers": [f"{reader}={checkpoint}"], "collapse_s": 30}
    if node_id == "lobby":
        data["door"] = _door(LOBBY_DOOR, f"{node_dir}/credentials.json", unlock_s=unlock_s)
        data["intercom"] = {
            "name": PANEL.name, "buttons": dict(PANEL.buttons), "emergency_pin": PANEL.emergency,
            "led_pin": PANEL.led, "buzzer_pin": PANEL.buzzer, "door_pin": PANEL.door,
            "door_pulse_s": unlock_s, "ring_s": 1.0, "answer_timeout_s": 3600 if quick else 45,
            "scanner_port": port(PANEL.scanner_port), "public_key_file": public_key_file,
            "invite_ledger": f"{node_dir}/intercom-invites.db"}
    elif node_id == "gate":
        data["door"] = _door(GATE_DOOR, f"{node_dir}/credentials.json", unlock_s=unlock_s)
        g = GOODS_GATE
        data["goods_gate"] = {
            "name": g.name, "scanner_port": port(g.scanner_port), "public_key_file": public_key_file,
            "ledger": f"{node_dir}/goods-gate.db", "green_pin": g.green, "red_pin": g.red,
            "buzzer_pin": g.buzzer, "release_pin": g.release, "deny_pin": g.deny, "show_s": 3.0,
            "decision_timeout_s": 60.0}
    elif node_id == "desk":
        data["cabinet"] = {
            "id": CABINET.id, "io": "gpio", "door_lock": CABINET.door_lock,
            "door_contact": CABINET.door_contact,
            "present_invert": True,        # switches open at rest: every slot reads full
            "release_s": 20, "poll_s": 0.2,
            "cache": f"{node_dir}/key-permissions.json", "state": f"{node_dir}/cabinet-state.json",
            "readers": [{"name": CABINET_READER, "port": port(CABINET_READER)}],
            "slots": [{"slot": n, "lock": lock, "present": present}
                      for n, (lock, present) in sorted(CABINET.slots.items())]}
    elif node_id == "plant":
        assert meter_bus is not None, "the plant node needs the meter bus"
        host, tcp_port = meter_bus
        data["meter_buses"] = [{"name": METER_BUS, "kind": "tcp", "host": host,
                                "tcp_port": tcp_port, "timeout_s": 0.5, "gap_ms": 20}]
        data["meters"] = [{"name": name, "bus": METER_BUS, "slave": slave, "map": map_name,
                           "unit": unit, "period_s": 10.0,
                           "total_interval_s": 3600.0 if quick else 300.0}
                          for name, slave, map_name, unit, _total in METERS]
    return data
