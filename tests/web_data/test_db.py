"""Database: WAL, registered schemas, per-thread connections, nested transactions."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from mqtt_topics import LobbygateError
from web.db import Database, register_schema, registered_schemas
from web.errors import ConsoleError, StoreError


def test_open_creates_a_wal_database_with_every_registered_schema(db: Database) -> None:
    assert db.conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.conn().execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"events", "seq_gaps", "node_seq", "nodes", "alarms", "commands"} <= tables
    assert {"events", "nodes", "alarms", "commands"} <= set(registered_schemas())


def test_a_registered_schema_is_created_on_open(tmp_path: Path) -> None:
    register_schema("test_extra", "CREATE TABLE IF NOT EXISTS test_extra (x INTEGER);")
    with Database(tmp_path / "x.db") as d:
        d.conn().execute("INSERT INTO test_extra VALUES (1)")


def test_constructor_does_no_io(tmp_path: Path) -> None:
    Database(tmp_path / "sub" / "x.db")
    assert not (tmp_path / "sub").exists()


def test_conn_before_open_raises_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        Database(tmp_path / "x.db").conn()


def test_store_errors_belong_to_the_project_error_tree() -> None:
    assert issubclass(StoreError, ConsoleError) and issubclass(ConsoleError, LobbygateError)


def test_transaction_commits(db: Database) -> None:
    db.conn().execute("CREATE TABLE t (x)")
    with db.transaction() as c:
        c.execute("INSERT INTO t VALUES (1)")
    assert db.conn().execute("SELECT count(*) FROM t").fetchone()[0] == 1


def test_exception_rolls_the_transaction_back(db: Database) -> None:
    db.conn().execute("CREATE TABLE t (x)")
    with pytest.raises(RuntimeError):
        with db.transaction() as c:
            c.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("boom")
    assert db.conn().execute("SELECT count(*) FROM t").fetchone()[0] == 0
    assert not db.in_transaction()


def test_nested_transaction_joins_the_outer_one(db: Database) -> None:
    db.conn().execute("CREATE TABLE t (x)")
    with pytest.raises(RuntimeError):
        with db.transaction() as c:
            with db.transaction() as inner:
                inner.execute("INSERT INTO t VALUES (1)")
            assert c.in_transaction  # the inner block did not commit
            raise RuntimeError("outer fails")
    assert db.conn().execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_savepoint_undoes_only_its_own_block(db: Database) -> None:
    db.conn().execute("CREATE TABLE t (x)")
    with db.transaction() as c:
        c.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ValueError):
            with db.savepoint():
                c.execute("INSERT INTO t VALUES (2)")
                raise ValueError("bad message")
    assert [r[0] for r in db.conn().execute("SELECT x FROM t")] == [1]


def test_each_thread_gets_its_own_connection(db: Database) -> None:
    other: list[sqlite3.Connection] = []
    t = threading.Thread(target=lambda: other.append(db.conn()))
    t.start()
    t.join()
    assert other[0] is not db.conn()


def test_close_is_idempotent_and_reopen_works(db: Database) -> None:
    db.close()
    db.close()
    with pytest.raises(StoreError):
        db.conn()
    db.open()
    assert db.conn().execute("SELECT 1").fetchone()[0] == 1


def test_bad_synchronous_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Database(tmp_path / "x.db", synchronous="SOMETIMES")
