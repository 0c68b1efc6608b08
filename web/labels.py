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
    "node.cert_expired": _l("Node certificate expired"),
    "node.cert_expiring": _l("Node certificate expiring"),
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
    "meter.total": _l("Meter totals"),
    "meter.reset": _l("Meter counter reset"),
    "meter.offline": _l("Meter offline"),
    "meter.online": _l("Meter back online"),
    "console.meter_reset": _l("Meter total went backwards"),
    "console.meter_leak": _l("Possible water leak"),
    "console.meter_vacant_use": _l("Use in a vacant unit"),
    "console.meter_offline": _l("Meter offline too long"),
    "patrol.tap": _l("Patrol tap"),
    "patrol.not_started": _l("Patrol round not started"),
    "patrol.missed": _l("Check-point missed"),
    "patrol.late": _l("Check-point late"),
    "patrol.out_of_order": _l("Check-point out of order"),
    "patrol.implausible": _l("Implausible patrol speed"),
    "patrol.unknown_card": _l("Unknown card at a check-point"),
    "goods_pass.released": _l("Goods released"),
    "goods_pass.denied": _l("Goods pass denied"),
    "goods_pass.rejected": _l("Goods pass rejected"),
    "goods_pass.forged": _l("Forged goods pass"),
    "console.goods_pass_double_use": _l("Goods pass used twice"),
    "console.goods_pass_released_cancelled": _l("Cancelled goods pass released"),
    "key.taken": _l("Key taken"),
    "key.returned": _l("Key returned"),
    "key.forced": _l("Key removed without release"),
    "key.wrong_slot": _l("Key in the wrong slot"),
    "key.wrong_slot_cleared": _l("Wrong-slot key removed"),
    "cabinet.granted": _l("Key cabinet opened"),
    "cabinet.denied": _l("Key cabinet refused a card"),
    "cabinet.door": _l("Key cabinet door"),
    "cabinet.door_held": _l("Key cabinet door open too long"),
    "cabinet.inventory": _l("Key cabinet inventory"),
    "cabinet.locked": _l("Key cabinet locked"),
    "cabinet.remote_release": _l("Key released by the desk"),
    "cabinet.fault": _l("Key cabinet I/O fault"),
    "cabinet.fault_cleared": _l("Key cabinet I/O restored"),
    "console.key_overdue": _l("Key overdue"),
    "intercom.call": _l("Intercom call"),
    "intercom.answered": _l("Intercom call answered"),
    "intercom.no_answer": _l("Intercom call: no answer"),
    "intercom.refused": _l("Intercom call: resident refused"),
    "intercom.timeout": _l("Intercom call not answered in time"),
    "intercom.door_opened": _l("Door opened from the desk"),
    "intercom.emergency": _l("Emergency help button"),
    "intercom.invite_admitted": _l("Visitor invite admitted"),
    "intercom.invite_refused": _l("Visitor invite refused"),
    "intercom.invite_forged": _l("Forged visitor invite"),
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
    "goods_pass.issue": _l("Issued goods pass"),
    "goods_pass.cancel": _l("Cancelled goods pass"),
    "goods_pass.export": _l("Exported goods pass archive"),
    "door.hold_open": _l("Held door open remotely"),
    "door.release": _l("Ended a door hold-open"),
    "schedule.add": _l("Added access schedule"),
    "schedule.edit": _l("Changed access schedule"),
    "schedule.delete": _l("Deleted access schedule"),
    "holiday.add": _l("Set holiday date"),
    "holiday.delete": _l("Removed holiday date"),
    "meter.add": _l("Added meter"),
    "meter.edit": _l("Changed meter"),
    "meter.delete": _l("Removed meter"),
    "meter.import": _l("Imported meters"),
    "meter.export": _l("Exported meters"),
    "meter.statement_export": _l("Exported meter statement"),
    "meter.settings": _l("Changed meter settings"),
    "unit.add": _l("Added unit"),
    "unit.edit": _l("Changed unit"),
    "unit.delete": _l("Deleted unit"),
    "unit.import": _l("Imported units"),
    "unit.export": _l("Exported units"),
    "intercom.answer": _l("Answered intercom call"),
    "intercom.confirm": _l("Resident confirmed a call"),
    "intercom.refuse": _l("Resident refused a call"),
    "intercom.no_answer": _l("Intercom call: no answer"),
    "intercom.call_timeout": _l("Intercom call timed out"),
    "visit.register": _l("Registered visitor"),
    "visit.confirm": _l("Resident confirmed a visit"),
    "visit.refuse": _l("Resident refused a visit"),
    "visit.unlock": _l("Opened the door for a visitor"),
    "visit.check_in": _l("Checked a visitor in"),
    "visit.check_out": _l("Checked a visitor out"),
    "visit.auto_checkout": _l("Automatic visitor check-out"),
    "visit.anonymise": _l("Anonymised old visits"),
    "invite.create": _l("Created visitor invite"),
    "invite.revoke": _l("Revoked visitor invite"),
    "invite.link": _l("Made a phone link for a visitor invite"),
    "watchlist.add": _l("Added to the watchlist"),
    "watchlist.remove": _l("Removed from the watchlist"),
    "visitor.settings": _l("Changed desk settings"),
    "intercom.panel_building": _l("Mapped an intercom panel to a building"),
    "intercom.panel_building_remove": _l("Removed an intercom panel's building"),
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
