"""AuditLog: append, search newest first with filters, paging, field cut."""

from __future__ import annotations

from pathlib import Path

from web.audit import ALARM_ACK, LOGIN, AuditLog
from web.db import Database

from console_helpers import T0, FakeClock


def _log(tmp_path: Path, clock: FakeClock) -> AuditLog:
    return AuditLog(Database(tmp_path / "a.db").open(), clock=clock).open()


def test_record_keeps_who_what_where_and_when(tmp_path: Path, clock: FakeClock) -> None:
    log = _log(tmp_path, clock)
    entry = log.record(ALARM_ACK, user="desk1", target="alarm 3", detail="door closed",
                       remote_addr="10.0.0.5")
    (found,) = log.search()
    assert found == entry
    assert (found.ts, found.user, found.action, found.target, found.detail, found.remote_addr) == (
        T0, "desk1", ALARM_ACK, "alarm 3", "door closed", "10.0.0.5")


def test_search_is_newest_first_and_filters(tmp_path: Path, clock: FakeClock) -> None:
    log = _log(tmp_path, clock)
    for i in range(5):
        log.record(LOGIN, user=f"u{i % 2}")
        clock.advance(1)
    log.record(ALARM_ACK, user="u0")
    assert [e.action for e in log.search(limit=2)] == [ALARM_ACK, LOGIN]
    assert len(log.search(user="u0")) == 4
    assert len(log.search(user="u0", action=LOGIN)) == 3
    assert log.count(action=LOGIN) == 5
    page2 = log.search(limit=2, offset=2)
    assert [e.id for e in page2] == [4, 3]


def test_anonymous_actor_is_a_dash_and_long_fields_are_cut(tmp_path: Path, clock: FakeClock) -> None:
    log = _log(tmp_path, clock)
    entry = log.record("auth.login_failed", user=None, detail="x" * 2000)
    assert entry.user == "-"
    assert len(entry.detail) == 500 and entry.detail.endswith("…")


def test_table_exists_when_db_opened_before(tmp_path: Path, clock: FakeClock) -> None:
    db = Database(tmp_path / "b.db").open()
    db.conn().execute("DROP TABLE audit_log")
    log = AuditLog(db, clock=clock).open()
    log.record(LOGIN, user="a1")
    assert log.count() == 1
