"""The cabinet board updates live: ``/live/stream?view=keys`` (roles of the board) carries
``keys`` messages (ids only) when a cabinet event was applied, a loan changed from the console
or the register changed; other views never get them, and the board page points its script at
the stream."""

from __future__ import annotations

from typing import Any

import pytest

from console_helpers import T0, SSEReader, login, post_form
from keys_helpers import Feed, add_key

HOUR = 3_600_000


def open_stream(client: Any, view: str = "keys") -> SSEReader:
    resp = client.get(f"/live/stream?view={view}", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    stream = SSEReader(resp)
    assert stream.next_event() == (view, {"sync": True})
    return stream


def test_the_keys_stream_starts_with_a_bare_sync(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    resp = client.get("/live/stream?view=keys", buffered=False)
    assert SSEReader(resp).next_event() == ("keys", {"sync": True})
    resp.close()


def test_a_key_taken_is_announced_on_the_keys_stream(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    login(client, "guard1")
    stream = open_stream(client)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    assert stream.next_event() == ("keys", {"cabinet": "main"})
    stream.resp.close()


def test_a_cabinet_door_event_is_announced_on_the_keys_stream(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    stream = open_stream(client)
    Feed(services)("cabinet.door", T0, cabinet="east", open=True)
    assert stream.next_event() == ("keys", {"cabinet": "east"})
    stream.resp.close()


def test_a_desk_release_and_its_cancel_are_announced_as_loan_changes(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    login(client, "admin1")
    stream = open_stream(client)
    loan = services.keys.loans.desk_release(key="K-001", cabinet="main", slot=1, node="cab",
                                            borrower="张师傅", id_last4="7316", purpose="修水管",
                                            operator="desk1", cmd_id="c-1")
    assert stream.next_event() == ("keys", {"loan": str(loan.id)})
    services.keys.loans.cancel(loan.id)
    assert stream.next_event() == ("keys", {"loan": str(loan.id)})
    stream.resp.close()


def test_an_overdue_loan_is_announced_on_the_keys_stream(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services, max_loan_min=60)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    login(client, "guard1")
    stream = open_stream(client)
    services.keys.loans.check_overdue(T0 + 2 * HOUR)
    loan = services.keys.loans.open_loan("K-001")
    assert loan is not None
    assert stream.next_event() == ("keys", {"loan": str(loan.id)})
    stream.resp.close()


def test_a_key_added_from_the_register_page_is_announced(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    with services.live.subscribe() as sub:
        resp = post_form(client, "/keys/new", "/keys/new", {
            "number": "K-101", "label": "A-1201 大门", "unit": "", "kind": "common-area",
            "cabinet": "main", "slot": "4", "takers": "role:staff", "max_loan_min": "90"})
        assert resp.status_code == 303
        assert sub.get(timeout_s=1) == ("keys", {"register": 1})


def test_a_rolled_back_cabinet_event_is_not_announced(services) -> None:  # type: ignore[no-untyped-def]
    feed = Feed(services)
    with services.live.subscribe() as sub:
        try:
            with services.db.transaction():
                feed("key.returned", T0, slot=1, key="K-001")
                raise RuntimeError("the batch failed")
        except RuntimeError:
            pass
        feed("cabinet.door", T0, open=False)
        assert sub.get(timeout_s=1) == ("keys", {"cabinet": "main"})
        assert sub.get(timeout_s=0.05) is None          # only the committed door event


def test_the_keys_stream_is_refused_to_roles_that_may_not_see_the_board(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    assert client.get("/live/stream?view=keys").status_code == 403


@pytest.mark.parametrize("view", ["patrol", "gate"])
def test_other_views_do_not_get_key_messages(client, services, view) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    login(client, "admin1")
    stream = open_stream(client, view)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    later = {"patrol": {"round": "r-1"}, "gate": {"verdict": "gate:b1:1"}}[view]
    services.live.publish(view, later)                   # a later message of this view
    assert stream.next_event() == (view, later)
    stream.resp.close()


def test_the_board_page_points_its_script_at_the_stream(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    page = client.get("/keys/cabinets").get_data(as_text=True)
    assert 'data-stream-url="/live/stream?view=keys"' in page
    assert 'data-fallback-ms="30000"' in page and 'data-poll-ms="2000"' in page
    assert page.index("live_refresh.js") < page.index("keys.js")
