"""CommandSender: signed, recorded, published; results and expiry tracked."""

from __future__ import annotations

import json

import pytest

from mqtt_topics import CommandEnvelope, CommandResult, CommandVerifier
from mqtt_topics import topics as T
from web.commands import CommandSender
from web.db import Database
from web.errors import NotFound

from wd_helpers import KEY, SITE, T0, FakeClock


class Outbox:
    """A stand-in for Ingest.publish that keeps what it was given."""

    def __init__(self, connected: bool = True) -> None:
        self.sent: list[tuple[str, bytes, int, bool]] = []
        self.connected = connected

    def __call__(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        if self.connected:
            self.sent.append((topic, payload, qos, retain))
        return self.connected


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def sender(db: Database, outbox: Outbox, clock: FakeClock) -> CommandSender:
    return CommandSender(db=db, publish=outbox, site=SITE, node_keys={"lobby": KEY}, clock=clock)


def test_send_publishes_a_signed_command_the_node_accepts(sender: CommandSender, outbox: Outbox,
                                                          clock: FakeClock) -> None:
    env = sender.send("lobby", "relay.pulse", {"relay": "door", "seconds": 3}, issued_by="desk1")
    [(topic, payload, qos, retain)] = outbox.sent
    assert (topic, qos, retain) == (T.command(SITE, "lobby", "relay.pulse"), 1, False)
    cmd = CommandEnvelope.from_json(payload)
    assert cmd == env and cmd.args == {"relay": "door", "seconds": 3} and cmd.issued_by == "desk1"
    CommandVerifier(key=KEY, node="lobby", clock=clock).verify(cmd, action="relay.pulse")


def test_sent_command_is_recorded_pending(sender: CommandSender) -> None:
    env = sender.send("lobby", "relay.pulse", {}, issued_by="desk1", ttl_ms=10_000)
    rec = sender.status(env.cmd_id)
    assert (rec.state, rec.node, rec.action, rec.issued_by, rec.issued_at, rec.expires_at) == (
        "pending", "lobby", "relay.pulse", "desk1", T0, T0 + 10_000)


def test_ok_result_settles_the_command(sender: CommandSender) -> None:
    env = sender.send("lobby", "relay.pulse", {}, issued_by="desk1")
    assert sender.on_result("lobby", CommandResult(cmd_id=env.cmd_id, ok=True))
    assert sender.status(env.cmd_id).state == "ok"


def test_failed_result_keeps_the_reason(sender: CommandSender) -> None:
    env = sender.send("lobby", "relay.pulse", {}, issued_by="desk1")
    sender.on_result("lobby", CommandResult(cmd_id=env.cmd_id, ok=False, error="unknown_action: relay.pulse"))
    rec = sender.status(env.cmd_id)
    assert (rec.state, rec.error) == ("failed", "unknown_action: relay.pulse")


def test_result_from_another_node_is_ignored(sender: CommandSender) -> None:
    env = sender.send("lobby", "relay.pulse", {}, issued_by="desk1")
    assert not sender.on_result("gate", CommandResult(cmd_id=env.cmd_id, ok=True))
    assert sender.status(env.cmd_id).state == "pending"


def test_second_result_does_not_change_a_settled_command(sender: CommandSender) -> None:
    env = sender.send("lobby", "relay.pulse", {}, issued_by="desk1")
    sender.on_result("lobby", CommandResult(cmd_id=env.cmd_id, ok=True))
    assert not sender.on_result("lobby", CommandResult(cmd_id=env.cmd_id, ok=False, error="replayed"))
    assert sender.status(env.cmd_id).state == "ok"


def test_pending_command_past_expiry_reads_expired(sender: CommandSender, clock: FakeClock) -> None:
    env = sender.send("lobby", "relay.pulse", {}, issued_by="desk1", ttl_ms=5_000)
    clock.advance(5_000)
    assert sender.status(env.cmd_id).state == "pending"
    clock.advance(1)
    assert sender.status(env.cmd_id).state == "expired"
    assert [r.state for r in sender.recent()] == ["expired"]


def test_wait_returns_expired_once_the_clock_passes_expiry(sender: CommandSender, clock: FakeClock) -> None:
    env = sender.send("lobby", "relay.pulse", {}, issued_by="desk1", ttl_ms=1_000)
    clock.advance(2_000)
    assert sender.wait(env.cmd_id, timeout_s=5).state == "expired"


def test_command_not_handed_to_the_broker_fails_at_once(db: Database, clock: FakeClock) -> None:
    sender = CommandSender(db=db, publish=Outbox(connected=False), site=SITE,
                           node_keys={"lobby": KEY}, clock=clock)
    env = sender.send("lobby", "relay.pulse", {}, issued_by="desk1")
    rec = sender.status(env.cmd_id)
    assert (rec.state, rec.error) == ("failed", "not_sent")


def test_node_without_a_key_is_not_found(sender: CommandSender, outbox: Outbox) -> None:
    with pytest.raises(NotFound):
        sender.send("gate", "relay.pulse", {}, issued_by="desk1")
    assert outbox.sent == []


def test_unknown_command_status_is_not_found(sender: CommandSender) -> None:
    with pytest.raises(NotFound):
        sender.status("doesnotexist")


def test_recent_lists_newest_first_with_args(sender: CommandSender, clock: FakeClock) -> None:
    a = sender.send("lobby", "relay.pulse", {"relay": "a"}, issued_by="desk1")
    clock.advance(10)
    b = sender.send("lobby", "relay.pulse", {"relay": "b"}, issued_by="desk1")
    recs = sender.recent()
    assert [r.cmd_id for r in recs] == [b.cmd_id, a.cmd_id]
    assert json.dumps(recs[0].args) == '{"relay": "b"}'
