"""Key loans (钥匙借用登记) from the cabinet's events, the desk's assisted loans, overdue alarms
and the reports.

- :meth:`KeyLoanStore.on_event` (an ingest handler, inside the batch transaction): ``key.taken``
  opens a loan (due = taken + the key's maximum loan time), ``key.returned`` closes it,
  ``key.forced`` opens a ``forced`` loan with no holder, ``key.wrong_slot`` flags the named
  key's loan, ``cabinet.inventory`` opens a ``missing`` loan for a key the cabinet found out
  with no loan known here. A ``key.taken`` carrying the ``cmd_id`` of a desk release fills in
  that release's loan.
- :meth:`KeyLoanStore.desk_release` records a desk-assisted loan (borrower name, the last four
  characters of their ID, purpose, operator) in state ``released`` with the command's id.
- :meth:`KeyLoanStore.check_overdue` (a console job) raises one ``console.key_overdue`` alarm
  per loan past its due time and cancels desk releases nobody took within
  :data:`RELEASE_STALE_MS`.

A loan the console changed (a desk release recorded or cancelled, an overdue alarm raised) is
announced as ``("keys", {"loan": id})`` on the live feed once committed, for the cabinet board
(loans from the cabinet's events are announced by the board itself).
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..db import Database, Filters, register_schema
from ..errors import NotFound
from .model import DEFAULT_MAX_LOAN_MIN, KeyLoan

if TYPE_CHECKING:  # pragma: no cover
    from ..live import LiveFeed
    from ..stores.alarms import Alarm, AlarmStore
    from ..stores.events import StoredEvent
    from .register import KeyRegister

__all__ = ["KeyLoanStore", "KEY_OVERDUE", "RELEASE_STALE_MS", "LOAN_EVENT_KINDS"]

#: The console alarm raised once per overdue loan.
KEY_OVERDUE = "console.key_overdue"
#: A desk release whose key was not taken within this long is cancelled, ms (10 min).
RELEASE_STALE_MS = 10 * 60_000
#: Event kinds :meth:`KeyLoanStore.on_event` reads.
LOAN_EVENT_KINDS = frozenset({"key.taken", "key.returned", "key.forced", "key.wrong_slot",
                              "cabinet.inventory"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS key_loans (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL,
    cabinet       TEXT    NOT NULL DEFAULT '',
    slot          INTEGER,
    node          TEXT    NOT NULL DEFAULT '',
    holder        TEXT    NOT NULL DEFAULT '',
    holder_name   TEXT    NOT NULL DEFAULT '',
    card          TEXT,
    witness       TEXT,
    how           TEXT    NOT NULL,          -- card / desk / forced / missing
    state         TEXT    NOT NULL,          -- released / out / returned / cancelled
    taken_at      INTEGER,                   -- node clock, UTC ms
    due_at        INTEGER,
    returned_at   INTEGER,
    returned_by   TEXT,
    flags         TEXT    NOT NULL DEFAULT '',
    overdue_alarm INTEGER,
    desk_by       TEXT,
    id_last4      TEXT,
    purpose       TEXT    NOT NULL DEFAULT '',
    cmd_id        TEXT    UNIQUE,
    taken_event   TEXT    UNIQUE,            -- the key.taken/forced event (replays are no-ops)
    created_at    INTEGER NOT NULL           -- console clock
);
CREATE INDEX IF NOT EXISTS key_loans_key ON key_loans(key, id);
CREATE INDEX IF NOT EXISTS key_loans_holder ON key_loans(holder, id);
CREATE INDEX IF NOT EXISTS key_loans_taken ON key_loans(taken_at);
CREATE INDEX IF NOT EXISTS key_loans_out ON key_loans(taken_at) WHERE state = 'out';
CREATE INDEX IF NOT EXISTS key_loans_released ON key_loans(created_at) WHERE state = 'released';
CREATE INDEX IF NOT EXISTS key_loans_due ON key_loans(due_at)
    WHERE state = 'out' AND overdue_alarm IS NULL;
"""
register_schema("key_loans", SCHEMA)

_COLS = ("id, key, cabinet, slot, node, holder, holder_name, card, witness, how, state, taken_at, "
         "due_at, returned_at, returned_by, flags, overdue_alarm, desk_by, id_last4, purpose, "
         "cmd_id, created_at")
_SELECT = (f"SELECT {', '.join('l.' + c.strip() for c in _COLS.split(','))}, "
           "COALESCE(k.label, '') AS label FROM key_loans l LEFT JOIN key_register k ON k.number = l.key")


def _loan(r: sqlite3.Row) -> KeyLoan:
    return KeyLoan(id=r["id"], key=r["key"], cabinet=r["cabinet"], slot=r["slot"], node=r["node"],
                   holder=r["holder"], holder_name=r["holder_name"], card=r["card"],
                   witness=r["witness"], how=r["how"], state=r["state"], taken_at=r["taken_at"],
                   due_at=r["due_at"], returned_at=r["returned_at"], returned_by=r["returned_by"],
                   flags=tuple(f for f in r["flags"].split(",") if f),
                   overdue_alarm=r["overdue_alarm"], desk_by=r["desk_by"], id_last4=r["id_last4"],
                   purpose=r["purpose"], cmd_id=r["cmd_id"], created_at=r["created_at"],
                   label=r["label"])


class KeyLoanStore:
    """Loans in ``db`` (opened by the caller).

    :param db: the console database.
    :param clock: UTC ms (console clock: ``created_at``).
    :param register: the key register (loan times, labels).
    :param alarms: where overdue alarms go; :param live: told about them, and about the loans
        the console changed (``("keys", {"loan": id})``), after the commit.
    The constructor does no I/O."""

    def __init__(self, db: Database, *, clock: Callable[[], int], register: "KeyRegister",
                 alarms: "AlarmStore", live: "LiveFeed | None" = None) -> None:
        self._db = db
        self._clock = clock
        self._register = register
        self._alarms = alarms
        self._live = live

    # -- ingest ---------------------------------------------------------------------------
    def on_event(self, ev: "StoredEvent") -> None:
        """Apply one stored event (ingest handler; joins the ingest's transaction)."""
        if ev.kind not in LOAN_EVENT_KINDS or not isinstance(ev.data, dict):
            return
        d = ev.data
        with self._db.transaction() as c:
            if ev.kind == "key.taken":
                self._taken(c, ev, d, how="card")
            elif ev.kind == "key.forced":
                self._taken(c, ev, d, how="forced")
            elif ev.kind == "key.returned":
                self._returned(c, ev, d)
            elif ev.kind == "key.wrong_slot":
                if isinstance(d.get("key"), str):
                    self._flag(c, d["key"], "wrong_slot")
            else:
                self._inventory(c, ev, d)

    def _holder_name(self, c: sqlite3.Connection, holder: str) -> str:
        try:
            r = c.execute("SELECT holder FROM credentials WHERE id = ?", (holder,)).fetchone()
        except sqlite3.OperationalError:
            return ""
        return str(r[0]) if r and r[0] else ""

    def _due(self, key: str, taken_at: int) -> int:
        rec = self._register.get(key)
        minutes = rec.max_loan_min if rec is not None else DEFAULT_MAX_LOAN_MIN
        return taken_at + minutes * 60_000

    def _taken(self, c: sqlite3.Connection, ev: "StoredEvent", d: dict[str, Any], *, how: str) -> None:
        key = d.get("key")
        if not isinstance(key, str) or not key:
            raise ValueError(f"{ev.kind} {ev.event_id} names no key")
        if c.execute("SELECT 1 FROM key_loans WHERE taken_event = ?", (ev.event_id,)).fetchone():
            return
        due = self._due(key, ev.ts)
        cmd_id = d.get("cmd_id") if isinstance(d.get("cmd_id"), str) else None
        if cmd_id is not None:
            cur = c.execute("UPDATE key_loans SET state = 'out', taken_at = ?, due_at = ?, node = ?, "
                            "cabinet = ?, slot = ?, taken_event = ? WHERE cmd_id = ? AND "
                            "state IN ('released', 'cancelled')",
                            (ev.ts, due, ev.node, str(d.get("cabinet") or ""), d.get("slot"),
                             ev.event_id, cmd_id))
            if cur.rowcount:
                return
        # a key taken again while a loan is still open here (a return we never heard of)
        c.execute("UPDATE key_loans SET state = 'returned', returned_at = ?, returned_by = "
                  "'(not reported)' WHERE key = ? AND state = 'out'", (ev.ts, key))
        holder = str(d.get("holder") or "")
        flags = "forced" if how == "forced" else ""
        if cmd_id is not None:
            how = "desk"
        c.execute(f"INSERT INTO key_loans (key, cabinet, slot, node, holder, holder_name, card, "
                  "witness, how, state, taken_at, due_at, flags, desk_by, cmd_id, taken_event, "
                  "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'out', ?, ?, ?, ?, ?, ?, ?)",
                  (key, str(d.get("cabinet") or ""), d.get("slot"), ev.node, holder,
                   self._holder_name(c, holder) if holder else "", d.get("card"), d.get("witness"),
                   how, ev.ts, due, flags, d.get("by") if cmd_id else None, cmd_id, ev.event_id,
                   self._clock()))

    def _returned(self, c: sqlite3.Connection, ev: "StoredEvent", d: dict[str, Any]) -> None:
        key = d.get("key")
        if not isinstance(key, str):
            raise ValueError(f"key.returned {ev.event_id} names no key")
        c.execute("UPDATE key_loans SET state = 'returned', returned_at = ?, returned_by = ? "
                  "WHERE key = ? AND state = 'out'", (ev.ts, d.get("returned_by"), key))

    def _flag(self, c: sqlite3.Connection, key: str, flag: str) -> None:
        for r in c.execute("SELECT id, flags FROM key_loans WHERE key = ? AND state = 'out'",
                           (key,)).fetchall():
            flags = [f for f in r["flags"].split(",") if f]
            if flag not in flags:
                c.execute("UPDATE key_loans SET flags = ? WHERE id = ?",
                          (",".join(flags + [flag]), r["id"]))

    def _inventory(self, c: sqlite3.Connection, ev: "StoredEvent", d: dict[str, Any]) -> None:
        out = d.get("out")
        if not isinstance(out, list):
            raise ValueError(f"cabinet.inventory {ev.event_id}: 'out' is not a list")
        for key in out:
            if not isinstance(key, str) or c.execute(
                    "SELECT 1 FROM key_loans WHERE key = ? AND state = 'out'", (key,)).fetchone():
                continue
            rec = self._register.get(key)
            c.execute("INSERT INTO key_loans (key, cabinet, slot, node, how, state, taken_at, due_at, "
                      "flags, taken_event, created_at) VALUES (?, ?, ?, ?, 'missing', 'out', ?, ?, "
                      "'missing', ?, ?)",
                      (key, str(d.get("cabinet") or ""), rec.slot if rec else None, ev.node, ev.ts,
                       ev.ts, f"{ev.event_id}#{key}", self._clock()))

    # -- the desk -------------------------------------------------------------------------
    def desk_release(self, *, key: str, cabinet: str, slot: int, node: str, borrower: str,
                     id_last4: str, purpose: str, operator: str, cmd_id: str) -> KeyLoan:
        """Record a desk-assisted loan (state ``released`` until the cabinet reports the key
        taken). ``id_last4``: only the last four characters of the borrower's ID."""
        if len(id_last4) != 4:
            raise ValueError("only the last four characters of an ID are stored")
        with self._db.transaction() as c:
            cur = c.execute("INSERT INTO key_loans (key, cabinet, slot, node, holder, holder_name, "
                            "how, state, desk_by, id_last4, purpose, cmd_id, created_at) VALUES "
                            "(?, ?, ?, ?, ?, ?, 'desk', 'released', ?, ?, ?, ?, ?)",
                            (key, cabinet, slot, node, borrower, borrower, operator, id_last4,
                             purpose, cmd_id, self._clock()))
            loan_id = cur.lastrowid or 0
            self._changed(loan_id)
        return self.get(loan_id)

    def cancel(self, loan_id: int) -> None:
        """Cancel a desk release whose key was not taken (e.g. the command was not sent)."""
        with self._db.transaction() as c:
            if c.execute("UPDATE key_loans SET state = 'cancelled' WHERE id = ? AND "
                         "state = 'released'", (loan_id,)).rowcount:
                self._changed(loan_id)

    # -- the overdue job ------------------------------------------------------------------
    def check_overdue(self, now_ms: int) -> list["Alarm"]:
        """Raise ``console.key_overdue`` once for every loan due at or before ``now_ms`` and
        cancel stale desk releases; the alarms raised (also published live after the commit)."""
        raised: list[Alarm] = []
        due_sql = f"{_SELECT} WHERE l.state = 'out' AND l.overdue_alarm IS NULL AND l.due_at <= ?"
        stale_sql = "SELECT 1 FROM key_loans WHERE state = 'released' AND created_at <= ? LIMIT 1"
        c = self._db.conn()
        if not self._db.in_transaction() and \
                c.execute(due_sql + " LIMIT 1", (now_ms,)).fetchone() is None and \
                c.execute(stale_sql, (now_ms - RELEASE_STALE_MS,)).fetchone() is None:
            return raised                      # the usual minute: nothing to write
        with self._db.transaction() as c:
            rows = c.execute(due_sql, (now_ms,)).fetchall()
            for r in rows:
                loan = _loan(r)
                alarm = self._alarms.raise_console(
                    KEY_OVERDUE, node=loan.node or None, now=now_ms,
                    data={"loan_id": loan.id, "key": loan.key, "label": loan.label,
                          "holder": loan.holder, "holder_name": loan.holder_name,
                          "taken_at": loan.taken_at, "due_at": loan.due_at})
                c.execute("UPDATE key_loans SET overdue_alarm = ? WHERE id = ?", (alarm.id, loan.id))
                raised.append(alarm)
            c.execute("UPDATE key_loans SET state = 'cancelled' WHERE state = 'released' "
                      "AND created_at <= ?", (now_ms - RELEASE_STALE_MS,))
        if self._live is not None:     # once committed (a caller's transaction included)
            for alarm in raised:
                self._alarms.announce(alarm, self._live)
            for alarm in raised:       # the board shows these loans overdue
                self._changed(int(alarm.data["loan_id"]))
        return raised

    def _changed(self, loan_id: int) -> None:
        """Announce ``("keys", {"loan": loan_id})`` once the current transaction commits."""
        live = self._live
        if live is not None:
            self._db.after_commit(lambda: live.publish("keys", {"loan": loan_id}))

    # -- reads ----------------------------------------------------------------------------
    def get(self, loan_id: int) -> KeyLoan:
        r = self._db.conn().execute(f"{_SELECT} WHERE l.id = ?", (loan_id,)).fetchone()
        if r is None:
            raise NotFound(f"no loan {loan_id}")
        return _loan(r)

    def open_loan(self, key: str) -> KeyLoan | None:
        """The key's loan that is out (or released by the desk), newest first."""
        r = self._db.conn().execute(f"{_SELECT} WHERE l.key = ? AND l.state IN ('out', 'released') "
                                    "ORDER BY l.id DESC LIMIT 1", (key,)).fetchone()
        return _loan(r) if r else None

    def out_now(self) -> list[KeyLoan]:
        """Every key out now, the longest out first."""
        return self._many(f"{_SELECT} WHERE l.state = 'out' ORDER BY l.taken_at, l.id")

    def overdue(self, now_ms: int) -> list[KeyLoan]:
        """Loans out past their due time, the most overdue first (the reminders list)."""
        return self._many(f"{_SELECT} WHERE l.state = 'out' AND l.due_at <= ? ORDER BY l.due_at",
                          (now_ms,))

    def due_within(self, now_ms: int, ms: int) -> list[KeyLoan]:
        """Loans out that fall due in the next ``ms``."""
        return self._many(f"{_SELECT} WHERE l.state = 'out' AND l.due_at > ? AND l.due_at <= ? "
                          "ORDER BY l.due_at", (now_ms, now_ms + ms))

    def search(self, *, key: str | None = None, holder: str | None = None,
               since: int | None = None, until: int | None = None, state: str | None = None,
               limit: int = 500) -> list[KeyLoan]:
        """Loans newest first: of one ``key``, one ``holder`` (id or name), taken in
        [``since``, ``until``) (UTC ms), in one ``state``; at most ``limit`` (1..100,000)."""
        f = Filters()
        if key:
            f.add("l.key = ?", key)
        if holder:
            f.add("(l.holder = ? OR l.holder_name = ?)", holder, holder)
        if since is not None:
            f.add("COALESCE(l.taken_at, l.created_at) >= ?", since)
        if until is not None:
            f.add("COALESCE(l.taken_at, l.created_at) < ?", until)
        if state:
            f.add("l.state = ?", state)
        return self._many(f"{_SELECT}{f.sql} ORDER BY l.id DESC LIMIT ?",
                          (*f.args, max(1, min(int(limit), 100_000))))

    def _many(self, sql: str, args: Iterable[Any] = ()) -> list[KeyLoan]:
        return [_loan(r) for r in self._db.conn().execute(sql, tuple(args))]


def loan_json(loan: KeyLoan) -> str:
    """A loan as one JSON line (audit details)."""
    return json.dumps({"loan": loan.id, "key": loan.key, "holder": loan.holder,
                       "cmd_id": loan.cmd_id}, ensure_ascii=False)
