"""Translated names for the words the console shows: roles, event kinds and classes, node
states, audit actions. Unknown values are shown as they are."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

__all__ = ["ROLE_LABELS", "KIND_LABELS", "CLASS_LABELS", "NODE_STATE_LABELS", "ACTION_LABELS",
           "label"]

ROLE_LABELS: Mapping[str, Any] = {
    "admin": _l("Administrator"),
    "desk": _l("Front desk"),
    "guard": _l("Gate guard"),
    "patrol": _l("Patrol"),
}

#: Event and alarm kinds (mqtt_topics.kinds and the console's own alarms).
KIND_LABELS: Mapping[str, Any] = {
    "card.read": _l("Card read"),
    "command.refused": _l("Command refused"),
    "input.changed": _l("Input changed"),
    "journal.full": _l("Node journal full"),
    "node.started": _l("Node started"),
    "reader.fault": _l("Reader fault"),
    "relay.pulsed": _l("Relay pulsed"),
    "console.seq_gap": _l("Events missing"),
    "console.node_offline": _l("Node offline"),
    "console.clock_skew": _l("Node clock off"),
}

CLASS_LABELS: Mapping[str, Any] = {
    "alarm": _l("Alarm"),
    "access": _l("Access"),
    "routine": _l("Routine"),
}

NODE_STATE_LABELS: Mapping[str, Any] = {
    "online": _l("Online"),
    "offline": _l("Offline"),
    "unknown": _l("Unknown"),
}

ACTION_LABELS: Mapping[str, Any] = {
    "auth.login": _l("Logged in"),
    "auth.login_failed": _l("Failed log-in"),
    "auth.login_refused": _l("Log-in refused (too many failures)"),
    "auth.logout": _l("Logged out"),
    "auth.password": _l("Changed own password"),
    "user.add": _l("Added user"),
    "user.role": _l("Changed role"),
    "user.password": _l("Reset password"),
    "user.disable": _l("Disabled user"),
    "user.enable": _l("Enabled user"),
    "user.language": _l("Changed language"),
    "alarm.ack": _l("Acknowledged alarm"),
    "command.send": _l("Sent command"),
    "events.export": _l("Exported events"),
}


def label(table: Mapping[str, Any], value: Any) -> str:
    """The translated label of ``value`` in ``table``, or ``value`` itself."""
    if value is None:
        return ""
    found = table.get(value)
    return str(found) if found is not None else str(value)
