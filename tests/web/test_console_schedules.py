"""Access schedules and holiday dates (admin): the editor pages (CSRF, audited, version + 1 per
change), the ``credentials`` snapshot carrying them, and the node's own decider, fed that
snapshot, denying ``outside_schedule`` at exactly the right minutes, holidays included."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from edge.access.credentials import CredentialSet
from edge.access.decider import AccessDecider
from web.access import CredentialRecord
from web.access.schedule_model import Holiday, parse_intervals, validate_schedule

from console_helpers import login, post_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW = "/schedules/new"
OFFICE = {"schedule_id": "office", "description": "物业办公时间",
          "mon": "08:00-12:00 13:30-18:00", "tue": "08:00-12:00 13:30-18:00",
          "wed": "08:00-12:00 13:30-18:00", "thu": "08:00-12:00 13:30-18:00",
          "fri": "08:00-12:00, 13:30-18:00", "sat": "22:00-06:00", "sun": "",
          "holiday": "10:00-11:00"}


@pytest.fixture
def admin(client):  # type: ignore[no-untyped-def]
    assert login(client, "admin1").status_code == 303
    assert post_form(client, "/", "/lang/en", {"next": "/"}).status_code == 303
    return client


def _audit(services, action: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    return list(services.db.conn().execute(
        "SELECT user, target, detail FROM audit_log WHERE action = ?", (action,)))


# -- the model -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("08:00-12:00 13:30-18:00", ("08:00-12:00", "13:30-18:00")),
    ("8:00～12:00，13:30-18:00", ("08:00-12:00", "13:30-18:00")),
    ("22:00-06:00", ("22:00-06:00",)),
    ("00:00-24:00", ("00:00-24:00",)),
    ("18:00-00:00", ("18:00-24:00",)),
    ("", ()),
])
def test_intervals_are_read_in_their_usual_spellings(text, expected) -> None:
    assert parse_intervals(text) == (expected, [])


@pytest.mark.parametrize("text,code", [
    ("8-12", "bad_interval"), ("08:00-12:60", "bad_interval"), ("24:00-06:00", "bad_interval"),
    ("08:00-08:00", "empty_interval"), ("<script>", "bad_interval"),
    (" ".join(["01:00-02:00"] * 13), "too_many"),
])
def test_bad_intervals_are_named(text, code) -> None:
    assert parse_intervals(text)[1] == [code]


# -- the pages --------------------------------------------------------------------------------

def test_admin_adds_a_schedule_the_version_rises_and_it_is_audited(admin, services) -> None:
    resp = post_form(admin, NEW, NEW, OFFICE)
    assert resp.status_code == 303
    assert services.credentials.version() == 1
    page = admin.get("/schedules").get_data(as_text=True)
    assert 'data-schedule="office"' in page and "13:30-18:00" in page
    [entry] = _audit(services, "schedule.add")
    assert entry["user"] == "admin1" and entry["target"] == "office"


def test_a_bad_interval_is_refused_with_the_problem_named_and_nothing_changes(admin, services) -> None:
    resp = post_form(admin, NEW, NEW, {**OFFICE, "tue": "8 to 12"})
    assert resp.status_code == 400
    assert "Write times as HH:MM-HH:MM" in resp.get_data(as_text=True)
    assert services.schedules.list() == [] and services.credentials.version() == 0


def test_schedule_form_without_csrf_token_is_refused(admin, services) -> None:
    assert admin.post(NEW, data=OFFICE).status_code == 400
    assert services.schedules.list() == []


def test_editing_a_schedule_replaces_its_times(admin, services) -> None:
    post_form(admin, NEW, NEW, OFFICE)
    edit = "/schedules/office/edit"
    assert post_form(admin, edit, edit, {**OFFICE, "sun": "09:00-10:00"}).status_code == 303
    assert services.schedules.get("office").day("sun") == ("09:00-10:00",)
    assert services.credentials.version() == 2
    assert len(_audit(services, "schedule.edit")) == 1


def test_a_schedule_credentials_name_cannot_be_deleted(admin, services) -> None:
    post_form(admin, NEW, NEW, OFFICE)
    services.credentials.save(CredentialRecord(credential_id="c-1", cards=("w26:1:2",),
                                               schedule="office"), by="t", create=True)
    resp = post_form(admin, "/schedules", "/schedules/office/delete", {}, follow_redirects=True)
    assert "is used by 1 credential" in resp.get_data(as_text=True)
    assert services.schedules.exists("office")


def test_an_unused_schedule_is_deleted_and_audited(admin, services) -> None:
    post_form(admin, NEW, NEW, OFFICE)
    assert post_form(admin, "/schedules", "/schedules/office/delete", {}).status_code == 303
    assert not services.schedules.exists("office") and services.credentials.version() == 2
    assert len(_audit(services, "schedule.delete")) == 1


def test_holidays_are_added_and_removed_each_change_published(admin, services) -> None:
    resp = post_form(admin, "/schedules", "/schedules/holidays", {"day": "2026-10-01",
                                                                  "name": "国庆节"})
    assert resp.status_code == 303
    assert services.credentials.snapshot().data["holidays"] == ["2026-10-01"]
    assert 'data-holiday="2026-10-01"' in admin.get("/schedules").get_data(as_text=True)
    assert post_form(admin, "/schedules", "/schedules/holidays/2026-10-01/delete",
                     {}).status_code == 303
    assert services.credentials.snapshot().data["holidays"] == []
    assert services.credentials.version() == 2
    assert len(_audit(services, "holiday.add")) == len(_audit(services, "holiday.delete")) == 1


def test_a_holiday_that_is_not_a_date_is_refused(admin, services) -> None:
    resp = post_form(admin, "/schedules", "/schedules/holidays", {"day": "2026-02-30"})
    assert resp.status_code == 400 and "Not a date" in resp.get_data(as_text=True)
    assert services.schedules.holidays() == []


def test_desk_cannot_edit_schedules(client) -> None:
    login(client, "desk1")
    assert client.get("/schedules").status_code == 403


def test_a_credential_naming_an_unknown_schedule_is_refused(admin, services) -> None:
    form = {"credential_id": "c-1", "cards": "w26:1:2", "kind": "staff", "doors": "*",
            "enabled": "y", "schedule": "nights"}
    resp = post_form(admin, "/credentials/new", "/credentials/new", form)
    assert resp.status_code == 400 and "No schedule has this name" in resp.get_data(as_text=True)
    post_form(admin, NEW, NEW, {**OFFICE, "schedule_id": "nights"})
    assert post_form(admin, "/credentials/new", "/credentials/new", form).status_code == 303
    assert services.credentials.get("c-1").schedule == "nights"


def test_csv_rows_naming_an_unknown_schedule_are_reported_and_the_rest_imported(admin, services) -> None:
    post_form(admin, NEW, NEW, OFFICE)
    text = ("id,cards,doors,schedule\n"
            "c-1,w26:1:1,*,office\n"
            "c-2,w26:1:2,*,nights\n")
    resp = post_form(admin, "/credentials/import", "/credentials/import",
                     {"file": (io.BytesIO(text.encode()), "cards.csv")},
                     content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert 'data-problem-row="3"' in body and "No schedule has this name" in body
    assert services.credentials.get("c-1").schedule == "office"
    assert services.credentials.get("c-2") is None


# -- the snapshot and the node ------------------------------------------------------------------

def _office(services) -> None:  # type: ignore[no-untyped-def]
    schedule, errors = validate_schedule(OFFICE)
    assert not errors
    services.schedules.save(schedule, by="admin1", create=True)
    services.schedules.set_holiday(Holiday(day="2026-01-01", name="元旦"), by="admin1")
    services.credentials.save(CredentialRecord(credential_id="c-1", cards=("w26:1:2",),
                                               schedule="office"), by="t", create=True)


def test_snapshot_carries_the_schedules_and_holidays_in_the_nodes_format(services) -> None:
    _office(services)
    data = services.credentials.snapshot().data
    assert data["holidays"] == ["2026-01-01"]
    assert data["schedules"] == {"office": {
        "week": {d: ["08:00-12:00", "13:30-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
        | {"sat": ["22:00-06:00"]},
        "holiday": ["10:00-11:00"]}}
    loaded = CredentialSet.from_snapshot(services.credentials.snapshot())
    assert loaded.rejected == [] and set(loaded.schedules) == {"office"}


@pytest.mark.parametrize("local,reason", [
    ("2026-01-02 07:59", "outside_schedule"),   # a Friday
    ("2026-01-02 08:00", "granted"),
    ("2026-01-02 11:59", "granted"),
    ("2026-01-02 12:00", "outside_schedule"),
    ("2026-01-02 13:29", "outside_schedule"),
    ("2026-01-02 13:30", "granted"),
    ("2026-01-02 17:59", "granted"),
    ("2026-01-02 18:00", "outside_schedule"),
    ("2026-01-01 08:30", "outside_schedule"),   # a Thursday, but New Year's Day: holiday times
    ("2026-01-01 10:00", "granted"),
    ("2026-01-01 10:59", "granted"),
    ("2026-01-01 11:00", "outside_schedule"),
    ("2026-01-03 21:59", "outside_schedule"),   # Saturday night into Sunday morning
    ("2026-01-03 22:00", "granted"),
    ("2026-01-04 05:59", "granted"),
    ("2026-01-04 06:00", "outside_schedule"),
    ("2026-01-04 12:00", "outside_schedule"),   # Sunday: closed
])
def test_node_decider_fed_the_consoles_snapshot_follows_the_schedule(services, local, reason) -> None:
    services.credentials.timezone = "Asia/Shanghai"
    _office(services)
    at = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI).timestamp()
    credentials = CredentialSet.from_snapshot(services.credentials.snapshot())
    decider = AccessDecider("lobby", credentials, clock=lambda: at, lockout_after=0)
    assert decider.decide("w26:1:2", reader="lobby-in").reason == reason
