"""Desk-assisted loans: the desk records the borrower (name, the ID's last four characters),
the console sends a signed ``cabinet.release`` naming the operator (verified here with the
node's own CommandVerifier), the loan is recorded and becomes ``out`` with the cabinet's
``key.taken``; refusals send nothing."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from mqtt_topics import CommandEnvelope, CommandVerifier
from web.keys.desk import KeyReleaseRefused, release_for_borrower
from web.services import ConsoleServices, ServicesConfig, build_services

from console_helpers import T0, login, post_form
from keys_helpers import Feed, add_key

KEY = bytes(range(40, 72))


class Wire:
    """What the console published (a stand-in for the ingest's client: connected)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def __call__(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        self.sent.append((topic, payload))
        return True

    def commands(self) -> list[CommandEnvelope]:
        return [CommandEnvelope.from_json(p) for t, p in self.sent if "/cmd/" in t]


@pytest.fixture
def desk(config, clock) -> Iterator[tuple[ConsoleServices, Wire]]:  # type: ignore[no-untyped-def]
    svc = build_services(ServicesConfig(db_path=config.db_path, site=config.site,
                                        node_keys={"cab": KEY}), clock=clock)
    wire = Wire()
    svc.commands._publish = wire  # type: ignore[attr-defined]   # as a connected ingest would
    svc.sync._publish = wire  # type: ignore[attr-defined]
    with svc:
        add_key(svc, "K-001", slot=1, max_loan_min=30)
        Feed(svc)("cabinet.inventory", T0, present=[1], out=[], differences=[], first_boot=True)
        yield svc, wire


def _release(svc: ConsoleServices, **kw: Any):  # type: ignore[no-untyped-def]
    args = {"key": "K-001", "borrower": "张师傅", "id_text": "110101199003077316",
            "purpose": "修水管", "operator": "desk1", "now_ms": T0}
    args.update(kw)
    return release_for_borrower(svc.keys, svc.commands, **args)


def test_release_sends_a_command_the_node_verifies_naming_the_operator(desk) -> None:  # type: ignore[no-untyped-def]
    svc, wire = desk
    _release(svc)
    (cmd,) = wire.commands()
    CommandVerifier(key=KEY, node="cab", clock=lambda: T0 + 1000).verify(cmd, action="cabinet.release")
    assert (cmd.issued_by, dict(cmd.args)) == ("desk1", {"cabinet": "main", "key": "K-001",
                                                         "holder": "张师傅"})


def test_release_records_the_loan_with_only_the_ids_last_four(desk) -> None:  # type: ignore[no-untyped-def]
    svc, _ = desk
    loan = _release(svc)
    assert (loan.state, loan.how, loan.holder_name, loan.id_last4, loan.desk_by, loan.purpose) == \
        ("released", "desk", "张师傅", "7316", "desk1", "修水管")
    row = svc.db.conn().execute("SELECT * FROM key_loans").fetchone()
    assert "110101" not in " ".join(str(v) for v in tuple(row))


def test_key_taken_with_the_commands_id_makes_the_loan_out(desk) -> None:  # type: ignore[no-untyped-def]
    svc, _ = desk
    loan = _release(svc)
    Feed(svc, node="cab")("key.taken", T0 + 5000, key="K-001", slot=1, holder="张师傅", card=None,
                          witness=None, by="desk1", cmd_id=loan.cmd_id)
    (out,) = svc.keys.loans.out_now()
    assert (out.id, out.state, out.taken_at, out.due_at, out.id_last4) == \
        (loan.id, "out", T0 + 5000, T0 + 5000 + 30 * 60_000, "7316")


@pytest.mark.parametrize("kw,code", [
    ({"id_text": "12"}, "bad_id"),
    ({"borrower": "  "}, "bad_borrower"),
    ({"key": "K-404"}, "unknown_key"),
])
def test_bad_release_is_refused_and_sends_nothing(desk, kw, code) -> None:  # type: ignore[no-untyped-def]
    svc, wire = desk
    with pytest.raises(KeyReleaseRefused) as info:
        _release(svc, **kw)
    assert info.value.code == code and wire.commands() == []


def test_a_key_already_out_is_not_released_again(desk) -> None:  # type: ignore[no-untyped-def]
    svc, wire = desk
    _release(svc)
    with pytest.raises(KeyReleaseRefused, match="out or already released"):
        _release(svc)
    assert len(wire.commands()) == 1


def test_two_person_key_is_never_released_from_the_desk(desk) -> None:  # type: ignore[no-untyped-def]
    svc, wire = desk
    add_key(svc, "K-002", slot=2, two_person=True)
    with pytest.raises(KeyReleaseRefused) as info:
        _release(svc, key="K-002")
    assert info.value.code == "two_person"


def test_release_through_the_page_is_audited(config, desk, user_store, clock) -> None:  # type: ignore[no-untyped-def]
    from web import close_app, create_app
    from web.state import console
    svc, wire = desk
    app = create_app(config, services=svc, clock=clock)
    try:
        client = app.test_client()
        login(client, "desk1")
        resp = post_form(client, "/keys/K-001", "/keys/K-001/release",
                         {"borrower": "张师傅", "id_number": "110101199003077316", "purpose": "修水管"})
        assert resp.status_code == 303
        entry = console(app).audit.search(action="key.release")[0]
        assert entry.user == "desk1" and "7316" in entry.detail and "19900307" not in entry.detail
        assert len(wire.commands()) == 1
    finally:
        close_app(app)


def test_permissions_job_publishes_a_new_version_when_an_authorisation_ends(desk, clock) -> None:  # type: ignore[no-untyped-def]
    import json as _json

    from web.access import CredentialRecord
    svc, wire = desk
    svc.credentials.save(CredentialRecord(credential_id="c-li", cards=("em:0B00000002",)),
                         by="t", create=True)
    add_key(svc, "K-009", slot=9, takers=("cred:c-li",), kind="owner-entrusted",
            authorised_until=T0 + 60_000)
    svc.jobs.run_due(T0)                                 # content unchanged: nothing published
    assert not [t for t, _ in wire.sent if t.endswith("/sync/key-permissions")]
    clock.advance(60_000)
    svc.jobs.run_due(clock())
    (payload,) = [p for t, p in wire.sent if t.endswith("/sync/key-permissions")]
    snap = _json.loads(payload)
    assert snap["version"] == svc.keys.register.version() == 3
    assert snap["data"]["cards"] == [{"card": "0B00000002", "holder": "c-li", "keys": []}]
