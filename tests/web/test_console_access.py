"""Route x role matrix: every route, every role, and anonymous visitors."""

from __future__ import annotations

import re

import pytest

from web.access import CredentialRecord
from web.auth.session import PUBLIC_ENDPOINTS

from console_helpers import ROLES, T0, login, make_event

ALL = set(ROLES)
STAFF = {"admin", "desk", "guard"}
DESK = {"admin", "desk"}
ADMIN = {"admin"}

#: (method, url, roles allowed). {alarm} and {event} are filled in by the fixture.
ROUTES = [
    ("GET", "/", ALL),
    ("GET", "/live/stream", ALL),
    ("GET", "/account/password", ALL),
    ("POST", "/account/password", ALL),
    ("GET", "/nodes", DESK),
    ("GET", "/events", STAFF),
    ("GET", "/events.csv", STAFF),
    ("GET", "/alarms", STAFF),
    ("GET", "/alarms/{alarm}", STAFF),
    ("POST", "/alarms/{alarm}/ack", STAFF),
    ("GET", "/users", ADMIN),
    ("POST", "/users", ADMIN),
    ("POST", "/users/patrol1/role", ADMIN),
    ("POST", "/users/patrol1/password", ADMIN),
    ("POST", "/users/patrol1/disable", ADMIN),
    ("POST", "/users/patrol1/enable", ADMIN),
    ("GET", "/audit", ADMIN),
    ("GET", "/api/v1/events", STAFF),
    ("GET", "/api/v1/events/{event}", STAFF),
    ("GET", "/api/v1/nodes", DESK),
    ("GET", "/credentials", DESK),
    ("GET", "/credentials/new", DESK),
    ("POST", "/credentials/new", DESK),
    ("GET", "/credentials/{cred}/edit", DESK),
    ("POST", "/credentials/{cred}/edit", DESK),
    ("POST", "/credentials/{cred}/disable", DESK),
    ("POST", "/credentials/{cred}/enable", DESK),
    ("GET", "/credentials.csv", DESK),
    ("GET", "/credentials/import", DESK),
    ("POST", "/credentials/import", DESK),
    ("GET", "/access-log", STAFF),
    ("GET", "/access-log.csv", STAFF),
    ("GET", "/doors", STAFF),
    ("GET", "/doors/stream", STAFF),
    ("POST", "/doors/{door}/unlock", DESK),
    ("POST", "/doors/{door}/hold-open", DESK),
    ("POST", "/doors/{door}/release", DESK),
    ("GET", "/doors/commands/{cmd}", STAFF),
    ("GET", "/credentials/enrol/read", DESK),
    ("GET", "/schedules", ADMIN),
    ("GET", "/schedules/new", ADMIN),
    ("POST", "/schedules/new", ADMIN),
    ("GET", "/schedules/{sched}/edit", ADMIN),
    ("POST", "/schedules/{sched}/edit", ADMIN),
    ("POST", "/schedules/{sched}/delete", ADMIN),
    ("POST", "/schedules/holidays", ADMIN),
    ("POST", "/schedules/holidays/{day}/delete", ADMIN),
    # key cabinet (issue 8)
    ("GET", "/keys", DESK),
    ("GET", "/keys/new", ADMIN),
    ("POST", "/keys/new", ADMIN),
    ("GET", "/keys/{key}", DESK),
    ("GET", "/keys/{key}/edit", ADMIN),
    ("POST", "/keys/{key}/edit", ADMIN),
    ("POST", "/keys/{key}/delete", ADMIN),
    ("POST", "/keys/{key}/release", DESK),
    ("GET", "/keys/cabinets", STAFF),
    ("GET", "/keys/cabinets.json", STAFF),
    ("GET", "/keys/loans", DESK),
    ("GET", "/keys/loans.csv", DESK),
    ("GET", "/keys/reminders", DESK),
    # meter reading (issue 10)
    ("GET", "/meters", DESK),
    ("GET", "/meters.csv", DESK),
    ("GET", "/meters/new", ADMIN),
    ("POST", "/meters/new", ADMIN),
    ("GET", "/meters/{meter}/edit", ADMIN),
    ("POST", "/meters/{meter}/edit", ADMIN),
    ("POST", "/meters/{meter}/delete", ADMIN),
    ("GET", "/meters/import", ADMIN),
    ("POST", "/meters/import", ADMIN),
    ("GET", "/meters/settings", ADMIN),
    ("POST", "/meters/settings", ADMIN),
    ("GET", "/meters/unit/{unit}", DESK),
    ("GET", "/meters/statements", DESK),
    ("GET", "/meters/statements.csv", DESK),
    ("GET", "/passes", DESK),
    ("GET", "/passes/new", DESK),
    ("POST", "/passes/new", DESK),
    ("GET", "/passes/tools/new", DESK),
    ("POST", "/passes/tools/new", DESK),
    ("GET", "/passes/{passid}", STAFF),
    ("GET", "/passes/{passid}/print", DESK),
    ("GET", "/passes/{passid}/letter", DESK),
    ("POST", "/passes/{passid}/cancel", DESK),
    ("GET", "/passes/guard", STAFF),
    ("GET", "/passes/guard/verdicts", STAFF),
    ("GET", "/passes/archive", DESK),
    ("GET", "/passes/archive.csv", DESK),
    # intercom desk, visitors, invitations, on-site list (issue 6)
    ("GET", "/desk", DESK),
    ("GET", "/desk/stream", DESK),
    ("POST", "/desk/calls/{call}/answer", DESK),
    ("POST", "/desk/calls/{call}/confirm", DESK),
    ("POST", "/desk/calls/{call}/refuse", DESK),
    ("POST", "/desk/calls/{call}/no-answer", DESK),
    ("GET", "/visitors", DESK),
    ("GET", "/visitors/new", DESK),
    ("POST", "/visitors/new", DESK),
    ("GET", "/visitors/{visit}", DESK),
    ("POST", "/visitors/{visit}/confirm", DESK),
    ("POST", "/visitors/{visit}/refuse", DESK),
    ("POST", "/visitors/{visit}/check-in", DESK),
    ("POST", "/visitors/{visit}/check-out", DESK),
    ("POST", "/visitors/{visit}/unlock", DESK),
    ("GET", "/visitors/watchlist", DESK),
    ("POST", "/visitors/watchlist", ADMIN),
    ("POST", "/visitors/watchlist/{entry}/delete", ADMIN),
    ("POST", "/visitors/settings", ADMIN),
    ("GET", "/invites", DESK),
    ("GET", "/invites/new", DESK),
    ("POST", "/invites/new", DESK),
    ("GET", "/invites/{invite}", DESK),
    ("GET", "/invites/{invite}/qr.svg", DESK),
    ("POST", "/invites/{invite}/revoke", DESK),
    ("POST", "/invites/{invite}/link", DESK),
    ("GET", "/visitors/panels", ADMIN),
    ("POST", "/visitors/panels", ADMIN),
    ("POST", "/visitors/panels/{pnode}/{panel}/delete", ADMIN),
    ("GET", "/on-site", STAFF),
    ("GET", "/on-site/rows", STAFF),
    ("GET", "/on-site/stream", STAFF),
    # unit registry: the desk reads it, the administrator edits, imports and exports it
    ("GET", "/units", DESK),
    ("GET", "/units/new", ADMIN),
    ("POST", "/units/new", ADMIN),
    ("GET", "/units/{unit}/edit", ADMIN),
    ("POST", "/units/{unit}/edit", ADMIN),
    ("POST", "/units/{unit}/delete", ADMIN),
    ("GET", "/units.csv", ADMIN),
    ("GET", "/units/import", ADMIN),
    ("POST", "/units/import", ADMIN),
    # patrol (issue 9): own rounds for patrol staff (and admin), supervision for staff
    ("GET", "/patrol/me", {"admin", "patrol"}),
    ("GET", "/patrol/me/body", {"admin", "patrol"}),
    ("GET", "/patrol/live", STAFF),
    ("GET", "/patrol/live/body", STAFF),
    ("GET", "/patrol/rounds/{round}", STAFF),
    ("GET", "/patrol/reports", STAFF),
    ("GET", "/patrol/reports.csv", STAFF),
    ("GET", "/patrol/plan", ADMIN),
    ("GET", "/patrol/plan/{pkind}/new", ADMIN),
    ("POST", "/patrol/plan/{pkind}/new", ADMIN),
    ("GET", "/patrol/plan/{pkind}/{pitem}/edit", ADMIN),
    ("POST", "/patrol/plan/{pkind}/{pitem}/edit", ADMIN),
    ("POST", "/patrol/plan/{pkind}/{pitem}/delete", ADMIN),
    ("POST", "/logout", ALL),
]
API = ("/api/", "/live/")


@pytest.fixture
def ids(services):  # type: ignore[no-untyped-def]
    ev, alarm = make_event(services, kind="command.refused",
                           data={"cmd_id": "c1", "action": "relay.pulse", "reason": "expired"})
    make_event(services, kind="door.state", seq=2, ts=T0 - 60_000,
               data={"door": "lobby", "state": "locked", "locked": True, "open": False})
    services.credentials.save(CredentialRecord(credential_id="c-1", cards=("w26:1:2",)),
                              by="test", create=True)
    return {"alarm": alarm.id, "event": ev.event_id, "cred": "c-1", "door": "lobby",
            "cmd": "0123456789abcdef", "key": "K-1", "sched": "office", "day": "2026-10-01",
            "meter": "w-1", "unit": "A-1201", "passid": "gp-20260101-0001",
            "call": "lobby:call-1", "visit": 1, "entry": 1, "invite": "inv-1", "round": "r-1",
            "pkind": "checkpoint", "pitem": "cp-1", "pnode": "lobby", "panel": "lobby-panel"}


def _token(client) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,allowed", ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
def test_role_gets_in_only_where_allowed(client, ids, role, method, url, allowed) -> None:  # type: ignore[no-untyped-def]
    assert login(client, role + "1").status_code == 303
    url = url.format(**ids)
    if method == "GET":
        resp = client.get(url)
    else:
        resp = client.post(url, data={"csrf_token": _token(client)})
    resp.close()
    if role in allowed:
        assert resp.status_code not in (401, 403), resp.status_code
        assert "/login" not in resp.headers.get("Location", "") or url == "/logout"
    else:
        assert resp.status_code == 403


@pytest.mark.parametrize("method,url,allowed", ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
def test_anonymous_is_sent_to_login_or_gets_401(client, ids, method, url, allowed) -> None:  # type: ignore[no-untyped-def]
    url = url.format(**ids)
    resp = client.open(url, method=method)
    if url.startswith(API):
        assert resp.status_code == 401
        assert resp.is_json
    else:
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith("/login")


def test_matrix_covers_every_route(app) -> None:  # type: ignore[no-untyped-def]
    covered = {(m, re.sub(r"\{\w+\}", "X", u)) for m, u, _ in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        path = re.sub(r"<[^>]+>", "X", rule.rule).replace("/users/X/", "/users/patrol1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in covered, f"{method} {rule.rule} is not in the role matrix"


def test_unknown_page_redirects_anonymous_to_login(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/no-such-page")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_unknown_page_is_404_when_logged_in(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    assert client.get("/no-such-page").status_code == 404


def test_login_page_and_static_files_are_public(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/login").status_code == 200
    for name in ("console.css", "console.js"):
        with client.get(f"/static/{name}") as resp:
            assert resp.status_code == 200


def test_guard_opening_admin_page_gets_403_page(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    resp = client.get("/users")
    assert resp.status_code == 403
    assert "您无权访问此页面" in resp.get_data(as_text=True)


def test_navigation_shows_only_allowed_pages(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    page = client.get("/").get_data(as_text=True)
    for href in ('href="/events"', 'href="/nodes"', 'href="/users"', 'href="/audit"', 'href="/alarms"'):
        assert href not in page


def test_patrol_sees_alarms_but_no_acknowledge_form(client, ids) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    page = client.get("/").get_data(as_text=True)
    assert f'data-id="{ids["alarm"]}"' in page
    assert f'/alarms/{ids["alarm"]}/ack' not in page


def test_api_accepts_basic_credentials(client, ids) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/events", auth=("desk1", "correct horse battery"))
    assert resp.status_code == 200
    assert resp.json["items"][0]["event_id"] == ids["event"]


def test_api_refuses_wrong_basic_credentials(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/events", auth=("desk1", "wrong password!"))
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_api_basic_credentials_respect_roles(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/nodes", auth=("guard1", "correct horse battery")).status_code == 403
