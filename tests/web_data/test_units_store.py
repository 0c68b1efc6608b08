"""The unit registry: validation, save/replace, search, vacancy."""

from __future__ import annotations

import pytest

import web.units  # noqa: F401  (registers the units table)
from web.db import Database
from web.units import UnitError, UnitExists, UnitNotFound, UnitStore, parse_unit

from wd_helpers import FakeClock


@pytest.fixture
def units(db: Database, clock: FakeClock) -> UnitStore:
    db.close()
    db.open()
    return UnitStore(db, clock=clock)


def _unit(**over):
    values = {"building": "A", "number": "1201", "vacant": "no",
              "residents": [{"name": "王芳", "phone": "138 0000 1234", "relation": "owner"}]}
    values.update(over)
    return parse_unit(values)


def test_parse_unit_builds_the_code_from_building_and_number() -> None:
    assert _unit().code == "A-1201"


def test_parse_unit_reports_every_problem_at_once() -> None:
    with pytest.raises(UnitError) as err:
        parse_unit({"building": "", "number": "", "residents": [{"name": "", "phone": "x",
                                                                "relation": "cousin"}]})
    text = " ".join(err.value.errors)
    for part in ("building: required", "number: required", "residents[0].name", "phone",
                 "relation"):
        assert part in text


def test_saved_unit_reads_back_with_its_residents(units: UnitStore) -> None:
    units.save(_unit(), by="admin", create=True)
    got = units.require("A-1201")
    assert got.residents[0].name == "王芳" and got.updated_by == "admin"


def test_creating_an_existing_unit_is_refused(units: UnitStore) -> None:
    units.save(_unit(), by="admin", create=True)
    with pytest.raises(UnitExists):
        units.save(_unit(), by="admin", create=True)


def test_replacing_an_unknown_unit_is_refused(units: UnitStore) -> None:
    with pytest.raises(UnitNotFound):
        units.save(_unit(), by="admin", create=False)


def test_search_finds_a_unit_by_resident_phone(units: UnitStore) -> None:
    units.save(_unit(), by="admin", create=True)
    units.save(_unit(number="1202", residents=[]), by="admin", create=True)
    assert [u.code for u in units.search(text="0000 1234")] == ["A-1201"]


def test_search_orders_numbers_numerically(units: UnitStore) -> None:
    for number in ("1201", "201", "1001"):
        units.save(_unit(number=number), by="admin", create=True)
    assert [u.number for u in units.search()] == ["201", "1001", "1201"]


def test_set_vacant_marks_the_unit_vacant(units: UnitStore) -> None:
    units.save(_unit(), by="admin", create=True)
    units.set_vacant("A-1201", True, by="admin")
    assert units.is_vacant("A-1201") and not units.is_vacant("B-1")
