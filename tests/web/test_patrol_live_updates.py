"""The patrol supervisor page updates live: ``/live/stream?view=patrol`` carries ``patrol``
messages (ids only) when a tap is applied or a patrol alarm raised or acknowledged, and
``/patrol/live/body`` renders the page's counts, alarms and rounds alone for the page to fetch."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from console_helpers import T0, login
from web.patrol import Checkpoint, PatrolUser, Route, RoutePoint, Schedule, Tap

MIN = 60_000
START = T0 + 10 * MIN                           # the 00:10 UTC round


@pytest.fixture
def seeded(services):  # type: ignore[no-untyped-def]
    p = services.patrol
    for cp in ("a", "b"):
        p.save_item(Checkpoint(id=cp, name=f"大堂 {cp}", building="3", floor="1", node="lobby",
                               reader=f"cp-{cp}"))
    p.save_item(Route(id="r1", name="3栋夜巡", points=(
        RoutePoint(checkpoint="a", expected_min=0, tolerance_min=5),
        RoutePoint(checkpoint="b", expected_min=10, tolerance_min=5, min_walk_s=60))))
    p.save_item(PatrolUser(user="patrol1", cards=("0A00000001",), name="王师傅"))
    p.save_item(Schedule(id="s1", route="r1", times=("00:10",), tz="UTC", assignees=("patrol1",),
                         active_from_ms=T0))
    return services


def tap(services: Any, cp: str, ts: int, seq: int) -> None:
    services.patrol.apply(Tap(event_id=f"lobby:b:{seq}", node="lobby", reader=f"cp-{cp}",
                              checkpoint=cp, card="0A00000001", ts=ts), now=ts)


class Stream:
    """The named events of a streamed test-client response."""

    def __init__(self, resp: Any) -> None:
        self.resp = resp
        self._chunks: Iterator[bytes] = iter(resp.response)
        self._buf = ""

    def next_event(self) -> tuple[str, dict[str, Any]]:
        while True:
            while "\n\n" not in self._buf:
                self._buf += next(self._chunks).decode("utf-8")
            block, self._buf = self._buf.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.split("\n")
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                return fields["event"], json.loads(fields["data"])


def open_stream(client: Any) -> Stream:
    resp = client.get("/live/stream?view=patrol", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    return Stream(resp)


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
