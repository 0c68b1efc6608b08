"""The meter pages through the Flask test client: roles, CSRF, audit, registry form and CSV
import with a per-row report, the unit page's SVG chart, the statement page and its CSV."""

from __future__ import annotations

import csv
import io

import pytest

from mc_helpers import H, T0, add_meter, add_unit, csrf, fill_hourly, login, save_settings, total


def _audit(svc, action):  # type: ignore[no-untyped-def]
    from web.audit import AuditLog
    return AuditLog(svc.db).search(action=action)


@pytest.mark.parametrize("url", ["/meters", "/meters/statements", "/meters/unit/A-101",
                                 "/meters/statements.csv", "/meters.csv"])
def test_desk_reads_the_meter_pages(svc, client, url) -> None:
    add_unit(svc, "A-101")
    login(client, "desk1")
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("user", ["guard1", "patrol1"])
def test_guard_and_patrol_may_not_open_the_meter_pages(client, user) -> None:
    login(client, user)
    assert client.get("/meters").status_code == 403
    assert client.get("/meters/statements").status_code == 403


@pytest.mark.parametrize("url", ["/meters/new", "/meters/import", "/meters/settings"])
def test_desk_may_not_edit_the_registry_or_the_settings(client, url) -> None:
    login(client, "desk1")
    assert client.get(url).status_code == 403


def test_anonymous_is_sent_to_log_in(client) -> None:
    r = client.get("/meters/statements")
    assert r.status_code in (302, 303) and "/login" in r.headers["Location"]


def test_admin_adds_a_meter_and_it_is_audited(svc, client) -> None:
    add_unit(svc, "A-101")
    login(client, "admin1")
    r = client.post("/meters/new", data={
        "csrf_token": csrf(client, "/meters/new"), "meter_id": "e-a-101", "unit": "A-101",
        "kind": "electricity", "map": "eastron_sdm120", "node": "meters-a", "bus": "bus-1",
        "slave": "3", "register": "", "note": ""})
    assert r.status_code == 303
    m = svc.meters.registry.get("e-a-101")
    assert (m.unit, m.slave, m.register) == ("A-101", 3, "import_energy_kwh")
    (entry,) = _audit(svc, "meter.add")
    assert entry.user == "admin1" and entry.target == "e-a-101"


def test_a_meter_for_an_unknown_unit_is_refused(svc, client) -> None:
    login(client, "admin1")
    r = client.post("/meters/new", data={
        "csrf_token": csrf(client, "/meters/new"), "meter_id": "w-z-1", "unit": "Z-1",
        "kind": "water"})
    assert r.status_code == 400
    assert "该房号不在房屋登记中。" in r.get_data(as_text=True)
    assert svc.meters.registry.count() == 0


def test_a_post_without_csrf_token_is_refused(svc, client) -> None:
    add_unit(svc, "A-101")
    login(client, "admin1")
    r = client.post("/meters/new", data={"meter_id": "w-1", "unit": "A-101", "kind": "water"})
    assert r.status_code == 400 and svc.meters.registry.count() == 0


def test_csv_import_takes_the_good_rows_and_reports_the_bad_ones(svc, client) -> None:
    add_unit(svc, "A-101")
    add_unit(svc, "A-102")
    login(client, "admin1")
    body = ("meter_id,unit,kind,map,node,bus,slave\n"
            "e-a-101,A-101,electricity,eastron_sdm120,meters-a,bus-1,1\n"
            "w-a-101,A-101,,water_generic,meters-a,bus-1,2\n"
            "w-a-102,A-102,water,eastron_sdm120,meters-a,bus-1,3\n"
            "e-z-9,Z-9,electricity,,meters-a,bus-1,4\n"
            "BAD ID,A-102,electricity,,meters-a,bus-1,500\n")
    r = client.post("/meters/import", data={
        "csrf_token": csrf(client, "/meters/import"),
        "file": (io.BytesIO(body.encode()), "meters.csv")}, content_type="multipart/form-data")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert {m.meter_id for m in svc.meters.registry} == {"e-a-101", "w-a-101"}
    assert svc.meters.registry.get("w-a-101").kind == "water"
    for line in (4, 5, 6):
        assert f'data-problem-row="{line}"' in page
    (entry,) = _audit(svc, "meter.import")
    assert entry.detail == "added=2 updated=0 refused=3"


def test_registry_export_lists_every_meter(svc, client) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101", node="meters-a", slave=2)
    login(client, "desk1")
    text = client.get("/meters.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["meter_id", "unit"] and rows[1][:2] == ["w-a-101", "A-101"]


def test_unit_page_draws_the_daily_chart_as_svg_with_labels(svc, client, clock) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101")
    fill_hourly(svc, "w-a-101", T0, 72, 10.0, 0.05)
    clock.now = T0 + 80 * H
    login(client, "desk1")
    page = client.get("/meters/unit/A-101").get_data(as_text=True)
    assert 'role="img"' in page and 'aria-labelledby="chart-w-a-101-title' in page
    assert page.count('class="bar"') >= 3          # three full days read
    assert "1.2 m³" in page                         # 24 h × 0.05 in a bar's title


def test_unit_page_monthly_view_has_twelve_bars(svc, client, clock) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101")
    clock.now = T0 + 5 * H
    login(client, "desk1")
    page = client.get("/meters/unit/A-101?view=monthly").get_data(as_text=True)
    assert page.count("<rect class=\"bar") == 12


def test_unknown_unit_page_is_not_found_and_a_bad_period_is_refused(svc, client) -> None:
    add_unit(svc, "A-101")
    login(client, "desk1")
    assert client.get("/meters/unit/Q-1").status_code == 404
    assert client.get("/meters/unit/A-101?period=2026-13").status_code == 400
    assert client.get("/meters/statements?period=drop").status_code == 400


def test_statement_csv_has_the_consumption_and_the_marks_and_is_audited(svc, client, clock) -> None:
    add_unit(svc, "A-101")
    add_unit(svc, "A-102", vacant=True)
    add_meter(svc, "w-a-101", "A-101")
    add_meter(svc, "w-a-102", "A-102")
    fill_hourly(svc, "w-a-101", T0 - 2 * H, 31 * 24 + 4, 100.0, 0.01)     # 2026-01 period
    total(svc, "w-a-102", 5.0, T0 - 10 * H)
    total(svc, "w-a-102", 6.0, T0 + 20 * 24 * H)                        # silent for weeks
    clock.now = T0 + 40 * 24 * H
    login(client, "desk1")
    text = client.get("/meters/statements.csv?period=2026-01").get_data(as_text=True).lstrip("\ufeff")
    rows = {r["meter"]: r for r in csv.DictReader(io.StringIO(text))}
    assert float(rows["w-a-101"]["consumption"]) == pytest.approx(31 * 24 * 0.01)
    assert rows["w-a-101"]["estimated_start"] == "no" and rows["w-a-101"]["gaps"] == "0"
    assert rows["w-a-102"]["estimated_start"] == "yes" and rows["w-a-102"]["estimated_end"] == "yes"
    assert int(rows["w-a-102"]["gaps"]) == 2 and rows["w-a-102"]["vacant"] == "yes"
    (entry,) = _audit(svc, "meter.statement_export")
    assert entry.target == "2026-01"


def test_statement_page_marks_estimated_rows(svc, client, clock) -> None:
    add_unit(svc, "A-102")
    add_meter(svc, "w-a-102", "A-102")
    total(svc, "w-a-102", 5.0, T0 - 10 * H)
    total(svc, "w-a-102", 6.0, T0 + 20 * 24 * H)
    clock.now = T0 + 40 * 24 * H
    login(client, "desk1")
    page = client.get("/meters/statements?period=2026-01").get_data(as_text=True)
    assert 'data-statement-row="w-a-102"' in page and "mark-estimated_start" in page


def test_admin_changes_the_statement_day_and_it_is_audited(svc, client) -> None:
    login(client, "admin1")
    assert save_settings(client, statement_day=1, offline_minutes=45).status_code == 303
    assert svc.meters.rules.get().statement_day == 1
    assert svc.meters.period("2026-01").start_local.day == 1
    (entry,) = _audit(svc, "meter.settings")
    assert "statement_day=1" in entry.detail and "offline_minutes=45" in entry.detail


def test_settings_out_of_range_are_refused(svc, client) -> None:
    login(client, "admin1")
    assert save_settings(client, statement_day=31).status_code == 400
    assert svc.meters.rules.get().statement_day == 3


def test_admin_removes_a_meter_and_its_readings_stay(svc, client) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101")
    total(svc, "w-a-101", 1.0, T0)
    login(client, "admin1")
    r = client.post("/meters/w-a-101/delete", data={"csrf_token": csrf(client, "/meters")})
    assert r.status_code == 303 and svc.meters.registry.count() == 0
    assert svc.meters.readings.count() == 1
    assert len(_audit(svc, "meter.delete")) == 1


def test_registering_a_heard_meter_prefills_the_form(svc, client) -> None:
    svc.meters.readings.note_seen("w-x-9", node="meters-b", now=T0, kind="water")
    login(client, "admin1")
    index = client.get("/meters").get_data(as_text=True)
    assert 'data-unregistered-meter="w-x-9"' in index
    page = client.get("/meters/new?meter=w-x-9&kind=water&node=meters-b").get_data(as_text=True)
    assert 'value="w-x-9"' in page and 'value="meters-b"' in page
    assert '<option selected value="water">' in page
