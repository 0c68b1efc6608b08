"""The statement's estimate tolerance and gap threshold as admin settings on /meters/settings:
saved values change the marks of the next statement (page and CSV) and of the unit page, survive
a console restart, are validated per field, admin only, and audited."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Iterable

import pytest

from web.meters import MeterRules
from web.services import ServicesConfig, build_services

from mc_helpers import H, T0, add_meter, add_unit, csrf, login, save_settings

MIN = 60_000
METER = "w-a-101"


def _audit(svc: Any, action: str) -> list[Any]:
    from web.audit import AuditLog
    return AuditLog(svc.db).search(action=action)


def _readings(svc: Any, times: Iterable[int]) -> None:
    """Totals of ``METER`` at ``times``, rising 0.01 m³ each."""
    with svc.db.transaction():
        for i, ts in enumerate(sorted(times)):
            svc.meters.readings.add(METER, "total_volume_m3", ts, 100.0 + i * 0.01,
                                    reason="hour", node="meters-a")


def _january(svc: Any, clock: Any) -> Any:
    """Unit A-101 with ``METER``, the clock past the 2026-01 period; that period."""
    add_unit(svc, "A-101")
    add_meter(svc, METER, "A-101")
    period = svc.meters.period("2026-01")
    clock.now = period.end + 7 * 24 * H
    return period


def _every(start: int, end: int, step: int, *, skip: Iterable[int] = ()) -> list[int]:
    left_out = set(skip)
    return [t for t in range(start, end + 1, step) if t not in left_out]


def _csv_row(client: Any) -> dict[str, str]:
    text = client.get("/meters/statements.csv?period=2026-01").get_data(as_text=True)
    rows = {r["meter"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    return rows[METER]


def _statement_row(client: Any) -> str:
    page = client.get("/meters/statements?period=2026-01").get_data(as_text=True)
    found = re.search(rf'<tr data-statement-row="{METER}".*?</tr>', page, re.S)
    assert found
    return found.group(0)


def _history(client: Any) -> str:
    page = client.get("/meters/unit/A-101").get_data(as_text=True)
    return page[page.index("data-history"):]


def test_a_longer_estimate_tolerance_clears_the_estimated_start_mark(svc, client, clock) -> None:
    period = _january(svc, clock)
    # nearest readings 2 h either side of the period's start
    _readings(svc, _every(period.start - 5 * H, period.end + H, H,
                          skip=(period.start - H, period.start, period.start + H)))
    login(client, "admin1")
    assert _csv_row(client)["estimated_start"] == "yes"
    assert save_settings(client, estimate_tolerance_minutes=150).status_code == 303
    assert _csv_row(client)["estimated_start"] == "no"


def test_a_shorter_estimate_tolerance_marks_a_start_read_45_minutes_away(svc, client, clock) -> None:
    period = _january(svc, clock)
    _readings(svc, _every(period.start - 45 * MIN, period.end + H, 2 * H))   # nearest: 45 min
    login(client, "admin1")
    assert "mark-estimated_start" not in _statement_row(client)
    assert save_settings(client, estimate_tolerance_minutes=30).status_code == 303
    assert "mark-estimated_start" in _statement_row(client)


def test_a_longer_gap_threshold_clears_a_three_hour_gap(svc, client, clock) -> None:
    period = _january(svc, clock)
    middle = period.start + 10 * 24 * H
    _readings(svc, _every(period.start, period.end, H, skip=(middle, middle + H)))
    login(client, "admin1")
    assert "mark-gaps" in _statement_row(client)
    assert save_settings(client, gap_minutes=240).status_code == 303
    assert "mark-gaps" not in _statement_row(client)


def test_a_shorter_gap_threshold_marks_a_90_minute_gap_in_the_csv(svc, client, clock) -> None:
    period = _january(svc, clock)
    middle = period.start + 10 * 24 * H
    _readings(svc, _every(period.start, period.end, 30 * MIN,
                          skip=(middle, middle + 30 * MIN)))
    login(client, "admin1")
    assert _csv_row(client)["gaps"] == "0"
    assert save_settings(client, gap_minutes=61).status_code == 303
    row = _csv_row(client)
    assert row["gaps"] == "1" and row["gap_hours"] == "1.5"


def test_the_unit_page_history_marks_gaps_by_the_saved_threshold(svc, client, clock) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, METER, "A-101")
    clock.now = T0 + 2 * 24 * H
    _readings(svc, _every(T0, T0 + 24 * H, H, skip=(T0 + 20 * H, T0 + 21 * H)))
    login(client, "admin1")
    assert "mark-gaps" in _history(client)
    assert save_settings(client, gap_minutes=200).status_code == 303
    assert "mark-gaps" not in _history(client)


def test_saved_thresholds_survive_a_console_restart(svc, client, tmp_path, clock) -> None:
    login(client, "admin1")
    assert save_settings(client, estimate_tolerance_minutes=90, gap_minutes=300).status_code == 303
    again = build_services(ServicesConfig(db_path=tmp_path / "console.db", site="test-site",
                                          timezone="Asia/Shanghai"), clock=clock)
    with again:
        assert (again.meters.readings.tolerance_ms, again.meters.readings.gap_ms) == (
            90 * MIN, 300 * MIN)


def test_the_settings_page_shows_the_saved_thresholds(svc, client) -> None:
    login(client, "admin1")
    save_settings(client, estimate_tolerance_minutes=45, gap_minutes=180)
    page = client.get("/meters/settings").get_data(as_text=True)
    assert re.search(r'name="estimate_tolerance_minutes"[^>]*value="45"', page)
    assert re.search(r'name="gap_minutes"[^>]*value="180"', page)


@pytest.mark.parametrize("field, value, expected", [
    ("estimate_tolerance_minutes", "0", "720"),
    ("estimate_tolerance_minutes", "721", "720"),
    ("estimate_tolerance_minutes", "1.5", None),
    ("estimate_tolerance_minutes", "", None),
    ("gap_minutes", "60", "10080"),
    ("gap_minutes", "10081", "10080"),
    ("gap_minutes", "two hours", None),
])
def test_an_invalid_threshold_is_refused_naming_its_field_and_nothing_is_saved(
        svc, client, field, value, expected) -> None:
    login(client, "admin1")
    r = save_settings(client, **{field: value})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    label = re.search(rf'<label for="{field}">([^<]+)</label>', page).group(1)
    summary = re.search(r"<ul[^>]*data-form-errors>(.*?)</ul>", page, re.S).group(1)
    assert summary.count("<li>") == 1 and label in summary
    if expected:
        assert expected in summary
    assert svc.db.conn().execute("SELECT COUNT(*) FROM meter_settings").fetchone()[0] == 0
    assert svc.meters.rules.get() == MeterRules()
    assert _audit(svc, "meter.settings") == []


def test_desk_may_not_change_the_thresholds(svc, client) -> None:
    login(client, "desk1")
    form = {"csrf_token": csrf(client, "/"), "estimate_tolerance_minutes": "90",
            "gap_minutes": "240"}
    assert client.post("/meters/settings", data=form).status_code == 403
    assert svc.db.conn().execute("SELECT COUNT(*) FROM meter_settings").fetchone()[0] == 0


def test_a_threshold_change_is_audited_with_the_new_values(svc, client) -> None:
    login(client, "admin1")
    assert save_settings(client, estimate_tolerance_minutes=90, gap_minutes=240).status_code == 303
    (entry,) = _audit(svc, "meter.settings")
    assert entry.user == "admin1" and entry.target == "meters"
    assert entry.detail == "estimate_tolerance_minutes=90 gap_minutes=240"


def test_rules_saved_before_the_thresholds_existed_keep_the_default_thresholds(svc) -> None:
    saved = {k: v for k, v in json.loads(json.dumps(MeterRules(leak_hours=4).__dict__)).items()
             if k not in ("estimate_tolerance_minutes", "gap_minutes")}
    with svc.db.transaction() as c:
        c.execute("INSERT INTO meter_settings (name, value, updated_at, updated_by) "
                  "VALUES ('rules', ?, 0, 'old')", (json.dumps(saved),))
    rules = svc.meters.rules.get()
    assert rules.leak_hours == 4
    assert (rules.estimate_tolerance_minutes, rules.gap_minutes) == (60, 120)


@pytest.mark.parametrize("values", [{"gap_minutes": 60}, {"estimate_tolerance_minutes": 0},
                                    {"estimate_tolerance_minutes": 721}])
def test_meter_rules_refuse_thresholds_out_of_range(values) -> None:
    with pytest.raises(ValueError):
        MeterRules(**values)
