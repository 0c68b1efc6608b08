"""Which building an intercom panel stands in, so a unit number keyed there (``1201``) is found
in the unit registry even when several buildings have a ``1201``.

A panel is named by its node and its ``[intercom] name`` (both ride on every ``intercom.call``
event: the event's node and ``data.panel``). An administrator maps panels to buildings on the
visitors' settings page; the mapping is kept in the console database with the other visitor
settings and applies to calls made after the change. An unmapped panel keeps the old rule: a
number that exactly one building has resolves to that unit (:func:`web.visitors.calls.resolve_unit`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..db import Database, register_schema
from ..errors import NotFound
from ..units import UnitStore
from .model import VisitError

__all__ = ["PanelBuilding", "PanelBuildings"]

_NAME_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

register_schema("intercom_panel_buildings", """
CREATE TABLE IF NOT EXISTS intercom_panel_buildings (
    node        TEXT    NOT NULL,
    panel       TEXT    NOT NULL,           -- the panel's [intercom] name
    building    TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,           -- UTC ms
    updated_by  TEXT    NOT NULL,
    PRIMARY KEY (node, panel)
);
""")


@dataclass(frozen=True)
class PanelBuilding:
    """One mapping: the panel ``panel`` of node ``node`` stands in ``building``."""

    node: str
    panel: str
    building: str
    updated_at: int
    updated_by: str


class PanelBuildings:
    """Panel -> building mappings.  ``units``: the registry (a building must have units);
    ``clock``: UTC ms.  The constructor does no I/O."""

    def __init__(self, db: Database, *, units: UnitStore, clock: Callable[[], int]) -> None:
        self._db = db
        self._units = units
        self._clock = clock

    def building_for(self, node: str, panel: str) -> str | None:
        """The building of the panel, None if it is not mapped."""
        r = self._db.conn().execute("SELECT building FROM intercom_panel_buildings "
                                    "WHERE node = ? AND panel = ?", (node, panel)).fetchone()
        return r[0] if r else None

    def all(self) -> list[PanelBuilding]:
        rows = self._db.conn().execute(
            "SELECT node, panel, building, updated_at, updated_by FROM intercom_panel_buildings "
            "ORDER BY node, panel").fetchall()
        return [PanelBuilding(*tuple(r)) for r in rows]

    def unmapped_seen(self) -> list[tuple[str, str]]:
        """Panels that have sent calls and are not mapped yet: ``(node, panel)`` pairs."""
        return [(r[0], r[1]) for r in self._db.conn().execute(
            "SELECT DISTINCT c.node, c.panel FROM intercom_calls c WHERE c.panel != '' AND NOT "
            "EXISTS (SELECT 1 FROM intercom_panel_buildings p WHERE p.node = c.node "
            "AND p.panel = c.panel) ORDER BY c.node, c.panel")]

    def set(self, node: str, panel: str, building: str, *, by: str) -> PanelBuilding:
        """Map (or re-map) a panel; :class:`VisitError` (``bad_name`` for node/panel,
        ``unknown_building`` when the registry has no unit in ``building``)."""
        node, panel, building = node.strip(), panel.strip(), building.strip()
        errors: dict[str, list[str]] = {}
        for field, value in (("node", node), ("panel", panel)):
            if not _NAME_RE.fullmatch(value):
                errors[field] = ["bad_name"]
        if building not in self._units.buildings():
            errors["building"] = ["unknown_building"]
        if errors:
            raise VisitError(errors)
        now = self._clock()
        with self._db.transaction() as c:
            c.execute("INSERT INTO intercom_panel_buildings (node, panel, building, updated_at, "
                      "updated_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT(node, panel) DO UPDATE SET "
                      "building = excluded.building, updated_at = excluded.updated_at, "
                      "updated_by = excluded.updated_by", (node, panel, building, now, by))
        return PanelBuilding(node, panel, building, now, by)

    def remove(self, node: str, panel: str) -> PanelBuilding:
        """Delete a mapping (the panel falls back to the unique-number rule); the mapping that
        was removed. :class:`NotFound` if there was none."""
        with self._db.transaction() as c:
            r = c.execute("SELECT node, panel, building, updated_at, updated_by FROM "
                          "intercom_panel_buildings WHERE node = ? AND panel = ?",
                          (node, panel)).fetchone()
            if r is None:
                raise NotFound(f"panel {panel!r} of {node!r} is not mapped")
            c.execute("DELETE FROM intercom_panel_buildings WHERE node = ? AND panel = ?",
                      (node, panel))
        return PanelBuilding(*tuple(r))
