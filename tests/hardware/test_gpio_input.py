"""DigitalInput over MockFactory pins, and the pin factory chooser."""

from __future__ import annotations

import importlib.util

import pytest
from gpiozero.pins.mock import MockFactory

from hardware import DigitalInput, HardwareError, PinConfigError, make_pin_factory
from hardware.sim import press, release

PIN = 17


def test_on_change_reports_press_and_release(pin_factory, collector) -> None:
    with DigitalInput(PIN, name="exit-button", pin_factory=pin_factory, on_change=collector) as button:
        press(pin_factory, PIN)
        assert button.active
        release(pin_factory, PIN)
        assert not button.active
    assert collector.items == [("exit-button", True), ("exit-button", False)]


def test_pull_up_input_is_inactive_at_rest(pin_factory) -> None:
    with DigitalInput(PIN, name="door-contact", pin_factory=pin_factory) as contact:
        assert not contact.active


def test_pull_down_input_is_active_when_driven_high(pin_factory, collector) -> None:
    with DigitalInput(PIN, name="call", pin_factory=pin_factory, pull_up=False,
                      on_change=collector) as call:
        press(pin_factory, PIN, pull_up=False)
        assert call.active
    assert collector.items == [("call", True)]


def test_floating_input_uses_active_state(pin_factory) -> None:
    with DigitalInput(PIN, name="tamper", pin_factory=pin_factory, pull_up=None,
                      active_state=False) as tamper:
        pin_factory.pin(PIN).drive_low()
        assert tamper.active


def test_floating_input_without_active_state_is_refused(pin_factory) -> None:
    with pytest.raises(PinConfigError):
        DigitalInput(PIN, name="tamper", pin_factory=pin_factory, pull_up=None)


def test_on_change_exception_is_counted_and_the_input_keeps_working(pin_factory) -> None:
    def broken(name: str, active: bool) -> None:
        raise RuntimeError("consumer bug")

    with DigitalInput(PIN, name="exit-button", pin_factory=pin_factory, on_change=broken) as button:
        press(pin_factory, PIN)
        release(pin_factory, PIN)
        press(pin_factory, PIN)
        assert button.active
        assert button.counters == {"changes": 3, "callback_errors": 3}


def test_close_stops_callbacks_and_frees_the_pin(pin_factory, collector) -> None:
    button = DigitalInput(PIN, name="exit-button", pin_factory=pin_factory, on_change=collector)
    button.close()
    button.close()
    press(pin_factory, PIN)
    assert collector.items == []
    with pytest.raises(HardwareError):
        button.active
    DigitalInput(PIN, name="again", pin_factory=pin_factory).close()


def test_invalid_pin_is_refused(pin_factory) -> None:
    with pytest.raises(PinConfigError):
        DigitalInput("GPIO99", name="x", pin_factory=pin_factory)


def test_make_pin_factory_mock() -> None:
    factory = make_pin_factory("mock")
    assert isinstance(factory, MockFactory)
    factory.close()


def test_make_pin_factory_unknown_kind_is_refused() -> None:
    with pytest.raises(PinConfigError, match="unknown pin factory"):
        make_pin_factory("pigpio-remote")


@pytest.mark.skipif(importlib.util.find_spec("lgpio") is not None, reason="lgpio is installed here")
def test_make_pin_factory_real_factory_off_a_pi_is_a_pin_config_error() -> None:
    with pytest.raises(PinConfigError, match="lgpio"):
        make_pin_factory("lgpio")
