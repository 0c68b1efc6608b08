"""The intercom panel on a node, against a real broker: call buttons, keypad, desk commands,
timeouts, the help button, and calls made while the broker is down."""

from __future__ import annotations

from pathlib import Path

from edge.journal import utc_ms
from edge_helpers import SessionProbe, events
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe, wait_until
from hardware.sim import WiegandSimulator, pin_state
from intercom_helpers import (BUTTON_1201, BUTTON_1202, DOOR, HELP, KEYPAD_D0, KEYPAD_D1, push,
                              result_for, send, start_panel, wait_events)
from mqtt_topics.kinds import is_alarm


def test_a_call_button_press_is_an_intercom_call_event(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1202)
    (call,) = wait_events(probe, "intercom.call")
    assert call.data == {"panel": "lobby-panel", "call_id": call.data["call_id"], "unit": "1202",
                         "via": "button"}
    assert panel.calls[call.data["call_id"]].state == "calling"


def test_the_panel_shows_calling_on_the_led_and_rings_the_buzzer(
        broker: MosquittoBroker, tmp_path: Path, start_node) -> None:
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    assert not panel.led.is_energised and not panel.buzzer.is_energised and panel.door.is_safe
    push(factory, BUTTON_1201)
    assert panel.panel_state == "calling"
    assert panel.led.is_energised and panel.buzzer.is_energised


def test_pressing_again_within_the_window_is_counted_not_a_second_call(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    _, panel, factory, clock = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1201)
    clock.now += 5
    push(factory, BUTTON_1201)
    push(factory, BUTTON_1201)
    (call,) = wait_events(probe, "intercom.call")
    assert panel.counters()["collapsed"] == 2 and panel.counters()["calls"] == 1
    send(console, "intercom.answer", args={"call_id": call.data["call_id"]})
    (answered,) = wait_events(probe, "intercom.answered")
    assert answered.data["repeats"] == 2                     # the count reaches the desk
    assert len(events(probe.messages, "intercom.call")) == 1


def test_a_press_after_the_window_once_the_call_ended_is_a_new_call(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    _, panel, factory, clock = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1201)
    (first,) = wait_events(probe, "intercom.call")
    result_for(console, send(console, "intercom.no_answer",
                             args={"call_id": first.data["call_id"]}).cmd_id)
    clock.now += 31
    push(factory, BUTTON_1201)
    calls = wait_events(probe, "intercom.call", 2)
    assert calls[1].data["call_id"] != first.data["call_id"]


def test_another_unit_is_its_own_call(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    _, _, factory, _ = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1201)
    push(factory, BUTTON_1202)
    calls = wait_events(probe, "intercom.call", 2)
    assert [c.data["unit"] for c in calls] == ["1201", "1202"]


def test_keying_a_unit_and_hash_on_the_keypad_is_a_keypad_call(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    _, _, factory, _ = start_panel(broker, tmp_path, start_node)
    WiegandSimulator(factory, KEYPAD_D0, KEYPAD_D1).press_keys("801#")
    (call,) = wait_events(probe, "intercom.call")
    assert (call.data["unit"], call.data["via"]) == ("801", "keypad")


def test_a_keyed_unit_not_on_the_list_is_counted_and_not_called(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    sim = WiegandSimulator(factory, KEYPAD_D0, KEYPAD_D1)
    sim.press_keys("999#")
    assert wait_until(lambda: panel.counters()["unknown_units"] == 1)
    sim.press_keys("12*1201#")                            # * starts the number again
    (call,) = wait_events(probe, "intercom.call")
    assert call.data["unit"] == "1201"


def test_answer_command_journals_answered_with_the_operator_and_quiets_the_panel(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    node, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    assert node.bridge.wait_ready(10)
    push(factory, BUTTON_1201)
    (call,) = wait_events(probe, "intercom.call")
    cmd = send(console, "intercom.answer", args={"call_id": call.data["call_id"]},
               issued_by="desk-wang")
    assert result_for(console, cmd.cmd_id).ok
    (answered,) = wait_events(probe, "intercom.answered")
    assert answered.data["by"] == "desk-wang" and answered.data["cmd_id"] == cmd.cmd_id
    assert answered.data["unit"] == "1201" and answered.data["call_id"] == call.data["call_id"]
    assert panel.panel_state == "answered"
    assert panel.led.is_energised and not panel.buzzer.is_energised


def test_open_command_pulses_the_door_strike_and_journals_door_opened_with_the_operator(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    node, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    assert node.bridge.wait_ready(10)
    push(factory, BUTTON_1201)
    (call,) = wait_events(probe, "intercom.call")
    cid = call.data["call_id"]
    assert result_for(console, send(console, "intercom.answer", args={"call_id": cid}).cmd_id).ok
    cmd = send(console, "intercom.open", args={"call_id": cid}, issued_by="desk-zhao")
    assert result_for(console, cmd.cmd_id).ok
    (opened,) = wait_events(probe, "intercom.door_opened")
    assert opened.data == {"panel": "lobby-panel", "call_id": cid, "unit": "1201",
                           "by": "desk-zhao", "cmd_id": cmd.cmd_id, "seconds": 30.0}
    assert panel.door.is_energised and pin_state(factory, DOOR)
    assert panel.panel_state == "opening" and panel.buzzer.is_energised
    assert panel.calls[cid].state == "ended"


def test_an_unsigned_open_is_refused_and_the_door_stays_locked(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    node, panel, _, _ = start_panel(broker, tmp_path, start_node)
    assert node.bridge.wait_ready(10)
    cmd = send(console, "intercom.open", signed=False)
    result = result_for(console, cmd.cmd_id)
    assert not result.ok and result.error.startswith("unsigned")
    (refused,) = wait_events(probe, "command.refused")
    assert refused.data["action"] == "intercom.open"
    assert panel.door.is_safe and not events(probe.messages, "intercom.door_opened")


def test_no_answer_command_ends_the_call_and_beeps(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node) -> None:
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1202)
    (call,) = wait_events(probe, "intercom.call")
    cmd = send(console, "intercom.no_answer", args={"call_id": call.data["call_id"]})
    assert result_for(console, cmd.cmd_id).ok
    (ended,) = wait_events(probe, "intercom.no_answer")
    assert ended.data["by"] == "desk-li" and ended.data["unit"] == "1202"
    assert panel.panel_state == "no_answer" and not panel.led.is_energised


def test_answering_a_call_that_is_not_ringing_is_a_bad_payload(
        broker: MosquittoBroker, console: MqttProbe, tmp_path: Path, start_node) -> None:
    node, _, _, _ = start_panel(broker, tmp_path, start_node)
    assert node.bridge.wait_ready(10)
    result = result_for(console, send(console, "intercom.answer", args={"call_id": "nope-1"}).cmd_id)
    assert not result.ok and result.error.startswith("bad_payload")


def test_an_unanswered_call_times_out_on_the_node(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    _, panel, factory, clock = start_panel(broker, tmp_path, start_node)
    push(factory, BUTTON_1201)
    (call,) = wait_events(probe, "intercom.call")
    clock.now += 59
    assert panel.check_timeouts() == []                   # not yet
    clock.now += 1
    (timeout,) = wait_events(probe, "intercom.timeout")
    assert timeout.data["call_id"] == call.data["call_id"] and timeout.data["after_s"] >= 60
    assert panel.calls[call.data["call_id"]].state == "ended"
    assert panel.panel_state == "no_answer"


def test_the_emergency_button_raises_an_alarm_and_repeats_are_counted(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    _, panel, factory, clock = start_panel(broker, tmp_path, start_node)
    push(factory, HELP)
    push(factory, HELP)
    clock.now += 10
    push(factory, HELP)
    alarms = wait_events(probe, "intercom.emergency", 2)
    assert is_alarm("intercom.emergency")
    assert [a.data for a in alarms] == [{"panel": "lobby-panel", "repeats": 0},
                                        {"panel": "lobby-panel", "repeats": 1}]
    assert panel.counters()["emergency_collapsed"] == 1


def test_a_call_made_while_the_broker_is_down_is_journaled_and_delivered_later(
        broker: MosquittoBroker, tmp_path: Path, start_node) -> None:
    with SessionProbe(broker) as watcher:
        node, panel, factory, _ = start_panel(broker, tmp_path, start_node)
        assert node.bridge.wait_ready(10)
        broker.stop()
        assert wait_until(lambda: not node.bridge.connected)
        push(factory, BUTTON_1201)
        assert panel.counters()["calls"] == 1 and node.journal.stats().unsent >= 1
        back_at = utc_ms()
        broker.start()
        assert watcher.wait_for(lambda ms: events(ms, "intercom.call"), timeout_s=20)
        call = events(watcher.messages, "intercom.call")[0]
        assert call.data["unit"] == "1201" and call.ts <= back_at
