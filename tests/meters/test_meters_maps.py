"""Register maps as data: the built-in maps, validation reporting every problem, block planning."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware.meters import MapError, builtin_maps, load_map, parse_map, plan_blocks


def _doc(**meter_overrides):
    meter = {"model": "Test", "kind": "water"}
    meter.update(meter_overrides)
    return {"meter": meter, "registers": [
        {"name": "total_volume_m3", "address": 0, "function": "holding", "type": "uint32"}]}


def test_the_three_builtin_maps_are_shipped():
    assert set(builtin_maps()) >= {"eastron_sdm120", "eastron_sdm630", "water_generic"}


@pytest.mark.parametrize("name", ["eastron_sdm120", "eastron_sdm630", "water_generic"])
def test_builtin_maps_load(name):
    m = load_map(name)
    assert m.name == name and m.registers and m.totals


def test_eastron_sdm120_has_the_issue_readings():
    m = load_map("eastron_sdm120")
    assert {r.name for r in m.registers} == {"voltage_v", "current_a", "active_power_w", "frequency_hz",
                                            "import_energy_kwh", "export_energy_kwh"}
    assert all(r.function == "input" and r.type == "float32" and r.word_order == "big" for r in m.registers)


def test_water_meter_totals_are_little_endian_litres():
    (total,) = load_map("water_generic").totals
    assert (total.name, total.word_order, total.scale, total.function) == ("total_volume_m3", "little", 0.001, "holding")


def test_every_problem_is_reported_at_once():
    doc = {"meter": {"model": "", "kind": "gas", "colour": "red"}, "registers": [
        {"name": "Voltage", "address": -1, "function": "coil", "type": "int8"},
        {"name": "a_v", "address": 0, "function": "input", "type": "float32", "scale": 0},
        {"name": "a_v", "address": 1, "function": "input", "type": "uint16", "word_order": "middle"},
    ]}
    with pytest.raises(MapError) as info:
        parse_map(doc, name="bad")
    text = "\n".join(info.value.errors)
    for expected in ["meter.model", "meter.kind", "meter.colour: unknown key", "registers[0].name",
                     "registers[0].address", "registers[0].function", "registers[0].type",
                     "registers[1].scale", "registers[2].name: 'a_v' is already used",
                     "registers[2].word_order"]:
        assert expected in text
    assert len(info.value.errors) == 10


def test_overlapping_registers_are_refused():
    doc = _doc()
    doc["registers"].append({"name": "flow_m3_h", "address": 1, "function": "holding", "type": "uint16"})
    with pytest.raises(MapError, match="overlaps"):
        parse_map(doc, name="x")


def test_a_map_without_registers_is_refused():
    with pytest.raises(MapError, match="at least one"):
        parse_map({"meter": {"model": "m", "kind": "water"}}, name="x")


def test_unknown_map_names_the_builtin_ones():
    with pytest.raises(MapError, match="eastron_sdm120"):
        load_map("no_such_meter")


def test_a_map_file_is_loaded_by_path_relative_to_base_dir(tmp_path: Path):
    (tmp_path / "mine.toml").write_text(
        '[meter]\nmodel = "Mine"\nkind = "water"\n[[registers]]\nname = "total_volume_m3"\n'
        'address = 0x10\nfunction = "input"\ntype = "uint32"\ntotal = true\n')
    m = load_map("mine.toml", base_dir=tmp_path)
    assert (m.name, m.registers[0].address) == ("mine", 16)


def test_toml_syntax_errors_are_map_errors(tmp_path: Path):
    (tmp_path / "broken.toml").write_text("[meter\n")
    with pytest.raises(MapError, match="not valid TOML"):
        load_map(tmp_path / "broken.toml")


def test_sdm120_is_read_in_two_blocks():
    blocks = plan_blocks(load_map("eastron_sdm120"))
    assert [(b.function, b.address, b.count) for b in blocks] == [("input", 0, 14), ("input", 0x46, 6)]


def test_strictly_contiguous_without_max_gap():
    doc = _doc()
    doc["registers"] += [{"name": "flow_m3_h", "address": 2, "function": "holding", "type": "uint16"},
                         {"name": "temp_c", "address": 4, "function": "holding", "type": "int16"}]
    blocks = plan_blocks(parse_map(doc, name="x"))
    assert [(b.address, b.count) for b in blocks] == [(0, 3), (4, 1)]


def test_blocks_respect_max_block():
    doc = _doc(max_block=2)
    doc["registers"].append({"name": "flow_m3_h", "address": 2, "function": "holding", "type": "uint16"})
    assert [(b.address, b.count) for b in plan_blocks(parse_map(doc, name="x"))] == [(0, 2), (2, 1)]


def test_input_and_holding_registers_are_never_in_one_block():
    doc = _doc()
    doc["registers"].append({"name": "flow_m3_h", "address": 2, "function": "input", "type": "uint16"})
    assert [(b.function, b.address) for b in plan_blocks(parse_map(doc, name="x"))] == [
        ("input", 2), ("holding", 0)]
