"""The gate's pass ledger (released here + last revocations snapshot) and the
``sync/pass-revocations`` snapshot shape."""

from __future__ import annotations

import pytest

from edge.passes import PassLedger
from mqtt_topics import ContractError, SyncSnapshot
from mqtt_topics.passes import Revocations, parse_revocations, revocations_snapshot


@pytest.fixture
def ledger(tmp_path):
    with PassLedger(tmp_path / "gate" / "goods-gate.db") as led:
        yield led


def test_a_pass_is_claimed_once(ledger) -> None:
    assert ledger.claim("gp-1", at_ms=1, valid_until_ms=10)
    assert not ledger.claim("gp-1", at_ms=2, valid_until_ms=10)
    assert ledger.status("gp-1") == "already_used"


def test_claims_survive_reopening(tmp_path) -> None:
    with PassLedger(tmp_path / "l.db") as first:
        first.claim("gp-1", at_ms=1, valid_until_ms=10)
    with PassLedger(tmp_path / "l.db") as again:
        assert again.status("gp-1") == "already_used"


def test_revoked_and_used_elsewhere_come_from_the_snapshot(ledger) -> None:
    assert ledger.apply(Revocations(version=3, revoked=frozenset({"gp-1"}), used=frozenset({"gp-2"})))
    assert (ledger.status("gp-1"), ledger.status("gp-2"), ledger.status("gp-3")) == \
        ("revoked", "already_used", None)


def test_an_older_or_equal_snapshot_is_ignored(ledger) -> None:
    ledger.apply(Revocations(version=3, revoked=frozenset({"gp-1"})))
    assert not ledger.apply(Revocations(version=3, revoked=frozenset()))
    assert not ledger.apply(Revocations(version=2, revoked=frozenset()))
    assert ledger.status("gp-1") == "revoked" and ledger.revocations_version == 3


def test_a_newer_snapshot_replaces_the_list(ledger) -> None:
    ledger.apply(Revocations(version=1, revoked=frozenset({"gp-1"})))
    ledger.apply(Revocations(version=2, revoked=frozenset({"gp-2"})))
    assert (ledger.status("gp-1"), ledger.status("gp-2")) == (None, "revoked")


def test_revocations_survive_reopening(tmp_path) -> None:
    with PassLedger(tmp_path / "l.db") as first:
        first.apply(Revocations(version=5, revoked=frozenset({"gp-9"})))
    with PassLedger(tmp_path / "l.db") as again:
        assert again.status("gp-9") == "revoked" and again.revocations_version == 5


def test_prune_forgets_long_expired_passes_only(ledger) -> None:
    ledger.record_released([("gp-old", 1, 100), ("gp-new", 1, 1000)])
    assert ledger.prune(before_ms=500) == 1
    assert (ledger.status("gp-old"), ledger.status("gp-new")) == (None, "already_used")


def test_snapshot_round_trips_through_json() -> None:
    snap = revocations_snapshot(version=4, ts=1000, revoked=["gp-2", "gp-1"], used=["gp-3"])
    parsed = parse_revocations(SyncSnapshot.from_json(snap.to_json()))
    assert parsed == Revocations(version=4, revoked=frozenset({"gp-1", "gp-2"}),
                                 used=frozenset({"gp-3"}))


@pytest.mark.parametrize("data, words", [
    ({"format": 2, "revoked": []}, "format"),
    ({"format": 1}, "missing"),
    ({"format": 1, "revoked": "gp-1"}, "list"),
    ({"format": 1, "revoked": ["GP 1"]}, "pass id"),
    ({"format": 1, "revoked": [], "extra": 1}, "unknown"),
])
def test_bad_snapshots_are_refused(data: dict, words: str) -> None:
    with pytest.raises(ContractError, match=words):
        parse_revocations(SyncSnapshot(dataset="pass-revocations", version=1, ts=1, data=data))


def test_a_snapshot_of_another_dataset_is_refused() -> None:
    with pytest.raises(ContractError, match="dataset"):
        parse_revocations(SyncSnapshot(dataset="credentials", version=1, ts=1,
                                       data={"format": 1, "revoked": []}))
