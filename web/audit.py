"""The audit log: every state-changing action in the console, with who, what, on what, from
where and when, in the console's SQLite database.

Actions are short dotted names (:data:`LOGIN`, :data:`ALARM_ACK`...); later features add their
own. Entries are never changed or deleted by the console.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable

from .db import Database, register_schema

__all__ = ["AuditLog", "AuditEntry", "ACTIONS", "LOGIN", "LOGIN_FAILED", "LOGIN_REFUSED",
           "LOGOUT", "PASSWORD_CHANGE", "USER_ADD", "USER_ROLE", "USER_PASSWORD", "USER_DISABLE",
           "USER_ENABLE", "LANGUAGE", "ALARM_ACK", "COMMAND_SEND", "EVENTS_EXPORT",
           "CREDENTIAL_ADD", "CREDENTIAL_EDIT", "CREDENTIAL_DISABLE", "CREDENTIAL_ENABLE",
           "CREDENTIAL_IMPORT", "CREDENTIAL_EXPORT", "ACCESS_EXPORT", "DOOR_UNLOCK",
           "DOOR_HOLD_OPEN", "DOOR_RELEASE", "SCHEDULE_ADD", "SCHEDULE_EDIT", "SCHEDULE_DELETE",
           "HOLIDAY_ADD", "HOLIDAY_DELETE"]

LOGIN = "auth.login"
LOGIN_FAILED = "auth.login_failed"
LOGIN_REFUSED = "auth.login_refused"      #: refused by the failed-log-in limit
LOGOUT = "auth.logout"
PASSWORD_CHANGE = "auth.password"         #: a user changed their own password
USER_ADD = "user.add"
USER_ROLE = "user.role"
USER_PASSWORD = "user.password"           #: an administrator reset someone's password
USER_DISABLE = "user.disable"
USER_ENABLE = "user.enable"
LANGUAGE = "user.language"
ALARM_ACK = "alarm.ack"
COMMAND_SEND = "command.send"
EVENTS_EXPORT = "events.export"
CREDENTIAL_ADD = "credential.add"
CREDENTIAL_EDIT = "credential.edit"
CREDENTIAL_DISABLE = "credential.disable"
CREDENTIAL_ENABLE = "credential.enable"
CREDENTIAL_IMPORT = "credential.import"
CREDENTIAL_EXPORT = "credential.export"
ACCESS_EXPORT = "access.export"
DOOR_UNLOCK = "door.unlock"                #: remote unlock, with the operator's reason
DOOR_HOLD_OPEN = "door.hold_open"          #: remote hold-open (until), with the reason
DOOR_RELEASE = "door.release"              #: end of a hold-open, with the reason
SCHEDULE_ADD = "schedule.add"
SCHEDULE_EDIT = "schedule.edit"
SCHEDULE_DELETE = "schedule.delete"
HOLIDAY_ADD = "holiday.add"
HOLIDAY_DELETE = "holiday.delete"

#: Every action the console itself records, in display order.
ACTIONS: tuple[str, ...] = (LOGIN, LOGIN_FAILED, LOGIN_REFUSED, LOGOUT, PASSWORD_CHANGE, USER_ADD,
                            USER_ROLE, USER_PASSWORD, USER_DISABLE, USER_ENABLE, LANGUAGE,
                            ALARM_ACK, COMMAND_SEND, EVENTS_EXPORT, CREDENTIAL_ADD, CREDENTIAL_EDIT,
                            CREDENTIAL_DISABLE, CREDENTIAL_ENABLE, CREDENTIAL_IMPORT,
                            CREDENTIAL_EXPORT, ACCESS_EXPORT, DOOR_UNLOCK, DOOR_HOLD_OPEN,
                            DOOR_RELEASE, SCHEDULE_ADD, SCHEDULE_EDIT, SCHEDULE_DELETE,
                            HOLIDAY_ADD, HOLIDAY_DELETE)

#: Longest stored field, characters (longer values are cut with an ellipsis).
MAX_FIELD_CHARS = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,      -- console clock, UTC ms
    user        TEXT    NOT NULL,      -- who acted ('-' before log-in)
    action      TEXT    NOT NULL,
    target      TEXT,                  -- what it acted on (a user name, an alarm id...)
    detail      TEXT,
    remote_addr TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log(user, id);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log(action, id);
"""
register_schema("audit", SCHEMA)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _cut(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record; ``ts`` in UTC ms."""

    id: int
    ts: int
    user: str
    action: str
    target: str | None
    detail: str | None
    remote_addr: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ts": self.ts, "user": self.user, "action": self.action,
                "target": self.target, "detail": self.detail, "remote_addr": self.remote_addr}


class AuditLog:
    """Append-only log of console actions.

    ``db``: the console database (opened by the caller); ``clock``: UTC ms (default the
    system clock). The constructor does no I/O; :meth:`open` makes sure the table exists
    (it is also registered with :func:`web.db.register_schema`)."""

    def __init__(self, db: Database, *, clock: Callable[[], int] | None = None) -> None:
        self._db = db
        self._clock = clock or _now_ms

    def open(self) -> "AuditLog":
        """Create the table if the database was opened before this module was imported."""
        self._db.conn().executescript(SCHEMA)
        return self

    def record(self, action: str, *, user: str | None, target: Any = None, detail: Any = None,
               remote_addr: str | None = None, ts: int | None = None) -> AuditEntry:
        """Append one entry and return it. ``user``: who acted (None before log-in: ``-``);
        ``target``/``detail``: short text (cut at 500 characters); ``ts``: UTC ms (default now)."""
        if not action:
            raise ValueError("an audit entry needs an action")
        entry_ts = self._clock() if ts is None else int(ts)
        fields = (entry_ts, _cut(user) or "-", _cut(action), _cut(target), _cut(detail),
                  _cut(remote_addr))
        with self._db.transaction() as c:
            cur = c.execute("INSERT INTO audit_log (ts, user, action, target, detail, remote_addr) "
                            "VALUES (?, ?, ?, ?, ?, ?)", fields)
        return AuditEntry(cur.lastrowid or 0, *fields)  # type: ignore[arg-type]

    @staticmethod
    def _where(user: str | None, action: str | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if user:
            clauses.append("user = ?")
            params.append(user)
        if action:
            clauses.append("action = ?")
            params.append(action)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def search(self, limit: int = 50, offset: int = 0, *, user: str | None = None,
               action: str | None = None) -> list[AuditEntry]:
        """Entries, newest first, optionally only one user's or one action's;
        ``limit`` 1..1000, ``offset`` >= 0."""
        limit = max(1, min(int(limit), 1000))
        offset = max(0, int(offset))
        where, params = self._where(user, action)
        rows = self._db.conn().execute(
            "SELECT id, ts, user, action, target, detail, remote_addr FROM audit_log"
            f"{where} ORDER BY id DESC LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
        return [self._entry(r) for r in rows]

    def count(self, *, user: str | None = None, action: str | None = None) -> int:
        """How many entries match."""
        where, params = self._where(user, action)
        return self._db.conn().execute(f"SELECT count(*) FROM audit_log{where}", params).fetchone()[0]

    def actions(self) -> list[str]:
        """Every action name recorded so far, plus :data:`ACTIONS`, sorted."""
        rows = self._db.conn().execute("SELECT DISTINCT action FROM audit_log").fetchall()
        return sorted({r[0] for r in rows} | set(ACTIONS))

    @staticmethod
    def _entry(r: sqlite3.Row) -> AuditEntry:
        return AuditEntry(id=r["id"], ts=r["ts"], user=r["user"], action=r["action"],
                          target=r["target"], detail=r["detail"], remote_addr=r["remote_addr"])
