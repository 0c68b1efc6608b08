"""End to end through the real broker: the desk records that the resident refused a call made at
the simulated lobby panel; the signed ``intercom.refused`` reaches the node, whose panel shows
the refused pattern, and the node's ``intercom.refused`` event keeps the call refused on the
console."""

from __future__ import annotations

from pathlib import Path

from console_client import post_form
from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from intercom_helpers import call_1201, start_panel, wait_event


def test_desk_refusal_reaches_the_panel_as_intercom_refused(
        broker: MosquittoBroker, tmp_path: Path, start_node, desk_console) -> None:
    services, client = desk_console
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    with services.live.subscribe() as sub:
        ev, key = call_1201(factory, sub)
        assert post_form(client, "/desk", f"/desk/calls/{key}/refuse", {}).status_code == 303
        refused = wait_event(sub, "intercom.refused")
    assert refused["data"]["by"] == "desk1" and refused["data"]["call_id"] == ev["data"]["call_id"]
    assert wait_until(lambda: panel.panel_state == "refused")
    assert panel.counters()["no_answer"] == 0
    call = services.visitors.calls.require(key)
    assert (call.state, call.outcome, call.ended_by) == ("ended", "refused", "desk1")
