"""Changing a meter's unit through the pages (test client): the edit form's effective time,
refused times named on the field, the unit history on the edit page, the audit, the statement
page and CSV split between the units, the unit pages, and the CSV import."""

from __future__ import annotations

import csv
import io

import pytest

from mc_helpers import H, T0, add_meter, add_unit, csrf, fill_hourly, login

DAY = 24 * H
MOVE = T0 + 5 * DAY        # 2026-01-08 00:00 Asia/Shanghai


def _audit(svc, action):  # type: ignore[no-untyped-def]
    from web.audit import AuditLog
    return AuditLog(svc.db).search(action=action)


def _edit(client, unit, effective=""):  # type: ignore[no-untyped-def]
    return client.post("/meters/w-1/edit", data={
        "csrf_token": csrf(client, "/meters/w-1/edit"), "unit": unit, "kind": "water",
        "register": "total_volume_m3", "effective_at": effective})


@pytest.fixture
def seeded(svc, client, clock):  # type: ignore[no-untyped-def]
    """w-1 in A-101, read hourly (0.05 m³/h) from 2 h before T0 to T0 + 10 days; admin1 logged
    in at T0 + 10 days."""
    for code in ("A-101", "A-102", "A-103"):
        add_unit(svc, code)
    add_meter(svc, "w-1", "A-101")
    fill_hourly(svc, "w-1", T0 - 2 * H, 10 * 24 + 2, 100.0, 0.05)
    clock.now = T0 + 10 * DAY
    login(client, "admin1")
    return svc


@pytest.fixture
def moved(seeded, client):  # type: ignore[no-untyped-def]
    """The same, w-1 moved to A-102 effective 2026-01-08 00:00 by admin1."""
    assert _edit(client, "A-102", "2026-01-08T00:00").status_code == 303
    return seeded


def test_the_edit_form_records_the_change_at_the_effective_time_given(moved) -> None:
    assert [(a.unit, a.from_ts, a.until_ts) for a in moved.meters.registry.history("w-1")] == [
        ("A-101", None, MOVE), ("A-102", MOVE, None)]


def test_a_blank_effective_time_means_now(seeded, client, clock) -> None:
    assert _edit(client, "A-102").status_code == 303
    assert seeded.meters.registry.history("w-1")[-1].from_ts == clock.now


def test_the_unit_change_is_audited_with_the_old_unit_and_the_effective_time(moved) -> None:
    (entry,) = _audit(moved, "meter.edit")
    assert entry.user == "admin1" and entry.target == "w-1"
    assert "unit=A-102" in entry.detail and "moved_from=A-101" in entry.detail
    assert "effective=2026-01-08 00:00" in entry.detail


def test_an_effective_time_in_the_future_is_refused_on_its_field(seeded, client) -> None:
    r = _edit(client, "A-102", "2026-02-01T00:00")
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    field = page[page.index('name="effective_at"') - 400:page.index('name="effective_at"') + 400]
    assert "has-error" in field and "变更生效时间不能晚于现在" in page
    assert seeded.meters.registry.get("w-1").unit == "A-101"


def test_an_effective_time_before_the_previous_change_is_refused_naming_it(moved, client) -> None:
    r = _edit(client, "A-103", "2026-01-07T12:00")
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "不能早于这块表上一次换房的生效时间" in page and "2026-01-08 00:00" in page
    assert moved.meters.registry.get("w-1").unit == "A-102"


def test_a_malformed_effective_time_is_refused_on_its_field(seeded, client) -> None:
    r = _edit(client, "A-102", "next tuesday")
    assert r.status_code == 400 and "例如 2026-01-15 09:30" in r.get_data(as_text=True)


def test_the_edit_page_shows_both_assignments_with_who(moved, client) -> None:
    page = client.get("/meters/w-1/edit").get_data(as_text=True)
    history = page[page.index("data-assignments"):]
    assert history.index('data-assignment="A-102"') < history.index('data-assignment="A-101"')
    assert "admin1" in history and "test" in history
    assert "2026-01-08 00:00" in history


def test_a_meter_never_moved_says_so_on_its_edit_page(seeded, client) -> None:
    page = client.get("/meters/w-1/edit").get_data(as_text=True)
    assert page.count("data-assignment=") == 1 and 'data-assignment="A-101"' in page


def test_the_statement_page_shows_the_moved_meter_under_both_units(moved, client) -> None:
    page = client.get("/meters/statements?period=2026-01").get_data(as_text=True)
    assert 'data-statement-row="w-1" data-unit="A-101"' in page
    assert 'data-statement-row="w-1" data-unit="A-102"' in page
    assert "mark-moved_out" in page and "mark-moved_in" in page


def test_the_statement_csv_splits_the_use_between_the_two_units(moved, client) -> None:
    text = client.get("/meters/statements.csv?period=2026-01").get_data(as_text=True)
    rows = {(r["unit"], r["meter"]): r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    assert set(rows) == {("A-101", "w-1"), ("A-102", "w-1")}
    old, new = rows[("A-101", "w-1")], rows[("A-102", "w-1")]
    assert float(old["consumption"]) == pytest.approx(6.0)
    assert float(new["consumption"]) == pytest.approx(6.0)
    assert (old["part_start"], old["part_end"]) == ("", "2026-01-08 00:00")
    assert (new["part_start"], new["part_end"]) == ("2026-01-08 00:00", "")
    assert float(old["end_value"]) == float(new["start_value"]) == pytest.approx(106.1)


def _history_times(page):  # type: ignore[no-untyped-def]
    import re
    section = page[page.index("data-history"):]
    return re.findall(r'<td class="time nowrap">([0-9-]+ [0-9:]+)</td><td class="data">w-1',
                      section)


def test_the_old_unit_page_keeps_the_readings_from_before_the_move(moved, client) -> None:
    page = client.get("/meters/unit/A-101?period=2026-01").get_data(as_text=True)
    times = _history_times(page)
    assert times[0] == "2026-01-07 23:00" and "2026-01-08 00:00" not in times
    assert 'data-meter-card="w-1"' in page and "data-former" in page
    assert "data-latest" not in page                     # no latest total: not its meter now
    card = page[page.index('data-meter-card="w-1"'):]
    assert "6.000 m³" in card[:card.index("</dl>")]     # this period, its part only


def test_the_new_unit_page_starts_at_the_move(moved, client) -> None:
    older = client.get(f"/meters/unit/A-102?period=2026-01&before={MOVE + 3 * H}")
    times = _history_times(older.get_data(as_text=True))
    assert times == ["2026-01-08 02:00", "2026-01-08 01:00", "2026-01-08 00:00"]
    page = client.get("/meters/unit/A-102?period=2026-01").get_data(as_text=True)
    assert "data-latest" in page and "data-since" in page and "data-former" not in page
    card = page[page.index('data-meter-card="w-1"'):]
    assert "6.000 m³" in card[:card.index("</dl>")]


def test_the_new_unit_chart_has_no_bars_from_before_the_move(moved, client) -> None:
    page = client.get("/meters/unit/A-102?period=2026-01").get_data(as_text=True)
    values = page[page.index("chart-values"):]
    assert "<td>2026-01-07</td><td class=\"num\">—" in values
    assert "<td>2026-01-08</td><td class=\"num\">1.200" in values


def test_csv_import_with_a_changed_unit_records_a_change_at_import_time(seeded, client, clock) -> None:
    body = "meter_id,unit,kind\nw-1,A-103,water\n"
    r = client.post("/meters/import", data={
        "csrf_token": csrf(client, "/meters/import"),
        "file": (io.BytesIO(body.encode()), "meters.csv")}, content_type="multipart/form-data")
    assert r.status_code == 200 and "data-moved" in r.get_data(as_text=True)
    assert [(a.unit, a.from_ts, a.by) for a in seeded.meters.registry.history("w-1")] == [
        ("A-101", None, "test"), ("A-103", clock.now, "admin1")]
    (imported,) = _audit(seeded, "meter.import")
    assert imported.detail.endswith("moved=1")
    (edit,) = _audit(seeded, "meter.edit")
    assert "moved_from=A-101" in edit.detail and edit.detail.endswith("(import)")


def test_changing_other_fields_records_no_change_of_unit(seeded, client) -> None:
    assert _edit(client, "A-101", "2026-01-08T00:00").status_code == 303
    assert len(seeded.meters.registry.history("w-1")) == 1
    assert "moved_from" not in _audit(seeded, "meter.edit")[0].detail
