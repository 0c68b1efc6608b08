"""Signed commands from the console to a node, and what became of them.

:meth:`CommandSender.send` signs a :class:`~mqtt_topics.CommandEnvelope` with the node's HMAC
key, records it as ``pending`` and publishes it on ``…/{node}/cmd/{action}`` (QoS 1).  The
node answers on ``…/cmd_result``; the ingest hands that to :meth:`CommandSender.on_result`,
which makes the record ``ok`` or ``failed``.  A pending command read after its
``expires_at`` is reported ``expired`` (the node refuses it by then; a result that still
arrives is recorded, since the node did act on it).  A command that could not be handed to
the broker (console not connected) is ``failed`` with error ``not_sent`` at once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from mqtt_topics import CommandEnvelope, CommandResult
from mqtt_topics import topics as T

from .db import Database, register_schema
from .errors import NotFound

__all__ = ["CommandSender", "CommandRecord", "COMMAND_STATES"]

log = logging.getLogger(__name__)

#: States of a command record.
COMMAND_STATES = ("pending", "ok", "failed", "expired")

SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    cmd_id     TEXT PRIMARY KEY,
    node       TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    args       TEXT    NOT NULL,
    issued_by  TEXT    NOT NULL,
    issued_at  INTEGER NOT NULL,               -- console clock, UTC ms
    expires_at INTEGER NOT NULL,
    state      TEXT    NOT NULL,               -- pending / ok / failed (expired is computed)
    error      TEXT,
    result_at  INTEGER                         -- console clock when the result arrived
);
CREATE INDEX IF NOT EXISTS commands_issued ON commands(issued_at);
"""
register_schema("commands", SCHEMA)

_COLS = "cmd_id, node, action, args, issued_by, issued_at, expires_at, state, error, result_at"


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """A command as recorded.  ``state``: ``pending``/``ok``/``failed``/``expired``;
    ``error``: the node's reason (``failed``) or ``not_sent``; times are UTC ms."""

    cmd_id: str
    node: str
    action: str
    issued_by: str
    issued_at: int
    expires_at: int
    state: str
    error: str | None = None
    args: dict[str, Any] | None = None
    result_at: int | None = None

    @property
    def done(self) -> bool:
        """True once the state will not change by itself any more."""
        return self.state != "pending"

    def to_dict(self) -> dict[str, Any]:
        return {"cmd_id": self.cmd_id, "node": self.node, "action": self.action,
                "issued_by": self.issued_by, "issued_at": self.issued_at,
                "expires_at": self.expires_at, "state": self.state, "error": self.error,
                "args": self.args, "result_at": self.result_at}


class CommandSender:
    """Sign, record, publish and follow commands.

    :param db: the console database (opened by the caller).
    :param publish: ``publish(topic, payload, qos, retain) -> bool``, True once handed to a
        connected MQTT client (normally :meth:`web.ingest.Ingest.publish`).
    :param site: the site id.
    :param node_keys: each node's HMAC command key (at least 16 bytes).
    :param clock: UTC ms now (injected in tests).
    """

    def __init__(self, *, db: Database, publish: Callable[[str, bytes, int, bool], bool], site: str,
                 node_keys: Mapping[str, bytes], clock: Callable[[], int]) -> None:
        T.check_id(site, "site")
        self._db = db
        self._publish = publish
        self._site = site
        self._keys = dict(node_keys)
        self._clock = clock
        self._cond = threading.Condition()

    def send(self, node: str, action: str, args: Mapping[str, Any] | None, *, issued_by: str,
             ttl_ms: int = 60_000) -> CommandEnvelope:
        """Sign and publish a command valid for ``ttl_ms`` (default 60 s); returns the signed
        envelope.  Raises :class:`NotFound` if the node has no key, ``ContractError`` for a bad
        node id, action or ttl."""
        key = self._keys.get(node)
        if key is None:
            raise NotFound(f"no command key for node {node!r}")
        env = CommandEnvelope.create(node=node, action=action, issued_by=issued_by,
                                     now_ms=self._clock(), ttl_ms=ttl_ms, args=args).signed(key)
        topic = T.command(self._site, node, action)
        with self._db.transaction() as c:
            c.execute(f"INSERT INTO commands ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL)",
                      (env.cmd_id, node, action, json.dumps(dict(env.args), sort_keys=True),
                       issued_by, env.issued_at, env.expires_at))
        sent = False
        try:
            sent = bool(self._publish(topic, env.to_json(), 1, False))
        except Exception:  # noqa: BLE001 - a broken publisher must not lose the record
            log.exception("command %s to %s: publish failed", env.cmd_id, node)
        if not sent:
            log.warning("command %s (%s) to %s not sent: console not connected to the broker",
                        env.cmd_id, action, node)
            with self._db.transaction() as c:
                c.execute("UPDATE commands SET state = 'failed', error = 'not_sent', result_at = ? "
                          "WHERE cmd_id = ? AND state = 'pending'", (self._clock(), env.cmd_id))
            self.notify()
        return env

    def on_result(self, node: str, result: CommandResult) -> bool:
        """Record a node's answer; True if it settled a pending command of that node (a result
        for an unknown command, another node's command or a settled one is logged and
        ignored).  Called by the ingest inside its transaction; waiters are woken once the
        outermost transaction has committed (the ingest calls :meth:`notify`)."""
        state = "ok" if result.ok else "failed"
        with self._db.transaction() as c:
            cur = c.execute("UPDATE commands SET state = ?, error = ?, result_at = ? "
                            "WHERE cmd_id = ? AND node = ? AND state = 'pending'",
                            (state, result.error, self._clock(), result.cmd_id, node))
        settled = cur.rowcount == 1
        if not settled:
            log.warning("cmd_result from %s for %s ignored: no pending command of that node",
                        node, result.cmd_id)
        if not self._db.in_transaction():
            self.notify()
        return settled

    def notify(self) -> None:
        """Wake :meth:`wait` callers (after results were committed)."""
        with self._cond:
            self._cond.notify_all()

    def status(self, cmd_id: str) -> CommandRecord:
        """The command's record (raises :class:`NotFound`)."""
        r = self._db.conn().execute(f"SELECT {_COLS} FROM commands WHERE cmd_id = ?",
                                    (cmd_id,)).fetchone()
        if r is None:
            raise NotFound(f"no command {cmd_id!r}")
        return self._record(r, self._clock())

    def wait(self, cmd_id: str, *, timeout_s: float) -> CommandRecord:
        """Block until the command is settled (ok/failed/expired) or ``timeout_s`` seconds
        pass; returns its record either way."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                rec = self.status(cmd_id)
                left = deadline - time.monotonic()
                if rec.done or left <= 0:
                    return rec
                # bounded slices so expiry (clock-based, no event) is noticed too
                self._cond.wait(min(left, 0.5))

    def recent(self, limit: int = 50) -> list[CommandRecord]:
        """The ``limit`` most recently issued commands, newest first."""
        now = self._clock()
        rows = self._db.conn().execute(f"SELECT {_COLS} FROM commands ORDER BY issued_at DESC, "
                                       "rowid DESC LIMIT ?", (int(limit),)).fetchall()
        return [self._record(r, now) for r in rows]

    @staticmethod
    def _record(r: sqlite3.Row, now: int) -> CommandRecord:
        state = r["state"]
        if state == "pending" and now > r["expires_at"]:
            state = "expired"
        return CommandRecord(cmd_id=r["cmd_id"], node=r["node"], action=r["action"],
                             issued_by=r["issued_by"], issued_at=r["issued_at"],
                             expires_at=r["expires_at"], state=state, error=r["error"],
                             args=json.loads(r["args"]), result_at=r["result_at"])
