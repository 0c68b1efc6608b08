"""The ten-day archive: passes issued and released in a period, flags (never used, unknown to
the console, used twice, released after cancel), the printable page and the CSV."""

from __future__ import annotations

import csv
import io

import pytest

from web.passes.archive import build_archive

from pc_helpers import DAY_MS, T0, TODAY_END, TODAY_START, draft, gate_event, login

PERIOD = (TODAY_START - 9 * DAY_MS, TODAY_START + DAY_MS)


@pytest.fixture
def site(psvc, signer, clock):  # type: ignore[no-untyped-def]
    """Yesterday: one pass used, one never used (expired), one used twice, one cancelled then
    released; a release of an unknown pass id; today: one pass not used yet."""
    clock.advance(-DAY_MS)
    y = dict(valid_from_ms=TODAY_START - DAY_MS, valid_until_ms=TODAY_END - DAY_MS)
    issue = lambda **kw: psvc.passes.issue(draft(**{**y, **kw}), sign=signer.sign, by="desk1")  # noqa: E731
    used, unused, twice, cancelled = issue(), issue(), issue(), issue()
    psvc.passes.cancel(cancelled.pass_id, by="desk1", reason="x")
    ts = T0 - DAY_MS + 3_600_000
    gate_event(psvc, 1, "goods_pass.released", pass_id=used.pass_id, ts=ts)
    gate_event(psvc, 2, "goods_pass.released", pass_id=twice.pass_id, ts=ts + 1, gate="gate")
    gate_event(psvc, 1, "goods_pass.released", pass_id=twice.pass_id, ts=ts + 2, gate="gate-2",
               node="lobby")
    gate_event(psvc, 3, "goods_pass.released", pass_id=cancelled.pass_id, ts=ts + 3)
    gate_event(psvc, 4, "goods_pass.released", pass_id="gp-20260228-0042", ts=ts + 4)
    clock.advance(DAY_MS)
    fresh = psvc.passes.issue(draft(), sign=signer.sign, by="desk1")
    return {"used": used.pass_id, "unused": unused.pass_id, "twice": twice.pass_id,
            "cancelled": cancelled.pass_id, "unknown": "gp-20260228-0042", "fresh": fresh.pass_id}


def _flags(report):  # type: ignore[no-untyped-def]
    return {row.pass_id: row.flags for row in report.rows}


def test_archive_flags_each_case(psvc, site, clock) -> None:  # type: ignore[no-untyped-def]
    report = build_archive(psvc.passes, *PERIOD, clock())
    assert _flags(report) == {site["used"]: (), site["unused"]: ("unused",),
                              site["twice"]: ("double_use",),
                              site["cancelled"]: ("released_cancelled",),
                              site["fresh"]: ("open",),
                              site["unknown"]: ("unknown",)}


def test_archive_totals(psvc, site, clock) -> None:  # type: ignore[no-untyped-def]
    totals = build_archive(psvc.passes, *PERIOD, clock()).totals
    assert totals == {"issued": 5, "released": 4, "unused": 1, "open": 1, "unknown": 1,
                      "double_use": 1, "released_cancelled": 1}


def test_archive_includes_a_pass_issued_before_the_period_but_released_in_it(psvc, site, clock) -> None:  # type: ignore[no-untyped-def]
    report = build_archive(psvc.passes, T0 - DAY_MS + 60_000, TODAY_START, clock())
    assert site["used"] in _flags(report) and site["unused"] not in _flags(report)


def test_archive_page_shows_the_flags(pclient, psvc, site) -> None:  # type: ignore[no-untyped-def]
    assert login(pclient, "desk1").status_code == 303
    page = pclient.get("/passes/archive").get_data(as_text=True)
    assert page.count('data-flag="unknown"') == 1 and page.count('data-flag="unused"') == 1
    assert 'data-total="issued">5<' in page
    assert 'value="2026-02-21"' in page and 'value="2026-03-02"' in page


def test_archive_period_with_end_before_start_is_refused(pclient, psvc) -> None:  # type: ignore[no-untyped-def]
    assert login(pclient, "desk1").status_code == 303
    assert pclient.get("/passes/archive?since=2026-03-02&until=2026-03-01").status_code == 400


def test_archive_csv_has_every_row_and_flag(pclient, psvc, site, papp) -> None:  # type: ignore[no-untyped-def]
    from web.state import console

    assert login(pclient, "desk1").status_code == 303
    resp = pclient.get("/passes/archive.csv?since=2026-02-21&until=2026-03-02")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeffpass_id,")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    got = {r["pass_id"]: r["flags"] for r in rows}
    assert got[site["unknown"]] == "unknown" and got[site["twice"]] == "double_use"
    assert got[site["unused"]] == "unused" and len(rows) == 6
    used = next(r for r in rows if r["pass_id"] == site["used"])
    assert (used["state"], used["items"], used["releases"]) == ("released", "冰箱 x1 *; 纸箱 x3", "1")
    assert console(papp).audit.search(action="goods_pass.export")[0].user == "desk1"
