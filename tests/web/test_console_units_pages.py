"""The unit registry pages (房号 / 住户): the desk reads, the administrator adds, edits, deletes,
imports a CSV with a per-row report (good rows go in) and exports; every change is audited."""

from __future__ import annotations

import io

import pytest

from console_helpers import login, post_form
from visitor_helpers import add_unit


@pytest.fixture
def admin(client):  # type: ignore[no-untyped-def]
    assert login(client, "admin1").status_code == 303
    post_form(client, "/", "/lang/en", {"next": "/"})
    return client


@pytest.fixture
def desk(make_client):  # type: ignore[no-untyped-def]
    c = make_client()
    assert login(c, "desk1").status_code == 303
    post_form(c, "/", "/lang/en", {"next": "/"})
    return c


def _audit(app, action):  # type: ignore[no-untyped-def]
    from web.state import console
    return console(app).audit.search(action=action)


def test_admin_adds_a_unit_with_residents_and_it_is_audited(admin, services, app) -> None:
    resp = post_form(admin, "/units/new", "/units/new", {
        "building": "A", "number": "1201", "vacant": "",
        "residents": "王芳/13800000000/业主\n李雷/139 0000 0000/tenant", "note": "南向"})
    assert resp.status_code == 303
    unit = services.units.require("A-1201")
    assert [(r.name, r.phone, r.relation) for r in unit.residents] == [
        ("王芳", "13800000000", "owner"), ("李雷", "139 0000 0000", "tenant")]
    assert [e.target for e in _audit(app, "unit.add")] == ["A-1201"]


def test_bad_resident_phone_is_refused_with_the_problem_named(admin, services) -> None:
    resp = post_form(admin, "/units/new", "/units/new", {
        "building": "A", "number": "1202", "residents": "王芳/call me"})
    assert resp.status_code == 400
    assert "phone" in resp.get_data(as_text=True)
    assert not services.units.exists("A-1202")


def test_edit_marks_a_unit_vacant(admin, services, app) -> None:
    add_unit(services)
    page = "/units/A-1201/edit"
    assert "王芳/13800000000/owner" in admin.get(page).get_data(as_text=True)
    resp = post_form(admin, page, page, {"building": "X", "number": "9", "vacant": "y",
                                         "residents": "", "note": ""})
    assert resp.status_code == 303
    unit = services.units.require("A-1201")            # the code is not editable
    assert unit.vacant and unit.residents == ()
    assert [e.target for e in _audit(app, "unit.edit")] == ["A-1201"]


def test_desk_reads_and_searches_units_but_cannot_edit(desk, services) -> None:
    add_unit(services)
    add_unit(services, "B", "301", residents=[{"name": "韩梅梅", "phone": "13700000000"}])
    page = desk.get("/units?q=韩梅").get_data(as_text=True)
    assert "B-301" in page and "A-1201" not in page and "13700000000" in page
    assert "/units/new" not in page
    assert desk.get("/units/new").status_code == 403
    assert desk.get("/units.csv").status_code == 403


def test_units_filter_by_building(desk, services) -> None:
    add_unit(services)
    add_unit(services, "B", "301")
    page = desk.get("/units?building=B").get_data(as_text=True)
    assert 'data-unit="B-301"' in page and 'data-unit="A-1201"' not in page


def test_guard_and_patrol_cannot_see_the_unit_registry(make_client) -> None:
    for user in ("guard1", "patrol1"):
        c = make_client()
        login(c, user)
        assert c.get("/units").status_code == 403


def test_csv_import_saves_good_rows_and_reports_bad_ones(admin, services, app) -> None:
    csv_text = ("building,number,vacant,residents,note\n"
                "A,1201,no,王芳/13800000000/业主; 王小明//家属,\n"
                "A,12 01,no,,\n"
                "B,301,maybe,,\n"
                "B,302,yes,,空置\n"
                "A,1201,no,,\n")
    token_page = "/units/import"
    resp = post_form(admin, token_page, token_page,
                     {"file": (io.BytesIO(csv_text.encode("utf-8")), "units.csv")},
                     content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "data-import-report" in body
    assert 'data-problem-row="3"' in body and 'data-problem-row="4"' in body
    assert 'data-problem-row="6"' in body and "earlier row" in body
    assert services.units.require("A-1201").names() == ["王芳", "王小明"]
    assert services.units.is_vacant("B-302")
    assert services.units.count() == 2
    [entry] = _audit(app, "unit.import")
    assert entry.detail == "added=2 updated=0 refused=3"


def test_csv_without_the_number_column_imports_nothing(admin, services) -> None:
    resp = post_form(admin, "/units/import", "/units/import",
                     {"file": (io.BytesIO(b"building,residents\nA,x\n"), "u.csv")},
                     content_type="multipart/form-data")
    assert "number is missing" in resp.get_data(as_text=True)
    assert services.units.count() == 0


def test_csv_export_round_trips_through_the_import(admin, services, app) -> None:
    add_unit(services, residents=[{"name": "王芳", "phone": "+86 138", "relation": "owner"},
                                  {"name": "李雷", "phone": "", "relation": "tenant"}])
    resp = admin.get("/units.csv")
    text = resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv" and text.startswith("\ufeffbuilding,number")
    assert "王芳/+86 138/owner; 李雷//tenant" in text
    services.units.delete("A-1201")
    post_form(admin, "/units/import", "/units/import",
              {"file": (io.BytesIO(text.encode("utf-8")), "u.csv")},
              content_type="multipart/form-data")
    assert services.units.require("A-1201").names() == ["王芳", "李雷"]
    assert len(_audit(app, "unit.export")) == 1


def test_unit_form_without_csrf_is_refused(admin, services) -> None:
    resp = admin.post("/units/new", data={"building": "A", "number": "1"})
    assert resp.status_code == 400
    assert services.units.count() == 0


def test_admin_deletes_a_unit(admin, services, app) -> None:
    add_unit(services)
    assert post_form(admin, "/units", "/units/A-1201/delete", {}).status_code == 303
    assert not services.units.exists("A-1201")
    assert [e.target for e in _audit(app, "unit.delete")] == ["A-1201"]
