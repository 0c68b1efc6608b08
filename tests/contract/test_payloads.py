"""Every payload round-trips, and strict validation names what is wrong."""

import json

import pytest

from mqtt_topics import (MAX_PAYLOAD_BYTES, CommandResult, ConsoleStatus, ContractError,
                         EventEnvelope, NodeStatus, SyncSnapshot, Telemetry, make_event_id)


def _event(**over):
    base = dict(event_id=make_event_id("lobby", "b00t", 7), node="lobby", kind="card.read",
                ts=1_700_000_000_000, seq=7, data={"card": "0102030405"})
    base.update(over)
    return base


@pytest.mark.parametrize("obj", [
    NodeStatus(state="online", boot_id="abc123", ts=1, version="0.1.0"),
    ConsoleStatus(state="offline", ts=5, version="0.1.0"),
    EventEnvelope(**_event()),
    Telemetry(device="health", ts=3, values={"uptime_s": 12, "journal_depth": 0}),
    CommandResult(cmd_id="a1b2c3d4e5", ok=False, error="expired: 5 ms ago", ts=9),
    SyncSnapshot(dataset="credentials", version=4, ts=2, data={"cards": []}),
])
def test_payload_round_trips(obj):
    assert type(obj).from_json(obj.to_json()) == obj


def test_event_boot_id_is_read_from_event_id():
    assert EventEnvelope(**_event()).boot_id == "b00t"


@pytest.mark.parametrize("raw, message", [
    (b"not json", "not valid UTF-8 JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b"\xff\xfe", "not valid UTF-8"),
    (json.dumps({k: v for k, v in _event().items() if k != "seq"}), "missing field 'seq'"),
    (json.dumps(_event(seq="7")), "'seq' must be an integer"),
    (json.dumps(_event(seq=True)), "'seq' must be an integer"),
    (json.dumps(_event(ts=-1)), "'ts'=-1 out of range"),
    (json.dumps(_event(data=[1])), "'data' must be a JSON object"),
    (json.dumps(_event(extra=1)), "unknown field"),
    (json.dumps(_event(event_id="lobby:b00t:8")), "event_id must be"),
    (json.dumps(_event(event_id="gate:b00t:7")), "event_id must be"),
    (json.dumps(_event(kind="Card Read")), "event kind"),
    ('{"event_id": NaN}', "not valid UTF-8 JSON"),
])
def test_event_rejections_name_the_problem(raw, message):
    with pytest.raises(ContractError, match=message):
        EventEnvelope.from_json(raw)


def test_oversized_payload_is_refused_before_parsing():
    raw = b'{"pad": "' + b"x" * (256 * 1024) + b'"}'
    assert len(raw) > MAX_PAYLOAD_BYTES
    with pytest.raises(ContractError, match="exceeds"):
        EventEnvelope.from_json(raw)


def test_status_state_must_be_known():
    with pytest.raises(ContractError, match="state"):
        NodeStatus.from_json(b'{"state": "busy", "boot_id": "x", "ts": 1, "version": "1"}')


def test_command_result_needs_error_when_failed():
    with pytest.raises(ContractError, match="say why"):
        CommandResult(cmd_id="a1b2c3d4e5", ok=False)


def test_telemetry_refuses_non_finite_numbers():
    with pytest.raises(ContractError, match="finite"):
        Telemetry(device="health", ts=1, values={"x_ms": float("inf")})
