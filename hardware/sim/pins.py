"""Helpers over ``gpiozero.pins.mock.MockFactory`` pins: act on inputs, look at outputs.

``pin`` is any gpiozero pin name (``17``, ``"GPIO17"``, ``"BOARD11"``). An input with a pull-up
(the default for :class:`hardware.gpio.DigitalInput`) is active when driven *low*: a button or a
contact switching to ground.
"""

from __future__ import annotations

from gpiozero.pins.mock import MockFactory, MockPin

from hardware.errors import PinConfigError


def _input_pin(factory: MockFactory, pin: int | str) -> MockPin:
    p = factory.pin(pin)
    if p.function != "input":
        raise PinConfigError(f"pin {pin} is an output; only inputs can be driven from outside")
    return p


def press(factory: MockFactory, pin: int | str, *, pull_up: bool = True) -> None:
    """Make the input active: drive it low (``pull_up=True``, default) or high (pull-down)."""
    p = _input_pin(factory, pin)
    p.drive_low() if pull_up else p.drive_high()


def release(factory: MockFactory, pin: int | str, *, pull_up: bool = True) -> None:
    """Make the input inactive again: back to its pull level."""
    p = _input_pin(factory, pin)
    p.drive_high() if pull_up else p.drive_low()


def pin_state(factory: MockFactory, pin: int | str) -> bool:
    """The electrical level of a pin (True = high), e.g. what a relay output drives."""
    return bool(factory.pin(pin).state)
