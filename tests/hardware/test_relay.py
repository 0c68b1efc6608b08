"""Relay: safe state at construction, on release and on close; non-blocking pulses."""

from __future__ import annotations

import pytest

from hardware import HardwareError, PinConfigError, Relay
from hardware.sim import pin_state

PIN = 18


@pytest.mark.parametrize("active_high, safe_state, level", [
    (True, "off", False), (True, "on", True), (False, "off", True), (False, "on", False)])
def test_construction_drives_the_pin_to_the_safe_state(pin_factory, active_high, safe_state, level) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory, active_high=active_high,
               safe_state=safe_state) as relay:
        assert pin_state(pin_factory, PIN) is level
        assert relay.is_safe
        assert relay.is_energised is (safe_state == "on")


@pytest.mark.parametrize("active_high", [True, False])
def test_construction_never_passes_through_the_unsafe_level(pin_factory, active_high) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory, active_high=active_high):
        levels = [s.state for s in pin_factory.pin(PIN).states]
    assert levels[-1] is (not active_high)
    assert active_high not in levels[1:]          # states[0] is the level before the relay existed


@pytest.mark.parametrize("safe_state, energised_when_actuated", [("off", True), ("on", False)])
def test_actuate_leaves_the_safe_state_and_release_returns(pin_factory, safe_state,
                                                           energised_when_actuated) -> None:
    with Relay(PIN, name="maglock", pin_factory=pin_factory, safe_state=safe_state) as relay:
        relay.actuate()
        assert relay.is_energised is energised_when_actuated and not relay.is_safe
        relay.release()
        assert relay.is_safe


def test_energise_drives_the_coil_on_an_active_low_board(pin_factory) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory, active_high=False) as relay:
        relay.energise()
        assert relay.is_energised and pin_state(pin_factory, PIN) is False


def test_pulse_returns_to_the_safe_state_by_itself(pin_factory) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory) as relay:
        relay.pulse(0.05)
        assert relay.is_energised and pin_state(pin_factory, PIN) is True
        assert relay.wait_safe(timeout_s=5)
        assert pin_state(pin_factory, PIN) is False
        assert relay.pulse_deadline is None


def test_pulse_of_a_maglock_de_energises_it(pin_factory) -> None:
    with Relay(PIN, name="maglock", pin_factory=pin_factory, safe_state="on") as relay:
        relay.pulse(0.05)
        assert not relay.is_energised
        assert relay.wait_safe(timeout_s=5) and relay.is_energised


def test_a_new_pulse_extends_but_never_shortens(pin_factory, clock) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory, clock=clock) as relay:
        relay.pulse(10)
        assert relay.pulse_deadline == clock.now + 10
        clock.now += 4
        relay.pulse(10)
        assert relay.pulse_deadline == clock.now + 10
        relay.pulse(1)
        assert relay.pulse_deadline == clock.now + 10
        assert relay.is_energised


def test_release_cancels_a_running_pulse(pin_factory) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory) as relay:
        relay.pulse(60)
        relay.release()
        assert relay.is_safe and relay.pulse_deadline is None


def test_a_pulse_while_held_is_absorbed(pin_factory) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory) as relay:
        relay.actuate()
        relay.pulse(0.01)
        assert relay.pulse_deadline is None and not relay.is_safe


def test_pulse_length_must_be_positive(pin_factory) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory) as relay:
        with pytest.raises(HardwareError):
            relay.pulse(0)


@pytest.mark.parametrize("active_high, safe_level", [(True, False), (False, True)])
def test_close_returns_to_the_safe_state_and_frees_the_pin(pin_factory, active_high, safe_level) -> None:
    relay = Relay(PIN, name="strike", pin_factory=pin_factory, active_high=active_high)
    relay.pulse(60)
    relay.close()
    relay.close()
    assert pin_state(pin_factory, PIN) is safe_level
    assert relay.is_safe
    Relay(PIN, name="again", pin_factory=pin_factory).close()   # the pin is free again


def test_commands_after_close_are_refused(pin_factory) -> None:
    relay = Relay(PIN, name="strike", pin_factory=pin_factory)
    relay.close()
    with pytest.raises(HardwareError):
        relay.actuate()


def test_an_unknown_safe_state_is_refused(pin_factory) -> None:
    with pytest.raises(PinConfigError):
        Relay(PIN, name="strike", pin_factory=pin_factory, safe_state="open")  # type: ignore[arg-type]


def test_a_pin_in_use_is_refused(pin_factory) -> None:
    with Relay(PIN, name="strike", pin_factory=pin_factory):
        with pytest.raises(PinConfigError):
            Relay(PIN, name="other", pin_factory=pin_factory)


def test_an_invalid_pin_is_refused(pin_factory) -> None:
    with pytest.raises(PinConfigError):
        Relay(99, name="strike", pin_factory=pin_factory)
