"""Database.checkpoint: the WAL is copied into the database file and truncated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from web.db import Database
from web.errors import StoreError


def wal(db: Database) -> Path:
    return db.path.with_name(db.path.name + "-wal")


def test_checkpoint_empties_the_wal_into_the_database_file(db: Database) -> None:
    with db.transaction() as c:
        c.execute("CREATE TABLE t (x TEXT)")
        c.execute("INSERT INTO t VALUES ('某某')")
    assert wal(db).stat().st_size > 0
    assert db.checkpoint() is True
    assert wal(db).stat().st_size == 0
    assert "某某".encode() in db.path.read_bytes()


def test_checkpoint_reports_a_reader_holding_an_old_snapshot(db: Database) -> None:
    db.conn().execute("CREATE TABLE t (x INTEGER)")
    reader = sqlite3.connect(db.path, isolation_level=None, timeout=0)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()        # holds this snapshot
        with db.transaction() as c:
            c.execute("INSERT INTO t VALUES (1)")
        db.conn().execute("PRAGMA busy_timeout=0")
        assert db.checkpoint() is False
    finally:
        reader.close()


def test_checkpoint_inside_a_transaction_is_refused(db: Database) -> None:
    with db.transaction():
        with pytest.raises(StoreError):
            db.checkpoint()
