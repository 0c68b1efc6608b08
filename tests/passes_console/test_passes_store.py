"""GoodsPassStore: issue and sign (verified by the gate's PassVerifier), cancel and the
revocations snapshot, gate verdicts through the ingest's event handlers, expiry."""

from __future__ import annotations

import pytest

from edge.passes import PassVerifier
from mqtt_topics.passes import GoodsPassToken, items_digest, parse_revocations
from web.passes import DOUBLE_USE, RELEASED_CANCELLED, PassNotCancellable
from web.passes.store import DATASET

from pc_helpers import DAY_MS, SITE, T0, TODAY_END, TODAY_START, UNIT, draft, gate_event


def issue(psvc, signer, **overrides):  # type: ignore[no-untyped-def]
    return psvc.passes.issue(draft(**overrides), sign=signer.sign, by="desk1")


def test_issued_pass_verifies_at_the_gate_with_the_public_key(psvc, signer, clock) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    verifier = PassVerifier(signer.public_key_raw(), site=SITE, clock=clock)
    check = verifier.check(gp.qr_text)
    assert check.ok, check.detail
    assert check.token is not None
    assert (check.token.pass_id, check.token.unit, check.token.item_count) == (gp.pass_id, UNIT, 4)
    assert (check.token.valid_from_ms, check.token.valid_until_ms) == (TODAY_START, TODAY_END)
    assert check.token.items_digest == items_digest([("冰箱", 1), ("纸箱", 3)])


def test_pass_signed_with_another_key_is_forged_at_the_gate(psvc, signer, clock) -> None:  # type: ignore[no-untyped-def]
    from web.signing import SiteSigner

    gp = psvc.passes.issue(draft(), sign=SiteSigner.generate().sign, by="desk1")
    verifier = PassVerifier(signer.public_key_raw(), site=SITE, clock=clock)
    assert verifier.check(gp.qr_text).reason == "forged"


def test_pass_ids_count_up_per_day_of_the_site(psvc, signer, clock) -> None:  # type: ignore[no-untyped-def]
    first, second = issue(psvc, signer), issue(psvc, signer)
    tool = issue(psvc, signer, kind="tools", carrier_relation="worker", authorisation="desk")
    assert (first.pass_id, second.pass_id, tool.pass_id) == \
        ("gp-20260302-0001", "gp-20260302-0002", "tp-20260302-0001")
    clock.advance(DAY_MS)
    assert issue(psvc, signer, valid_until_ms=TODAY_END + DAY_MS).pass_id == "gp-20260303-0001"


def test_stored_qr_text_parses_to_the_stored_fields(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    token, _sig = GoodsPassToken.from_qr_text(gp.qr_text)
    assert token.items_digest.hex() == gp.items_digest
    assert psvc.passes.get(gp.pass_id) == gp


def test_cancel_bumps_the_revocations_version_and_lists_the_pass(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    keep, gone = issue(psvc, signer), issue(psvc, signer)
    before = psvc.passes.revocations_version()
    version = psvc.passes.cancel(gone.pass_id, by="desk1", reason="owner changed plans")
    assert version == before + 1 == psvc.passes.revocations_version()
    snap = psvc.sync.snapshot(DATASET)
    rev = parse_revocations(snap)
    assert (snap.version, rev.revoked, rev.used) == (version, frozenset({gone.pass_id}), frozenset())
    assert keep.pass_id not in rev.revoked
    assert psvc.passes.get(gone.pass_id).state == "cancelled"


def test_cancel_needs_a_reason(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    with pytest.raises(ValueError):
        psvc.passes.cancel(gp.pass_id, by="desk1", reason="  ")


def test_released_pass_cannot_be_cancelled(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id)
    with pytest.raises(PassNotCancellable) as exc:
        psvc.passes.cancel(gp.pass_id, by="desk1", reason="late")
    assert exc.value.state == "released"


def test_expired_pass_cannot_be_cancelled(psvc, signer, clock) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    clock.advance(DAY_MS)
    with pytest.raises(PassNotCancellable):
        psvc.passes.cancel(gp.pass_id, by="desk1", reason="late")


def test_released_event_marks_the_pass_released_and_used(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    before = psvc.passes.revocations_version()
    gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id, ts=T0 + 5000)
    got = psvc.passes.get(gp.pass_id)
    assert (got.state, got.released_at, got.released_gate, got.release_count) == \
        ("released", T0 + 5000, "gate", 1)
    assert psvc.passes.revocations_version() == before + 1
    assert gp.pass_id in parse_revocations(psvc.passes.revocations_snapshot()).used
    assert psvc.alarms.count_open() == 0


def test_second_release_raises_the_double_use_alarm(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    with psvc.live.subscribe() as sub:
        gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id, gate="gate-north",
                   node="gate", ts=T0 + 1000)
        gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id, gate="gate-south",
                   node="lobby", ts=T0 + 2000)
        item = next((i for i in iter(lambda: sub.get(timeout_s=1), None) if i[0] != "gate"), None)
    alarms = [a for a in psvc.alarms.open() if a.kind == DOUBLE_USE]
    assert item is not None and item[0] == "alarm" and item[1]["kind"] == DOUBLE_USE
    assert item[1]["data"]["gates"] == ["gate-north", "gate-south"]
    assert item[1]["data"]["pass_id"] == gp.pass_id
    assert len(alarms) == 1 and alarms[0].data["releases"] == 2
    got = psvc.passes.get(gp.pass_id)
    assert (got.release_count, got.released_gate) == (2, "gate-north")


def test_release_of_a_cancelled_pass_raises_an_alarm_naming_the_cancel(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    psvc.passes.cancel(gp.pass_id, by="desk1", reason="owner changed plans")
    with psvc.live.subscribe() as sub:
        gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id, gate="gate-north",
                   node="gate", ts=T0 + 1000)        # the gate had not heard of the cancel
        item = next((i for i in iter(lambda: sub.get(timeout_s=1), None) if i[0] != "gate"), None)
    assert item is not None and item[0] == "alarm" and item[1]["kind"] == RELEASED_CANCELLED
    [alarm] = [a for a in psvc.alarms.open() if a.kind == RELEASED_CANCELLED]
    assert {k: alarm.data[k] for k in ("pass_id", "unit", "gate", "cancelled_by", "reason")} == \
        {"pass_id": gp.pass_id, "unit": UNIT, "gate": "gate-north", "cancelled_by": "desk1",
         "reason": "owner changed plans"}
    assert alarm.node == "gate" and psvc.passes.get(gp.pass_id).state == "cancelled"


def test_replayed_release_of_a_cancelled_pass_raises_one_alarm(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    psvc.passes.cancel(gp.pass_id, by="desk1", reason="owner changed plans")
    ev = gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id)
    with psvc.db.transaction():
        psvc.passes.on_event(ev)                   # the same event handed over again
    assert len([a for a in psvc.alarms.open() if a.kind == RELEASED_CANCELLED]) == 1


def test_one_release_raises_no_alarm(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    with psvc.live.subscribe() as sub:
        gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id)
        assert sub.get(timeout_s=1) == ("gate", {"verdict": "gate:b1:1"})   # the verdict only
        assert sub.get(timeout_s=0.05) is None


def test_denied_and_rejected_verdicts_are_kept_for_the_guard(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    gate_event(psvc, 1, "goods_pass.denied", pass_id=gp.pass_id, reason="guard", ts=T0 + 1)
    gate_event(psvc, 2, "goods_pass.rejected", pass_id="gp-x", reason="forged", ts=T0 + 2)
    got = [(v.verdict, v.pass_id, v.reason) for v in psvc.passes.recent_verdicts()]
    assert got == [("rejected", "gp-x", "forged"), ("denied", gp.pass_id, "guard")]
    assert psvc.passes.get(gp.pass_id).state == "issued"


def test_release_of_an_unknown_pass_is_kept(psvc) -> None:  # type: ignore[no-untyped-def]
    gate_event(psvc, 1, "goods_pass.released", pass_id="gp-20260301-0099")
    assert [v.pass_id for v in psvc.passes.recent_verdicts()] == ["gp-20260301-0099"]


def test_expire_job_marks_passes_past_their_window(psvc, signer, clock) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    clock.advance(DAY_MS)
    assert "passes.expire" in psvc.jobs.run_due(clock())
    assert psvc.passes.get(gp.pass_id).state == "expired"


def test_sync_job_publishes_a_version_raised_by_a_release(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    published = []
    gp = issue(psvc, signer)
    gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id)
    publish = lambda dataset: published.append(dataset) or True  # noqa: E731
    assert psvc.passes.publish_if_changed(publish) is True
    assert psvc.passes.publish_if_changed(publish) is False
    assert published == [DATASET]


def test_cancelled_pass_leaves_the_snapshot_a_day_after_its_window(psvc, signer, clock) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    psvc.passes.cancel(gp.pass_id, by="desk1", reason="x")
    clock.advance(DAY_MS * 2)
    assert parse_revocations(psvc.passes.revocations_snapshot()).revoked == frozenset()


def test_a_double_use_alarm_of_a_rolled_back_batch_never_reaches_the_screens(psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = issue(psvc, signer)
    gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id, gate="gate-north", ts=T0 + 1000)
    with psvc.live.subscribe() as sub:
        with pytest.raises(RuntimeError):
            with psvc.db.transaction():          # the ingest's batch, which then fails
                gate_event(psvc, 2, "goods_pass.released", pass_id=gp.pass_id,
                           gate="gate-south", ts=T0 + 2000)
                raise RuntimeError("batch rolled back")
        assert sub.get(timeout_s=0.05) is None
    assert [a for a in psvc.alarms.open() if a.kind == DOUBLE_USE] == []
