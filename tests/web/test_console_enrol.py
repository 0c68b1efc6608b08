"""Card enrolment by presenting the card: ``/credentials/enrol/read`` starts a wait, then finds
the next card read at the chosen node (and reader) within 30 s — a ``card.read`` or a door
decision — as a card key, naming the credential that already holds it."""

from __future__ import annotations

import pytest

from web.access import CredentialRecord
from web.access.enrol import card_key_of

from console_helpers import T0, login, make_event

URL = "/credentials/enrol/read"


@pytest.fixture
def desk(client):  # type: ignore[no-untyped-def]
    assert login(client, "desk1").status_code == 303
    return client


def _start(client, node: str = "lobby", reader: str = "") -> dict:  # type: ignore[no-untyped-def,type-arg]
    resp = client.get(URL, query_string={"node": node, "reader": reader})
    assert resp.status_code == 200 and resp.json["state"] == "waiting"
    return resp.json


def _poll(client, started: dict, node: str = "lobby", reader: str = "") -> dict:  # type: ignore[no-untyped-def,type-arg]
    resp = client.get(URL, query_string={"node": node, "reader": reader,
                                         "after": started["after"], "since": started["since"]})
    assert resp.status_code == 200
    return resp.json


def _card_read(services, seq: int, *, node: str = "lobby", reader: str = "lobby-in",
               received_at: int = T0):  # type: ignore[no-untyped-def]
    return make_event(services, node=node, kind="card.read", seq=seq, received_at=received_at,
                      data={"reader": reader, "card": "0A12345678", "number": 0x12345678,
                            "facility": 10, "format": "em4100"})


def _unknown_card(services, seq: int, card: str = "w26:12:3456"):  # type: ignore[no-untyped-def]
    return make_event(services, kind="door.denied", seq=seq, received_at=T0,
                      data={"door": "lobby", "reader": "lobby-in", "reason": "unknown_card",
                            "card": card})


@pytest.mark.parametrize("kind,data,key", [
    ("card.read", {"format": "em4100", "card": "0a12345678"}, "em:0A12345678"),
    ("card.read", {"format": "wiegand26", "facility": 12, "number": 3456}, "w26:12:3456"),
    ("card.read", {"format": "wiegand34", "facility": 300, "number": 7}, "w34:300:7"),
    ("door.denied", {"card": "w26:012:3456", "reason": "unknown_card"}, "w26:12:3456"),
    ("card.read", {"format": "em4100", "card": "nothex"}, None),
    ("door.state", {"state": "locked"}, None),
])
def test_card_key_from_the_event_that_reported_it(kind, data, key) -> None:
    assert card_key_of(kind, data) == key


def test_a_card_read_after_the_button_fills_in(desk, services, clock) -> None:
    started = _start(desk)
    assert _poll(desk, started)["state"] == "waiting"
    _card_read(services, 1)
    found = _poll(desk, started)
    assert found["state"] == "found" and found["card"] == "em:0A12345678"
    assert found["reader"] == "lobby-in" and found["owner"] is None


def test_an_unknown_card_at_a_door_fills_in(desk, services) -> None:
    started = _start(desk)
    _unknown_card(services, 1)
    assert _poll(desk, started)["card"] == "w26:12:3456"


def test_a_card_read_before_the_button_is_not_taken(desk, services) -> None:
    _card_read(services, 1)
    started = _start(desk)
    assert _poll(desk, started)["state"] == "waiting"


def test_a_read_at_another_node_or_reader_is_not_taken(desk, services) -> None:
    started = _start(desk, reader="lobby-in")
    _card_read(services, 1, node="gate")
    _card_read(services, 2, reader="lobby-out")
    assert _poll(desk, started, reader="lobby-in")["state"] == "waiting"
    _card_read(services, 3, reader="lobby-in")
    assert _poll(desk, started, reader="lobby-in")["state"] == "found"


def test_the_wait_expires_after_30_seconds(desk, services, clock) -> None:
    started = _start(desk)
    clock.advance(30_001)
    _card_read(services, 1, received_at=clock())
    assert _poll(desk, started)["state"] == "expired"


def test_a_card_of_another_credential_names_its_owner(desk, services) -> None:
    services.credentials.save(CredentialRecord(credential_id="c-7", cards=("w26:12:3456",)),
                              by="t", create=True)
    started = _start(desk)
    _unknown_card(services, 1)
    found = _poll(desk, started)
    assert found["card"] == "w26:12:3456" and found["owner"] == "c-7"


@pytest.mark.parametrize("query", [{"node": "LOBBY';--"}, {"node": "lobby", "reader": "a b"},
                                   {"node": "lobby", "after": "-1", "since": "1"},
                                   {"node": "lobby", "after": "1", "since": str(T0 + 60_000)}])
def test_bad_queries_are_refused(desk, query) -> None:
    assert desk.get(URL, query_string=query).status_code == 400


def test_credential_form_offers_the_reader_button_and_its_script(desk, services) -> None:
    services.nodes.seen("lobby", received_at=T0)
    page = desk.get("/credentials/new").get_data(as_text=True)
    assert "data-enrol-start" in page and '<option value="lobby">' in page
    assert "/static/enrol.js" in page
