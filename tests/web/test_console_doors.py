"""The access log (filters, CSV export), the doors board (state from the latest door.* events,
live updates) and the remote-unlock form (reason required)."""

from __future__ import annotations

import json
import threading

import pytest

from console_helpers import T0, login, make_event, post_form


def decision(services, seq: int, *, granted: bool, door: str = "lobby", holder: str = "王芳",
             unit: str = "3-2-501", reason: str | None = None, ts_offset_s: int = 0):  # type: ignore[no-untyped-def]
    kind = "door.granted" if granted else "door.denied"
    data = {"door": door, "reader": f"{door}-in", "direction": "in",
            "reason": reason or ("granted" if granted else "unknown_card"),
            "card": f"w26:1:{seq}", "credential_id": f"c-{seq}", "holder": holder, "unit": unit,
            "credential_kind": "resident", "alarm": False, "detail": ""}
    ev, _ = make_event(services, kind=kind, seq=seq, ts=T0 + ts_offset_s * 1000, data=data)
    return ev


@pytest.fixture
def guard(client):  # type: ignore[no-untyped-def]
    login(client, "guard1")
    post_form(client, "/", "/lang/en", {"next": "/"})
    return client


@pytest.fixture
def log(services):  # type: ignore[no-untyped-def]
    return {
        "a": decision(services, 1, granted=True, ts_offset_s=1),
        "b": decision(services, 2, granted=False, door="gate-north", holder="李雷", unit="5-1-101",
                      reason="expired", ts_offset_s=2),
        "c": decision(services, 3, granted=False, reason="outside_schedule", ts_offset_s=3),
        "other": make_event(services, kind="card.read", seq=4, ts=T0 + 4000)[0],
    }


def shown(page: str, log: dict) -> set[str]:  # type: ignore[type-arg]
    return {k for k, ev in log.items() if f'data-access="{ev.event_id}"' in page}


@pytest.mark.parametrize("query,expected", [
    ("", {"a", "b", "c"}),
    ("?result=denied", {"b", "c"}),
    ("?door=gate-north", {"b"}),
    ("?holder=王", {"a", "c"}),
    ("?unit=5-1", {"b"}),
    ("?reason=outside_schedule", {"c"}),
    ("?since=2026-01-01T08:00:02", {"b", "c"}),       # site time zone Asia/Shanghai (UTC+8)
])
def test_access_log_filters(guard, log, query, expected) -> None:
    page = guard.get("/access-log" + query).get_data(as_text=True)
    assert shown(page, log) == expected


@pytest.mark.parametrize("query", ["?door=LOBBY'--", "?result=maybe", "?reason=<b>",
                                   "?since=tomorrow", "?holder=" + "x" * 101])
def test_access_log_refuses_bad_filters(guard, log, query) -> None:
    assert guard.get("/access-log" + query).status_code == 400


def test_access_log_csv_export_follows_the_filters_and_is_audited(guard, log, services) -> None:
    text = guard.get("/access-log.csv?result=denied").get_data(as_text=True)
    lines = text.strip().splitlines()
    assert len(lines) == 3 and "outside_schedule" in lines[1] and "expired" in lines[2]
    row = services.db.conn().execute(
        "SELECT user FROM audit_log WHERE action = 'access.export'").fetchone()
    assert row["user"] == "guard1"


def test_board_shows_each_doors_latest_state(guard, services) -> None:
    make_event(services, kind="door.state", seq=1, ts=T0,
               data={"door": "lobby", "state": "unlocked", "locked": False, "open": False})
    make_event(services, kind="door.forced", seq=2, ts=T0 + 1000, data={"door": "lobby"})
    make_event(services, kind="door.state", seq=1, ts=T0, node="gate", boot="b2",
               data={"door": "gate-north", "state": "locked", "locked": True, "open": False})
    page = guard.get("/doors").get_data(as_text=True)
    assert 'data-door="lobby" data-state="forced"' in page
    assert 'data-door="gate-north" data-state="locked"' in page


def test_guard_sees_no_unlock_form(guard, services) -> None:
    make_event(services, kind="door.state", seq=1, data={"door": "lobby", "state": "locked"})
    assert "/doors/lobby/unlock" not in guard.get("/doors").get_data(as_text=True)


def test_unlock_needs_a_reason(client, services) -> None:
    make_event(services, kind="door.state", seq=1, data={"door": "lobby", "state": "locked"})
    login(client, "desk1")
    post_form(client, "/", "/lang/en", {"next": "/"})
    resp = post_form(client, "/doors", "/doors/lobby/unlock", {"reason": "  "})
    assert resp.status_code == 400
    assert "Say why the door is opened remotely" in resp.get_data(as_text=True)


def test_unlock_of_an_unknown_door_is_404(client, services) -> None:
    login(client, "desk1")
    assert post_form(client, "/doors", "/doors/nowhere/unlock", {"reason": "x"}).status_code == 404


def test_door_events_reach_the_board_stream(app, client, services) -> None:
    login(client, "guard1")
    got: list[str] = []
    ready = threading.Event()

    def read() -> None:
        with client.get("/doors/stream", buffered=False) as resp:
            for chunk in resp.response:
                text = chunk.decode() if isinstance(chunk, bytes) else chunk
                if text.startswith("retry"):
                    ready.set()
                if text.startswith("event: door"):
                    got.append(text)
                    return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    assert ready.wait(5)
    assert services.live.subscribers >= 1
    make_event(services, kind="door.forced", seq=9, data={"door": "lobby"}, publish=True)
    t.join(5)
    assert got
    msg = json.loads(got[0].split("data: ", 1)[1])
    assert msg["door"] == "lobby" and msg["state"] == "forced" and msg["node"] == "lobby"
