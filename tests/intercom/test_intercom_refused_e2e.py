"""End to end through the real broker: the desk records that the resident refused a call made at
the simulated lobby panel; the signed ``intercom.refused`` reaches the node, whose panel shows
the refused pattern, and the node's ``intercom.refused`` event keeps the call refused on the
console."""

from __future__ import annotations

from pathlib import Path

from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from hardware.sim import press, release
from intercom_helpers import BUTTON_1201, start_panel
from test_intercom_desk_e2e import _post, desk_console, wait_event  # noqa: F401 - fixture


def test_desk_refusal_reaches_the_panel_as_intercom_refused(
        broker: MosquittoBroker, tmp_path: Path, start_node, desk_console) -> None:  # noqa: F811
    services, client = desk_console
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    with services.live.subscribe() as sub:
        press(factory, BUTTON_1201)
        release(factory, BUTTON_1201)
        ev = wait_event(sub, "intercom.call")
        key = f"lobby:{ev['data']['call_id']}"
        assert _post(client, "/desk", f"/desk/calls/{key}/refuse", {}).status_code == 303
        refused = wait_event(sub, "intercom.refused")
    assert refused["data"]["by"] == "desk1" and refused["data"]["call_id"] == ev["data"]["call_id"]
    assert wait_until(lambda: panel.panel_state == "refused")
    assert panel.counters()["no_answer"] == 0
    call = services.visitors.calls.require(key)
    assert (call.state, call.outcome, call.ended_by) == ("ended", "refused", "desk1")
