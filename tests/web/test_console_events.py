"""Event search page, keyset pagination, CSV export with the formula guard, JSON API."""

from __future__ import annotations

import csv
import io

from web.audit import EVENTS_EXPORT
from web.state import console
from web.stores import EventStore
from web.views.events import csv_cell

from console_helpers import T0, login, make_event

HOUR = 3_600_000


def _rows(page: str) -> list[str]:
    import re
    return re.findall(r'<tr data-id="([^"]+)"', page)


def test_search_lists_newest_first(client, services) -> None:  # type: ignore[no-untyped-def]
    for seq in range(1, 4):
        make_event(services, seq=seq, ts=T0 + seq * 1000)
    login(client, "desk1")
    assert _rows(client.get("/events").get_data(as_text=True)) == [
        "lobby:boot1:3", "lobby:boot1:2", "lobby:boot1:1"]


def test_search_filters_by_node_kind_and_text(client, services) -> None:  # type: ignore[no-untyped-def]
    make_event(services, node="lobby", seq=1, data={"card": "AB12"})
    make_event(services, node="gate", seq=1, data={"card": "CD34"})
    make_event(services, node="gate", seq=2, kind="reader.fault", data={"reader": "r1", "error": "crc"})
    login(client, "guard1")
    assert _rows(client.get("/events?node=gate").get_data(as_text=True)) == ["gate:boot1:2", "gate:boot1:1"]
    assert _rows(client.get("/events?kind=reader.fault").get_data(as_text=True)) == ["gate:boot1:2"]
    assert _rows(client.get("/events?q=AB12").get_data(as_text=True)) == ["lobby:boot1:1"]


def test_search_filters_by_local_time_range(client, services) -> None:  # type: ignore[no-untyped-def]
    # T0 is 2026-01-01 00:00 UTC = 08:00 in Asia/Shanghai
    make_event(services, seq=1, ts=T0)
    make_event(services, seq=2, ts=T0 + 2 * HOUR)
    login(client, "desk1")
    page = client.get("/events?since=2026-01-01T09:00&until=2026-01-01T11:00").get_data(as_text=True)
    assert _rows(page) == ["lobby:boot1:2"]
    assert "2026-01-01 10:00:00" in page


def test_pagination_follows_the_keyset_cursor(client, services) -> None:  # type: ignore[no-untyped-def]
    for seq in range(1, 56):
        make_event(services, seq=seq, ts=T0 + seq)
    login(client, "desk1")
    first = client.get("/events?node=lobby").get_data(as_text=True)
    assert len(_rows(first)) == 50
    import html
    import re
    older = html.unescape(re.search(r'rel="next" href="([^"]+)"', first).group(1))
    assert "node=lobby" in older and "cursor=" in older
    second = client.get(older).get_data(as_text=True)
    assert _rows(second) == [f"lobby:boot1:{s}" for s in range(5, 0, -1)]
    assert 'rel="next"' not in second


def test_short_term_search_past_the_scan_window_shows_the_note(client, services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(services, "events", EventStore(services.db, short_text_scan_rows=2000))
    make_event(services, seq=1, data={"visitor": "张三"})
    for seq in range(2, 2002):  # 2000 newer events fill the short-term window
        make_event(services, seq=seq, ts=T0 + seq, data={"card": "-"})
    login(client, "desk1")
    page = client.get("/events?q=张三").get_data(as_text=True)
    assert _rows(page) == []
    assert "短关键词只搜索了最近 2,000 条事件；请缩小时间范围或输入至少 3 个字" in page


def test_short_term_search_inside_the_scan_window_has_no_note(client, services) -> None:  # type: ignore[no-untyped-def]
    make_event(services, seq=1, data={"visitor": "张三"})
    make_event(services, seq=2, ts=T0 + 1, data={"card": "-"})
    login(client, "desk1")
    page = client.get("/events?q=张三").get_data(as_text=True)
    assert _rows(page) == ["lobby:boot1:1"] and "data-scan-limited" not in page


def test_bad_filters_show_errors_not_results(client, services) -> None:  # type: ignore[no-untyped-def]
    make_event(services, seq=1)
    login(client, "desk1")
    resp = client.get("/events?since=yesterday&node=Bad%20Node&q=" + "x" * 101 + "&cursor=abc")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for message in ("日期时间无效", "节点编号无效", "最多 100 个字符", "分页链接无效"):
        assert message in page
    assert _rows(page) == []


def test_until_before_since_is_an_error(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    resp = client.get("/events?since=2026-01-02T00:00&until=2026-01-01T00:00")
    assert resp.status_code == 400 and "须晚于开始时间" in resp.get_data(as_text=True)


def _csv(resp) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_export_streams_the_same_filtered_events(client, services) -> None:  # type: ignore[no-untyped-def]
    for seq in range(1, 4):
        make_event(services, node="gate", seq=seq, ts=T0 + seq)
    make_event(services, node="lobby", seq=1)
    login(client, "desk1")
    resp = client.get("/events.csv?node=gate")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert resp.is_streamed
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="events-')
    rows = _csv(resp)
    assert rows[0][:3] == ["时间", "节点", "事件类型"]
    assert [r[5] for r in rows[1:]] == ["gate:boot1:3", "gate:boot1:2", "gate:boot1:1"]


def test_csv_cell_guard_quotes_formula_starts() -> None:
    assert csv_cell("=HYPERLINK(\"http://evil\")") == "'=HYPERLINK(\"http://evil\")"
    for dangerous in ("+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(dangerous).startswith("'")
    assert csv_cell("lobby") == "lobby" and csv_cell(-5) == -5


def test_csv_has_no_cell_a_spreadsheet_would_run(client, services) -> None:  # type: ignore[no-untyped-def]
    make_event(services, seq=1, data={"note": "=cmd|' /C calc'!A0"})
    login(client, "desk1")
    rows = _csv(client.get("/events.csv"))
    data_cell = rows[1][7]
    assert data_cell.startswith("{")      # JSON object: not a formula
    assert all(not c.startswith(("=", "+", "-", "@")) for r in rows for c in r)


def test_csv_export_is_audited(client, app, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    client.get("/events.csv?node=gate").close()
    (entry,) = console(app).audit.search(action=EVENTS_EXPORT)
    assert entry.user == "desk1" and '"node": "gate"' in entry.detail


def test_csv_export_with_bad_filters_is_400(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    assert client.get("/events.csv?since=never").status_code == 400


def test_api_events_pages_with_cursor(client, services) -> None:  # type: ignore[no-untyped-def]
    for seq in range(1, 6):
        make_event(services, seq=seq, ts=T0 + seq)
    login(client, "guard1")
    first = client.get("/api/v1/events?limit=3").json
    assert [e["seq"] for e in first["items"]] == [5, 4, 3] and first["has_more"]
    second = client.get(f"/api/v1/events?limit=3&cursor={first['next_cursor']}").json
    assert [e["seq"] for e in second["items"]] == [2, 1] and not second["has_more"]


def test_api_events_filters_by_ms_times(client, services) -> None:  # type: ignore[no-untyped-def]
    make_event(services, seq=1, ts=T0)
    make_event(services, seq=2, ts=T0 + 10)
    login(client, "desk1")
    items = client.get(f"/api/v1/events?since={T0 + 5}").json["items"]
    assert [e["seq"] for e in items] == [2]


def test_api_events_rejects_bad_parameters(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    resp = client.get("/api/v1/events?limit=0&since=abc&cursor=1.x")
    assert resp.status_code == 400
    assert set(resp.json["errors"]) == {"limit", "since", "cursor"}


def test_api_event_by_id(client, services) -> None:  # type: ignore[no-untyped-def]
    ev, _ = make_event(services, seq=7)
    login(client, "desk1")
    assert client.get(f"/api/v1/events/{ev.event_id}").json["seq"] == 7
    assert client.get("/api/v1/events/lobby:boot1:99").status_code == 404


def test_api_nodes_lists_nodes_with_gaps(client, services) -> None:  # type: ignore[no-untyped-def]
    from mqtt_topics import NodeStatus

    services.nodes.update_status("gate", NodeStatus(state="online", boot_id="b1", ts=T0,
                                                    version="0.1.0"), received_at=T0, retained=False)
    make_event(services, node="gate", seq=1)
    make_event(services, node="gate", seq=5)
    login(client, "desk1")
    (node,) = client.get("/api/v1/nodes").json["items"]
    assert node["node"] == "gate" and node["state"] == "online"
    assert [(g["from_seq"], g["to_seq"]) for g in node["gaps"]] == [(2, 4)]
