"""``/passes/new`` and ``/passes/tools/new`` (admin, desk): issue a goods pass or a renovation
tool pass. The desk's rules are :func:`web.passes.model.check_draft`; the pass is signed with
the site's Ed25519 key (``services.signer()``), stored, audit-logged, and the printable page
opens. The issue form takes an optional scan of the authorisation letter (PDF/JPEG/PNG, at
most 5 MB, stored next to the console database)."""

from __future__ import annotations

import logging
import re
import zoneinfo
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms.fields import FieldList

from ..auth import PAGE_ROLES, roles_required
from ..extensions import csrf
from ..passes.days import day_last_minute, day_start, format_day, parse_day, today
from ..passes.messages import problem_text
from ..passes.model import PassDraft, PassLine, PassProblems, check_draft
from ..passes.uploads import MAX_SCAN_BYTES, ScanRefused, scan_type
from ..signing import SigningUnavailable
from ..state import console
from .passes_forms import PassForm, ToolPassForm

__all__ = ["bp", "ISSUE", "AUDIT_ISSUE"]

log = logging.getLogger(__name__)
bp = Blueprint("passes_issue", __name__)
_manage = roles_required(*PAGE_ROLES["passes"])
#: Audit action of an issued pass.
AUDIT_ISSUE = ISSUE = "goods_pass.issue"
_TOOL_RE = re.compile(r"^(.*?)\s*[x×X*]\s*([0-9]{1,4})$")


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(console().config.timezone)


def _apply(form: Any, errors: dict[str, list[str]], *, rename: dict[str, str] | None = None) -> None:
    """Put ``check_draft`` codes on the form's fields (unknown fields go to ``form.form_errors``)."""
    for name, codes in errors.items():
        fld = getattr(form, (rename or {}).get(name, name), None)
        texts = [problem_text(c) for c in dict.fromkeys(codes)]
        if isinstance(fld, FieldList):
            form.item_problems = texts
        elif fld is not None:
            fld.errors = list(fld.errors) + texts
        else:
            form.form_errors.extend(texts)


def _window(form: PassForm, errors: dict[str, list[str]]) -> tuple[int, int]:
    tz = _tz()
    start = end = 0
    try:
        start = day_start(parse_day(form.valid_from.data or ""), tz)
    except ValueError:
        errors.setdefault("valid_from", []).append("bad_time")
    try:
        end = day_last_minute(parse_day(form.valid_until.data or ""), tz)
    except ValueError:
        errors.setdefault("valid_until", []).append("bad_time")
    return start, end


def _items(form: PassForm, errors: dict[str, list[str]]) -> tuple[PassLine, ...]:
    lines = []
    for entry in form.items.entries:
        desc = (entry.form.description.data or "").strip()
        qty = entry.form.quantity.data
        if not desc:
            if qty:
                errors.setdefault("items", []).append("item_description")
            continue
        lines.append(PassLine(description=" ".join(desc.split()), quantity=qty or 1,
                              large=bool(entry.form.large.data)))
    return tuple(lines)


def _page(form: PassForm, status: int = 200) -> ResponseReturnValue:
    units = console().services.units.search(limit=2000)
    return render_template("passes/issue.html", form=form, units=units), status


def _sign_or_page(draft: PassDraft, render: Any, form: Any, scan: bytes | None = None) -> Any:
    st = console()
    try:
        signer = st.services.signer()
    except SigningUnavailable as exc:
        log.error("goods pass not issued: %s", exc)
        form.form_errors.append(_("The site signing key is not configured; passes cannot be "
                                  "issued. Ask the administrator (console.signing_key_file)."))
        return render(form, 503)
    try:
        gp = st.services.passes.issue(draft, sign=signer.sign, by=g.user.username)
    except PassProblems as exc:
        _apply(form, exc.errors)
        return render(form, 400)
    detail = f"{gp.unit} {gp.carrier_name} ({gp.carrier_relation}) {gp.item_count} items"
    if scan is not None:
        try:
            name = st.services.pass_scans.save(gp.pass_id, scan)
            st.services.passes.set_letter_scan(gp.pass_id, name)
            detail += f" scan {name}"
        except OSError as exc:
            log.error("goods pass %s: the letter scan could not be stored: %s", gp.pass_id, exc)
            flash(_("The pass was issued but the letter scan could not be stored."), "warning")
    st.audit.record(ISSUE, user=g.user.username, target=gp.pass_id, detail=detail,
                    remote_addr=request.remote_addr)
    flash(_("Pass %(id)s issued. Print it and have it signed.", id=gp.pass_id), "success")
    return redirect(url_for("passes.print_pass", pass_id=gp.pass_id), code=303)


@csrf.exempt          # the form checks its own CSRF token, after the upload limit is raised
@bp.route("/passes/new", methods=["GET", "POST"])
@_manage
def issue() -> ResponseReturnValue:
    """The issue form (a CSRF token is required: :class:`PassForm` checks it)."""
    st = console()
    if request.method == "GET":
        form = PassForm()
        day = format_day(today(st.clock(), _tz()))
        form.valid_from.data = form.valid_until.data = day
        unit = (request.args.get("unit") or "").strip()[:40]
        if unit:
            form.unit.data = unit
        return _page(form)
    request.max_content_length = MAX_SCAN_BYTES + 256 * 1024
    form = PassForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            form.form_errors.append(_("The form expired; reload the page and try again."))
        return _page(form, 400)
    errors: dict[str, list[str]] = {}
    start, end = _window(form, errors)
    unit_code = (form.unit.data or "").strip()
    draft = PassDraft(
        unit=unit_code, carrier_name=(form.carrier_name.data or "").strip(),
        carrier_relation=form.carrier_relation.data or "",
        carrier_id_last4=(form.carrier_id_last4.data or "").strip().upper(),
        items=_items(form, errors), valid_from_ms=start, valid_until_ms=end,
        authorisation=form.authorisation.data or "",
        letter_ref=(form.letter_ref.data or "").strip(),
        vehicle_plate="".join((form.vehicle_plate.data or "").split()).upper(),
        note=(form.note.data or "").strip())
    unit = st.services.units.get(unit_code) if unit_code else None
    for name, codes in check_draft(draft, unit=unit, now_ms=st.clock()).items():
        if name in ("valid_from", "valid_until") and name in errors:
            continue
        errors.setdefault(name, []).extend(codes)
    scan: bytes | None = None
    upload = form.letter_scan.data
    if upload is not None and getattr(upload, "filename", ""):
        raw = upload.read(MAX_SCAN_BYTES + 1)
        try:
            scan_type(raw)
            scan = raw
        except ScanRefused as exc:
            errors.setdefault("letter_scan", []).append(exc.code)
        if draft.authorisation != "letter":
            errors.setdefault("letter_scan", []).append("scan_without_letter")
    if errors:
        _apply(form, errors)
        return _page(form, 400)
    return _sign_or_page(draft, _page, form, scan)


def _tools_page(form: ToolPassForm, status: int = 200) -> ResponseReturnValue:
    units = console().services.units.search(limit=2000)
    return render_template("passes/tools.html", form=form, units=units), status


def _tool_lines(text: str) -> tuple[PassLine, ...]:
    lines = []
    for raw in text.splitlines():
        raw = " ".join(raw.split())
        if not raw:
            continue
        m = _TOOL_RE.match(raw)
        if m and m.group(1):
            lines.append(PassLine(description=m.group(1), quantity=int(m.group(2))))
        else:
            lines.append(PassLine(description=raw, quantity=1))
    return tuple(lines)


@bp.route("/passes/tools/new", methods=["GET", "POST"])
@_manage
def tools() -> ResponseReturnValue:
    """A renovation worker's tool pass: valid today only (the site's day)."""
    form = ToolPassForm()
    if request.method == "GET":
        unit = (request.args.get("unit") or "").strip()[:40]
        if unit:
            form.unit.data = unit
        return _tools_page(form)
    if not form.validate_on_submit():
        return _tools_page(form, 400)
    st = console()
    now = st.clock()
    day = today(now, _tz())
    unit_code = (form.unit.data or "").strip()
    draft = PassDraft(
        kind="tools", unit=unit_code, carrier_name=(form.worker.data or "").strip(),
        carrier_relation="worker",
        carrier_id_last4=(form.worker_id_last4.data or "").strip().upper(),
        items=_tool_lines(form.tools.data or ""), authorisation="desk",
        valid_from_ms=day_start(day, _tz()), valid_until_ms=day_last_minute(day, _tz()))
    errors = check_draft(draft, unit=st.services.units.get(unit_code) if unit_code else None,
                         now_ms=now)
    if errors:
        _apply(form, errors, rename={"carrier_name": "worker",
                                     "carrier_id_last4": "worker_id_last4", "items": "tools"})
        return _tools_page(form, 400)
    return _sign_or_page(draft, _tools_page, form)
