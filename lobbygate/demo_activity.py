"""The demo's simulated people: one thread that, every ``interval_ms`` (+- 25 %), has somebody do
something at a node, on the simulated wires only.

Residents badge in at the lobby and the gate (their door opens and closes again; some cards are
refused: another door, a disabled card, cards nobody registered), somebody leaves through the
exit button, visitors press a unit's call button or show a visitor invite at the panel, a mover
shows a goods pass at the gate and the guard releases (or denies) it, the guard walks the patrol
check-points in order, a card is shown at the key cabinet, and now and then somebody presses the
help button. The meters' totals grow with every step (consumption sped up, so the numbers move).

One thread, asleep between steps: a demo left running for hours costs next to no CPU.
:meth:`start` / :meth:`stop` (idempotent, joins the thread).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Callable

from mqtt_topics.invites import InviteToken
from mqtt_topics.passes import GoodsPassToken, describe_items

from .demo_nodes import CABINET_READER, CHECKPOINTS, GATE_DOOR, GOODS_GATE, LOBBY_DOOR, METERS, PANEL
from .demo_people import CABINET_CARDS, CARDS, GUARD_CARD, UNITS, UNKNOWN_CARDS

if TYPE_CHECKING:  # pragma: no cover
    from hardware.sim.modbus_meter import ModbusMeterSim
    from web.signing import SiteSigner

    from .demo_nodes import DoorPins
    from .demo_wiring import NodeWiring

__all__ = ["DemoActivity"]

log = logging.getLogger("lobbygate.demo")

MINUTE_MS = 60_000
#: How much faster than real time the simulated households consume.
CONSUMPTION_SPEED = 120.0
_GOODS = (("冰箱 refrigerator", 1), ("纸箱 cardboard boxes", 4), ("旧沙发 old sofa", 1),
          ("自行车 bicycle", 1))


class DemoActivity:
    """Simulated people for a running demo site.

    ``wiring``: node id -> :class:`~lobbygate.demo_wiring.NodeWiring`; ``meters``: the meter
    simulator (or None); ``signer``: the site key, to print invites and goods passes the way the
    console does; ``site``: the site id; ``interval_ms``: mean time between steps; ``seed``:
    random seed (None: random)."""

    def __init__(self, *, wiring: dict[str, "NodeWiring"], meters: "ModbusMeterSim | None",
                 signer: "SiteSigner", site: str, interval_ms: int = 4000,
                 seed: int | None = None) -> None:
        self.wiring = wiring
        self.meters = meters
        self.signer = signer
        self.site = site
        self.interval_s = interval_ms / 1000.0
        self.rng = random.Random(seed)
        self.steps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._patrol_next = 0
        self._serial = 0
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
        """A visitor shows an invite the console issued (signed with the site key); the panel's
        own strike relay lets them in (the door contact is left alone: to the lobby door's
        supervisor an opening it did not unlock is a forced door)."""
        text = make_invite(self.signer, site=self.site, invite_id=self._next_id("iv"),
                           unit=self.rng.choice([u.code for u in UNITS if not u.vacant]))
        self.wiring["lobby"].scan(PANEL.scanner_port, text)

    # -- the gate -----------------------------------------------------------------------------
    def goods_pass(self) -> None:
        """A mover shows a goods pass; the guard looks, then releases (or denies) it."""
        w = self.wiring["gate"]
        unit = self.rng.choice([u.code for u in UNITS if not u.vacant])
        items = self.rng.sample(_GOODS, k=self.rng.randint(1, 2))
        w.scan(GOODS_GATE.scanner_port, make_goods_pass(self.signer, site=self.site,
                                                         pass_id=self._next_id("gp"), unit=unit,
                                                         items=items))
        if self._pause(self.rng.uniform(2.0, 4.0)):
            w.tap(GOODS_GATE.deny if self.rng.random() < 0.2 else GOODS_GATE.release, 0.2)

    # -- patrol, cabinet, meters ------------------------------------------------------------------
    def patrol_tap(self) -> None:
        """The guard taps the next check-point of the round (lobby, gate, plant room)."""
        nodes = sorted(CHECKPOINTS)
        node = nodes[self._patrol_next % len(nodes)]
        self._patrol_next += 1
        self.wiring[node].card_em(CHECKPOINTS[node][0], GUARD_CARD)

    def cabinet_card(self) -> None:
        self.wiring["desk"].card_em(CABINET_READER, self.rng.choice(CABINET_CARDS))

    def tick_meters(self) -> None:
        """Grow every meter's total by what its household used since the last tick (sped up)."""
        if self.meters is None:
            return
        now = time.monotonic()
        hours = (now - self._last_tick) / 3600 * CONSUMPTION_SPEED
        self._last_tick = now
        for _name, slave, map_name, _unit, _start in METERS:
            if map_name == "water_generic":
                flow = self.rng.uniform(0.0, 0.6)          # m3/h
                self.meters.set_value(slave, "flow_m3_h", flow)
                self.meters.set_value(slave, "total_volume_m3",
                                      self.meters.value(slave, "total_volume_m3") + flow * hours)
            else:
                power = self.rng.uniform(200.0, 2500.0)    # W
                self.meters.set_value(slave, "active_power_w", power)
                self.meters.set_value(slave, "current_a", power / 230.0)
                self.meters.set_value(slave, "import_energy_kwh",
                                      self.meters.value(slave, "import_energy_kwh") + power / 1000 * hours)

    def _next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-demo-{int(time.time()) % 100000:05d}-{self._serial}"


def _minute(ms: int) -> int:
    return ms - ms % MINUTE_MS


def make_invite(signer: "SiteSigner", *, site: str, invite_id: str, unit: str,
                uses: int = 1, now_ms: int | None = None) -> str:
    """The QR text of a visitor invite valid from the last minute for a day."""
    start = _minute(now_ms if now_ms is not None else int(time.time() * 1000)) - MINUTE_MS
    token = InviteToken(invite_id=invite_id, site=site, unit=unit, valid_from_ms=start,
                        valid_until_ms=start + 24 * 60 * MINUTE_MS, uses=uses)
    return token.to_qr_text(signer.sign(token.signing_bytes()))


def make_goods_pass(signer: "SiteSigner", *, site: str, pass_id: str, unit: str,
                    items: list[tuple[str, int]] | tuple[tuple[str, int], ...],
                    now_ms: int | None = None) -> str:
    """The QR text of a goods pass valid from the last minute for a day."""
    start = _minute(now_ms if now_ms is not None else int(time.time() * 1000)) - MINUTE_MS
    token = GoodsPassToken(pass_id=pass_id, site=site, unit=unit, valid_from_ms=start,
                           valid_until_ms=start + 24 * 60 * MINUTE_MS, **describe_items(items))
    return token.to_qr_text(signer.sign(token.signing_bytes()))
