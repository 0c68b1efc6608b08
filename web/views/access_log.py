"""``/access-log``: every door decision (``door.granted`` / ``door.denied``), filtered by door,
holder, unit, result, reason and time, newest first; ``/access-log.csv``: the same, exported."""

from __future__ import annotations

import json
import re
import zoneinfo
from typing import Any, Iterator

from flask import Blueprint, abort, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import audit
from ..access.csv_io import parse_local_time
from ..access.doors import REASONS, RESULTS, AccessFilter, access_log, iter_access_log
from ..auth import PAGE_ROLES, roles_required
from ..filters import format_ms
from ..state import console
from .csv_export import csv_download

__all__ = ["bp", "PAGE_SIZE"]

bp = Blueprint("access", __name__)
PAGE_SIZE = 100
_DOOR_RE = re.compile(r"^[a-z0-9-]{1,32}$")


def _parse_filter(args: Any) -> tuple[AccessFilter, dict[str, str], dict[str, list[str]]]:
    keys = ("door", "holder", "unit", "result", "reason", "since", "until")
    values = {k: (args.get(k) or "").strip() for k in keys}
    errors: dict[str, list[str]] = {}
    if values["door"] and not _DOOR_RE.match(values["door"]):
        errors["door"] = [_("Not a valid door id.")]
    for name in ("holder", "unit"):
        if len(values[name]) > 100:
            errors[name] = [_("At most %(max)d characters.", max=100)]
    if values["result"] and values["result"] not in RESULTS:
        errors["result"] = [_("Not a valid choice.")]
    if values["reason"] and values["reason"] not in REASONS:
        errors["reason"] = [_("Not a valid choice.")]
    tz = zoneinfo.ZoneInfo(console().config.timezone)
    times: dict[str, int | None] = {"since": None, "until": None}
    for name in ("since", "until"):
        if values[name]:
            try:
                times[name] = parse_local_time(values[name], tz)
            except (ValueError, OverflowError):
                errors[name] = [_("Not a valid date and time.")]
    if times["since"] is not None and times["until"] is not None and times["until"] <= times["since"]:
        errors.setdefault("until", []).append(_("Must be after the start."))
    filt = AccessFilter(door=values["door"] or None, holder=values["holder"] or None,
                        unit=values["unit"] or None, result=values["result"] or None,
                        reason=values["reason"] or None, since_ms=times["since"],
                        until_ms=times["until"])
    return filt, values, errors


@bp.get("/access-log")
@roles_required(*PAGE_ROLES["access_log"])
def log() -> ResponseReturnValue:
    filt, values, errors = _parse_filter(request.args)
    rows: list[Any] = []
    more = False
    if not errors:
        rows, more = access_log(console().services.events, filt, limit=PAGE_SIZE)
    older = None
    if more and rows:
        older = {**{k: v for k, v in values.items() if v},
                 "until": format_ms(rows[-1].ts, "%Y-%m-%dT%H:%M:%S")}
    query = {k: v for k, v in values.items() if v}
    return render_template("access_log.html", rows=rows, values=values, errors=errors,
                           results=RESULTS, reasons=REASONS, query=query, older=older,
                           page_size=PAGE_SIZE), 400 if errors else 200


@bp.get("/access-log.csv")
@roles_required(*PAGE_ROLES["access_log"])
def log_csv() -> ResponseReturnValue:
    st = console()
    filt, values, errors = _parse_filter(request.args)
    if errors:
        abort(400, description=_("The export filters are not valid."))
    st.audit.record(audit.ACCESS_EXPORT, user=g.user.username, target="access-log.csv",
                    detail=json.dumps({k: v for k, v in values.items() if v}, ensure_ascii=False,
                                      sort_keys=True), remote_addr=request.remote_addr)
    events = iter_access_log(st.services.events, filt)
    header = [_("Time"), _("Door"), _("Reader"), _("Result"), _("Reason"), _("Holder"),
              _("Unit"), _("Card"), _("Credential id"), _("Node")]

    def rows() -> Iterator[list[Any]]:
        yield header
        for ev in events:
            d = ev.data
            yield [format_ms(ev.ts), d.get("door", ""), d.get("reader", ""),
                   ev.kind.removeprefix("door."), d.get("reason", ""), d.get("holder", ""),
                   d.get("unit", ""), d.get("card", ""), d.get("credential_id", ""), ev.node]

    return csv_download(rows(), name="access-log", now_ms=st.clock())
