"""The demo's simulated people: one thread that, every ``interval_ms`` (+- 25 %), has somebody do
something at a node, on the simulated wires only.

Residents badge in at the lobby and the gate (their door opens and closes again; some cards are
refused: another door, a disabled card, cards nobody registered), somebody leaves through the
exit button, visitors press a unit's call button or show a visitor invite the desk issued at the
console, a mover shows a goods pass the console issued and the guard releases (or denies) it,
the guard walks the patrol route's check-points in order (then rests 20 minutes), staff take
keys from the desk's cabinet and bring them back (the vacant unit's key, the first time, stays
out past its loan time: an overdue loan), and now and then somebody presses the help button.
The meters' totals grow with every step (consumption sped up ten times, so the numbers move; no
water at night).

One thread, asleep between steps: a demo left running for hours costs next to no CPU.
:meth:`start` / :meth:`stop` (idempotent, joins the thread).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import zoneinfo
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from .demo_desk import VISITORS
from .demo_seed import ROUTE_SPAN_MIN
from .demo_nodes import (CABINET, CABINET_READER, CHECKPOINTS, GATE_DOOR, GOODS_GATE, LOBBY_DOOR,
                         METERS, PANEL, PATROL_ROUTE)
from .demo_people import (CABINET_HOLDERS, CABINET_UNKNOWN_CARD, CARDS, GUARD_CARD, KEYS, UNITS,
                          UNKNOWN_CARDS, DemoKey)

if TYPE_CHECKING:  # pragma: no cover
    from hardware.sim.modbus_meter import ModbusMeterSim

    from .demo_desk import DemoDesk
    from .demo_nodes import DoorPins
    from .demo_wiring import NodeWiring

__all__ = ["DemoActivity"]

log = logging.getLogger("lobbygate.demo")

#: How much faster than real time the simulated households consume (an hour of demo is about
#: a day of a household's use, like the DEMO HISTORY readings of :mod:`lobbygate.demo_seed`).
CONSUMPTION_SPEED = 10.0
#: How long staff keep a key out (s): (shortest, longest); the vacant unit's key the first time
#: it is taken: longer than its 20-minute loan time, so the console shows an overdue loan.
KEY_OUT_S = (60.0, 240.0)
FIRST_VACANT_KEY_OUT_S = 45 * 60.0
#: How long the guard rests after a round (s): longer than the route's span, so the next walk
#: starts a round of its own (:data:`lobbygate.demo_seed.ROUTE_SPAN_MIN`).
PATROL_REST_S = (ROUTE_SPAN_MIN + 4) * 60.0


class DemoActivity:
    """Simulated people for a running demo site.

    ``wiring``: node id -> :class:`~lobbygate.demo_wiring.NodeWiring`; ``meters``: the meter
    simulator (or None); ``desk``: the :class:`~lobbygate.demo_desk.DemoDesk` that issues the
    goods passes and invites shown at the nodes; ``interval_ms``: mean time between steps;
    ``seed``: random seed (None: random); ``clock``: monotonic seconds (key loan times);
    ``timezone``: the site's zone (the water meter's quiet night hours)."""

    def __init__(self, *, wiring: dict[str, "NodeWiring"], meters: "ModbusMeterSim | None",
                 desk: "DemoDesk", interval_ms: int = 4000, seed: int | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 timezone: str = "Asia/Shanghai") -> None:
        self.wiring = wiring
        self.meters = meters
        self.desk = desk
        self.clock = clock
        self.zone = zoneinfo.ZoneInfo(timezone)
        self.interval_s = interval_ms / 1000.0
        self.rng = random.Random(seed)
        self.steps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._patrol_next = 0
        self._patrol_rest_until = float("-inf")
        self._keys_out: dict[str, tuple[str, float]] = {}   # key -> (holder's card, back at)
        self._vacant_key_lent = False
        self._last_tick = time.monotonic()
        self._actions: list[tuple[float, Callable[[], None]]] = [
            (30, self.resident_at_lobby), (15, self.resident_at_gate), (8, self.stranger),
            (8, self.exit_button), (6, self.intercom_call), (3, self.invite), (3, self.goods_pass),
            (10, self.patrol_tap), (4, self.cabinet_card), (0.5, self.help_button)]

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "DemoActivity":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="demo-people", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)

    def _run(self) -> None:
        weights = [w for w, _ in self._actions]
        while not self._stop.wait(self.interval_s * self.rng.uniform(0.75, 1.25)):
            _weight, action = self.rng.choices(self._actions, weights=weights)[0]
            try:
                action()
                self.tick_meters()
            except Exception:  # noqa: BLE001 - a wire closed under us while stopping, or a bug
                if self._stop.is_set():
                    return
                log.exception("demo: simulated %s failed", action.__name__)
            self.steps += 1

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False if the demo is stopping."""
        return not self._stop.wait(seconds)

    # -- doors --------------------------------------------------------------------------------
    def _walk_through(self, node: str, pins: "DoorPins") -> None:
        """Open the door (contact), walk through, let it close."""
        w = self.wiring[node]
        if self._pause(0.8):
            w.press(pins.contact)
            self._pause(self.rng.uniform(1.5, 3.0))
            w.release(pins.contact)

    def _badge(self, node: str, pins: "DoorPins", facility: int, number: int, *,
               walks: bool) -> None:
        self.wiring[node].card_wiegand(pins.d0, pins.d1, facility, number)
        if walks:
            self._walk_through(node, pins)

    def resident_at_lobby(self) -> None:
        card = self.rng.choice(CARDS)
        self._badge("lobby", LOBBY_DOOR, card.facility, card.number,
                    walks=card.enabled and (card.doors == "*" or "lobby" in card.doors))

    def resident_at_gate(self) -> None:
        card = self.rng.choice(CARDS)
        self._badge("gate", GATE_DOOR, card.facility, card.number,
                    walks=card.enabled and (card.doors == "*" or "gate" in card.doors))

    def stranger(self) -> None:
        node, pins = self.rng.choice((("lobby", LOBBY_DOOR), ("gate", GATE_DOOR)))
        facility, number = self.rng.choice(UNKNOWN_CARDS)
        self._badge(node, pins, facility, number, walks=False)

    def exit_button(self) -> None:
        w = self.wiring["lobby"]
        w.tap(LOBBY_DOOR.rex, 0.3)
        self._walk_through("lobby", LOBBY_DOOR)

    # -- the lobby panel ----------------------------------------------------------------------
    def intercom_call(self) -> None:
        unit = self.rng.choice(sorted(PANEL.buttons))
        self.wiring["lobby"].tap(PANEL.buttons[unit], 0.3)

    def help_button(self) -> None:
        self.wiring["lobby"].tap(PANEL.emergency, 0.5)

    def invite(self) -> None:
        """A resident's visitor shows the invite the desk issued at the console (signed with the
        site key); the panel's own strike relay lets them in (the door contact is left alone: to
        the lobby door's supervisor an opening it did not unlock is a forced door)."""
        name, phone = self.rng.choice(VISITORS)
        inv = self.desk.invite(unit=self.rng.choice([u.code for u in UNITS if not u.vacant]),
                               name=name, phone=phone)
        self.wiring["lobby"].scan(PANEL.scanner_port, inv.qr_text)

    # -- the gate -----------------------------------------------------------------------------
    def goods_pass(self) -> None:
        """A mover shows a goods pass the console issued (a seeded one first, then new ones the
        desk issues); the guard looks, then releases (or denies) it."""
        w = self.wiring["gate"]
        w.scan(GOODS_GATE.scanner_port, self.desk.pass_to_show(self.rng).qr_text)
        if self._pause(self.rng.uniform(2.0, 4.0)):
            w.tap(GOODS_GATE.deny if self.rng.random() < 0.2 else GOODS_GATE.release, 0.2)

    # -- patrol, cabinet, meters ------------------------------------------------------------------
    def patrol_tap(self) -> None:
        """The guard taps the next check-point of the patrol route (lobby, gate, plant room);
        after the last one they rest (:data:`PATROL_REST_S`) before walking it again."""
        if self.clock() < self._patrol_rest_until:
            return
        checkpoint = PATROL_ROUTE[self._patrol_next % len(PATROL_ROUTE)]
        self._patrol_next += 1
        if self._patrol_next % len(PATROL_ROUTE) == 0:
            self._patrol_rest_until = self.clock() + PATROL_REST_S
        node = next(n for n, (_r, cp) in CHECKPOINTS.items() if cp == checkpoint)
        self.wiring[node].card_em(CHECKPOINTS[node][0], GUARD_CARD)

    def cabinet_card(self) -> None:
        """Staff at the desk's key cabinet: a key whose time is up is brought back, else a key
        still in is taken (the two-person key with both cards); now and then a card nobody
        registered is refused."""
        now = self.clock()
        due = sorted(k for k, (_card, back) in self._keys_out.items() if back <= now)
        if due:
            self.return_key(due[0])
        elif self.rng.random() < 0.15:
            self.wiring["desk"].card_em(CABINET_READER, CABINET_UNKNOWN_CARD)
        else:
            free = [k for k in KEYS if k.number not in self._keys_out]
            if free:
                self.take_key(self.rng.choice(free))

    def take_key(self, key: DemoKey, *, out_s: float | None = None) -> None:
        """A holder of ``key`` shows their card (both holders for a two-person key), opens the
        cabinet, takes the key from its slot, shuts the door. ``out_s``: when to bring it back."""
        cards = [h.card for h in CABINET_HOLDERS if h.credential_id in key.takers]
        card = self.rng.choice(cards)
        shown = [card] + ([c for c in cards if c != card][:1] if key.two_person else [])
        self._at_cabinet(shown, slot=key.slot, key_in=False)
        if out_s is None:
            if key.kind == "vacant-unit" and not self._vacant_key_lent:
                out_s = FIRST_VACANT_KEY_OUT_S
            else:
                out_s = self.rng.uniform(*KEY_OUT_S)
        if key.kind == "vacant-unit":
            self._vacant_key_lent = True
        self._keys_out[key.number] = (card, self.clock() + out_s)

    def return_key(self, number: str) -> None:
        """The borrower brings key ``number`` back: card, door, key into its slot, door shut."""
        card, _back = self._keys_out.pop(number)
        key = next(k for k in KEYS if k.number == number)
        self._at_cabinet([card], slot=key.slot, key_in=True)

    def _at_cabinet(self, cards: list[str], *, slot: int, key_in: bool) -> None:
        w = self.wiring["desk"]
        for card in cards:
            w.card_em(CABINET_READER, card)
            if not self._pause(0.8):
                return
        w.press(CABINET.door_contact)                 # the door opens
        if self._pause(0.6):
            if key_in:
                w.release(CABINET.present_pin(slot))  # the switch opens again: key in
            else:
                w.press(CABINET.present_pin(slot))    # the switch closes: the slot is empty
            self._pause(0.8)
        w.release(CABINET.door_contact)               # the door shut: the cabinet locks

    def tick_meters(self) -> None:
        """Grow every meter's total by what its household used since the last tick (sped up)."""
        if self.meters is None:
            return
        now = time.monotonic()
        hours = (now - self._last_tick) / 3600 * CONSUMPTION_SPEED
        self._last_tick = now
        for _name, slave, map_name, _unit, _start in METERS:
            if map_name == "water_generic":
                night = 1 <= datetime.now(self.zone).hour < 5   # nobody runs water: no leak
                flow = 0.0 if night else self.rng.uniform(0.0, 0.6)          # m3/h
                self.meters.set_value(slave, "flow_m3_h", flow)
                self.meters.set_value(slave, "total_volume_m3",
                                      self.meters.value(slave, "total_volume_m3") + flow * hours)
            else:
                power = self.rng.uniform(200.0, 2500.0)    # W
                self.meters.set_value(slave, "active_power_w", power)
                self.meters.set_value(slave, "current_a", power / 230.0)
                self.meters.set_value(slave, "import_energy_kwh",
                                      self.meters.value(slave, "import_energy_kwh") + power / 1000 * hours)
