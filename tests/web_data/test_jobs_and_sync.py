"""Periodic console jobs and the sync-snapshot publisher (no broker: publish is recorded)."""

from __future__ import annotations

import pytest

from mqtt_topics.payloads import SyncSnapshot
from web.db import Database
from web.jobs import JobRunner
from web.sync import SyncPublisher, bump_version, current_version


def test_job_runs_at_first_check_then_after_its_period() -> None:
    ran: list[int] = []
    jobs = JobRunner(clock=lambda: 0)
    jobs.add("tick", ran.append, every_ms=1_000)
    jobs.run_due(0)
    jobs.run_due(999)
    jobs.run_due(1_000)
    assert ran == [0, 1_000]


def test_failing_job_is_counted_and_others_still_run() -> None:
    ran: list[int] = []

    def broken(now: int) -> None:
        raise RuntimeError("bug")

    jobs = JobRunner(clock=lambda: 0)
    jobs.add("broken", broken, every_ms=10)
    jobs.add("fine", ran.append, every_ms=10)
    jobs.run_due(5)
    assert ran == [5] and jobs.counters()["broken"] == {"runs": 0, "failures": 1}


def test_stop_without_start_is_harmless() -> None:
    jobs = JobRunner(clock=lambda: 0)
    jobs.stop()
    jobs.stop()


def test_bump_version_counts_up_per_dataset(db: Database) -> None:
    import web.sync  # noqa: F401
    db.close()
    db.open()
    with db.transaction() as c:
        bump_version(c, "key-permissions")
        bump_version(c, "key-permissions")
        bump_version(c, "patrol-plan")
    c = db.conn()
    assert (current_version(c, "key-permissions"), current_version(c, "patrol-plan")) == (2, 1)


def _snap(dataset: str, version: int) -> SyncSnapshot:
    return SyncSnapshot(dataset=dataset, version=version, ts=1, data={})


def test_republish_all_skips_datasets_never_changed() -> None:
    sent: list[str] = []
    sync = SyncPublisher(site="tower-a", publish=lambda t, p, q, r: sent.append(t) or True)
    sync.register("credentials", snapshot=lambda: _snap("credentials", 0), version=lambda: 0)
    sync.register("pass-revocations", snapshot=lambda: _snap("pass-revocations", 3),
                  version=lambda: 3)
    sync.republish_all()
    assert sent == ["lobbygate/v1/tower-a/sync/pass-revocations"]


def test_publish_is_retained_qos1() -> None:
    sent: list[tuple[int, bool]] = []
    sync = SyncPublisher(site="tower-a", publish=lambda t, p, q, r: sent.append((q, r)) or True)
    sync.register("patrol-plan", snapshot=lambda: _snap("patrol-plan", 1), version=lambda: 1)
    assert sync.publish("patrol-plan") and sent == [(1, True)]


def test_register_refuses_a_bad_dataset_id() -> None:
    sync = SyncPublisher(site="tower-a", publish=lambda *a: True)
    with pytest.raises(Exception):
        sync.register("Bad Name", snapshot=lambda: _snap("x", 1), version=lambda: 1)
