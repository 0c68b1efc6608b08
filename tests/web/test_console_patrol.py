"""The patrol pages (电子巡更): the plan editors (validation, CSRF, roles, audit), the staff
page, the supervisor page with acknowledgement, the round page and the report with CSV."""

from __future__ import annotations

import pytest

from console_helpers import T0, login, post_form
from patrol_pages_helpers import seed, tap
from web.patrol import Tap

MIN = 60_000
CP = "/patrol/plan/checkpoint/new"
ROUTE = "/patrol/plan/route/new"
SCHED = "/patrol/plan/schedule/new"
USER = "/patrol/plan/user/new"


@pytest.fixture
def admin(client):  # type: ignore[no-untyped-def]
    assert login(client, "admin1").status_code == 303
    assert post_form(client, "/", "/lang/en", {"next": "/"}).status_code == 303
    return client


def audit_actions(app) -> list[str]:  # type: ignore[no-untyped-def]
    from web.state import console
    return [e.action for e in console(app).audit.search(limit=50)]


# -- editors -------------------------------------------------------------------------------------

def test_admin_adds_a_check_point_and_it_is_audited(admin, services, app) -> None:
    resp = post_form(admin, CP, CP, {"id": "b3-f1", "name": "3栋1层", "building": "3",
                                      "floor": "1", "node": "lobby", "reader": "cp-east"})
    assert resp.status_code == 303
    assert services.patrol.plan.checkpoints["b3-f1"].reader == "cp-east"
    assert "patrol.plan_save" in audit_actions(app)
    assert "3栋1层" in admin.get("/patrol/plan").get_data(as_text=True)


def test_a_check_point_with_a_bad_id_is_refused_and_not_saved(admin, services) -> None:
    resp = post_form(admin, CP, CP, {"id": "B3 F1!", "name": "x", "node": "lobby",
                                      "reader": "cp"})
    assert resp.status_code == 400 and "Lower-case letters" in resp.get_data(as_text=True)
    assert services.patrol.plan.checkpoints == {}


def test_a_second_check_point_on_the_same_reader_is_refused(admin, services) -> None:
    seed(services)
    resp = post_form(admin, CP, CP, {"id": "c", "name": "c", "node": "lobby", "reader": "cp-a"})
    assert resp.status_code == 400 and "Not saved" in resp.get_data(as_text=True)
    assert "c" not in services.patrol.plan.checkpoints


def test_a_form_without_its_csrf_token_is_refused(admin, services) -> None:
    resp = admin.post(CP, data={"id": "x", "name": "x", "node": "lobby", "reader": "r"})
    assert resp.status_code == 400 and services.patrol.plan.checkpoints == {}


def test_a_route_is_saved_from_its_point_lines(admin, services) -> None:
    seed(services)
    resp = post_form(admin, ROUTE, ROUTE, {"id": "r2", "name": "any", "points": "b 0\na 8 4 30",
                                            "start_tolerance_min": "10", "grace_min": "15"})
    assert resp.status_code == 303
    r = services.patrol.plan.routes["r2"]
    assert not r.ordered                                 # the box was not ticked
    assert [(p.checkpoint, p.expected_min, p.tolerance_min, p.min_walk_s) for p in r.points] == \
        [("b", 0, 5, 0), ("a", 8, 4, 30)]


@pytest.mark.parametrize("points, message", [
    ("a x", "must be numbers"),
    ("a", "write the check-point id"),
    ("a -1", "must not be negative"),
])
def test_a_route_with_a_bad_point_line_is_refused(admin, services, points, message) -> None:
    seed(services)
    resp = post_form(admin, ROUTE, ROUTE, {"id": "r2", "name": "x", "points": points,
                                            "start_tolerance_min": "10", "grace_min": "15"})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert "r2" not in services.patrol.plan.routes


def test_a_route_through_an_unknown_check_point_is_refused(admin, services) -> None:
    seed(services)
    resp = post_form(admin, ROUTE, ROUTE, {"id": "r2", "name": "x", "points": "a 0\nzz 5",
                                            "start_tolerance_min": "10", "grace_min": "15"})
    assert resp.status_code == 400 and "uses check-point zz, which does not exist" in resp.get_data(
        as_text=True)


def test_a_night_schedule_every_two_hours_crosses_midnight(admin, services, clock) -> None:
    seed(services)
    resp = post_form(admin, SCHED, SCHED, {"id": "night", "route": "r1",
                                            "weekdays": ["0", "4"], "every_start": "22:00",
                                            "every_end": "06:00", "every_min": "120",
                                            "assignees": ["patrol1"]})
    assert resp.status_code == 303
    s = services.patrol.plan.schedules["night"]
    assert s.times == ("22:00", "00:00", "02:00", "04:00", "06:00")
    assert s.weekdays == {0, 4} and s.assignees == ("patrol1",)
    assert s.active_from_ms == clock.now                 # no rounds before the change


def test_a_schedule_with_both_times_and_a_repeat_is_refused(admin, services) -> None:
    seed(services)
    resp = post_form(admin, SCHED, SCHED, {"id": "x", "route": "r1", "weekdays": ["0"],
                                            "times": "22:00", "every_start": "22:00",
                                            "every_end": "06:00", "every_min": "120"})
    assert resp.status_code == 400 and "not both" in resp.get_data(as_text=True)


def test_patrol_staff_must_be_a_console_user_with_the_patrol_role(admin, services) -> None:
    resp = post_form(admin, USER, USER, {"user": "desk1", "cards": "0A00000009"})
    assert resp.status_code == 400 and services.patrol.plan.users == {}
    resp = post_form(admin, USER, USER, {"user": "patrol1", "cards": "0a00000009, 0A0000000A"})
    assert resp.status_code == 303
    assert services.patrol.plan.users["patrol1"].cards == ("0A00000009", "0A0000000A")


def test_a_bad_card_number_is_refused(admin, services) -> None:
    resp = post_form(admin, USER, USER, {"user": "patrol1", "cards": "not-a-card"})
    assert resp.status_code == 400 and "not a card number" in resp.get_data(as_text=True)


def test_a_check_point_a_route_uses_cannot_be_deleted(admin, services, app) -> None:
    seed(services)
    resp = post_form(admin, "/patrol/plan", "/patrol/plan/checkpoint/a/delete", {})
    assert resp.status_code == 303 and "a" in services.patrol.plan.checkpoints
    assert "Not deleted" in admin.get("/patrol/plan").get_data(as_text=True)
    assert post_form(admin, "/patrol/plan", "/patrol/plan/schedule/s1/delete",
                     {}).status_code == 303
    assert "s1" not in services.patrol.plan.schedules
    assert "patrol.plan_delete" in audit_actions(app)


def test_editing_keeps_the_id(admin, services) -> None:
    seed(services)
    edit = "/patrol/plan/checkpoint/a/edit"
    assert "大堂 a" in admin.get(edit).get_data(as_text=True)
    resp = post_form(admin, edit, edit, {"id": "other", "name": "新名字", "node": "lobby",
                                          "reader": "cp-a"})
    assert resp.status_code == 303
    assert services.patrol.plan.checkpoints["a"].name == "新名字"
    assert "other" not in services.patrol.plan.checkpoints


# -- roles ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("user, url, status", [
    ("desk1", "/patrol/plan", 403), ("guard1", "/patrol/plan", 403),
    ("patrol1", "/patrol/live", 403), ("patrol1", "/patrol/reports", 403),
    ("patrol1", "/patrol/me", 200), ("guard1", "/patrol/live", 200),
    ("desk1", "/patrol/reports", 200), ("guard1", "/patrol/me", 403),
])
def test_each_patrol_page_is_open_to_its_roles_only(client, user, url, status) -> None:
    login(client, user)
    assert client.get(url).status_code == status


def test_patrol_pages_need_a_log_in(client) -> None:
    resp = client.get("/patrol/live")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


# -- staff, supervisor, round, report ------------------------------------------------------------

def test_the_staff_page_shows_my_next_check_point_and_its_deadline(client, services, clock) -> None:
    seed(services)                                       # T0 is 00:00 UTC; the round at 00:10
    start = T0 + 10 * MIN
    clock.now = start + MIN
    tap(services, "a", clock.now, 1)
    login(client, "patrol1")
    page = client.get("/patrol/me").get_data(as_text=True)
    assert 'data-next-round="s1:2026-01-01T0010"' in page
    assert 'data-next-point="b"' in page
    assert "08:25" in page                     # b due at +15, shown in the site's zone (UTC+8)


def test_the_supervisor_page_lists_rounds_and_acknowledges_an_alarm(client, services,
                                                                     clock) -> None:
    seed(services)
    services.jobs.run_due(T0 + 10 * MIN + 11 * MIN)       # not started, a missed
    (alarm, *_rest) = services.patrol.open_alarms()
    login(client, "guard1")
    page = client.get("/patrol/live").get_data(as_text=True)
    assert 'data-round="s1:2026-01-01T0010"' in page and f'data-alarm="{alarm.id}"' in page
    resp = post_form(client, "/patrol/live", f"/alarms/{alarm.id}/ack",
                     {"note": "called the guard", "next": "/patrol/live"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/patrol/live")
    assert services.alarms.get(alarm.id).note == "called the guard"


def test_the_round_page_shows_a_correction(client, services, clock) -> None:
    seed(services)
    start = T0 + 10 * MIN
    tap(services, "a", start + MIN, 1)
    services.jobs.run_due(start + 31 * MIN)               # closed incomplete: b missed
    clock.now = start + 90 * MIN
    services.patrol.apply(Tap(event_id="lobby:b:2", node="lobby", reader="cp-b", checkpoint="b",
                              card="0A00000001", ts=start + 9 * MIN), now=clock.now)   # late
    login(client, "guard1")
    page = client.get("/patrol/rounds/s1:2026-01-01T0010").get_data(as_text=True)
    assert "data-corrections" in page and "b: missed -&gt; ok" in page


def test_the_report_and_its_csv_count_completion_and_missed_points(client, services, clock,
                                                                   app) -> None:
    seed(services)
    start = T0 + 10 * MIN
    tap(services, "a", start + MIN, 1)
    services.jobs.run_due(start + 31 * MIN)
    login(client, "desk1")
    page = client.get("/patrol/reports?start=2026-01-01&end=2026-01-01").get_data(as_text=True)
    assert 'data-report-row="2026-01-01 patrol1"' in page
    resp = client.get("/patrol/reports.csv?start=2026-01-01&end=2026-01-01")
    text = resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv"
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("day,guard,rounds,completed")
    assert lines[1].startswith("2026-01-01,patrol1,1,0,1,0,0.0,2,1,1,0,b")
    assert "patrol.report_export" in audit_actions(app)


def test_a_bad_report_date_is_explained(client, services) -> None:
    login(client, "desk1")
    resp = client.get("/patrol/reports?start=yesterday")
    assert resp.status_code == 200 and "YYYY-MM-DD" in resp.get_data(as_text=True)
