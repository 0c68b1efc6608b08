"""The front desk page (前台对讲): calls appear live with the unit's residents and phones, the
desk answers / records consent / refusal, emergencies are shown in red at the top."""

from __future__ import annotations

from typing import Iterator

import pytest

from web.state import console

from console_helpers import SSEReader, login, post_form
from visitor_helpers import add_unit, intercom_event, lobby_services, ring


@pytest.fixture
def services(config, clock) -> Iterator:  # type: ignore[no-untyped-def]
    with lobby_services(config, clock) as svc:
        add_unit(svc, residents=[{"name": "王芳", "phone": "13800000000", "relation": "owner"},
                                 {"name": "李雷", "phone": "13900000000", "relation": "tenant"}])
        yield svc


@pytest.fixture
def desk(client):  # type: ignore[no-untyped-def]
    assert login(client, "desk1").status_code == 303
    post_form(client, "/", "/lang/en", {"next": "/"})
    return client


def test_desk_page_shows_a_ringing_call_with_residents_and_phones(desk, services) -> None:
    key = ring(services, "1201")
    page = desk.get("/desk").get_data(as_text=True)
    assert f'data-call="{key}"' in page and 'data-state="ringing"' in page
    assert "A-1201" in page and "王芳" in page and "tel:13800000000" in page and "李雷" in page


def test_a_call_to_an_unregistered_unit_says_so(desk, services) -> None:
    ring(services, "808")
    assert "Unit 808 is not in the unit registry." in desk.get("/desk").get_data(as_text=True)


def test_a_new_call_is_pushed_live_with_the_residents(desk, services) -> None:
    resp = desk.get("/desk/stream", buffered=False)
    assert resp.mimetype == "text/event-stream"
    stream = SSEReader(resp)
    key = ring(services, "A-1201")
    channel, msg = stream.next_event()
    assert channel == "call" and msg["key"] == key and msg["ringing"] is True
    assert "王芳" in msg["html"] and "13800000000" in msg["html"]
    resp.close()


def test_emergency_button_is_shown_in_red_at_the_top_and_pushed_live(desk, services) -> None:
    resp = desk.get("/desk/stream", buffered=False)
    stream = SSEReader(resp)
    intercom_event(services, "intercom.emergency", {"panel": "lobby-panel", "repeats": 0})
    channel, msg = stream.next_event()
    assert channel == "emergency" and "EMERGENCY" in msg["html"] and "/ack" in msg["html"]
    resp.close()
    page = desk.get("/desk").get_data(as_text=True)
    banner = page.split('id="desk-emergencies"', 1)[1].split("</section>", 1)[0]
    assert "desk-emergency" in banner and "EMERGENCY: help button pressed" in banner
    assert page.index("desk-emergencies") < page.index("desk-calls")


def test_acknowledged_emergency_leaves_the_desk_page(desk, services, clock) -> None:
    intercom_event(services, "intercom.emergency", {"panel": "lobby-panel", "repeats": 0})
    [alarm] = services.alarms.open()
    post_form(desk, "/desk", f"/alarms/{alarm.id}/ack", {"note": "保安已到场", "next": "/desk"})
    assert "EMERGENCY" not in desk.get("/desk").get_data(as_text=True)


def test_desk_answers_then_records_consent_and_it_is_audited(desk, services, app) -> None:
    key = ring(services)
    assert post_form(desk, "/desk", f"/desk/calls/{key}/answer", {}).status_code == 303
    call = services.visitors.calls.require(key)
    assert (call.state, call.answered_by) == ("answered", "desk1")
    post_form(desk, "/desk", f"/desk/calls/{key}/confirm", {"via": "phone"})
    assert services.visitors.calls.require(key).confirmed_via == "phone"
    audit = console(app).audit
    assert [e.action for e in audit.search(limit=5)][:2] == ["intercom.confirm", "intercom.answer"]
    [cmd] = services.commands.recent()         # the panel is told (LED "answered")
    assert cmd.action == "intercom.answer" and cmd.args == {"call_id": "boot-t-1"}


def test_node_reports_update_the_call(desk, services) -> None:
    key = ring(services)
    intercom_event(services, "intercom.timeout", {"panel": "lobby-panel", "call_id": "boot-t-1",
                                                  "unit": "1201", "via": "keypad", "after_s": 60,
                                                  "repeats": 2})
    call = services.visitors.calls.require(key)
    assert (call.state, call.outcome, call.repeats) == ("ended", "timeout", 2)
    assert "Not answered in time" in desk.get("/desk").get_data(as_text=True)


def test_no_answer_ends_the_call(desk, services, app) -> None:
    key = ring(services)
    post_form(desk, "/desk", f"/desk/calls/{key}/no-answer", {})
    call = services.visitors.calls.require(key)
    assert (call.state, call.outcome, call.ended_by) == ("ended", "no_answer", "desk1")


def test_register_link_carries_the_call_and_unit(desk, services) -> None:
    key = ring(services)
    page = desk.get(f"/visitors/new?call={key}").get_data(as_text=True)
    assert 'value="A-1201"' in page and f'value="{key}"' in page


@pytest.mark.parametrize("user", ["guard1", "patrol1"])
def test_guards_and_patrol_cannot_open_the_desk(make_client, user) -> None:
    c = make_client()
    login(c, user)
    assert c.get("/desk").status_code == 403
    assert c.get("/desk/stream").status_code == 403


def test_call_actions_need_the_csrf_token(desk, services) -> None:
    key = ring(services)
    assert desk.post(f"/desk/calls/{key}/answer").status_code == 400
    assert services.visitors.calls.require(key).state == "ringing"
