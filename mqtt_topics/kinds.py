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
    "cabinet.denied": (EventClass.ACCESS, "an unknown card was refused at a key cabinet: {cabinet, card, reason (unknown_card|io_fault)}"),
    "cabinet.door": (EventClass.ROUTINE, "a key cabinet's door opened or closed: {cabinet, open, authorised | open_s}"),
    "cabinet.door_held": (EventClass.ALARM, "a key cabinet's door stayed open too long: {cabinet, open_s}"),
    "cabinet.fault": (EventClass.ALARM, "a key cabinet's I/O failed (key-present inputs unreadable or slot/door outputs not driven; once per episode, every output locked, cards refused until cleared): {cabinet, slots (\"all\" or slot numbers), operation (read|write), reason (timeout|crc|exception|modbus|gpio|error), error, exception_code?}"),
    "cabinet.fault_cleared": (EventClass.ROUTINE, "a key cabinet's I/O works again (outputs locked and inputs read in fault_clear_reads good cycles in a row): {cabinet, slots, errors (failed attempts), fault_s}"),
    "cabinet.granted": (EventClass.ACCESS, "a registered card opened a key cabinet; exactly the slots of keys its holder may take were released: {cabinet, card, holder, slots, keys, two_person_confirmed, awaiting_second, seconds}"),
    "cabinet.inventory": (EventClass.ACCESS, "power-up presence scan of a key cabinet vs its last known state: {cabinet, present (slots), out (keys), differences [{slot, key, was, now}], first_boot}"),
    "cabinet.locked": (EventClass.ROUTINE, "a key cabinet's door and slots locked again: {cabinet, reason (time|door_closed|fault)}"),
    "cabinet.remote_release": (EventClass.ACCESS, "the desk released a key cabinet's door and one key's slot for a borrower without a card (signed cabinet.release): {cabinet, key, slot, holder, by, cmd_id, seconds}"),
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
    # goods passes (issue 7): every scan that fails verification is one goods_pass.rejected; a forged
    # pass (reason forged) ALSO raises the goods_pass.forged alarm, because the console raises alarms by
    # kind: the archive counts goods_pass.rejected, the desk acknowledges goods_pass.forged.
    "goods_pass.denied": (EventClass.ACCESS, "a pass shown valid at a gate was not released: {gate, reason (guard|timeout|superseded|ledger_error: the deny button; no button within decision_timeout_s; another pass scanned meanwhile; the ledger could not mark it used), pass_id, unit, items, valid_from, valid_until}"),
    "goods_pass.forged": (EventClass.ALARM, "a forged goods pass was scanned at a gate (sent with goods_pass.rejected reason forged): {gate, reason (forged), pass_id, unit, items, valid_from, valid_until, detail (bad signature, or the other site it names)}"),
    "goods_pass.rejected": (EventClass.ACCESS, "a gate refused a scanned goods pass at once (red): {gate, reason (forged|expired|not_yet_valid|revoked|already_used|unreadable; ledger_error: a node fault), pass_id, unit, items, valid_from, valid_until, detail}"),
    "goods_pass.released": (EventClass.ACCESS, "the guard released the goods on a valid pass; marked used in the gate's ledger first: {gate, pass_id, unit, items, items_digest, valid_from, valid_until}"),
    "input.changed": (EventClass.ROUTINE, "a supervised input changed: {input, active}"),
    "intercom.answered": (EventClass.ACCESS, "the desk answered an intercom call (signed command): {panel, call_id, unit, via, by, cmd_id, wait_s, repeats}"),
    "intercom.call": (EventClass.ACCESS, "a visitor called a unit at an intercom panel: {panel, call_id, unit, via (button|keypad)}"),
    "intercom.door_opened": (EventClass.ACCESS, "the desk opened the door at an intercom panel (signed command): {panel, call_id, unit, by, cmd_id, seconds}"),
    "intercom.emergency": (EventClass.ALARM, "the emergency/help button (紧急求助) of an intercom panel was pressed: {panel, repeats (presses counted since the previous alarm)}"),
    "intercom.invite_admitted": (EventClass.ACCESS, "a visitor invite scanned at an intercom panel opened the door (one use taken): {panel, reason (admitted), invite_id, unit, use, uses, seconds}"),
    "intercom.invite_forged": (EventClass.ALARM, "an invite with a bad signature (forged or tampered) was scanned at an intercom panel: {panel, reason (bad_signature), invite_id, unit, detail}"),
    "intercom.invite_refused": (EventClass.ACCESS, "an intercom panel refused a scanned invite: {panel, reason (malformed|wrong_site|revoked|not_yet_valid|expired|used_up|ledger_error), invite_id, unit, detail}"),
    "intercom.no_answer": (EventClass.ACCESS, "the desk marked an intercom call unanswered (signed command): {panel, call_id, unit, via, by, cmd_id, repeats}"),
    "intercom.refused": (EventClass.ACCESS, "the desk told an intercom panel the resident refused the visitor (signed command): {panel, call_id, unit, via, by, cmd_id, repeats}"),
    "intercom.timeout": (EventClass.ACCESS, "an intercom call was not answered in time (node clock): {panel, call_id, unit, via, after_s, repeats}"),
    "journal.full": (EventClass.ALARM, "the node journal reached its bound and dropped routine events: {dropped, capacity}"),
    "key.forced": (EventClass.ALARM, "a key was removed from a slot that was not released: {cabinet, key, slot}"),
    "key.returned": (EventClass.ACCESS, "a key was put back into its own slot; the loan ends: {cabinet, key, slot, holder, card, returned_by, out_s}"),
    "key.taken": (EventClass.ACCESS, "a key was taken from a released slot (a loan starts): {cabinet, key, slot, holder, card, witness; by, cmd_id when the desk released it remotely}"),
    "key.wrong_slot": (EventClass.ALARM, "a key is in a slot that is not its own; raised again until removed: {cabinet, slot, key, expected, times}"),
    "key.wrong_slot_cleared": (EventClass.ACCESS, "the key in a wrong slot was removed: {cabinet, slot}"),
    "meter.offline": (EventClass.ACCESS, "a meter stopped answering after its retries; polled with back-off: {meter, bus, slave, unit, error, failures}"),
    "meter.online": (EventClass.ACCESS, "an offline meter answers again: {meter, bus, slave, unit, offline_s}"),
    "meter.reset": (EventClass.ALARM, "a meter's cumulative total went backwards (meter reset or replaced): {meter, unit, register, previous, value}"),
    "meter.total": (EventClass.ACCESS, "cumulative meter totals for billing, at an interval and each hour: {meter, unit, kind (electricity|water), reason (first|interval|hour|reset), read_ts, totals {name: value}}"),
    # a node's TLS client certificate (provision node add --auth cert): checked at start and daily;
    # expiring is an ALARM so the desk sees it and the admin renews before the node is locked out.
    "node.cert_expired": (EventClass.ALARM, "the node's MQTT client certificate has expired: the broker will refuse the node's next connection (at most once a day): {expires (UTC ms), days_left (negative), cn, serial (hex)}"),
    "node.cert_expiring": (EventClass.ALARM, "the node's MQTT client certificate expires in fewer than [mqtt] cert_warn_days days (at most once a day): {expires (UTC ms), days_left, cn, serial (hex)}"),
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
