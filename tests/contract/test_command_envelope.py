"""Signed commands: HMAC verification, expiry, skew and replay refusal."""

import pytest

from mqtt_topics import CommandEnvelope, CommandRejected, CommandVerifier, ContractError

KEY = b"k" * 32


class Clock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _cmd(now=1_000_000, **kw):
    return CommandEnvelope.create(node="lobby", action="relay.pulse", issued_by="admin",
                                  now_ms=now, args={"relay": "strike", "seconds": 3}, **kw)


def _verifier(clock):
    return CommandVerifier(key=KEY, node="lobby", clock=clock)


def test_signed_command_survives_the_wire_and_verifies():
    cmd = _cmd().signed(KEY)
    _verifier(Clock()).verify(CommandEnvelope.from_json(cmd.to_json()), action="relay.pulse")


@pytest.mark.parametrize("make, reason", [
    (lambda: _cmd(), "unsigned"),
    (lambda: _cmd().signed(b"x" * 32), "bad_signature"),
    (lambda: _cmd(now=1_000_000 - 120_000).signed(KEY), "expired"),
    (lambda: _cmd(now=1_000_000 + 120_000).signed(KEY), "not_yet_valid"),
    (lambda: _cmd(ttl_ms=3_600_000).signed(KEY), "bad_lifetime"),
])
def test_verifier_refuses_with_reason(make, reason):
    with pytest.raises(CommandRejected) as exc:
        _verifier(Clock()).verify(make())
    assert exc.value.reason == reason


def test_tampered_args_break_the_signature():
    cmd = _cmd().signed(KEY)
    raw = cmd.to_json().replace(b'"seconds":3', b'"seconds":300')
    with pytest.raises(CommandRejected) as exc:
        _verifier(Clock()).verify(CommandEnvelope.from_json(raw))
    assert exc.value.reason == "bad_signature"


def test_replayed_command_is_refused():
    v, cmd = _verifier(Clock()), _cmd().signed(KEY)
    v.verify(cmd)
    with pytest.raises(CommandRejected) as exc:
        v.verify(cmd)
    assert exc.value.reason == "replayed"


def test_command_for_another_node_is_refused():
    cmd = CommandEnvelope.create(node="gate", action="node.ping", issued_by="a", now_ms=1_000_000).signed(KEY)
    with pytest.raises(CommandRejected) as exc:
        _verifier(Clock()).verify(cmd)
    assert exc.value.reason == "wrong_node"


def test_topic_action_must_match_envelope():
    with pytest.raises(CommandRejected) as exc:
        _verifier(Clock()).verify(_cmd().signed(KEY), action="node.ping")
    assert exc.value.reason == "bad_payload"


def test_verifier_forgets_expired_ids_but_still_refuses_them_as_expired():
    clock = Clock()
    v, cmd = _verifier(clock), _cmd().signed(KEY)
    v.verify(cmd)
    clock.now += 10 * 60_000
    with pytest.raises(CommandRejected) as exc:
        v.verify(cmd)
    assert exc.value.reason == "expired"


def test_short_keys_are_refused():
    with pytest.raises(ContractError):
        CommandVerifier(key=b"short", node="lobby", clock=Clock())
