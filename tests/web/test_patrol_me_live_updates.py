"""The patrol staff page (我的巡更) updates live: ``/live/stream?view=patrol_me`` carries
``patrol_me`` messages (ids only) about the logged-in walker's own rounds and nobody else's, and
``/patrol/me/body`` renders the page's next round and rounds today alone for the page to fetch.

patrol1 (card ``CARD``) walks schedule s1, patrol2 (card ``CARD2``) schedule s2: the same route at
the same time, so both rounds take taps at the same check-points."""

from __future__ import annotations

from typing import Any

import pytest

from console_helpers import PASSWORD, T0, SSEReader, login
from patrol_pages_helpers import seed, tap
from web.patrol import PatrolUser, Schedule

MIN = 60_000
START = T0 + 10 * MIN                           # the 00:10 UTC rounds
MINE = "s1:2026-01-01T0010"
THEIRS = "s2:2026-01-01T0010"
CARD2 = "0A00000002"


@pytest.fixture
def seeded(services):  # type: ignore[no-untyped-def]
    seed(services)
    services.patrol.save_item(PatrolUser(user="patrol2", cards=(CARD2,), name="李师傅"))
    services.patrol.save_item(Schedule(id="s2", route="r1", times=("00:10",), tz="UTC",
                                       assignees=("patrol2",), active_from_ms=T0))
    return services


def open_stream(client: Any) -> SSEReader:
    resp = client.get("/live/stream?view=patrol_me", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    stream = SSEReader(resp)
    assert stream.next_event() == ("patrol_me", {"sync": True})
    return stream


def events_until(stream: SSEReader, last: tuple[str, dict[str, Any]]) -> list[Any]:
    """The events read up to and including ``last``."""
    got = [stream.next_event()]
    while got[-1] != last:
        got.append(stream.next_event())
    return got


def test_the_staff_stream_starts_with_a_bare_sync(client, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    open_stream(client).resp.close()


def test_a_tap_on_my_round_is_announced_on_my_stream(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    stream = open_stream(client)
    clock.now = START + MIN
    tap(seeded, "a", clock.now, 1)
    assert stream.next_event() == ("patrol_me", {"tap": "lobby:b:1"})
    assert seeded.patrol.round(MINE).visited == 1
    stream.resp.close()


def test_a_tap_on_another_walkers_round_is_not_announced(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    stream = open_stream(client)
    clock.now = START + MIN
    tap(seeded, "a", clock.now, 1, card=CARD2)                    # patrol2, round s2
    tap(seeded, "a", clock.now, 2)                                # mine, after it
    assert seeded.patrol.round(THEIRS).visited == 1
    assert stream.next_event() == ("patrol_me", {"tap": "lobby:b:2"})
    stream.resp.close()


def test_an_unknown_cards_tap_is_not_announced(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    stream = open_stream(client)
    clock.now = START + MIN
    tap(seeded, "a", clock.now, 1, card="0AFFFFFFFF")
    tap(seeded, "a", clock.now, 2)
    assert stream.next_event() == ("patrol_me", {"tap": "lobby:b:2"})
    stream.resp.close()


def test_another_walkers_tap_on_a_round_open_to_anyone_is_announced(client, services,
                                                                     clock) -> None:  # type: ignore[no-untyped-def]
    seed(services)
    services.patrol.save_item(PatrolUser(user="patrol2", cards=(CARD2,), name="李师傅"))
    services.patrol.save_item(Schedule(id="s1", route="r1", times=("00:10",), tz="UTC",
                                       active_from_ms=T0))          # no one assigned: anyone
    login(client, "patrol1")
    stream = open_stream(client)
    clock.now = START + MIN
    tap(services, "a", clock.now, 1, card=CARD2)
    assert stream.next_event() == ("patrol_me", {"tap": "lobby:b:1"})
    stream.resp.close()


def test_only_my_rounds_closing_and_alarms_reach_my_stream(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    stream = open_stream(client)
    seeded.jobs.run_due(START + 31 * MIN)          # both rounds: not started, missed, closed
    by_round: dict[str, set[int]] = {}
    for a in seeded.alarms.open():
        by_round.setdefault(a.data.get("round"), set()).add(a.id)
    assert by_round[MINE] and by_round[THEIRS]
    clock.now = START + 32 * MIN
    tap(seeded, "a", clock.now, 9)                                 # mine: ends the reading
    got = events_until(stream, ("patrol_me", {"tap": "lobby:b:9"}))
    assert {p["alarm"] for _, p in got if "alarm" in p} == by_round[MINE]
    assert {p["round"] for _, p in got if "round" in p} == {MINE}
    stream.resp.close()


@pytest.mark.parametrize("user", ["guard1", "desk1"])
def test_the_staff_stream_is_refused_to_supervisor_roles(client, seeded, user) -> None:  # type: ignore[no-untyped-def]
    login(client, user)
    assert client.get("/live/stream?view=patrol_me").status_code == 403


def test_the_staff_stream_needs_a_log_in(client, seeded) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/live/stream?view=patrol_me").status_code == 401


def test_the_staff_body_renders_my_rounds_only(client, seeded, clock, user_store) -> None:  # type: ignore[no-untyped-def]
    clock.now = START + MIN
    tap(seeded, "a", clock.now, 1)
    login(client, "patrol1")
    resp = client.get("/patrol/me/body")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert f'data-round="{MINE}"' in body and THEIRS not in body
    assert f'data-next-round="{MINE}"' in body and 'data-next-point="b"' in body
    assert "1/2" in body and "<html" not in body


def test_the_staff_body_is_the_other_walkers_own_for_them(make_client, seeded, clock,
                                                          user_store) -> None:  # type: ignore[no-untyped-def]
    user_store.add("patrol2", PASSWORD, role="patrol")
    client = make_client()
    login(client, "patrol2")
    body = client.get("/patrol/me/body").get_data(as_text=True)
    assert f'data-round="{THEIRS}"' in body and MINE not in body


@pytest.mark.parametrize("user", ["guard1", "desk1"])
def test_the_staff_body_is_refused_to_supervisor_roles(client, seeded, user) -> None:  # type: ignore[no-untyped-def]
    login(client, user)
    assert client.get("/patrol/me/body").status_code == 403


def test_the_staff_body_needs_a_log_in(client, seeded) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/patrol/me/body")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


def test_the_staff_page_points_its_script_at_its_stream_and_body(client, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    page = client.get("/patrol/me").get_data(as_text=True)
    assert 'data-patrol-stream-url="/live/stream?view=patrol_me"' in page
    assert 'data-patrol-body-url="/patrol/me/body"' in page
    assert 'data-patrol-channel="patrol_me"' in page
