"""Database.after_commit: effects run once the outermost transaction commits, never after a
rollback (of the transaction or of the savepoint they were registered in)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from web.db import Database


def committed_rows(path: Path) -> int:
    """Rows of ``t`` as another connection sees them (committed state only)."""
    other = sqlite3.connect(path)
    try:
        return other.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        other.close()


@pytest.fixture
def tdb(db: Database) -> Database:
    db.conn().execute("CREATE TABLE t (x INTEGER)")
    return db


def test_a_callback_runs_after_the_commit_not_before(tdb: Database) -> None:
    seen: list[int] = []
    with tdb.transaction() as c:
        c.execute("INSERT INTO t VALUES (1)")
        tdb.after_commit(lambda: seen.append(committed_rows(tdb.path)))
        assert seen == []
    assert seen == [1]                       # ran once, and the row was visible to others


def test_a_callback_outside_a_transaction_runs_at_once(tdb: Database) -> None:
    seen: list[str] = []
    tdb.after_commit(lambda: seen.append("now"))
    assert seen == ["now"]


def test_a_rolled_back_transaction_drops_its_callbacks(tdb: Database) -> None:
    seen: list[str] = []
    with pytest.raises(RuntimeError):
        with tdb.transaction():
            tdb.after_commit(lambda: seen.append("no"))
            raise RuntimeError("abort")
    with tdb.transaction():
        pass
    assert seen == []


def test_a_nested_transaction_waits_for_the_outermost_commit(tdb: Database) -> None:
    seen: list[str] = []
    with tdb.transaction():
        with tdb.transaction():
            tdb.after_commit(lambda: seen.append("inner"))
        assert seen == []
    assert seen == ["inner"]


def test_a_rolled_back_savepoint_drops_only_its_own_callbacks(tdb: Database) -> None:
    seen: list[str] = []
    with tdb.transaction():
        tdb.after_commit(lambda: seen.append("before"))
        with pytest.raises(RuntimeError):
            with tdb.savepoint("h"):
                tdb.after_commit(lambda: seen.append("undone"))
                raise RuntimeError("handler bug")
        with tdb.savepoint("h2"):
            tdb.after_commit(lambda: seen.append("kept"))
    assert seen == ["before", "kept"]


def test_a_failing_callback_is_counted_and_the_others_still_run(tdb: Database) -> None:
    seen: list[str] = []

    def boom() -> None:
        raise ValueError("listener bug")

    with tdb.transaction() as c:
        c.execute("INSERT INTO t VALUES (1)")
        tdb.after_commit(boom)
        tdb.after_commit(lambda: seen.append("second"))
    assert seen == ["second"] and tdb.after_commit_errors == 1
    assert committed_rows(tdb.path) == 1
