"""``lobbygate demo --check``: one scripted scenario through every device kind of the demo site,
then the exactly-once comparison of every node's journal with the console's store.

The scenario, on the simulated wires only, once the readers have opened their ports, both
doors decide from the console's credentials snapshot and the key cabinet from its key register:
a resident granted and an unknown card denied at the lobby, a resident refused at the gate (not
her door) and one granted; a call button pressed and a visitor invite the desk issued at the
console scanned at the lobby panel; a goods pass the console issued scanned at the gate and
released by the guard; the guard's card at the patrol route's three check-points in order; an
unknown card refused at the key cabinet, then the desk clerk's card, the vacant unit's key taken
out and brought back; the three meters' first totals; a signed ``door.unlock`` carried out and an
unsigned one refused. Each step waits for its event (with the data it must carry) before the next.

What the console made of it is checked as its users see it: the key loan open while the key is
out (``/keys/cabinets.json``, logged in as the admin) and closed once it is back; after two
patrol taps a round running with both visited, after the third the same round completed
(``/patrol/live``); each meter's first total in the readings journal; the pass released in the
goods-pass store.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from firmware.probe import MqttProbe, wait_until
from mqtt_topics import CommandEnvelope, CommandResult, EventEnvelope
from mqtt_topics import topics as T

from .demo_console import ConsoleClient, patrol_rows
from .demo_nodes import (CABINET, CABINET_READER, CHECKPOINTS, GATE_DOOR, GOODS_GATE, LOBBY_DOOR,
                         METERS, NODE_IDS, PANEL, PATROL_ROUTE)
from .demo_people import (CABINET_HOLDERS, CABINET_UNKNOWN_CARD, CARDS, GUARD_CARD, KEYS,
                          UNKNOWN_CARDS)
from .demo_seed import ROUTE_SPAN_MIN, meter_register

if TYPE_CHECKING:  # pragma: no cover
    from .demo import DemoSite

__all__ = ["run_check"]

Kinds = dict[str, Counter[str]]


def run_check(site: "DemoSite", *, timeout_s: float = 45.0) -> tuple[bool, str]:
    """Drive the scenario on the started ``site``, then compare; (ok, one summary line).
    ``timeout_s``: the longest wait for any one step, seconds."""
    if not site.wait_ready(timeout_s=timeout_s):
        return False, ("demo check FAILED: the readers did not open their ports, or the doors "
                       "never got the credentials snapshot, or the key cabinet its key register")
    creds = site.broker.credentials("console")
    with MqttProbe(host=creds["host"], port=creds["port"], username="console",
                   password=creds["password"], topic_filter=T.site_filter(site.site),
                   client_id="demo-check") as probe:
        try:
            caused, at_least = _scenario(site, probe, timeout_s=timeout_s)
        except (RuntimeError, OSError) as exc:      # OSError: the console's pages (urllib)
            return False, f"demo check FAILED: {exc}"
    return _compare(site, caused, at_least, timeout_s=timeout_s)


def _scenario(site: "DemoSite", probe: MqttProbe, *, timeout_s: float) -> tuple[Kinds, Kinds]:
    """The script; returns the event kinds (and counts) it caused per node: exactly, and at
    least (meter totals: one per meter at its first reading, then hourly)."""
    w = site.wiring
    assert site.desk is not None
    desk = site.desk
    started_ms = desk.services.clock()
    web = ConsoleClient(site.console_url, username="admin", password=site.admin_password).log_in()

    def console_shows(what: str, condition: Any) -> None:
        if not wait_until(condition, timeout_s=timeout_s, interval_s=0.1):
            raise RuntimeError(f"console: {what} within {timeout_s:.0f} s")

    wang, li, zhang = (next(c for c in CARDS if c.credential_id == i)
                       for i in ("c-1-1201-wang", "c-1-1201-li", "c-1-1202-zhang"))

    def seen(node: str, kind: str, times: int = 1, **match: Any) -> None:
        """Wait until ``times`` ``kind`` events of ``node`` carrying ``match`` were published."""
        topic = T.event(site.site, node, kind)

        def found(ms: list) -> bool:
            return sum(all(e.data.get(k) == v for k, v in match.items())
                       for e in (EventEnvelope.from_json(m.payload)
                                 for m in ms if m.topic == topic)) >= times
        if not probe.wait_for(found, timeout_s=timeout_s):
            raise RuntimeError(f"{node}: no {kind} {match or ''} (x{times}) within "
                               f"{timeout_s:.0f} s")

    # doors, from the synced credentials
    w["lobby"].card_wiegand(LOBBY_DOOR.d0, LOBBY_DOOR.d1, wang.facility, wang.number)
    seen("lobby", "door.granted", holder=wang.holder, unit=wang.unit)
    w["lobby"].card_wiegand(LOBBY_DOOR.d0, LOBBY_DOOR.d1, *UNKNOWN_CARDS[0])
    seen("lobby", "door.denied", reason="unknown_card")
    w["gate"].card_wiegand(GATE_DOOR.d0, GATE_DOOR.d1, li.facility, li.number)
    seen("gate", "door.denied", reason="door_not_allowed", holder=li.holder)
    w["gate"].card_wiegand(GATE_DOOR.d0, GATE_DOOR.d1, zhang.facility, zhang.number)
    seen("gate", "door.granted", holder=zhang.holder)
    # the lobby panel: a call, a visitor invite
    w["lobby"].tap(PANEL.buttons["1-1201"], 0.1)
    seen("lobby", "intercom.call", unit="1-1201", via="button")
    invite = desk.invite(unit="1-1202", name="周女士", phone="136 0000 1202")
    w["lobby"].scan(PANEL.scanner_port, invite.qr_text)
    seen("lobby", "intercom.invite_admitted", invite_id=invite.invite_id)
    # the gate: a goods pass the console issued shown, the guard releases it
    gp = desk.issue_pass(unit="1-1201", items=[("冰箱 refrigerator", 1, True)])
    w["gate"].scan(GOODS_GATE.scanner_port, gp.qr_text)
    gate = site.nodes["gate"].extensions["goods_gate"]
    if not wait_until(lambda: gate.counters()["valid"] >= 1, timeout_s=timeout_s):
        raise RuntimeError("gate: the goods pass was not shown valid")
    w["gate"].tap(GOODS_GATE.release, 0.1)
    seen("gate", "goods_pass.released", pass_id=gp.pass_id)
    console_shows(f"goods pass {gp.pass_id} not marked released",
                  lambda: desk.services.passes.require(gp.pass_id).state == "released")
    _patrol(site, web, seen, console_shows)
    _cabinet(site, web, seen, console_shows)
    # meters: each journals its total at its first reading, into the console's journal
    for name, _slave, map_name, _unit, _total in METERS:
        seen("plant", "meter.total", meter=name)
        register = meter_register(map_name)
        console_shows(f"no {register} reading of meter {name} stored", lambda n=name, r=register: (
            (latest := desk.services.meters.readings.latest(n, r)) is not None
            and latest.received_at >= started_ms))
    # a signed remote unlock is carried out, an unsigned one refused
    _commands(site, probe, timeout_s=timeout_s)
    seen("lobby", "door.remote", action="unlock", by="demo-check")
    seen("lobby", "command.refused")
    caused = {"lobby": Counter({"door.granted": 1, "door.denied": 1, "intercom.call": 1,
                                "intercom.invite_admitted": 1, "patrol.tap": 1,
                                "door.remote": 1, "command.refused": 1}),
              "gate": Counter({"door.granted": 1, "door.denied": 1, "goods_pass.released": 1,
                               "patrol.tap": 1}),
              "desk": Counter({"cabinet.denied": 1, "cabinet.granted": 2, "key.taken": 1,
                               "key.returned": 1}),
              "plant": Counter({"patrol.tap": 1})}
    at_least: Kinds = {n: Counter() for n in NODE_IDS}
    at_least["plant"]["meter.total"] = len(METERS)
    return caused, at_least


def _patrol(site: "DemoSite", web: ConsoleClient, seen: Any, console_shows: Any) -> None:
    """The guard taps the route in order: after two taps the console shows a round running with
    both visited, after the third the same round completed."""
    node_of = {cp: (node, reader) for node, (reader, cp) in CHECKPOINTS.items()}
    found: dict[str, str] = {}

    def round_with(state: str, visited: int) -> bool:
        for row in patrol_rows(web.get("patrol/live")):
            if row.state == state and row.visited >= visited and \
                    found.get("id", row.round_id) == row.round_id:
                found["id"] = row.round_id
                return True
        return False

    for i, checkpoint in enumerate(PATROL_ROUTE):
        node, reader = node_of[checkpoint]
        site.wiring[node].card_em(reader, GUARD_CARD)
        seen(node, "patrol.tap", checkpoint=checkpoint)
        if i == 1:
            console_shows("no patrol round running with two check-points visited (on a kept "
                          f"--dir: a round the guard walked less than {ROUTE_SPAN_MIN} minutes "
                          "ago takes these taps)", lambda: round_with("running", 2))
    console_shows(f"patrol round {found.get('id')} not completed",
                  lambda: round_with("completed", len(PATROL_ROUTE)))


def _cabinet(site: "DemoSite", web: ConsoleClient, seen: Any, console_shows: Any) -> None:
    """An unknown card refused; the desk clerk takes the vacant unit's key (the console shows
    the loan on the cabinet board) and the maintenance man brings it back (the loan ends; a
    different card: the reader takes the same card again within half a second for a card still
    held)."""
    w = site.wiring["desk"]
    key = KEYS[0]
    clerk, other = (h for h in CABINET_HOLDERS if h.credential_id in key.takers)
    loans = site.desk.services.keys.loans  # type: ignore[union-attr]
    w.card_em(CABINET_READER, CABINET_UNKNOWN_CARD)
    seen("desk", "cabinet.denied", reason="unknown_card")

    def slot_shown() -> dict[str, Any]:
        board = web.get_json("keys/cabinets.json")
        return next((s for c in board["cabinets"] if c["cabinet"] == CABINET.id
                     for s in c["slots"] if s.get("key") == key.number), {})

    for times, key_in, holder in ((1, False, clerk), (2, True, other)):
        w.card_em(CABINET_READER, holder.card)
        seen("desk", "cabinet.granted", holder=holder.credential_id)
        w.press(CABINET.door_contact)
        seen("desk", "cabinet.door", times, open=True)
        if key_in:
            w.release(CABINET.present_pin(key.slot))
            seen("desk", "key.returned", key=key.number)
        else:
            w.press(CABINET.present_pin(key.slot))
            seen("desk", "key.taken", key=key.number, holder=clerk.credential_id)
        w.release(CABINET.door_contact)
        seen("desk", "cabinet.locked", times, reason="door_closed")
        if not key_in:
            console_shows(f"no loan of key {key.number} to {clerk.credential_id}", lambda: (
                (loan := loans.open_loan(key.number)) is not None
                and loan.holder == clerk.credential_id))
            console_shows(f"the cabinet board does not show key {key.number} out", lambda: (
                (slot := slot_shown()).get("state") == "out" and bool(slot.get("who"))))
    console_shows(f"the loan of key {key.number} did not end",
                  lambda: loans.open_loan(key.number) is None)


def _commands(site: "DemoSite", probe: MqttProbe, *, timeout_s: float) -> None:
    """A signed ``door.unlock`` to the lobby is carried out; the same unsigned is refused."""
    key = site.node_keys["lobby"]
    now = int(time.time() * 1000)
    signed = CommandEnvelope.create(node="lobby", action="door.unlock", issued_by="demo-check",
                                    now_ms=now, args={"seconds": 1}).signed(key)
    unsigned = CommandEnvelope.create(node="lobby", action="door.unlock", issued_by="demo-check",
                                      now_ms=now, args={"seconds": 1})
    for cmd in (signed, unsigned):
        probe.publish(T.command(site.site, "lobby", "door.unlock"), cmd.to_json())
    result_topic = T.command_result(site.site, "lobby")

    def results() -> dict[str, CommandResult]:
        out = {}
        for m in probe.messages:
            if m.topic == result_topic:
                r = CommandResult.from_json(m.payload)
                out[r.cmd_id] = r
        return out

    probe.wait_for(lambda _ms: {signed.cmd_id, unsigned.cmd_id} <= set(results()),
                   timeout_s=timeout_s)
    got = results()
    if not (signed.cmd_id in got and got[signed.cmd_id].ok):
        raise RuntimeError("lobby: the signed door.unlock command was not carried out")
    if not (unsigned.cmd_id in got and got[unsigned.cmd_id].reason == "unsigned"):
        raise RuntimeError("lobby: the unsigned command was not refused")


def _journaled(site: "DemoSite", timeout_s: float) -> dict[str, tuple[str, int]] | None:
    """Per node (boot id, last seq) once its outbox is empty; None on timeout."""
    out = {}
    for node_id, node in site.nodes.items():
        journal = node.journal
        assert journal is not None and node.boot_id is not None
        if not wait_until(lambda: journal.stats().unsent == 0, timeout_s=timeout_s):
            return None
        out[node_id] = (node.boot_id, journal.stats().next_seq - 1)
    return out


def _compare(site: "DemoSite", caused: Kinds, at_least: Kinds, *,
             timeout_s: float) -> tuple[bool, str]:
    """Every event each node journaled (seq 1..last of this boot) is in the console's store,
    once; the scenario's kinds are stored as often as it caused them. Events journaled meanwhile
    (a door relocking) are waited for too: compared once the journals stand still."""
    from web.db import Database
    deadline = time.monotonic() + timeout_s
    db = Database(site.directory / "console" / "console.sqlite").open()
    try:
        while True:
            before = _journaled(site, max(0.1, deadline - time.monotonic()))
            if before is None:
                return False, "demo check FAILED: a node still has unsent events"

            def stored() -> dict[str, int]:
                return {n: db.conn().execute(
                    "SELECT COUNT(*) FROM events WHERE node = ? AND event_id LIKE ? AND seq <= ?",
                    (n, f"{n}:{boot}:%", last)).fetchone()[0] for n, (boot, last) in before.items()}

            wait_until(lambda: all(stored()[n] >= last for n, (_b, last) in before.items()),
                       timeout_s=max(0.1, deadline - time.monotonic()), interval_s=0.1)
            counts = stored()
            kinds = {n: Counter(dict(db.conn().execute(
                "SELECT kind, COUNT(*) FROM events WHERE node = ? GROUP BY kind", (n,)).fetchall()))
                for n in before}
            totals = {n: db.conn().execute("SELECT COUNT(*) FROM events WHERE node = ?",
                                           (n,)).fetchone()[0] for n in before}
            after = _journaled(site, 1.0)
            if after == before or time.monotonic() > deadline:
                break
    finally:
        db.close()
    problems = []
    for n, (_boot, last) in before.items():
        if counts[n] != last:
            problems.append(f"{n}: console holds {counts[n]} of the {last} events journaled")
        if totals[n] != counts[n] and after == before:
            problems.append(f"{n}: console holds {totals[n] - counts[n]} events the node never "
                            f"journaled")
        for kind, count in caused[n].items():
            if kinds[n][kind] != count:
                problems.append(f"{n}: {kind} stored {kinds[n][kind]}, caused {count}")
        for kind, count in at_least[n].items():
            if kinds[n][kind] < count:
                problems.append(f"{n}: {kind} stored {kinds[n][kind]}, expected >= {count}")
    if problems:
        return False, "demo check FAILED: " + "; ".join(problems)
    total = sum(last for _b, last in before.values())
    detail = ", ".join(f"{n} {last}" for n, (_b, last) in before.items())
    return True, (f"demo check OK: {total} events journaled by {len(before)} nodes ({detail}) "
                  f"stored exactly once by the console; door grants and denials from the synced "
                  f"credentials, an intercom call, a visitor invite, a goods pass, patrol taps, "
                  f"the key cabinet, meter totals and signed/unsigned commands all round-tripped; "
                  f"the console showed the key loan, the patrol round running then completed, "
                  f"each meter's reading and the pass released")
