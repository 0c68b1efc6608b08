"""``[cabinet]`` validation: every problem in one ConfigError, and the node config hook."""

from __future__ import annotations

import pytest

from edge.cabinet.settings import CabinetSettings
from edge.config import NESTED_SECTIONS
from edge.errors import ConfigError

GOOD = {"id": "main", "door_lock": 5, "door_contact": 6,
        "slots": [{"slot": 1, "lock": 12, "present": 13}, {"slot": 2, "lock": 16, "present": 19}]}


def test_a_good_gpio_table_builds_settings(tmp_path):
    s = CabinetSettings.from_mapping(GOOD, base_dir=tmp_path)
    assert [w.slot for w in s.slots] == [1, 2] and s.io == "gpio"
    assert s.state == tmp_path / "cabinet-state.json"


def test_every_problem_is_reported_at_once(tmp_path):
    bad = {"door_lock": 5, "door_contact": 5, "release_s": 0, "colour": "red",
           "slots": [{"slot": 1, "lock": 12, "present": 13}, {"slot": 1, "lock": 14}]}
    with pytest.raises(ConfigError) as err:
        CabinetSettings.from_mapping(bad, base_dir=tmp_path)
    text = "\n".join(err.value.errors)
    for expected in ("cabinet.colour: unknown key", "cabinet.release_s: must be >= 1",
                     "cabinet.slots[1].present: required", "cabinet.door_contact: 5 is already used"):
        assert expected in text


def test_modbus_io_needs_its_module_table(tmp_path):
    with pytest.raises(ConfigError) as err:
        CabinetSettings.from_mapping({**GOOD, "io": "modbus"}, base_dir=tmp_path)
    assert any("cabinet.modbus: required" in e for e in err.value.errors)


def test_cabinet_is_a_nested_section_of_the_node_config():
    assert "cabinet" in NESTED_SECTIONS


def test_fault_clear_reads_defaults_to_3(tmp_path):
    assert CabinetSettings.from_mapping(GOOD, base_dir=tmp_path).fault_clear_reads == 3


def test_fault_clear_reads_0_is_a_config_error_naming_the_setting(tmp_path):
    with pytest.raises(ConfigError) as err:
        CabinetSettings.from_mapping({**GOOD, "fault_clear_reads": 0}, base_dir=tmp_path)
    assert any(e.startswith("cabinet.fault_clear_reads:") and ">= 1" in e for e in err.value.errors)


def test_output_refresh_s_defaults_to_5(tmp_path):
    assert CabinetSettings.from_mapping(GOOD, base_dir=tmp_path).output_refresh_s == 5.0


def test_output_refresh_s_below_half_a_second_is_a_config_error_naming_the_setting(tmp_path):
    with pytest.raises(ConfigError) as err:
        CabinetSettings.from_mapping({**GOOD, "output_refresh_s": 0.1}, base_dir=tmp_path)
    assert any(e.startswith("cabinet.output_refresh_s:") and ">= 0.5" in e
               for e in err.value.errors)
