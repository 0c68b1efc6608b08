"""``/keys/loans`` the loans report (keys out now, overdue, loans in a period, per key, per
person) with CSV export, and ``/keys/reminders`` the reminders list (overdue loans and those
falling due soon), for the desk and admins."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from typing import Any, Iterator

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..access.csv_io import parse_local_time
from ..auth import PAGE_ROLES, roles_required
from ..filters import format_ms
from ..keys.messages import FLAG_LABELS, HOW_LABELS, LOAN_STATE_LABELS
from ..keys.model import KeyLoan
from ..labels import label
from ..state import console
from .audit_trail import record_action
from .csv_export import csv_download

__all__ = ["bp", "KEY_LOANS_EXPORT", "REPORTS", "DUE_SOON_MS"]

bp = Blueprint("key_loans", __name__)
_read = roles_required(*PAGE_ROLES["key_loans"])

KEY_LOANS_EXPORT = "key.loans_export"
#: Report views: keys out now, overdue, every loan in the period.
REPORTS = ("out", "overdue", "period")
#: The reminders list also shows loans due within this long, ms (2 h).
DUE_SOON_MS = 2 * 3_600_000
PAGE_ROWS = 500
CSV_ROWS = 100_000


@dataclass(frozen=True)
class LoanQuery:
    report: str
    key: str
    holder: str
    since: int | None
    until: int | None
    since_text: str
    until_text: str
    errors: tuple[str, ...]


def _query() -> LoanQuery:
    tz = zoneinfo.ZoneInfo(console().config.timezone)
    report = request.args.get("report") or "out"
    if report not in REPORTS:
        report = "out"
    key = (request.args.get("key") or "").strip()[:32]
    holder = (request.args.get("holder") or "").strip()[:64]
    errors: list[str] = []
    times: dict[str, int | None] = {}
    texts: dict[str, str] = {}
    for name in ("since", "until"):
        text = (request.args.get(name) or "").strip()[:40]
        texts[name] = text
        times[name] = None
        if text:
            try:
                times[name] = parse_local_time(text, tz)
            except ValueError:
                errors.append(name)
    if key or holder:
        report = "period"
    return LoanQuery(report=report, key=key, holder=holder, since=times["since"],
                     until=times["until"], since_text=texts["since"], until_text=texts["until"],
                     errors=tuple(errors))


def _loans(q: LoanQuery, limit: int) -> list[KeyLoan]:
    loans = console().services.keys.loans
    if q.report == "out":
        return loans.out_now()[:limit]
    if q.report == "overdue":
        return loans.overdue(console().clock())[:limit]
    return loans.search(key=q.key or None, holder=q.holder or None, since=q.since,
                        until=q.until, limit=limit)


def _labels() -> dict[str, Any]:
    return {"loan_state_labels": LOAN_STATE_LABELS, "how_labels": HOW_LABELS,
            "flag_labels": FLAG_LABELS}


@bp.get("/keys/loans")
@_read
def index() -> ResponseReturnValue:
    q = _query()
    rows = _loans(q, PAGE_ROWS)
    return render_template("key_loans.html", q=q, rows=rows, now=console().clock(),
                           page_rows=PAGE_ROWS, reports=REPORTS, **_labels())


@bp.get("/keys/loans.csv")
@_read
def export_csv() -> ResponseReturnValue:
    q = _query()
    rows = _loans(q, CSV_ROWS)
    record_action(KEY_LOANS_EXPORT, q.report, f"{len(rows)} rows")
    now = console().clock()

    def body() -> Iterator[list[Any]]:
        yield [_("Loan"), _("Key number"), _("Label"), _("Borrower"), _("Borrower id"),
               _("How"), _("State"), _("Taken at"), _("Due"), _("Returned at"), _("Overdue"),
               _("Flags"), _("Desk operator"), _("ID last 4"), _("Purpose"), _("Cabinet"),
               _("Slot")]
        for loan in rows:
            yield [loan.id, loan.key, loan.label, loan.holder_name, loan.holder,
                   label(HOW_LABELS, loan.how),
                   label(LOAN_STATE_LABELS, loan.state),
                   format_ms(loan.taken_at), format_ms(loan.due_at), format_ms(loan.returned_at),
                   _("yes") if loan.overdue(now) else "",
                   " ".join(label(FLAG_LABELS, f) for f in loan.flags),
                   loan.desk_by or "", loan.id_last4 or "", loan.purpose, loan.cabinet,
                   loan.slot if loan.slot is not None else ""]

    return csv_download(body(), name=f"key-loans-{q.report}", now_ms=now)


@bp.get("/keys/reminders")
@_read
def reminders() -> ResponseReturnValue:
    st = console()
    now = st.clock()
    loans = st.services.keys.loans
    return render_template("key_reminders.html", overdue=loans.overdue(now),
                           soon=loans.due_within(now, DUE_SOON_MS), now=now, **_labels())
