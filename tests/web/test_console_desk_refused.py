"""A call the resident refused: the desk tells the panel ``intercom.refused`` (its own LED/buzzer
pattern on the node), and the node's ``intercom.refused`` event ends the call as refused."""

from __future__ import annotations

from typing import Iterator

import pytest

from console_helpers import login, post_form
from visitor_helpers import add_unit, intercom_event, lobby_services, ring


@pytest.fixture
def services(config, clock) -> Iterator:  # type: ignore[no-untyped-def]
    with lobby_services(config, clock) as svc:
        add_unit(svc)
        yield svc


@pytest.fixture
def desk(client):  # type: ignore[no-untyped-def]
    assert login(client, "desk1").status_code == 303
    return client


def test_desk_refusal_sends_intercom_refused_to_the_panel(desk, services) -> None:
    key = ring(services)
    assert post_form(desk, "/desk", f"/desk/calls/{key}/refuse", {}).status_code == 303
    [cmd] = services.commands.recent()
    assert (cmd.node, cmd.action, cmd.args, cmd.issued_by) == (
        "lobby", "intercom.refused", {"call_id": "boot-t-1"}, "desk1")
    assert services.visitors.calls.require(key).outcome == "refused"


def test_desk_no_answer_still_sends_intercom_no_answer(desk, services) -> None:
    key = ring(services)
    post_form(desk, "/desk", f"/desk/calls/{key}/no-answer", {})
    [cmd] = services.commands.recent()
    assert cmd.action == "intercom.no_answer"


def test_node_refused_event_ends_the_call_as_refused(services) -> None:
    key = ring(services)
    intercom_event(services, "intercom.refused", {"panel": "lobby-panel", "call_id": "boot-t-1",
                                                  "unit": "1201", "via": "keypad", "by": "desk1",
                                                  "cmd_id": "c1", "repeats": 1})
    call = services.visitors.calls.require(key)
    assert (call.state, call.outcome, call.ended_by, call.repeats) == ("ended", "refused", "desk1", 1)
