"""``/events``: search by time range, node, kind and text, newest first, page by page (keyset
cursor); ``/events.csv``: the same filters exported as CSV, streamed."""

from __future__ import annotations

import json
from typing import Any, Iterator

from flask import Blueprint, abort, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_number
from flask_babel import gettext as _

from .. import audit
from ..auth import PAGE_ROLES, roles_required
from ..errors import BadCursor
from ..filters import format_ms
from ..state import console
from .csv_export import csv_cell, csv_download
from .forms import parse_event_filter

__all__ = ["bp", "csv_cell", "PAGE_SIZE"]

PAGE_SIZE = 50
bp = Blueprint("events", __name__)


@bp.get("/events")
@roles_required(*PAGE_ROLES["events"])
def search() -> ResponseReturnValue:
    st = console()
    filt = parse_event_filter(request.args, timezone=st.config.timezone)
    page, status = None, 200
    if not filt.errors:
        try:
            page = st.services.events.search(**filt.store_args(), cursor=filt.cursor,
                                             limit=PAGE_SIZE)
        except BadCursor:
            filt.errors["cursor"] = [_("Not a valid page link.")]  # type: ignore[index]
    if filt.errors:
        status = 400
    scan_rows = st.services.events.short_text_scan_rows
    return render_template("events.html", filt=filt, page=page,
                           nodes=st.services.events.nodes(), kinds=st.services.events.kinds(),
                           page_size=PAGE_SIZE,
                           scan_rows=format_number(scan_rows) if scan_rows else ""), status


@bp.get("/events.csv")
@roles_required(*PAGE_ROLES["events"])
def export_csv() -> ResponseReturnValue:
    st = console()
    filt = parse_event_filter(request.args, timezone=st.config.timezone)
    if filt.errors:
        abort(400, description=_("The export filters are not valid."))
    st.audit.record(audit.EVENTS_EXPORT, user=g.user.username, target="events.csv",
                    detail=json.dumps(filt.query(), ensure_ascii=False, sort_keys=True),
                    remote_addr=request.remote_addr)
    events = st.services.events.iter_search(**filt.store_args())
    header = [_("Time"), _("Node"), _("Event kind"), _("Class"), _("Seq"), _("Event id"),
              _("Received"), _("Data")]

    def rows() -> Iterator[list[Any]]:
        yield header
        for ev in events:
            yield [format_ms(ev.ts), ev.node, ev.kind, ev.event_class, ev.seq, ev.event_id,
                   format_ms(ev.received_at),
                   json.dumps(ev.data, ensure_ascii=False, sort_keys=True)]

    return csv_download(rows(), name="events", now_ms=st.clock())
