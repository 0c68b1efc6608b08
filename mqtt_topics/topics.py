"""Topic builders and the one topic parser.  Nothing else in lobbygate spells a topic string.

Layout (DESIGN.md, contract v1)::

    lobbygate/v1/{site}/{node}/status
    lobbygate/v1/{site}/{node}/event/{kind}
    lobbygate/v1/{site}/{node}/telemetry/{device}
    lobbygate/v1/{site}/{node}/cmd/{action}
    lobbygate/v1/{site}/{node}/cmd_result
    lobbygate/v1/{site}/console/status
    lobbygate/v1/{site}/sync/{dataset}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .errors import ContractError

SCHEMA_VERSION = 1
ROOT = "lobbygate"
PREFIX = f"{ROOT}/v{SCHEMA_VERSION}"

_ID_RE = re.compile(r"^[a-z0-9-]{1,32}$")
# event kinds, command actions, telemetry devices, datasets: dotted lower-case words.
_NAME_RE = re.compile(r"^[a-z0-9_-]{1,32}(\.[a-z0-9_-]{1,32}){0,3}$")

#: Node ids that would collide with the site-level topics.
RESERVED_NODE_IDS = frozenset({"console", "sync"})


class TopicKind(str, Enum):
    """What a topic carries; the value is the topic's own word."""

    STATUS = "status"
    EVENT = "event"
    TELEMETRY = "telemetry"
    COMMAND = "cmd"
    COMMAND_RESULT = "cmd_result"
    CONSOLE_STATUS = "console_status"
    SYNC = "sync"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic.  ``node`` is ``None`` for site-level topics; ``name`` is the
    event kind, telemetry device, command action or sync dataset where the topic has one."""

    kind: TopicKind
    site: str
    node: str | None = None
    name: str | None = None

    def __str__(self) -> str:  # the topic string again
        return build(self)


def check_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a valid site/node id (``[a-z0-9-]{1,32}``) else raise."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ContractError(f"{what} must match [a-z0-9-]{{1,32}}, got {value!r}")
    return value


def check_node_id(value: object) -> str:
    """Like :func:`check_id` and also refuse the reserved words ``console`` and ``sync``."""
    check_id(value, "node id")
    if value in RESERVED_NODE_IDS:
        raise ContractError(f"node id {value!r} is reserved")
    return value  # type: ignore[return-value]


def check_name(value: object, what: str = "name") -> str:
    """Validate an event kind / action / device / dataset name (``card.read``)."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ContractError(f"{what} must be dotted lower-case words like 'card.read', got {value!r}")
    return value


def status(site: str, node: str) -> str:
    """``…/{node}/status``: retained online/offline, the node's Will."""
    return f"{PREFIX}/{check_id(site, 'site')}/{check_node_id(node)}/status"


def event(site: str, node: str, kind: str) -> str:
    """``…/{node}/event/{kind}``: one event envelope, QoS 1."""
    return f"{PREFIX}/{check_id(site, 'site')}/{check_node_id(node)}/event/{check_name(kind, 'event kind')}"


def telemetry(site: str, node: str, device: str) -> str:
    """``…/{node}/telemetry/{device}``: readings and health figures."""
    return f"{PREFIX}/{check_id(site, 'site')}/{check_node_id(node)}/telemetry/{check_name(device, 'device')}"


def command(site: str, node: str, action: str) -> str:
    """``…/{node}/cmd/{action}``: a signed command envelope to the node."""
    return f"{PREFIX}/{check_id(site, 'site')}/{check_node_id(node)}/cmd/{check_name(action, 'action')}"


def command_result(site: str, node: str) -> str:
    """``…/{node}/cmd_result``: the node's answer to a command."""
    return f"{PREFIX}/{check_id(site, 'site')}/{check_node_id(node)}/cmd_result"


def console_status(site: str) -> str:
    """``lobbygate/v1/{site}/console/status``: retained, the console's Will."""
    return f"{PREFIX}/{check_id(site, 'site')}/console/status"


def sync(site: str, dataset: str) -> str:
    """``lobbygate/v1/{site}/sync/{dataset}``: retained versioned snapshot for nodes."""
    return f"{PREFIX}/{check_id(site, 'site')}/sync/{check_name(dataset, 'dataset')}"


# -- subscription filters ---------------------------------------------------------------

def site_filter(site: str) -> str:
    """Everything under a site (the console's one subscription)."""
    return f"{PREFIX}/{check_id(site, 'site')}/#"


def node_commands_filter(site: str, node: str) -> str:
    """A node's own commands."""
    return f"{PREFIX}/{check_id(site, 'site')}/{check_node_id(node)}/cmd/+"


def sync_filter(site: str) -> str:
    """Every sync dataset of the site."""
    return f"{PREFIX}/{check_id(site, 'site')}/sync/+"


def node_filter(site: str, node: str) -> str:
    """Everything a node publishes and receives."""
    return f"{PREFIX}/{check_id(site, 'site')}/{check_node_id(node)}/#"


def build(t: Topic) -> str:
    """The topic string for a parsed :class:`Topic`."""
    if t.kind is TopicKind.STATUS:
        return status(t.site, t.node or "")
    if t.kind is TopicKind.EVENT:
        return event(t.site, t.node or "", t.name or "")
    if t.kind is TopicKind.TELEMETRY:
        return telemetry(t.site, t.node or "", t.name or "")
    if t.kind is TopicKind.COMMAND:
        return command(t.site, t.node or "", t.name or "")
    if t.kind is TopicKind.COMMAND_RESULT:
        return command_result(t.site, t.node or "")
    if t.kind is TopicKind.CONSOLE_STATUS:
        return console_status(t.site)
    return sync(t.site, t.name or "")


def parse(topic: str) -> Topic:
    """Parse a topic string into a :class:`Topic`; raise :class:`ContractError` if it is
    not one of the contract's topics (wrong root, version, ids or shape)."""
    if not isinstance(topic, str):
        raise ContractError(f"topic must be a string, got {type(topic).__name__}")
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != ROOT:
        raise ContractError(f"not a lobbygate topic: {topic!r}")
    if parts[1] != f"v{SCHEMA_VERSION}":
        raise ContractError(f"unsupported contract version {parts[1]!r} in {topic!r}")
    site = check_id(parts[2], "site")
    rest = parts[3:]
    if rest == ["console", "status"]:
        return Topic(TopicKind.CONSOLE_STATUS, site)
    if rest[0] == "sync" and len(rest) == 2:
        return Topic(TopicKind.SYNC, site, None, check_name(rest[1], "dataset"))
    node = check_node_id(rest[0])
    tail = rest[1:]
    if tail == ["status"]:
        return Topic(TopicKind.STATUS, site, node)
    if tail == ["cmd_result"]:
        return Topic(TopicKind.COMMAND_RESULT, site, node)
    if len(tail) == 2:
        word, name = tail
        if word == "event":
            return Topic(TopicKind.EVENT, site, node, check_name(name, "event kind"))
        if word == "telemetry":
            return Topic(TopicKind.TELEMETRY, site, node, check_name(name, "device"))
        if word == "cmd":
            return Topic(TopicKind.COMMAND, site, node, check_name(name, "action"))
    raise ContractError(f"unknown topic shape: {topic!r}")
