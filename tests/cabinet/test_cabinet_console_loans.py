"""End to end through a REAL Mosquitto: the console's key register reaches a simulated cabinet
node (gpiozero mock pins, an RDM6300 frame on a pty) as the retained ``sync/key-permissions``
snapshot; a card takes a key and the console records the loan; the key comes back and the loan
closes; the desk lends a key to a borrower without a card with a signed ``cabinet.release``
and the loan is recorded with the borrower and the operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from cabinet_helpers import cabinet_node_config, live_services, wait_stored
from firmware.probe import wait_until
from hardware.sim.pty import PtyPair
from hardware.sim.rdm6300 import Rdm6300Simulator
from web.access import CredentialRecord
from web.keys.desk import release_for_borrower
from web.keys.model import KeyRecord
from web.services import ConsoleServices

KEY = bytes(range(201, 233))
CARD = "0A00000001"
SLOTS = {1: (12, 13), 2: (16, 19)}


@pytest.fixture
def services(broker, tmp_path: Path) -> Iterator[ConsoleServices]:  # type: ignore[no-untyped-def]
    with live_services(broker, tmp_path / "console.db", node_keys={"cabinet": KEY}) as svc:
        yield svc


def _register(svc: ConsoleServices) -> None:
    svc.credentials.save(CredentialRecord(credential_id="c-alice", cards=(f"em:{CARD}",),
                                          holder="王芳", kind="staff"), by="admin1", create=True)
    svc.keys.register.save(KeyRecord(number="K-001", label="A-1201", cabinet="main", slot=1,
                                     takers=("cred:c-alice",), max_loan_min=60),
                           by="admin1", create=True)
    svc.keys.register.save(KeyRecord(number="K-002", label="机房", cabinet="main", slot=2,
                                     takers=(), max_loan_min=30), by="admin1", create=True)
    assert svc.keys.publish()


def _node_config(broker: Any, tmp_path: Path, port: str):  # type: ignore[no-untyped-def]
    return cabinet_node_config(
        broker, tmp_path, key=KEY, gpio={"pin_factory": "mock"},
        cabinet={"id": "main", "door_lock": 5, "door_contact": 6, "poll_s": 0.01,
                 "present_invert": True, "readers": [{"name": "cabinet-reader", "port": port}],
                 "slots": [{"slot": s, "lock": lock, "present": present}
                           for s, (lock, present) in SLOTS.items()]})


def test_card_loan_and_desk_loan_reach_the_console(broker, services, start_node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _register(services)
    sub = services.live.subscribe()
    factory = MockFactory()
    try:
        with PtyPair() as wire:
            node = start_node(_node_config(broker, tmp_path, wire.device_path), pin_factory=factory)
            cabinet = node.extensions["cabinet"]
            assert wait_until(lambda: cabinet.counters().get("snapshots_applied") >= 1)
            wait_stored(sub, "cabinet.inventory")
            assert services.keys.board.node_of("main") == "cabinet"

            # a card takes K-001: the console opens the loan
            Rdm6300Simulator(wire.write).present(CARD)
            assert wait_until(lambda: factory.pin(SLOTS[1][0]).state)
            factory.pin(SLOTS[1][1]).drive_low()
            wait_stored(sub, "key.taken")
            (loan,) = services.keys.loans.out_now()
            assert (loan.key, loan.holder, loan.holder_name, loan.due_at - loan.taken_at) == \
                ("K-001", "c-alice", "王芳", 60 * 60_000)

            # ... and brings it back: the loan closes, the board shows the key in
            factory.pin(SLOTS[1][1]).drive_high()
            wait_stored(sub, "key.returned")
            assert services.keys.loans.out_now() == []
            assert services.keys.loans.get(loan.id).state == "returned"

            # the desk lends K-002 to a contractor without a card
            desk = release_for_borrower(services.keys, services.commands, key="K-002",
                                        borrower="张师傅", id_text="110101199003077316",
                                        purpose="机房检修", operator="desk1",
                                        now_ms=services.clock())
            assert services.commands.wait(desk.cmd_id, timeout_s=10).state == "ok"
            assert factory.pin(SLOTS[2][0]).state
            factory.pin(SLOTS[2][1]).drive_low()
            wait_stored(sub, "key.taken")
            out = services.keys.loans.get(desk.id)
            assert (out.state, out.holder_name, out.id_last4, out.desk_by) == \
                ("out", "张师傅", "7316", "desk1")
            slots = {s.slot: s.state for s in services.keys.board.board()[0].slots}
            assert slots == {1: "present", 2: "out"}
    finally:
        sub.close()
        factory.close()
