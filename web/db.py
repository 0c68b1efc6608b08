"""The console's SQLite database: one file, WAL, one connection per thread.

Feature modules declare their tables with :func:`register_schema` when they are imported
(``CREATE TABLE IF NOT EXISTS ...``); :meth:`Database.open` creates the file and runs every
registered schema.  Journals (events, alarms, commands, visits, readings...) live here; small
admin-edited registries may live elsewhere (DESIGN.md, "Durability").

Writers use :meth:`Database.transaction` (``BEGIN IMMEDIATE`` ... ``COMMIT``); a transaction
opened inside another one on the same thread joins it, so a store method can be called on its
own or as part of the ingest's batch transaction.  Readers just use :meth:`Database.conn`
(autocommit: each statement sees the latest committed state; WAL lets them run while the
ingest writes).

Effects that others can see (live-feed publishes, in-memory state derived from the
database) must not happen before the writes they describe are committed: register them with
:meth:`Database.after_commit`, which runs them once the outermost transaction commits (at
once outside a transaction) and drops them if it, or the savepoint they were made in, rolls
back.  The ingest's batch transaction and every feature store share this, so an ingest event
handler defers its publishes the same way a page or job does.

Usage::

    db = Database("/var/lib/lobbygate/console.db").open()
    with db.transaction() as c:
        c.execute("INSERT INTO ...")
    rows = db.conn().execute("SELECT ...").fetchall()
    db.close()
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import StoreError

__all__ = ["Database", "Filters", "register_schema", "registered_schemas", "like_contains"]

log = logging.getLogger(__name__)

_SCHEMAS: dict[str, str] = {}
_SCHEMAS_LOCK = threading.Lock()

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def register_schema(name: str, sql: str) -> None:
    """Declare the tables of feature ``name`` (a SQL script of idempotent statements:
    ``CREATE TABLE IF NOT EXISTS``, ``CREATE INDEX IF NOT EXISTS``...).  Registering the same
    name again replaces the script.  Scripts run in registration order on :meth:`Database.open`."""
    if not name or not isinstance(sql, str):
        raise ValueError("register_schema needs a name and a SQL script")
    with _SCHEMAS_LOCK:
        _SCHEMAS[name] = sql


def registered_schemas() -> dict[str, str]:
    """A copy of the registered schema scripts, by feature name (for diagnostics and tests)."""
    with _SCHEMAS_LOCK:
        return dict(_SCHEMAS)


def like_contains(text: str) -> str:
    """A ``LIKE ... ESCAPE '\\'`` pattern matching values that contain ``text`` literally
    (its ``\\``, ``%`` and ``_`` escaped)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Filters:
    """The ``WHERE`` part of a search built from optional filters: :meth:`add` a clause with
    its parameters, :meth:`contains` for "any of these columns contains the text";
    :attr:`sql` is ``" WHERE a AND b"`` (or "" without filters), :attr:`args` the parameters
    in order."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def add(self, clause: str, *args: Any) -> "Filters":
        self.clauses.append(clause)
        self.args.extend(args)
        return self

    def contains(self, text: str, *columns: str) -> "Filters":
        """``(c1 LIKE ? ESCAPE '\\' OR c2 LIKE ? ...)`` with ``text`` matched literally."""
        like = like_contains(text)
        return self.add("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")",
                        *[like] * len(columns))

    @property
    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""


class Database:
    """The console's SQLite file.

    :param path: the database file; its directory is created by :meth:`open`.
    :param synchronous: SQLite ``synchronous`` setting, default ``"FULL"``: a commit is on disk
        (fsync'd WAL) when it returns, so what the ingest acknowledges to the broker survives a
        power cut, not only a killed process.  ``"NORMAL"`` survives a killed process only.
    :param busy_timeout_s: how long a writer waits for another writer's lock before failing
        (seconds, default 5.0).

    Thread-safe: every thread gets its own connection (``row_factory=sqlite3.Row``); all are
    closed by :meth:`close`.  The constructor does no I/O.
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "FULL",
                 busy_timeout_s: float = 5.0) -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {_SYNCHRONOUS}, got {synchronous!r}")
        if busy_timeout_s < 0:
            raise ValueError("busy_timeout_s must be >= 0")
        self.path = Path(path)
        self._synchronous = synchronous.upper()
        self._busy_ms = int(busy_timeout_s * 1000)
        self._lock = threading.Lock()
        self._conns: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._local = threading.local()
        self._open = False
        #: callbacks given to :meth:`after_commit` that raised (logged), since construction
        self.after_commit_errors = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> "Database":
        """Create the file (WAL mode) and run every registered schema.  Returns ``self``."""
        with self._lock:
            if self._open:
                return self
            self._open = True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            c = self.conn()
            mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: could not switch to WAL (journal_mode={mode})")
            for name, sql in registered_schemas().items():
                try:
                    c.executescript(f"BEGIN IMMEDIATE;\n{sql}\n;COMMIT;")
                except sqlite3.Error as exc:
                    if c.in_transaction:
                        c.execute("ROLLBACK")
                    raise StoreError(f"{self.path}: schema {name!r} failed: {exc}") from exc
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise StoreError(f"{self.path}: cannot open the console database: {exc}") from exc
        except StoreError:
            self.close()
            raise
        return self

    @property
    def is_open(self) -> bool:
        return self._open

    def close(self) -> None:
        """Close every thread's connection.  Idempotent; :meth:`open` may be called again."""
        with self._lock:
            self._open = False
            conns, self._conns = self._conns, {}
        for _thread, c in conns.values():
            try:
                c.close()
            except sqlite3.Error:  # pragma: no cover - closing a broken connection
                pass

    def __enter__(self) -> "Database":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ------------------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`transaction` to write)."""
        entry = self._conns.get(threading.get_ident())
        if entry is not None:
            return entry[1]
        with self._lock:
            if not self._open:
                raise StoreError(f"{self.path}: database is not open (call open() first)")
            # forget connections of threads that have ended (thread idents are reused)
            for ident, (thread, old) in list(self._conns.items()):
                if not thread.is_alive():
                    del self._conns[ident]
                    old.close()
            try:
                c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                    timeout=self._busy_ms / 1000)
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot connect: {exc}") from exc
            c.row_factory = sqlite3.Row
            c.execute(f"PRAGMA synchronous={self._synchronous}")
            c.execute(f"PRAGMA busy_timeout={self._busy_ms}")
            c.execute("PRAGMA foreign_keys=ON")
            self._conns[threading.get_ident()] = (threading.current_thread(), c)
            return c

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate the WAL to zero bytes
        (``wal_checkpoint(TRUNCATE)``), so rows overwritten or deleted since (with
        ``secure_delete``) no longer sit in either file. Waits up to the busy timeout for
        readers; False if one still held an old snapshot (the WAL is then left as it was and
        the next checkpoint finishes the job). Not inside :meth:`transaction`."""
        if self.in_transaction():
            raise StoreError("checkpoint inside a transaction")
        busy = self.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        return not busy

    def in_transaction(self) -> bool:
        """True while this thread is inside :meth:`transaction`."""
        return getattr(self._local, "depth", 0) > 0

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback()`` once this thread's current transaction has committed (in
        registration order, after ``COMMIT`` returned); right away when no transaction is open.
        Dropped, never run, if the transaction rolls back, or if the :meth:`savepoint` it was
        registered in is rolled back.  A callback that raises is logged and counted
        (:attr:`after_commit_errors`); the others still run and the commit stands."""
        if not self.in_transaction():
            self._run_callbacks([callback])
            return
        self._pending().append(callback)

    def _pending(self) -> list[Callable[[], object]]:
        pending = getattr(self._local, "after_commit", None)
        if pending is None:
            pending = self._local.after_commit = []
        return pending

    def _run_callbacks(self, callbacks: list[Callable[[], object]]) -> None:
        for cb in callbacks:
            try:
                cb()
            except Exception:  # noqa: BLE001 - the commit stands whatever a listener does
                self.after_commit_errors += 1
                log.exception("after-commit callback %r failed", cb)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` if the block raises).

        Nested use on the same thread joins the outer transaction: only the outermost block
        commits, and an exception anywhere rolls the whole thing back."""
        c = self.conn()
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield c
            finally:
                self._local.depth = depth
            return
        c.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        self._local.after_commit = []
        try:
            yield c
        except BaseException:
            self._local.depth = 0
            self._local.after_commit = []
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        self._local.depth = 0
        callbacks, self._local.after_commit = self._pending(), []
        try:
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        self._run_callbacks(callbacks)

    @contextmanager
    def savepoint(self, name: str = "sp") -> Iterator[sqlite3.Connection]:
        """A savepoint inside the current transaction: if the block raises, only its own
        changes are undone (and the exception propagates)."""
        if not self.in_transaction():
            raise StoreError("savepoint() must be used inside transaction()")
        c = self.conn()
        pending = self._pending()
        mark = len(pending)
        c.execute(f"SAVEPOINT {name}")
        try:
            yield c
        except BaseException:
            del pending[mark:]          # its after-commit callbacks go with its writes
            c.execute(f"ROLLBACK TO {name}")
            c.execute(f"RELEASE {name}")
            raise
        c.execute(f"RELEASE {name}")
