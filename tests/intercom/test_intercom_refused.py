"""The desk's ``intercom.refused`` command on the panel (the resident said no), against a real
broker: the call ends as ``intercom.refused`` and the buzzer plays the refused pattern."""

from __future__ import annotations

from pathlib import Path

from edge.extensions.intercom import REFUSED_BEEPS
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe
from intercom_helpers import (BUTTON_1201, BUTTON_1202, push, result_for, send, start_panel,
                              wait_events)


def test_refused_command_ends_the_call_with_an_intercom_refused_event(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1202)
    (call,) = wait_events(probe, "intercom.call")
    cmd = send(console, "intercom.refused", args={"call_id": call.data["call_id"]})
    assert result_for(console, cmd.cmd_id).ok
    (ended,) = wait_events(probe, "intercom.refused")
    assert (ended.data["by"], ended.data["unit"], ended.data["cmd_id"]) == ("desk-li", "1202", cmd.cmd_id)
    assert panel.calls[call.data["call_id"]].state == "ended"
    assert panel.panel_state == "refused" and not panel.led.is_energised
    assert panel.counters()["refused"] == 1


def test_refused_pattern_is_three_short_beeps_on_the_monotonic_clock(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    _, panel, factory, clock = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1201)
    (call,) = wait_events(probe, "intercom.call")
    assert result_for(console, send(console, "intercom.refused",
                                    args={"call_id": call.data["call_id"]}).cmd_id).ok
    t0 = clock.now
    seen = [panel.buzzer.is_energised]                 # the ring is cut, the first beep starts
    at = t0
    for on_s, off_s in REFUSED_BEEPS:
        panel.play_beeps(at=at + on_s / 2)
        seen.append(panel.buzzer.is_energised)
        panel.play_beeps(at=at + on_s + 0.01)
        seen.append(panel.buzzer.is_energised)
        at += on_s + off_s
    assert seen == [True, True, False, True, False, True, False]
    assert panel.buzzer.pulse_deadline is None         # not the ring's / no-answer's timed pulse


def test_refusing_a_call_that_already_ended_is_a_bad_payload(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    _, _, factory, _ = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1201)
    (call,) = wait_events(probe, "intercom.call")
    args = {"call_id": call.data["call_id"]}
    assert result_for(console, send(console, "intercom.no_answer", args=args).cmd_id).ok
    result = result_for(console, send(console, "intercom.refused", args=args).cmd_id)
    assert not result.ok and result.error.startswith("bad_payload")
