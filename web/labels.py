"""Translated names for the words the console shows: roles, event kinds and classes, node
states, audit actions. Unknown values are shown as they are."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

__all__ = ["ROLE_LABELS", "KIND_LABELS", "CLASS_LABELS", "NODE_STATE_LABELS", "ACTION_LABELS",
           "DOOR_STATE_LABELS", "REASON_LABELS", "label"]

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
    "door.antipassback": _l("Anti-passback violation"),
    "door.denied": _l("Access denied"),
    "door.exit_request": _l("Exit button pressed"),
    "door.fire_release": _l("Fire release"),
    "door.fire_reset": _l("Fire release ended"),
    "door.forced": _l("Door forced open"),
    "door.granted": _l("Access granted"),
    "door.held": _l("Door held open"),
    "door.held_prealarm": _l("Door open long (pre-alarm)"),
    "door.lockout": _l("Reader locked out"),
    "door.remote": _l("Door opened remotely"),
    "door.secured": _l("Door secured"),
    "door.state": _l("Door state"),
    "door.tamper": _l("Tamper"),
    "door.tamper_cleared": _l("Tamper cleared"),
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
    "credential.add": _l("Added credential"),
    "credential.edit": _l("Changed credential"),
    "credential.disable": _l("Disabled credential"),
    "credential.enable": _l("Enabled credential"),
    "credential.import": _l("Imported credentials"),
    "credential.export": _l("Exported credentials"),
    "access.export": _l("Exported access log"),
    "door.unlock": _l("Opened door remotely"),
}

#: Door states on the doors board (door.state events).
DOOR_STATE_LABELS: Mapping[str, Any] = {
    "locked": _l("Locked"),
    "unlocked": _l("Unlocked"),
    "open": _l("Open"),
    "held": _l("Held open"),
    "forced": _l("Forced open"),
    "fire": _l("Fire release"),
    "unknown": _l("Unknown"),
}

#: Reasons of door decisions (door.granted / door.denied ``reason``).
REASON_LABELS: Mapping[str, Any] = {
    "granted": _l("Granted"),
    "unknown_card": _l("Unknown card"),
    "disabled": _l("Card disabled"),
    "expired": _l("Expired"),
    "not_yet_valid": _l("Not yet valid"),
    "outside_schedule": _l("Outside schedule"),
    "door_not_allowed": _l("Door not allowed"),
    "antipassback": _l("Anti-passback"),
    "pin_wrong": _l("Wrong PIN"),
    "locked_out": _l("Reader locked out"),
}


def label(table: Mapping[str, Any], value: Any) -> str:
    """The translated label of ``value`` in ``table``, or ``value`` itself."""
    if value is None:
        return ""
    found = table.get(value)
    return str(found) if found is not None else str(value)
