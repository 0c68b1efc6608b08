"""The gate board's verdict list updates live: ``/live/stream?view=gate`` (roles of the gate
board) carries a ``gate`` message (the verdict's event id) when a gate verdict is stored;
other views never get it, a replayed verdict is not announced again, and the board page points
its script at the stream."""

from __future__ import annotations

from typing import Any

import pytest

from mqtt_topics import EventEnvelope

from console_helpers import T0, SSEReader, login


def gate_event(services: Any, seq: int, kind: str, *, pass_id: str = "gp-20260101-0001",
               **extra: Any) -> Any:
    """Store a gate event (``gate:b1:<seq>``) and run the ingest's event handlers for its kind
    in one transaction, as the ingest does."""
    env = EventEnvelope(event_id=f"gate:b1:{seq}", node="gate", kind=kind, ts=T0 + seq, seq=seq,
                        data={"gate": "gate-north", "pass_id": pass_id, "unit": "A-1201",
                              **extra})
    with services.db.transaction():
        ev = services.events.add(env, received_at=T0 + seq)
        for handler in services.event_handlers:
            accepts = getattr(handler, "accepts", None)
            if accepts is None or accepts(kind):
                handler(ev)
    return ev


def open_stream(client: Any, view: str = "gate") -> SSEReader:
    resp = client.get(f"/live/stream?view={view}", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    stream = SSEReader(resp)
    assert stream.next_event() == (view, {"sync": True})
    return stream


@pytest.mark.parametrize("kind", ["goods_pass.released", "goods_pass.denied",
                                  "goods_pass.rejected"])
def test_a_gate_verdict_is_announced_on_the_gate_stream(client, services, kind) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    stream = open_stream(client)
    gate_event(services, 1, kind, reason="guard")
    assert stream.next_event() == ("gate", {"verdict": "gate:b1:1"})
    stream.resp.close()


def test_a_replayed_verdict_is_not_announced_again(services) -> None:  # type: ignore[no-untyped-def]
    ev = gate_event(services, 1, "goods_pass.denied", reason="guard")
    with services.live.subscribe() as sub:
        with services.db.transaction():
            services.passes.on_event(ev)                  # the same event handed over again
        assert sub.get(timeout_s=0.05) is None


def test_the_gate_stream_is_refused_to_roles_that_may_not_see_the_board(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    assert client.get("/live/stream?view=gate").status_code == 403


@pytest.mark.parametrize("view", ["keys", "patrol"])
def test_other_views_do_not_get_gate_verdicts(client, services, view) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    stream = open_stream(client, view)
    gate_event(services, 1, "goods_pass.rejected", reason="forged")
    later = {"patrol": {"round": "r-1"}, "keys": {"cabinet": "main"}}[view]
    services.live.publish(view, later)                   # a later message of this view
    assert stream.next_event() == (view, later)
    stream.resp.close()


def test_the_gate_board_points_its_script_at_the_stream(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    page = client.get("/passes/guard").get_data(as_text=True)
    assert 'data-stream-url="/live/stream?view=gate"' in page
    assert 'data-fallback-ms="30000"' in page and 'data-refresh-ms="5000"' in page
    assert page.index("live_refresh.js") < page.index("passes.js")
