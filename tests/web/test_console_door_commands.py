"""Hold-open and release from the doors board (desk/admin: reason required, signed, audited)
and the result of each remote door command (pending / ok / failed / expired) as the board
polls it. The broker is replaced by a recording publisher here; the node end is in
test_console_door_sync.py."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from mqtt_topics import CommandEnvelope, CommandResult
from web.commands import CommandSender
from web.config import ConsoleConfig
from web.services import ConsoleServices, ServicesConfig, build_services

from console_helpers import T0, login, make_event, post_form

KEY = bytes(range(1, 33))


@pytest.fixture
def sent() -> list:  # type: ignore[type-arg]
    return []


@pytest.fixture
def services(config: ConsoleConfig, clock, sent) -> Iterator[ConsoleServices]:  # type: ignore[no-untyped-def]
    svc = build_services(ServicesConfig(db_path=config.db_path, site=config.site,
                                        node_keys={"lobby": KEY}), clock=clock)

    def publish(topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        sent.append((topic, CommandEnvelope.from_json(payload)))
        return True

    svc.commands = CommandSender(db=svc.db, publish=publish, site=config.site,
                                 node_keys={"lobby": KEY}, clock=clock)
    with svc:
        make_event(svc, kind="door.state", seq=1, ts=T0,
                   data={"door": "lobby", "state": "locked", "locked": True, "open": False})
        yield svc


@pytest.fixture
def desk(client):  # type: ignore[no-untyped-def]
    assert login(client, "desk1").status_code == 303
    assert post_form(client, "/", "/lang/en", {"next": "/"}).status_code == 303
    return client


def _audit(services, action: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    return [json.loads(r["detail"]) for r in services.db.conn().execute(
        "SELECT detail FROM audit_log WHERE action = ? AND user = 'desk1'", (action,))]


def test_hold_open_sends_a_signed_command_for_the_chosen_time_and_is_audited(desk, services, sent) -> None:
    resp = post_form(desk, "/doors", "/doors/lobby/hold-open", {"reason": "搬家 move-in",
                                                                "minutes": "120"})
    assert resp.status_code == 303
    [(topic, env)] = sent
    assert topic.endswith("/lobby/cmd/door.hold_open")
    assert env.args == {"door": "lobby", "seconds": 7200} and env.issued_by == "desk1"
    assert env.signature_valid(KEY)
    [detail] = _audit(services, "door.hold_open")
    assert detail["reason"] == "搬家 move-in" and detail["minutes"] == 120
    assert detail["cmd_id"] == env.cmd_id


def test_release_sends_a_signed_command_and_is_audited(desk, services, sent) -> None:
    assert post_form(desk, "/doors", "/doors/lobby/release", {"reason": "move-in done"}).status_code == 303
    [(topic, env)] = sent
    assert topic.endswith("/lobby/cmd/door.release") and env.args == {"door": "lobby"}
    assert _audit(services, "door.release")[0]["reason"] == "move-in done"


@pytest.mark.parametrize("action", ["hold-open", "release"])
def test_hold_open_and_release_need_a_reason(desk, services, sent, action) -> None:
    resp = post_form(desk, "/doors", f"/doors/lobby/{action}", {"reason": " ", "minutes": "60"})
    assert resp.status_code == 400 and sent == []


def test_hold_open_refuses_a_duration_not_offered(desk, sent) -> None:
    resp = post_form(desk, "/doors", "/doors/lobby/hold-open", {"reason": "x", "minutes": "99999"})
    assert resp.status_code == 400 and sent == []


def test_guard_cannot_hold_a_door_open(client, sent) -> None:
    login(client, "guard1")
    resp = post_form(client, "/", "/doors/lobby/hold-open", {"reason": "x", "minutes": "60"})
    assert resp.status_code == 403 and sent == []
    assert "/doors/lobby/hold-open" not in client.get("/doors").get_data(as_text=True)


def _status(client, cmd_id: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    resp = client.get(f"/doors/commands/{cmd_id}")
    assert resp.status_code == 200
    return resp.json


def test_command_result_goes_from_pending_to_ok(desk, services, sent) -> None:
    post_form(desk, "/doors", "/doors/lobby/unlock", {"reason": "courier"})
    [(_, env)] = sent
    page = desk.get("/doors").get_data(as_text=True)
    assert f'data-cmd="{env.cmd_id}"' in page and 'data-cmd-state="pending"' in page
    assert _status(desk, env.cmd_id)["state"] == "pending"
    services.commands.on_result("lobby", CommandResult(cmd_id=env.cmd_id, ok=True))
    assert _status(desk, env.cmd_id)["state"] == "ok"


def test_command_refused_by_the_node_shows_failed_with_its_error(desk, services, sent) -> None:
    post_form(desk, "/doors", "/doors/lobby/hold-open", {"reason": "x", "minutes": "15"})
    [(_, env)] = sent
    services.commands.on_result("lobby", CommandResult(cmd_id=env.cmd_id, ok=False,
                                                       error="failed: 900 s is longer than allowed"))
    got = _status(desk, env.cmd_id)
    assert got["state"] == "failed" and got["error"] == "failed: 900 s is longer than allowed"


def test_command_without_an_answer_expires(desk, services, sent, clock) -> None:
    post_form(desk, "/doors", "/doors/lobby/release", {"reason": "x"})
    [(_, env)] = sent
    clock.advance(env.expires_at - env.issued_at + 1)
    assert _status(desk, env.cmd_id)["state"] == "expired"


def test_guard_sees_command_results(client, desk, services, sent, make_client) -> None:
    post_form(desk, "/doors", "/doors/lobby/unlock", {"reason": "courier"})
    [(_, env)] = sent
    guard = make_client()
    login(guard, "guard1")
    assert guard.get(f"/doors/commands/{env.cmd_id}").status_code == 200


def test_status_of_a_command_that_is_not_a_door_command_is_404(desk, services) -> None:
    env = services.commands.send("lobby", "node.ping", {}, issued_by="admin1")
    assert desk.get(f"/doors/commands/{env.cmd_id}").status_code == 404
    assert desk.get("/doors/commands/nope").status_code == 404
