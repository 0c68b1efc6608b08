"""The patrol supervisor page updates live: ``/live/stream?view=patrol`` carries ``patrol``
messages (ids only) when a tap is applied or a patrol alarm raised or acknowledged, and
``/patrol/live/body`` renders the page's counts, alarms and rounds alone for the page to fetch."""

from __future__ import annotations

from typing import Any

import pytest

from console_helpers import T0, SSEReader, login
from patrol_pages_helpers import seed, tap

MIN = 60_000
START = T0 + 10 * MIN                           # the 00:10 UTC round


@pytest.fixture
def seeded(services):  # type: ignore[no-untyped-def]
    seed(services)
    return services


def open_stream(client: Any) -> SSEReader:
    resp = client.get("/live/stream?view=patrol", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    return SSEReader(resp)


def test_the_patrol_stream_starts_with_a_bare_sync(client, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    stream = open_stream(client)
    assert stream.next_event() == ("patrol", {"sync": True})
    stream.resp.close()


def test_an_applied_tap_is_announced_on_the_patrol_stream(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    stream = open_stream(client)
    stream.next_event()
    clock.now = START + MIN
    tap(seeded, "a", clock.now, 1)
    assert stream.next_event() == ("patrol", {"tap": "lobby:b:1"})
    stream.resp.close()


def test_a_patrol_alarm_and_its_acknowledgement_are_announced(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    stream = open_stream(client)
    stream.next_event()
    seeded.jobs.run_due(START + 11 * MIN)                  # not started, a missed
    alarms = seeded.patrol.open_alarms()
    got = [stream.next_event() for _ in alarms]
    assert sorted(got, key=str) == sorted((("patrol", {"alarm": a.id}) for a in alarms), key=str)
    alarm = alarms[0]
    seeded.alarms.acknowledge(alarm.id, user="desk1", note="called", now=clock())
    assert stream.next_event() == ("patrol", {"alarm": alarm.id})
    stream.resp.close()


def test_the_patrol_stream_is_for_the_supervisor_roles_only(client, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    assert client.get("/live/stream?view=patrol").status_code == 403


def test_the_live_body_renders_the_rounds_after_a_tap(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    clock.now = START + MIN
    login(client, "guard1")
    before = client.get("/patrol/live/body").get_data(as_text=True)
    assert 'data-state="planned"' in before or 'data-state="running"' in before
    tap(seeded, "a", clock.now, 1)
    resp = client.get("/patrol/live/body")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert 'data-round="s1:2026-01-01T0010" data-state="running"' in body
    assert "1/2" in body and "<html" not in body


def test_the_live_body_is_for_the_supervisor_roles_only(client, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    assert client.get("/patrol/live/body").status_code == 403


def test_the_supervisor_page_points_its_script_at_the_stream_and_the_body(client, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    page = client.get("/patrol/live").get_data(as_text=True)
    assert 'data-patrol-stream-url="/live/stream?view=patrol"' in page
    assert 'data-patrol-body-url="/patrol/live/body"' in page
