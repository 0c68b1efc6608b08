"""Event kinds the contract knows, and how much each matters.

The node journal uses the class to decide what it may drop when full (only ``ROUTINE``),
and the console uses it to decide what is an alarm.  A kind not listed here is routine.
Features add their kinds to :data:`EVENT_KINDS` in this one place.
"""

from __future__ import annotations

from enum import Enum


class EventClass(str, Enum):
    """How much an event matters."""

    ALARM = "alarm"      #: raised at the desk until acknowledged; never dropped
    ACCESS = "access"    #: a decision or a record people rely on; never dropped
    ROUTINE = "routine"  #: informative; the oldest may be dropped when a journal is full


#: kind -> (class, one-line description).  Kept sorted by kind.
EVENT_KINDS: dict[str, tuple[EventClass, str]] = {
    "card.read": (EventClass.ACCESS, "a card was presented at a reader: {reader, card, format}"),
    "command.refused": (EventClass.ALARM, "a command was refused: {cmd_id, action, reason}"),
    "door.antipassback": (EventClass.ALARM, "a card was let through despite an anti-passback violation (soft mode): {door, reader, direction, credential_id, holder, unit}"),
    "door.denied": (EventClass.ACCESS, "a card (and PIN) was refused: {door, reader, direction, reason, card, credential_id, holder, unit, credential_kind, alarm, detail}"),
    "door.exit_request": (EventClass.ROUTINE, "the exit button (REX) was pressed: {door, unlocks}"),
    "door.fire_release": (EventClass.ALARM, "the fire-alarm input released the door: {door, mode (follow|latch)}"),
    "door.fire_reset": (EventClass.ACCESS, "the fire release ended and the door locks again: {door, mode}"),
    "door.forced": (EventClass.ALARM, "the door opened while locked with no grant or exit request: {door}"),
    "door.granted": (EventClass.ACCESS, "a card (and PIN) opened the door: {door, reader, direction, reason, card, credential_id, holder, unit, credential_kind, alarm, detail}"),
    "door.held": (EventClass.ALARM, "the door stayed open too long after an authorised opening: {door, open_s}"),
    "door.held_prealarm": (EventClass.ROUTINE, "the door has been open long enough for the held pre-alarm: {door, open_s}"),
    "door.lockout": (EventClass.ALARM, "a reader is locked out after too many denied reads in a row: {door, reader, seconds, last_card}"),
    "door.remote": (EventClass.ACCESS, "an operator command changed the door: {door, action (unlock|hold_open|release), seconds, by, cmd_id}"),
    "door.secured": (EventClass.ACCESS, "a forced or held door closed again: {door, after (forced|held), open_s}"),
    "door.state": (EventClass.ROUTINE, "the door's state changed: {door, state (locked|unlocked|open|held|forced|fire), locked, open}"),
    "door.tamper": (EventClass.ALARM, "a reader or controller housing was opened: {door}"),
    "door.tamper_cleared": (EventClass.ACCESS, "the tamper input is back to normal: {door}"),
    "goods.forged": (EventClass.ALARM, "a goods pass with a bad signature (forged or tampered) was scanned at a gate: {gate, reason (bad_signature), pass_id, unit, items, valid_from, valid_until, detail}"),
    "goods.refused": (EventClass.ACCESS, "a gate refused a goods pass: {gate, reason (malformed|wrong_site|revoked|already_used|not_yet_valid|expired|ledger_error), pass_id, unit, items, valid_from, valid_until, detail}"),
    "goods.released": (EventClass.ACCESS, "a gate released the goods on a valid pass (the guard checks them against items): {gate, reason (released), pass_id, unit, items, items_digest, valid_from, valid_until}"),
    "input.changed": (EventClass.ROUTINE, "a supervised input changed: {input, active}"),
    "journal.full": (EventClass.ALARM, "the node journal reached its bound and dropped routine events: {dropped, capacity}"),
    "meter.offline": (EventClass.ACCESS, "a meter stopped answering after its retries; polled with back-off: {meter, bus, slave, unit, error, failures}"),
    "meter.online": (EventClass.ACCESS, "an offline meter answers again: {meter, bus, slave, unit, offline_s}"),
    "meter.reset": (EventClass.ALARM, "a meter's cumulative total went backwards (meter reset or replaced): {meter, unit, register, previous, value}"),
    "meter.total": (EventClass.ACCESS, "cumulative meter totals for billing, at an interval and each hour: {meter, unit, kind (electricity|water), reason (first|interval|hour|reset), read_ts, totals {name: value}}"),
    "node.started": (EventClass.ROUTINE, "the node runtime started: {version, boot_id, safe_outputs}"),
    "patrol.tap": (EventClass.ACCESS, "a patrol card was tapped at a check-point (node's ts): {checkpoint, reader, card, collapsed (repeat taps counted since the previous one)}"),
    "reader.fault": (EventClass.ROUTINE, "a reader saw bad frames: {reader, error, count}"),
    "relay.pulsed": (EventClass.ACCESS, "an output relay was pulsed by a command: {relay, seconds, cmd_id}"),
}


def event_class(kind: str) -> EventClass:
    """The class of an event kind; unknown kinds are :attr:`EventClass.ROUTINE`."""
    entry = EVENT_KINDS.get(kind)
    return entry[0] if entry else EventClass.ROUTINE


def is_alarm(kind: str) -> bool:
    """True if events of ``kind`` are alarms the desk must acknowledge."""
    return event_class(kind) is EventClass.ALARM
