"""The meter registry's validation and CSV parsing (pure), and the chart geometry."""

from __future__ import annotations

import pytest

from web.meters import validate_meter
from web.meters.chart import bar_chart, nice_max
from web.meters.csv_io import export_rows, parse_csv


def test_a_valid_meter_gets_the_default_register_of_its_kind() -> None:
    meter, errors = validate_meter({"meter_id": "W-A-1201", "unit": "A-1201", "map": "water_generic"})
    assert errors == {}
    assert (meter.meter_id, meter.kind, meter.register) == ("w-a-1201", "water", "total_volume_m3")


@pytest.mark.parametrize("values,field,code", [
    ({"meter_id": "", "unit": "A-1", "kind": "water"}, "meter_id", "required"),
    ({"meter_id": "m_1", "unit": "A-1", "kind": "water"}, "meter_id", "bad_meter_id"),
    ({"meter_id": "m-1", "unit": "A1201", "kind": "water"}, "unit", "bad_unit"),
    ({"meter_id": "m-1", "unit": "A-1", "kind": "gas"}, "kind", "bad_kind"),
    ({"meter_id": "m-1", "unit": "A-1", "kind": "water", "map": "eastron_sdm120"}, "map", "map_kind"),
    ({"meter_id": "m-1", "unit": "A-1", "kind": "water", "slave": "0"}, "slave", "bad_slave"),
    ({"meter_id": "m-1", "unit": "A-1", "kind": "water", "slave": "x"}, "slave", "bad_slave"),
    ({"meter_id": "m-1", "unit": "A-1", "kind": "water", "node": "Node 1"}, "node", "bad_node"),
])
def test_a_bad_meter_field_is_reported_by_code(values, field, code) -> None:
    meter, errors = validate_meter(values)
    assert meter is None and code in errors[field]


def test_csv_refuses_unknown_units_and_duplicate_ids_row_by_row() -> None:
    text = ("\ufeffmeter_id,unit,kind\n"
            "e-1,A-1,electricity\n"
            "e-1,A-1,electricity\n"
            "e-2,B-9,electricity\n"
            "\n"
            "e-3,A-1,electricity,extra\n")
    plan = parse_csv(text, unit_exists=lambda u: u == "A-1")
    assert [m.meter_id for _, m in plan.meters] == ["e-1"]
    assert [(p.row, p.field, p.code) for p in plan.problems] == [
        (3, "meter_id", "duplicate_row"), (4, "unit", "unit_unknown"), (6, "row", "extra_cells")]


def test_csv_without_the_unit_column_imports_nothing() -> None:
    plan = parse_csv("meter_id,kind\ne-1,water\n", unit_exists=lambda u: True)
    assert plan.meters == [] and plan.problems[0].code == "missing_column"


def test_exported_rows_import_back_unchanged() -> None:
    import csv
    import io

    meter, _ = validate_meter({"meter_id": "e-1", "unit": "A-1", "kind": "electricity",
                               "node": "meters-a", "bus": "bus-1", "slave": "7", "note": "东侧"})
    buf = io.StringIO()
    csv.writer(buf).writerows(export_rows([meter]))
    plan = parse_csv(buf.getvalue(), unit_exists=lambda u: True)
    assert [m for _, m in plan.meters] == [meter]


def test_chart_axis_top_is_a_round_number_above_the_largest_bar() -> None:
    assert nice_max(7.3) == 10 and nice_max(0.18) == 0.2 and nice_max(0) == 1
    chart = bar_chart([("1", 2.0, False, "Jan 1"), ("2", None, False, "Jan 2"),
                       ("3", 4.0, True, "Jan 3")], unit="kWh")
    full, missing, est = chart.bars
    assert est.height == pytest.approx((chart.plot_bottom - 12) * 4 / 5)   # axis top 5
    assert missing.css == "bar bar-missing" and "no data" in missing.title
    assert est.css == "bar bar-estimated" and est.title == "Jan 3: 4 kWh (estimated)"
    assert full.height == pytest.approx(est.height / 2)
