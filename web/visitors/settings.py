"""The visitor desk's settings, edited by an administrator on the watchlist page and kept in the
console database (so a change needs no restart): how long a call may ring before the console
logs it unanswered, the hour visitors still on site are checked out, and the age at which
visits are anonymised."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from ..db import Database, register_schema
from .model import VisitError

__all__ = ["VisitorSettings", "SettingsStore"]

register_schema("visitor_settings", """
CREATE TABLE IF NOT EXISTS visitor_settings (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
""")


@dataclass(frozen=True)
class VisitorSettings:
    """``call_timeout_s``: a call still ringing this long after it was received is closed as
    ``timeout`` by the console (default 90 s; the node's own timeout normally comes first);
    ``checkout_hour``: local hour (0-23) at which visits still on site are checked out
    automatically and flagged, -1 never (default 23); ``anonymise_days``: visits older than
    this many days lose the visitor's name, ID tail, phone, plate and purpose (default 180)."""

    call_timeout_s: int = 90
    checkout_hour: int = 23
    anonymise_days: int = 180

    _LIMITS = {"call_timeout_s": (10, 3600), "checkout_hour": (-1, 23), "anonymise_days": (1, 3650)}

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> "VisitorSettings":
        """Settings from form values; :class:`VisitError` (code ``bad_number``) per field."""
        errors: dict[str, list[str]] = {}
        out: dict[str, int] = {}
        for f in fields(cls):
            raw = str(values.get(f.name, getattr(cls, f.name))).strip()
            lo, hi = cls._LIMITS[f.name]
            try:
                value = int(raw)
            except ValueError:
                value = lo - 1
            if not lo <= value <= hi:
                errors[f.name] = ["bad_number"]
            out[f.name] = value
        if errors:
            raise VisitError(errors)
        return cls(**out)


class SettingsStore:
    """Reads and writes :class:`VisitorSettings`.  The constructor does no I/O."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self) -> VisitorSettings:
        rows = dict(self._db.conn().execute("SELECT name, value FROM visitor_settings").fetchall())
        known = {f.name for f in fields(VisitorSettings)}
        return VisitorSettings(**{k: int(v) for k, v in rows.items() if k in known})

    def save(self, settings: VisitorSettings) -> None:
        with self._db.transaction() as c:
            c.executemany("INSERT INTO visitor_settings (name, value) VALUES (?, ?) "
                          "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                          list(asdict(settings).items()))
