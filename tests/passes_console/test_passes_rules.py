"""The desk's rules for a goods pass (web.passes.model.check_draft), without Flask."""

from __future__ import annotations

from web.passes import PassLine, check_draft
from web.units import Resident, Unit

from pc_helpers import T0, TODAY_END, TODAY_START, UNIT, draft

REG = Unit(code=UNIT, building="A", number="1201", residents=(
    Resident("王芳", "", "owner"), Resident("李雷", "", "household"), Resident("张三", "", "tenant")))


def test_owner_in_person_registered_in_the_unit_passes() -> None:
    assert check_draft(draft(), unit=REG, now_ms=T0) == {}


def test_household_member_in_person_passes() -> None:
    assert check_draft(draft(carrier_name="李 雷", carrier_relation="household"), unit=REG,
                       now_ms=T0) == {}


def test_owner_carrier_not_registered_as_owner_is_refused() -> None:
    errors = check_draft(draft(carrier_name="张三"), unit=REG, now_ms=T0)
    assert errors == {"carrier_name": ["not_resident"]}


def test_tenant_without_letter_is_refused() -> None:
    errors = check_draft(draft(carrier_name="张三", carrier_relation="tenant"), unit=REG, now_ms=T0)
    assert errors == {"authorisation": ["letter_required"]}


def test_mover_with_letter_needs_its_reference() -> None:
    errors = check_draft(draft(carrier_name="搬家公司", carrier_relation="mover",
                               authorisation="letter"), unit=REG, now_ms=T0)
    assert errors == {"letter_ref": ["letter_ref_required"]}
    assert check_draft(draft(carrier_name="搬家公司", carrier_relation="mover",
                             authorisation="letter", letter_ref="WT-0301"),
                       unit=REG, now_ms=T0) == {}


def test_unknown_unit_is_refused() -> None:
    assert check_draft(draft(unit="Z-9"), unit=None, now_ms=T0) == {"unit": ["unknown_unit"]}


def test_id_last4_is_four_digits_or_x() -> None:
    assert check_draft(draft(carrier_id_last4="12345"), unit=REG, now_ms=T0) == \
        {"carrier_id_last4": ["bad_last4"]}
    assert check_draft(draft(carrier_id_last4="123X"), unit=REG, now_ms=T0) == {}


def test_no_items_is_refused() -> None:
    assert check_draft(draft(items=()), unit=REG, now_ms=T0) == {"items": ["no_items"]}


def test_quantity_out_of_range_is_refused() -> None:
    assert check_draft(draft(items=(PassLine("箱", 0),)), unit=REG, now_ms=T0) == \
        {"items": ["item_quantity"]}


def test_window_that_already_ended_is_refused() -> None:
    assert check_draft(draft(), unit=REG, now_ms=TODAY_END + 60_000) == \
        {"valid_until": ["until_past"]}


def test_window_ending_before_it_starts_is_refused() -> None:
    assert check_draft(draft(valid_from_ms=TODAY_END, valid_until_ms=TODAY_START), unit=REG,
                       now_ms=T0) == {"valid_until": ["until_before_from"]}


def test_bad_vehicle_plate_is_refused() -> None:
    assert check_draft(draft(vehicle_plate="<b>"), unit=REG, now_ms=T0) == \
        {"vehicle_plate": ["bad_plate"]}


def test_tool_pass_needs_no_letter() -> None:
    assert check_draft(draft(kind="tools", carrier_name="赵工", carrier_relation="worker",
                             authorisation="desk"), unit=REG, now_ms=T0) == {}
