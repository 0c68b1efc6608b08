"""The one-line data summary on the alarms and events pages: instants in UTC ms are shown as the
site's local time (Asia/Shanghai by default), other numbers as they are."""

from __future__ import annotations

from web.filters import data_summary

MS = 1_764_120_600_000          # 2025-11-26 01:30:00 UTC = 09:30 in Shanghai


def test_an_expiry_in_ms_is_shown_as_the_sites_local_time(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        assert data_summary({"expires": MS, "days_left": 12}) == \
            "expires=2025-11-26 09:30:00 days_left=12"


def test_a_key_ending_in_at_is_an_instant(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        assert data_summary({"cancelled_at": MS}) == "cancelled_at=2025-11-26 09:30:00"


def test_a_large_number_under_another_key_stays_a_number(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        assert data_summary({"serial": MS, "count": 3}) == f"serial={MS} count=3"


def test_a_small_number_under_a_time_key_stays_a_number(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        assert data_summary({"since": 5}) == "since=5"
