"""Goods passes in the console database: issue (allocate an id, sign), search, cancel, the gate
verdicts the ingest hands over, expiry, and the ``sync/pass-revocations`` snapshot.

Pass ids are ``gp-YYYYMMDD-NNNN`` (goods) and ``tp-YYYYMMDD-NNNN`` (renovation tools), numbered
per day of the site's time zone. The QR text is signed once, when the pass is issued, and
stored, so a reprint shows the same code.

Gate verdicts (``goods_pass.released`` / ``denied`` / ``rejected``) arrive through
:meth:`GoodsPassStore.on_event` inside the ingest's batch transaction. A release moves an
issued pass to ``released``; a second release of the same pass id (two gates offline, each
releasing it once) raises the ``console.goods_pass_double_use`` alarm; a release of a pass the
desk had cancelled (a gate that had not yet received the revocation, e.g. offline) raises
``console.goods_pass_released_cancelled``. A release of a pass id the console never issued is
kept and flagged by the archive report.

The revocations snapshot lists the cancelled passes (``revoked``) and the released ones
(``used``) whose window has not ended more than a day ago; its version rises with each cancel
and each release (in the same transaction). Cancels are published at once by the page;
releases by the ``passes.sync`` job (:meth:`GoodsPassStore.publish_if_changed`).

Each newly stored verdict is announced as ``("gate", {"verdict": event_id})`` on the live feed
once the ingest's transaction commits (the gate board then fetches its verdict rows again).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import zoneinfo
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from mqtt_topics.passes import (REVOCATIONS_DATASET, GoodsPassToken, describe_items,
                                revocations_snapshot)
from mqtt_topics.payloads import SyncSnapshot

from ..db import Database, Filters, register_schema
from ..errors import AlreadyDone, NotFound
from ..sync import bump_version, current_version
from .days import today
from .model import DAY_MS, GoodsPass, PassDraft, PassLine, PassProblems

__all__ = ["GoodsPassStore", "PassNotFound", "PassNotCancellable", "GateVerdict",
           "DOUBLE_USE", "RELEASED_CANCELLED", "RELEASED", "DENIED", "REJECTED", "VERDICT_KINDS",
           "DATASET", "REVOKED_RETAIN_MS"]

log = logging.getLogger(__name__)

DATASET = REVOCATIONS_DATASET
RELEASED = "goods_pass.released"
DENIED = "goods_pass.denied"
REJECTED = "goods_pass.rejected"
#: Gate events kept as verdicts (``goods_pass.forged`` is the alarm twin of a rejection).
VERDICT_KINDS = (RELEASED, DENIED, REJECTED)
#: Console alarm: the same pass was released twice (at one gate or two).
DOUBLE_USE = "console.goods_pass_double_use"
#: Console alarm: a gate released a pass the desk had cancelled (once per such release).
RELEASED_CANCELLED = "console.goods_pass_released_cancelled"
#: A cancelled/released pass stays in the revocations snapshot this long after its window.
REVOKED_RETAIN_MS = DAY_MS

SCHEMA = """
CREATE TABLE IF NOT EXISTS goods_passes (
    pass_id          TEXT PRIMARY KEY,
    kind             TEXT    NOT NULL,
    unit             TEXT    NOT NULL,
    carrier_name     TEXT    NOT NULL,
    carrier_relation TEXT    NOT NULL,
    carrier_id_last4 TEXT    NOT NULL,
    authorisation    TEXT    NOT NULL,
    letter_ref       TEXT    NOT NULL DEFAULT '',
    letter_scan      TEXT    NOT NULL DEFAULT '',
    items            TEXT    NOT NULL,          -- JSON list of {description, quantity, large}
    item_count       INTEGER NOT NULL,
    items_digest     TEXT    NOT NULL,          -- hex, as in the QR token
    vehicle_plate    TEXT    NOT NULL DEFAULT '',
    valid_from       INTEGER NOT NULL,          -- UTC ms
    valid_until      INTEGER NOT NULL,
    note             TEXT    NOT NULL DEFAULT '',
    qr_text          TEXT    NOT NULL,
    state            TEXT    NOT NULL,          -- issued | released | cancelled | expired
    issued_at        INTEGER NOT NULL,
    issued_by        TEXT    NOT NULL,
    cancelled_at     INTEGER,
    cancelled_by     TEXT    NOT NULL DEFAULT '',
    cancel_reason    TEXT    NOT NULL DEFAULT '',
    released_at      INTEGER,                   -- the first release (gate clock)
    released_gate    TEXT    NOT NULL DEFAULT '',
    release_count    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS goods_passes_issued ON goods_passes(issued_at);
CREATE INDEX IF NOT EXISTS goods_passes_unit ON goods_passes(unit, issued_at);
CREATE INDEX IF NOT EXISTS goods_passes_state ON goods_passes(state, valid_until);
CREATE TABLE IF NOT EXISTS goods_pass_days (
    day TEXT PRIMARY KEY,                       -- 'gp-20261125'
    n   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS goods_pass_verdicts (
    event_id    TEXT PRIMARY KEY,
    kind        TEXT    NOT NULL,               -- goods_pass.released | denied | rejected
    pass_id     TEXT    NOT NULL DEFAULT '',    -- '' when the code was unreadable
    node        TEXT    NOT NULL,
    gate        TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    unit        TEXT    NOT NULL DEFAULT '',
    items       INTEGER,
    ts          INTEGER NOT NULL,               -- node clock, UTC ms
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS goods_pass_verdicts_ts ON goods_pass_verdicts(ts);
CREATE INDEX IF NOT EXISTS goods_pass_verdicts_pass ON goods_pass_verdicts(pass_id, kind);
CREATE INDEX IF NOT EXISTS goods_pass_verdicts_kind_ts ON goods_pass_verdicts(kind, ts);
"""
register_schema("goods_passes", SCHEMA)

_COLS = ("pass_id, kind, unit, carrier_name, carrier_relation, carrier_id_last4, authorisation, "
         "letter_ref, letter_scan, items, item_count, items_digest, vehicle_plate, valid_from, "
         "valid_until, note, qr_text, state, issued_at, issued_by, cancelled_at, cancelled_by, "
         "cancel_reason, released_at, released_gate, release_count")


class PassNotFound(NotFound):
    """No pass has that id."""


class PassNotCancellable(AlreadyDone):
    """The pass was already released, cancelled or has expired; ``state`` says which."""

    def __init__(self, pass_id: str, state: str) -> None:
        super().__init__(f"pass {pass_id} is {state}")
        self.state = state


@dataclass(frozen=True)
class GateVerdict:
    """One gate verdict: ``kind`` (``goods_pass.released``...), ``reason`` for a denial or a
    rejection, ``ts`` the gate's clock (UTC ms)."""

    event_id: str
    kind: str
    pass_id: str
    node: str
    gate: str
    reason: str
    unit: str
    items: int | None
    ts: int
    received_at: int

    @property
    def verdict(self) -> str:
        """``released``, ``denied`` or ``rejected``."""
        return self.kind.rsplit(".", 1)[-1]


def _row(r: sqlite3.Row) -> GoodsPass:
    items = tuple(PassLine(description=x["description"], quantity=int(x["quantity"]),
                           large=bool(x.get("large"))) for x in json.loads(r["items"]))
    return GoodsPass(
        pass_id=r["pass_id"], kind=r["kind"], unit=r["unit"], carrier_name=r["carrier_name"],
        carrier_relation=r["carrier_relation"], carrier_id_last4=r["carrier_id_last4"],
        authorisation=r["authorisation"], letter_ref=r["letter_ref"],
        letter_scan=r["letter_scan"], items=items, item_count=r["item_count"],
        items_digest=r["items_digest"], vehicle_plate=r["vehicle_plate"],
        valid_from=r["valid_from"], valid_until=r["valid_until"], note=r["note"],
        qr_text=r["qr_text"], state=r["state"], issued_at=r["issued_at"],
        issued_by=r["issued_by"], cancelled_at=r["cancelled_at"], cancelled_by=r["cancelled_by"],
        cancel_reason=r["cancel_reason"], released_at=r["released_at"],
        released_gate=r["released_gate"], release_count=r["release_count"])


def _verdict(r: sqlite3.Row) -> GateVerdict:
    return GateVerdict(event_id=r["event_id"], kind=r["kind"], pass_id=r["pass_id"],
                       node=r["node"], gate=r["gate"], reason=r["reason"], unit=r["unit"],
                       items=r["items"], ts=r["ts"], received_at=r["received_at"])


def _short(value: Any, limit: int = 64) -> str:
    return value[:limit] if isinstance(value, str) else ""


class GoodsPassStore:
    """Goods passes by id.

    :param db: the console database.
    :param site: the site id written into every token.
    :param clock: UTC ms (the console's).
    :param timezone: the site's IANA zone (the day in a pass id).
    :param alarms: raises the double-use and released-after-cancel alarms (an :class:`~web.stores.alarms.AlarmStore`;
        None: logged only).
    :param live: told about that alarm (``("alarm", alarm)``) and about each new verdict
        (``("gate", {"verdict": event_id})``), after the commit; may be None.

    The constructor does no I/O."""

    def __init__(self, db: Database, *, site: str, clock: Callable[[], int],
                 timezone: str = "UTC", alarms: Any = None, live: Any = None) -> None:
        self._db = db
        self.site = site
        self._clock = clock
        self._tz = zoneinfo.ZoneInfo(timezone)
        self._alarms = alarms
        self._live = live
        self._published_version = -1

    # -- issue -----------------------------------------------------------------------------
    def _day(self, ms: int) -> str:
        return today(ms, self._tz).strftime("%Y%m%d")

    def issue(self, draft: PassDraft, *, sign: Callable[[bytes], bytes], by: str,
              letter_scan: str = "") -> GoodsPass:
        """Allocate the next id of the day, sign the token with ``sign`` (the site key's
        ``SiteSigner.sign``) and store the pass as ``issued``. The caller checked the draft
        (:func:`~web.passes.model.check_draft`); a token the contract refuses raises
        :class:`~web.passes.model.PassProblems`."""
        from mqtt_topics import ContractError

        now = self._clock()
        prefix = ("tp-" if draft.kind == "tools" else "gp-") + self._day(now)
        try:
            described = describe_items([(i.description, i.quantity) for i in draft.items])
        except ContractError:
            raise PassProblems({"items": ["item_quantity"]}) from None
        items_json = json.dumps([i.to_json_obj() for i in draft.items], ensure_ascii=False)
        with self._db.transaction() as c:
            r = c.execute("SELECT n FROM goods_pass_days WHERE day = ?", (prefix,)).fetchone()
            n = (r[0] if r else 0) + 1
            c.execute("INSERT INTO goods_pass_days (day, n) VALUES (?, ?) ON CONFLICT(day) "
                      "DO UPDATE SET n = excluded.n", (prefix, n))
            pass_id = f"{prefix}-{n:04d}"
            try:
                token = GoodsPassToken(pass_id=pass_id, site=self.site, unit=draft.unit,
                                       valid_from_ms=draft.valid_from_ms,
                                       valid_until_ms=draft.valid_until_ms, **described)
            except ContractError as exc:
                raise PassProblems({"unit": ["unit_too_long"]} if "unit" in str(exc)
                                   else {"valid_until": ["bad_time"]}) from None
            qr_text = token.to_qr_text(sign(token.signing_bytes()))
            c.execute(f"INSERT INTO goods_passes ({_COLS}) VALUES "
                      f"({', '.join('?' * 26)})",
                      (pass_id, draft.kind, draft.unit, draft.carrier_name, draft.carrier_relation,
                       draft.carrier_id_last4, draft.authorisation, draft.letter_ref, letter_scan,
                       items_json, described["item_count"], described["items_digest"].hex(),
                       draft.vehicle_plate, draft.valid_from_ms, draft.valid_until_ms, draft.note,
                       qr_text, "issued", now, by, None, "", "", None, "", 0))
        found = self.get(pass_id)
        assert found is not None
        return found

    def set_letter_scan(self, pass_id: str, name: str) -> None:
        """Record the stored scan's file name for ``pass_id``."""
        with self._db.transaction() as c:
            if c.execute("UPDATE goods_passes SET letter_scan = ? WHERE pass_id = ?",
                         (name, pass_id)).rowcount == 0:
                raise PassNotFound(f"no pass {pass_id!r}")

    # -- reads -----------------------------------------------------------------------------
    def get(self, pass_id: str) -> GoodsPass | None:
        r = self._db.conn().execute(f"SELECT {_COLS} FROM goods_passes WHERE pass_id = ?",
                                    (pass_id,)).fetchone()
        return _row(r) if r else None

    def require(self, pass_id: str) -> GoodsPass:
        found = self.get(pass_id)
        if found is None:
            raise PassNotFound(f"no pass {pass_id!r}")
        return found

    def count(self) -> int:
        return self._db.conn().execute("SELECT COUNT(*) FROM goods_passes").fetchone()[0]

    def search(self, *, text: str | None = None, unit: str | None = None,
               carrier: str | None = None, state: str | None = None, kind: str | None = None,
               since_ms: int | None = None, until_ms: int | None = None,
               limit: int = 200) -> list[GoodsPass]:
        """Passes, newest first. ``text``: a pass id, unit or carrier name (substring);
        ``unit``: exact code; ``carrier``: substring of the name; ``state``: one of
        :data:`~web.passes.model.STATES` (``expired`` includes issued passes past their
        window, ``issued`` excludes them); ``since_ms``/``until_ms``: issued in ``[since, until)``."""
        now = self._clock()
        f = Filters()
        if text:
            f.contains(text, "pass_id", "unit", "carrier_name")
        if unit:
            f.add("unit = ?", unit)
        if carrier:
            f.contains(carrier, "carrier_name")
        if state == "expired":
            f.add("(state = 'expired' OR (state = 'issued' AND valid_until < ?))", now)
        elif state == "issued":
            f.add("state = 'issued' AND valid_until >= ?", now)
        elif state:
            f.add("state = ?", state)
        if kind:
            f.add("kind = ?", kind)
        if since_ms is not None:
            f.add("issued_at >= ?", since_ms)
        if until_ms is not None:
            f.add("issued_at < ?", until_ms)
        sql = (f"SELECT {_COLS} FROM goods_passes{f.sql} "
               "ORDER BY issued_at DESC, pass_id DESC LIMIT ?")
        return [_row(r) for r in self._db.conn().execute(sql, (*f.args, max(1, min(limit, 5000))))]

    def valid_between(self, start_ms: int, end_ms: int) -> list[GoodsPass]:
        """Issued passes whose window overlaps ``[start_ms, end_ms]`` and has not ended at the
        clock (the guard's "today"), earliest end first."""
        now = self._clock()
        rows = self._db.conn().execute(
            f"SELECT {_COLS} FROM goods_passes WHERE state = 'issued' AND valid_until >= ? "
            "AND valid_from <= ? ORDER BY valid_until, pass_id LIMIT 1000",
            (max(now, start_ms), end_ms))
        return [_row(r) for r in rows]

    def recent_verdicts(self, *, limit: int = 30) -> list[GateVerdict]:
        """The newest gate verdicts (gate clock), newest first."""
        rows = self._db.conn().execute(
            "SELECT * FROM goods_pass_verdicts ORDER BY ts DESC, event_id DESC LIMIT ?",
            (max(1, min(limit, 500)),))
        return [_verdict(r) for r in rows]

    def verdicts_for(self, pass_id: str) -> list[GateVerdict]:
        """Every gate verdict about ``pass_id``, oldest first."""
        rows = self._db.conn().execute(
            "SELECT * FROM goods_pass_verdicts WHERE pass_id = ? ORDER BY ts, event_id",
            (pass_id,))
        return [_verdict(r) for r in rows]

    # -- cancel / expire -------------------------------------------------------------------
    def cancel(self, pass_id: str, *, by: str, reason: str) -> int:
        """Cancel an issued pass that has not expired; the new revocations version.
        :class:`PassNotFound`, :class:`PassNotCancellable`; ``reason`` is required (ValueError)."""
        reason = reason.strip()
        if not reason:
            raise ValueError("a cancellation needs a reason")
        now = self._clock()
        with self._db.transaction() as c:
            r = c.execute("SELECT state, valid_until FROM goods_passes WHERE pass_id = ?",
                          (pass_id,)).fetchone()
            if r is None:
                raise PassNotFound(f"no pass {pass_id!r}")
            state = "expired" if r["state"] == "issued" and r["valid_until"] < now else r["state"]
            if state != "issued":
                raise PassNotCancellable(pass_id, state)
            c.execute("UPDATE goods_passes SET state = 'cancelled', cancelled_at = ?, "
                      "cancelled_by = ?, cancel_reason = ? WHERE pass_id = ?",
                      (now, by, reason[:200], pass_id))
            return bump_version(c, DATASET)

    def expire_due(self, now_ms: int | None = None) -> int:
        """Mark issued passes whose window ended as ``expired`` (the ``passes.expire`` job);
        how many."""
        now = self._clock() if now_ms is None else now_ms
        with self._db.transaction() as c:
            return c.execute("UPDATE goods_passes SET state = 'expired' "
                             "WHERE state = 'issued' AND valid_until < ?", (now,)).rowcount

    # -- gate verdicts (ingest) ------------------------------------------------------------
    def on_event(self, event: Any) -> None:
        """Ingest handler: keep ``goods_pass.released|denied|rejected`` events as verdicts; a
        release marks the pass released (and, the second time, raises the double-use alarm).
        Runs inside the ingest's transaction."""
        if event.kind not in VERDICT_KINDS:
            return
        data = event.data if isinstance(event.data, dict) else {}
        pass_id = _short(data.get("pass_id"))
        gate = _short(data.get("gate")) or event.node
        items = data.get("items")
        items = items if isinstance(items, int) and not isinstance(items, bool) else None
        with self._db.transaction() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO goods_pass_verdicts (event_id, kind, pass_id, node, gate, "
                "reason, unit, items, ts, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.event_id, event.kind, pass_id, event.node, gate,
                 _short(data.get("reason")), _short(data.get("unit")), items, event.ts,
                 event.received_at))
            if cur.rowcount == 0:
                return                             # a replay: nothing new to show
            live, event_id = self._live, event.event_id
            if live is not None:                   # once committed, never before
                self._db.after_commit(lambda: live.publish("gate", {"verdict": event_id}))
            if event.kind != RELEASED or not pass_id:
                return
            self._released(c, event, pass_id, gate)

    def _released(self, c: sqlite3.Connection, event: Any, pass_id: str, gate: str) -> None:
        # the (pass_id, kind) index, never a walk of every release in (kind, ts) order
        releases = sorted(c.execute(
            "SELECT event_id, node, gate, ts FROM goods_pass_verdicts "
            "INDEXED BY goods_pass_verdicts_pass WHERE pass_id = ? AND kind = ?",
            (pass_id, RELEASED)).fetchall(), key=lambda x: (x["ts"], x["event_id"]))
        r = c.execute("SELECT state, unit, released_at, cancelled_at, cancelled_by, cancel_reason "
                      "FROM goods_passes WHERE pass_id = ?", (pass_id,)).fetchone()
        if r is not None and r["state"] == "cancelled":
            log.warning("goods pass %s released at %s although cancelled", pass_id, gate)
            self._alarm(RELEASED_CANCELLED, event, {
                "pass_id": pass_id, "unit": r["unit"], "gate": gate, "released_at": event.ts,
                "cancelled_at": r["cancelled_at"], "cancelled_by": r["cancelled_by"],
                "reason": r["cancel_reason"]})
        if r is not None:
            first = releases[0]
            c.execute("UPDATE goods_passes SET release_count = ?, released_at = ?, "
                      "released_gate = ?, state = CASE WHEN state IN ('issued', 'expired') "
                      "THEN 'released' ELSE state END WHERE pass_id = ?",
                      (len(releases), first["ts"], first["gate"], pass_id))
            if r["state"] in ("issued", "expired"):
                bump_version(c, DATASET)
        if len(releases) < 2:
            return
        data = {"pass_id": pass_id, "unit": r["unit"] if r is not None else "",
                "known": r is not None, "releases": len(releases),
                "gates": sorted({x["gate"] for x in releases}),
                "events": [x["event_id"] for x in releases][:10], "gate": gate}
        log.warning("goods pass %s released %d times (gates %s)", pass_id, len(releases),
                    ", ".join(data["gates"]))
        self._alarm(DOUBLE_USE, event, data)

    def _alarm(self, kind: str, event: Any, data: dict[str, Any]) -> None:
        """Raise a console alarm for a gate event (inside the ingest's transaction); shown on
        the screens once the batch commits."""
        if self._alarms is None:
            return
        alarm = self._alarms.raise_console(kind, node=event.node, data=data, now=event.received_at)
        if self._live is not None:   # once the ingest's batch has committed, never before
            self._alarms.announce(alarm, self._live)

    # -- revocations snapshot --------------------------------------------------------------
    def revocations_version(self) -> int:
        """The ``pass-revocations`` version (0 before the first cancel or release)."""
        return current_version(self._db.conn(), DATASET)

    def revocations_snapshot(self) -> SyncSnapshot:
        """Cancelled (``revoked``) and released (``used``) pass ids whose window ended less
        than :data:`REVOKED_RETAIN_MS` ago, at the current version (read in one transaction)."""
        now = self._clock()
        cutoff = now - REVOKED_RETAIN_MS
        with self._db.transaction() as c:
            version = current_version(c, DATASET)
            revoked = [r[0] for r in c.execute(
                "SELECT pass_id FROM goods_passes WHERE state = 'cancelled' AND valid_until >= ?",
                (cutoff,))]
            used = [r[0] for r in c.execute(
                "SELECT pass_id FROM goods_passes WHERE state = 'released' AND valid_until >= ?",
                (cutoff,))]
        return revocations_snapshot(version=version, ts=now, revoked=revoked, used=used)

    def publish_if_changed(self, publish: Callable[[str], bool]) -> bool:
        """Call ``publish(DATASET)`` when the version moved since the last successful call
        (the ``passes.sync`` job publishes releases this way); True if it published."""
        version = self.revocations_version()
        if version == 0 or version == self._published_version:
            return False
        if publish(DATASET):
            self._published_version = version
            return True
        return False

    def mark_published(self, version: int) -> None:
        """The page published ``version`` itself (after a cancel)."""
        self._published_version = version

    # -- archive ---------------------------------------------------------------------------
    def archive_rows(self, since_ms: int, until_ms: int) -> Iterator[dict[str, Any]]:
        """Passes issued in ``[since, until)`` or released in it, each with its releases
        (``releases``, ``first_release``, ``gates``), then releases in the period of pass ids
        the console does not know (``pass`` None). Ordered by issue time (unknown ones last,
        by first release). One query: the candidates come from two index range scans."""
        cols = ", ".join(f"p.{c.strip()}" for c in _COLS.split(","))
        sql = f"""
            WITH cand(pass_id) AS (
                SELECT pass_id FROM goods_passes WHERE issued_at >= ? AND issued_at < ?
                UNION
                SELECT pass_id FROM goods_pass_verdicts WHERE kind = ? AND ts >= ? AND ts < ?),
            rel AS (
                SELECT v.pass_id, COUNT(*) AS n, MIN(v.ts) AS first_ts,
                       GROUP_CONCAT(DISTINCT v.gate) AS gates, MAX(v.unit) AS rel_unit,
                       MAX(v.items) AS rel_items
                FROM cand JOIN goods_pass_verdicts v ON v.pass_id = cand.pass_id AND v.kind = ?
                GROUP BY v.pass_id)
            SELECT {cols}, cand.pass_id AS cand_id, rel.n, rel.first_ts, rel.gates,
                   rel.rel_unit, rel.rel_items
            FROM cand LEFT JOIN goods_passes p ON p.pass_id = cand.pass_id
                      LEFT JOIN rel ON rel.pass_id = cand.pass_id
            ORDER BY p.issued_at IS NULL, p.issued_at, rel.first_ts, cand.pass_id"""
        rows = self._db.conn().execute(sql, (since_ms, until_ms, RELEASED, since_ms, until_ms,
                                             RELEASED))
        for r in rows:
            known = r["pass_id"] is not None
            yield {"pass": _row(r) if known else None, "pass_id": r["cand_id"],
                   "releases": r["n"] or 0, "first_release": r["first_ts"],
                   "gates": sorted(set((r["gates"] or "").split(","))) if r["gates"] else [],
                   "unit": r["rel_unit"] or "", "items": r["rel_items"]}
