"""Topic builders and the parser agree, and malformed topics are refused."""

import pytest

from mqtt_topics import ContractError, Topic, TopicKind
from mqtt_topics import topics as T


@pytest.mark.parametrize("topic, parsed", [
    ("lobbygate/v1/s1/lobby/status", Topic(TopicKind.STATUS, "s1", "lobby")),
    ("lobbygate/v1/s1/lobby/event/card.read", Topic(TopicKind.EVENT, "s1", "lobby", "card.read")),
    ("lobbygate/v1/s1/gate/telemetry/health", Topic(TopicKind.TELEMETRY, "s1", "gate", "health")),
    ("lobbygate/v1/s1/gate/cmd/relay.pulse", Topic(TopicKind.COMMAND, "s1", "gate", "relay.pulse")),
    ("lobbygate/v1/s1/gate/cmd_result", Topic(TopicKind.COMMAND_RESULT, "s1", "gate")),
    ("lobbygate/v1/s1/console/status", Topic(TopicKind.CONSOLE_STATUS, "s1")),
    ("lobbygate/v1/s1/sync/credentials", Topic(TopicKind.SYNC, "s1", None, "credentials")),
])
def test_parse_and_build_round_trip(topic, parsed):
    assert T.parse(topic) == parsed
    assert str(parsed) == topic


@pytest.mark.parametrize("bad", [
    "", "lobbygate", "other/v1/s1/lobby/status", "lobbygate/v2/s1/lobby/status",
    "lobbygate/v1/S1/lobby/status", "lobbygate/v1/s1/Lobby/status", "lobbygate/v1/s1/lobby/event",
    "lobbygate/v1/s1/lobby/event/Card", "lobbygate/v1/s1/lobby/event/a/b", "lobbygate/v1/s1/lobby/nope",
    "lobbygate/v1/s1/" + "x" * 33 + "/status", "lobbygate/v1/s1/sync/a/b",
    "lobbygate/v1/s1/lobby/event/card read",
])
def test_parse_rejects_malformed_topic(bad):
    with pytest.raises(ContractError):
        T.parse(bad)


def test_builders_refuse_reserved_node_ids():
    with pytest.raises(ContractError, match="reserved"):
        T.event("s1", "console", "card.read")


def test_builders_refuse_wildcards_in_names():
    with pytest.raises(ContractError):
        T.event("s1", "lobby", "#")
    with pytest.raises(ContractError):
        T.command("s1", "+", "relay.pulse")


def test_filters_cover_their_topics():
    assert T.site_filter("s1") == "lobbygate/v1/s1/#"
    assert T.node_commands_filter("s1", "lobby") == "lobbygate/v1/s1/lobby/cmd/+"
    assert T.sync_filter("s1") == "lobbygate/v1/s1/sync/+"
