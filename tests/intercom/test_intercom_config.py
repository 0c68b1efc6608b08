"""``[intercom]`` in the node config: parsed into IntercomSettings, every problem reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import IntercomSettings, parse_config
from edge.errors import ConfigError
from edge_helpers import config_dict
from firmware.mosquitto import MosquittoBroker


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.errors


def test_intercom_section_parses_buttons_as_unit_to_pin_with_defaults(
        broker: MosquittoBroker, tmp_path: Path) -> None:
    cfg = parse_config(config_dict(broker, tmp_path, intercom={"buttons": {"1201": 17, "3-802": "GPIO27"}}))
    assert isinstance(cfg.intercom, IntercomSettings)
    assert cfg.intercom.buttons == {"1201": 17, "3-802": "GPIO27"} and cfg.intercom.name == "panel"
    assert cfg.intercom.scanner_port is None and cfg.intercom.public_key == b""
    assert (cfg.intercom.call_window_s, cfg.intercom.answer_timeout_s) == (30.0, 60.0)


def test_no_intercom_section_means_no_panel(broker: MosquittoBroker, tmp_path: Path) -> None:
    assert parse_config(config_dict(broker, tmp_path)).intercom is None


def test_intercom_problems_are_all_reported(broker: MosquittoBroker, tmp_path: Path) -> None:
    errs = errors_of(config_dict(broker, tmp_path, relays=[{"name": "strike", "pin": 25}],
                                 intercom={"buttons": {"Unit 1": 17}, "keypad_d0": 5,
                                           "door_pin": 25, "answer_timeout_s": 0}))
    assert any(e.startswith("intercom.buttons: units must match") for e in errs)
    assert any(e.startswith("intercom.keypad_d1: keypad_d0 and keypad_d1 go together") for e in errs)
    assert any(e.startswith("intercom.door_pin: pin 25 is already used by relays[0]") for e in errs)
    assert any(e.startswith("intercom.answer_timeout_s: must be >= 1") for e in errs)


def test_a_panel_needs_a_way_to_call(broker: MosquittoBroker, tmp_path: Path) -> None:
    errs = errors_of(config_dict(broker, tmp_path, intercom={"led_pin": 23}))
    assert any(e.startswith("intercom.buttons: give call buttons") for e in errs)


def test_a_button_pin_used_twice_in_the_panel_is_reported(broker: MosquittoBroker, tmp_path: Path) -> None:
    errs = errors_of(config_dict(broker, tmp_path, intercom={"buttons": {"1201": 17},
                                                             "emergency_pin": "GPIO17"}))
    assert any("intercom.emergency_pin: pin 'GPIO17' is already used by intercom.buttons.1201" in e
               for e in errs)
