"""Alarms: shown until acknowledged with a note; acknowledgement audited and published live."""

from __future__ import annotations

from web.audit import ALARM_ACK
from web.state import console

from console_helpers import login, make_event, post_form

REFUSED = {"cmd_id": "c1", "action": "relay.pulse", "reason": "expired"}


def _alarm(services, seq: int = 1):  # type: ignore[no-untyped-def]
    return make_event(services, kind="command.refused", seq=seq, data=REFUSED)[1]


def test_open_alarm_is_on_dashboard_and_alarms_page(client, services) -> None:  # type: ignore[no-untyped-def]
    alarm = _alarm(services)
    login(client, "guard1")
    for url in ("/", "/alarms"):
        assert f'<tr data-id="{alarm.id}" class="alarm-row">' in client.get(url).get_data(as_text=True)


def test_acknowledge_with_note_closes_the_alarm(client, services, clock) -> None:  # type: ignore[no-untyped-def]
    alarm = _alarm(services)
    login(client, "desk1")
    resp = post_form(client, "/", f"/alarms/{alarm.id}/ack", {"note": "门已关好", "next": "/"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    done = services.alarms.get(alarm.id)
    assert (done.acknowledged_by, done.note, done.acknowledged_at) == ("desk1", "门已关好", clock())
    page = client.get("/").get_data(as_text=True)
    assert f'data-id="{alarm.id}"' not in page
    assert "告警已确认" in page
    assert "门已关好" in client.get("/alarms").get_data(as_text=True)  # in "recently acknowledged"


def test_acknowledge_is_audited(client, app, services) -> None:  # type: ignore[no-untyped-def]
    alarm = _alarm(services)
    login(client, "guard1")
    post_form(client, "/alarms", f"/alarms/{alarm.id}/ack", {"note": "checked"})
    (entry,) = console(app).audit.search(action=ALARM_ACK)
    assert (entry.user, entry.target) == ("guard1", f"alarm {alarm.id}")
    assert "checked" in entry.detail


def test_acknowledge_is_published_for_other_dashboards(client, services) -> None:  # type: ignore[no-untyped-def]
    alarm = _alarm(services)
    login(client, "desk1")
    with services.live.subscribe() as sub:
        post_form(client, "/", f"/alarms/{alarm.id}/ack", {"note": "ok"})
        channel, payload = sub.get(timeout_s=5)
    assert channel == "alarm_ack" and payload["id"] == alarm.id


def test_acknowledge_without_note_is_refused(client, services) -> None:  # type: ignore[no-untyped-def]
    alarm = _alarm(services)
    login(client, "desk1")
    for note in ("", "   "):
        resp = post_form(client, "/", f"/alarms/{alarm.id}/ack", {"note": note})
        assert resp.status_code == 400
        assert "请填写告警的处理情况" in resp.get_data(as_text=True)
    assert services.alarms.get(alarm.id).is_open


def test_overlong_note_is_refused(client, services) -> None:  # type: ignore[no-untyped-def]
    alarm = _alarm(services)
    login(client, "desk1")
    resp = post_form(client, "/", f"/alarms/{alarm.id}/ack", {"note": "x" * 501})
    assert resp.status_code == 400
    assert "备注最多 500 个字符" in resp.get_data(as_text=True)
    assert services.alarms.get(alarm.id).is_open


def test_second_acknowledgement_is_reported_not_stored(client, make_client, services) -> None:  # type: ignore[no-untyped-def]
    alarm = _alarm(services)
    other = make_client()
    login(client, "desk1")
    login(other, "guard1")
    assert post_form(client, "/", f"/alarms/{alarm.id}/ack", {"note": "first"}).status_code == 303
    resp = post_form(other, "/alarms", f"/alarms/{alarm.id}/ack", {"note": "second"},
                     follow_redirects=True)
    assert "该告警已由 desk1 确认" in resp.get_data(as_text=True)
    assert services.alarms.get(alarm.id).note == "first"


def test_unknown_alarm_is_404(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    assert client.get("/alarms/999").status_code == 404
    assert post_form(client, "/", "/alarms/999/ack", {"note": "x"}).status_code == 404


def test_ack_next_cannot_redirect_off_site(client, services) -> None:  # type: ignore[no-untyped-def]
    alarm = _alarm(services)
    login(client, "desk1")
    resp = post_form(client, "/", f"/alarms/{alarm.id}/ack", {"note": "x", "next": "//evil.example"})
    assert resp.headers["Location"] in ("/", "/alarms")
