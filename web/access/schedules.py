"""Access schedules and holiday dates in the console's SQLite database. They travel inside the
``credentials`` snapshot (``schedules`` and ``holidays``), so every change raises that
dataset's version by one in the same transaction, exactly as a credential change does; the
caller then publishes the snapshot (``services.publish_credentials()``).

A schedule that credentials still name cannot be deleted (:class:`ScheduleInUse`): the node
would deny those cards as ``outside_schedule`` at every hour.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable

from ..db import Database, register_schema
from ..sync import bump_version
from .schedule_model import DAYS, AccessSchedule, Holiday
from .store import DATASET, CredentialError, CredentialNotFound

__all__ = ["ScheduleStore", "ScheduleExists", "ScheduleInUse", "ScheduleNotFound",
           "snapshot_parts"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS access_schedules (
    id          TEXT PRIMARY KEY,
    description TEXT    NOT NULL DEFAULT '',
    week        TEXT    NOT NULL,           -- JSON: {"mon": ["08:00-18:00", ...], ...}
    holiday     TEXT    NOT NULL,           -- JSON list of intervals on holidays
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS access_holidays (
    day        TEXT PRIMARY KEY,            -- YYYY-MM-DD, the site's local date
    name       TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);
"""
register_schema("access_schedules", SCHEMA)


class ScheduleExists(CredentialError):
    """A new schedule's id is taken."""


class ScheduleNotFound(CredentialNotFound):
    """No schedule (or holiday) with that id (date)."""


class ScheduleInUse(CredentialError):
    """The schedule is named by ``count`` credentials (``schedule_id``)."""

    def __init__(self, schedule_id: str, count: int) -> None:
        super().__init__(f"schedule {schedule_id} is used by {count} credential(s)")
        self.schedule_id, self.count = schedule_id, count


def _schedule(r: sqlite3.Row) -> AccessSchedule:
    week = json.loads(r["week"])
    return AccessSchedule(schedule_id=r["id"], description=r["description"],
                          week={d: tuple(week[d]) for d in DAYS if week.get(d)},
                          holiday=tuple(json.loads(r["holiday"])),
                          updated_at=r["updated_at"], updated_by=r["updated_by"])


def _holiday(r: sqlite3.Row) -> Holiday:
    return Holiday(day=r["day"], name=r["name"], updated_at=r["updated_at"],
                   updated_by=r["updated_by"])


def snapshot_parts(c: sqlite3.Connection) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The snapshot's ``holidays`` (sorted dates) and ``schedules`` (id -> JSON form), read
    through ``c`` (the snapshot's own transaction)."""
    holidays = [r[0] for r in c.execute("SELECT day FROM access_holidays ORDER BY day")]
    schedules = {r["id"]: _schedule(r).to_json_obj()
                 for r in c.execute("SELECT * FROM access_schedules ORDER BY id")}
    return holidays, schedules


class ScheduleStore:
    """Schedules and holidays in ``db`` (opened by the caller). ``clock``: UTC ms for
    ``updated_at``. Every write returns the new ``credentials`` snapshot version. No I/O in
    the constructor."""

    def __init__(self, db: Database, *, clock: Callable[[], int]) -> None:
        self._db = db
        self._clock = clock

    # -- reads -----------------------------------------------------------------------------
    def list(self) -> list[AccessSchedule]:
        """Every schedule, by id."""
        return [_schedule(r) for r in
                self._db.conn().execute("SELECT * FROM access_schedules ORDER BY id")]

    def ids(self) -> list[str]:
        return [r[0] for r in self._db.conn().execute("SELECT id FROM access_schedules ORDER BY id")]

    def get(self, schedule_id: str) -> AccessSchedule | None:
        r = self._db.conn().execute("SELECT * FROM access_schedules WHERE id = ?",
                                    (schedule_id,)).fetchone()
        return _schedule(r) if r else None

    def exists(self, schedule_id: str) -> bool:
        return self._db.conn().execute("SELECT 1 FROM access_schedules WHERE id = ?",
                                       (schedule_id,)).fetchone() is not None

    def usage(self) -> dict[str, int]:
        """Schedule id -> how many credentials name it."""
        return {r[0]: r[1] for r in self._db.conn().execute(
            "SELECT schedule, COUNT(*) FROM credentials WHERE schedule IS NOT NULL "
            "GROUP BY schedule")}

    def holidays(self) -> list[Holiday]:
        """Every holiday date, oldest first."""
        return [_holiday(r) for r in
                self._db.conn().execute("SELECT * FROM access_holidays ORDER BY day")]

    # -- writes ----------------------------------------------------------------------------
    def save(self, schedule: AccessSchedule, *, by: str, create: bool) -> int:
        """Add (``create``) or replace a schedule. Raises :class:`ScheduleExists` /
        :class:`ScheduleNotFound` (nothing changed then)."""
        with self._db.transaction() as c:
            exists = c.execute("SELECT 1 FROM access_schedules WHERE id = ?",
                               (schedule.schedule_id,)).fetchone() is not None
            if create and exists:
                raise ScheduleExists(schedule.schedule_id)
            if not create and not exists:
                raise ScheduleNotFound(schedule.schedule_id)
            c.execute("INSERT OR REPLACE INTO access_schedules "
                      "(id, description, week, holiday, updated_at, updated_by) "
                      "VALUES (?, ?, ?, ?, ?, ?)",
                      (schedule.schedule_id, schedule.description,
                       json.dumps({d: list(v) for d, v in schedule.week.items()}),
                       json.dumps(list(schedule.holiday)), self._clock(), by))
            return bump_version(c, DATASET)

    def delete(self, schedule_id: str, *, by: str) -> int:
        """Delete a schedule no credential names. Raises :class:`ScheduleNotFound` or
        :class:`ScheduleInUse`. ``by`` is for the caller's audit entry."""
        with self._db.transaction() as c:
            if c.execute("SELECT 1 FROM access_schedules WHERE id = ?",
                         (schedule_id,)).fetchone() is None:
                raise ScheduleNotFound(schedule_id)
            used = c.execute("SELECT COUNT(*) FROM credentials WHERE schedule = ?",
                             (schedule_id,)).fetchone()[0]
            if used:
                raise ScheduleInUse(schedule_id, used)
            c.execute("DELETE FROM access_schedules WHERE id = ?", (schedule_id,))
            return bump_version(c, DATASET)

    def set_holiday(self, holiday: Holiday, *, by: str) -> int:
        """Add a holiday date (or rename one already listed)."""
        with self._db.transaction() as c:
            c.execute("INSERT INTO access_holidays (day, name, updated_at, updated_by) "
                      "VALUES (?, ?, ?, ?) ON CONFLICT(day) DO UPDATE SET name = excluded.name, "
                      "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                      (holiday.day, holiday.name, self._clock(), by))
            return bump_version(c, DATASET)

    def delete_holiday(self, day: str, *, by: str) -> int:
        """Remove a holiday date. Raises :class:`ScheduleNotFound`."""
        with self._db.transaction() as c:
            cur = c.execute("DELETE FROM access_holidays WHERE day = ?", (day,))
            if cur.rowcount != 1:
                raise ScheduleNotFound(day)
            return bump_version(c, DATASET)
