"""Hostile text in forms and in event data is shown escaped, never run."""

from __future__ import annotations

from mqtt_topics import NodeStatus

from console_helpers import T0, login, make_event, post_form

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_event_data_is_escaped_on_every_page(client, services) -> None:  # type: ignore[no-untyped-def]
    make_event(services, seq=1, data={"card": XSS, XSS: "key"})
    make_event(services, seq=2, kind="command.refused",
               data={"cmd_id": "c", "action": "a", "reason": XSS})
    login(client, "admin1")
    for url in ("/", "/events", "/alarms", "/alarms/1"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;" in page, url


def test_node_values_are_escaped(client, services) -> None:  # type: ignore[no-untyped-def]
    services.nodes.update_status("gate", NodeStatus(state="online", boot_id="b1", ts=T0,
                                                    version=XSS[:60]), received_at=T0, retained=False)
    login(client, "admin1")
    page = client.get("/nodes").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_hostile_note_and_login_name_are_escaped(client, services) -> None:  # type: ignore[no-untyped-def]
    _ev, alarm = make_event(services, seq=1, kind="journal.full", data={"dropped": 1, "capacity": 2})
    login(client, XSS[:60], "whatever12345")  # failed log-in: the name lands in the audit log
    login(client, "admin1")
    post_form(client, "/", f"/alarms/{alarm.id}/ack", {"note": XSS})
    for url in ("/alarms", "/audit"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "&lt;script&gt;" in page, url


def test_search_text_is_escaped_in_the_form(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    page = client.get('/events?q="><script>alert(1)</script>').get_data(as_text=True)
    assert "<script>alert(1)" not in page
