"""/live/stream: server-sent events from the LiveFeed, heartbeat, ends when the client goes."""

from __future__ import annotations

from web.state import console

from console_helpers import SSEReader, login, make_event, post_form


def _open(client) -> SSEReader:  # type: ignore[no-untyped-def]
    resp = client.get("/live/stream", buffered=False)
    assert resp.status_code == 200
    assert resp.mimetype == "text/event-stream"
    return SSEReader(resp)


def test_stream_starts_with_a_sync_of_alarms_and_events(client, services) -> None:  # type: ignore[no-untyped-def]
    make_event(services, seq=1)
    _ev, alarm = make_event(services, seq=2, kind="journal.full", data={"dropped": 3, "capacity": 10})
    login(client, "guard1")
    reader = _open(client)
    channel, payload = reader.next_event()
    assert channel == "sync"
    assert [a["id"] for a in payload["alarms"]] == [alarm.id]
    assert 'data-id="lobby:boot1:1"' in payload["events_html"]
    reader.resp.close()


def test_new_event_is_pushed_as_a_rendered_row(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    reader = _open(client)
    assert reader.next_event()[0] == "sync"
    ev, _ = make_event(services, seq=9, data={"card": "0012345678"}, publish=True)
    channel, payload = reader.next_event()
    assert channel == "event" and payload["id"] == ev.event_id
    assert "0012345678" in payload["html"] and payload["html"].lstrip().startswith("<tr")
    reader.resp.close()


def test_new_alarm_and_its_acknowledgement_are_pushed(client, services, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    reader = _open(client)
    reader.next_event()
    _ev, alarm = make_event(services, kind="command.refused", seq=1,
                            data={"cmd_id": "c", "action": "a", "reason": "expired"}, publish=True)
    assert reader.next_event()[0] == "event"
    channel, payload = reader.next_event()
    assert channel == "alarm" and payload["id"] == alarm.id
    assert f"/alarms/{alarm.id}/ack" in payload["html"]
    # (another viewer acknowledging over HTTP is covered in test_console_alarms; the Flask
    # test client shares one context per thread with this open stream)
    services.alarms.acknowledge(alarm.id, user="desk1", note="handled", now=clock())
    assert reader.next_event() == ("alarm_ack", {"id": alarm.id, "by": "desk1"})
    reader.resp.close()


def test_heartbeat_comment_is_sent_when_idle(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    reader = _open(client)
    reader.next_event()
    assert reader.next_block() == ": heartbeat"
    reader.resp.close()


def test_stream_ends_and_unsubscribes_when_client_goes_away(client, app, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    reader = _open(client)
    reader.next_event()
    assert services.live.subscribers == 1 and console(app).open_streams == 1
    reader.resp.close()
    assert services.live.subscribers == 0 and console(app).open_streams == 0


def test_stream_ends_after_logout(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    reader = _open(client)
    reader.next_event()
    post_form(client, "/", "/logout", {})
    rest = b"".join(reader._chunks)  # ends at the next heartbeat check
    assert b"heartbeat" not in rest
    assert services.live.subscribers == 0


def test_stream_ends_when_the_console_shuts_down(client, app, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    reader = _open(client)
    reader.next_event()
    console(app).begin_shutdown()
    b"".join(reader._chunks)
    assert services.live.subscribers == 0


def test_hostile_event_data_is_escaped_in_pushed_html(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    reader = _open(client)
    reader.next_event()
    make_event(services, seq=3, data={"card": "<script>alert(1)</script>"}, publish=True)
    _channel, payload = reader.next_event()
    assert "<script>" not in payload["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in payload["html"]
    reader.resp.close()
