"""``/credentials`` (admin, desk): the door-access cards (门禁卡): list and search, add, edit,
disable / enable, CSV export and import with a per-row report. Every change is audit-logged and
publishes the retained ``sync/credentials`` snapshot (version + 1) for the door nodes."""

from __future__ import annotations

import csv
import zoneinfo
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import audit
from ..access.csv_io import COLUMNS, export_rows, format_local_time, parse_csv, parse_local_time
from ..access.messages import FIELD_LABELS, KIND_LABELS, problem_text
from ..access.model import KINDS, validate
from ..access.pin import hash_pin
from ..access.store import CardTaken, CredentialExists, CredentialNotFound
from ..auth import PAGE_ROLES, roles_required
from ..state import console
from .access_forms import CredentialForm, ImportForm
from .audit_trail import record_action as _record
from .csv_export import csv_download
from .forms import ConfirmForm

__all__ = ["bp", "PAGE_SIZE", "MAX_IMPORT_BYTES"]

bp = Blueprint("credentials", __name__)
_manage = roles_required(*PAGE_ROLES["credentials"])
PAGE_SIZE = 200
#: Largest CSV accepted by the import, bytes (the app's request limit also applies).
MAX_IMPORT_BYTES = 1024 * 1024


def publish_credentials() -> None:
    """Publish the ``credentials`` snapshot after a change (also used by the schedules pages);
    a warning is flashed when the console is not connected to the broker."""
    if not console().services.publish_credentials():
        flash(_("Saved. The door nodes get the change when the console is connected to the "
                "broker again."), "warning")


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(console().config.timezone)


@bp.get("/credentials")
@_manage
def index() -> ResponseReturnValue:
    st = console()
    q = (request.args.get("q") or "").strip()[:100]
    kind = request.args.get("kind") or ""
    status = request.args.get("status") or ""
    enabled = {"enabled": True, "disabled": False}.get(status)
    rows = st.services.credentials.search(text=q or None, kind=kind if kind in KINDS else None,
                                          enabled=enabled, limit=PAGE_SIZE)
    return render_template("credentials.html", rows=rows, q=q, kind=kind, status=status,
                           kinds=KINDS, kind_labels=KIND_LABELS, confirm_form=ConfirmForm(),
                           total=st.services.credentials.count(),
                           version=st.services.credentials.version(), page_size=PAGE_SIZE)


def _form_page(form: CredentialForm, *, credential_id: str | None, has_pin: bool = False,
               status: int = 200) -> ResponseReturnValue:
    svc = console().services
    return render_template("credential_form.html", form=form, credential_id=credential_id,
                           has_pin=has_pin, schedule_ids=svc.schedules.ids(),
                           enrol_nodes=[n.node for n in svc.nodes.list()]), status


def apply_problems(form: Any, errors: dict[str, list[str]]) -> None:
    """Add the text of each problem code in ``errors`` (field -> codes) to that field of
    ``form`` (fields the form does not have are skipped)."""
    for name, codes in errors.items():
        fld = getattr(form, name, None)
        if fld is not None:
            fld.errors = list(fld.errors) + [problem_text(c) for c in codes]


def _from_form(form: CredentialForm, *, current_pin: str | None):  # type: ignore[no-untyped-def]
    values: dict[str, Any] = {
        "credential_id": form.credential_id.data, "cards": form.cards.data or "",
        "holder": form.holder.data, "unit": form.unit.data, "kind": form.kind.data,
        "doors": form.doors.data or "", "enabled": bool(form.enabled.data),
        "schedule": form.schedule.data}
    bad_times: dict[str, list[str]] = {}
    tz = _tz()
    for name in ("valid_from", "valid_until"):
        text = (getattr(form, name).data or "").strip()
        if text:
            try:
                values[name] = parse_local_time(text, tz)
            except ValueError:
                bad_times[name] = ["bad_time"]
    if form.clear_pin.data:
        values["pin_hash"] = None
    elif form.pin.data:
        values["pin_hash"] = hash_pin(form.pin.data)
    else:
        values["pin_hash"] = current_pin
    record, errors = validate(values)
    for name, codes in bad_times.items():
        errors.setdefault(name, []).extend(codes)
    if record is not None and record.schedule \
            and not console().services.schedules.exists(record.schedule):
        errors.setdefault("schedule", []).append("unknown_schedule")
    return (None if errors else record), errors


@bp.route("/credentials/new", methods=["GET", "POST"])
@_manage
def add() -> ResponseReturnValue:
    form = CredentialForm()
    if request.method == "GET":
        return _form_page(form, credential_id=None)
    if not form.validate_on_submit():
        return _form_page(form, credential_id=None, status=400)
    record, errors = _from_form(form, current_pin=None)
    if record is None:
        apply_problems(form, errors)
        return _form_page(form, credential_id=None, status=400)
    try:
        version = console().services.credentials.save(record, by=g.user.username, create=True)
    except CredentialExists:
        apply_problems(form, {"credential_id": ["id_taken"]})
        return _form_page(form, credential_id=None, status=400)
    except CardTaken as exc:
        form.cards.errors = [_("Card %(card)s already belongs to credential %(owner)s.",
                               card=exc.card, owner=exc.owner)]
        return _form_page(form, credential_id=None, status=400)
    _record(audit.CREDENTIAL_ADD, record.credential_id, f"v{version}")
    flash(_("Credential %(id)s added.", id=record.credential_id), "success")
    publish_credentials()
    return redirect(url_for("credentials.index"), code=303)


def _target(credential_id: str):  # type: ignore[no-untyped-def]
    record = console().services.credentials.get(credential_id)
    if record is None:
        abort(404)
    return record


@bp.route("/credentials/<credential_id>/edit", methods=["GET", "POST"])
@_manage
def edit(credential_id: str) -> ResponseReturnValue:
    current = _target(credential_id)
    if request.method == "GET":
        tz = _tz()
        form = CredentialForm(data={
            "credential_id": current.credential_id, "cards": "\n".join(current.cards),
            "holder": current.holder, "unit": current.unit, "kind": current.kind,
            "doors": current.doors_text, "enabled": current.enabled,
            "valid_from": format_local_time(current.valid_from, tz, "%Y-%m-%dT%H:%M"),
            "valid_until": format_local_time(current.valid_until, tz, "%Y-%m-%dT%H:%M"),
            "schedule": current.schedule or ""})
        return _form_page(form, credential_id=credential_id, has_pin=current.has_pin)
    form = CredentialForm()
    form.credential_id.data = credential_id          # the id is not editable
    if not form.validate_on_submit():
        return _form_page(form, credential_id=credential_id, has_pin=current.has_pin, status=400)
    record, errors = _from_form(form, current_pin=current.pin_hash)
    if record is None:
        apply_problems(form, errors)
        return _form_page(form, credential_id=credential_id, has_pin=current.has_pin, status=400)
    try:
        version = console().services.credentials.save(record, by=g.user.username, create=False)
    except CredentialNotFound:
        abort(404)
    except CardTaken as exc:
        form.cards.errors = [_("Card %(card)s already belongs to credential %(owner)s.",
                               card=exc.card, owner=exc.owner)]
        return _form_page(form, credential_id=credential_id, has_pin=current.has_pin, status=400)
    _record(audit.CREDENTIAL_EDIT, credential_id, f"v{version}")
    flash(_("Credential %(id)s saved.", id=credential_id), "success")
    publish_credentials()
    return redirect(url_for("credentials.index"), code=303)


def _set_enabled(credential_id: str, enabled: bool) -> ResponseReturnValue:
    _target(credential_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    before = console().services.credentials.version()
    version = console().services.credentials.set_enabled(credential_id, enabled,
                                                         by=g.user.username)
    if version != before:
        _record(audit.CREDENTIAL_ENABLE if enabled else audit.CREDENTIAL_DISABLE, credential_id,
                f"v{version}")
        flash(_("Credential %(id)s enabled.", id=credential_id) if enabled
              else _("Credential %(id)s disabled.", id=credential_id), "success")
        publish_credentials()
    return redirect(url_for("credentials.index"), code=303)


@bp.post("/credentials/<credential_id>/disable")
@_manage
def disable(credential_id: str) -> ResponseReturnValue:
    return _set_enabled(credential_id, False)


@bp.post("/credentials/<credential_id>/enable")
@_manage
def enable(credential_id: str) -> ResponseReturnValue:
    return _set_enabled(credential_id, True)


@bp.get("/credentials.csv")
@_manage
def export_csv() -> ResponseReturnValue:
    st = console()
    _record(audit.CREDENTIAL_EXPORT, "credentials.csv", f"{st.services.credentials.count()} rows")
    records = iter(st.services.credentials)
    tz_name = st.config.timezone

    return csv_download(export_rows(records, timezone=tz_name), name="credentials",
                        now_ms=st.clock(), guard=False)


@bp.route("/credentials/import", methods=["GET", "POST"])
@_manage
def import_csv() -> ResponseReturnValue:
    form = ImportForm()
    if request.method == "GET":
        return render_template("credential_import.html", form=form, report=None, columns=COLUMNS)
    if not form.validate_on_submit():
        return render_template("credential_import.html", form=form, report=None,
                               columns=COLUMNS), 400
    raw = form.file.data.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        form.file.errors = [_("The file is larger than %(kb)d KB.", kb=MAX_IMPORT_BYTES // 1024)]
        return render_template("credential_import.html", form=form, report=None,
                               columns=COLUMNS), 400
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors = [_("The file is not UTF-8 text; save it as CSV UTF-8.")]
        return render_template("credential_import.html", form=form, report=None,
                               columns=COLUMNS), 400
    st = console()
    store = st.services.credentials

    def current_pin(cid: str) -> str | None:
        found = store.get(cid)
        return found.pin_hash if found else None

    try:
        plan = parse_csv(text, timezone=st.config.timezone, current_pin=current_pin)
    except csv.Error as exc:
        form.file.errors = [_("The file is not valid CSV: %(problem)s", problem=str(exc))]
        return render_template("credential_import.html", form=form, report=None,
                               columns=COLUMNS), 400
    known_schedules = set(st.services.schedules.ids())
    unscheduled = [(row, r) for row, r in plan.records
                   if r.schedule is not None and r.schedule not in known_schedules]
    records = [(row, r) for row, r in plan.records
               if r.schedule is None or r.schedule in known_schedules]
    taken, added, updated = store.import_records(records, by=g.user.username)
    problems = [{"row": p.row, "id": p.credential_id,
                 "field": str(FIELD_LABELS.get(p.field, p.field)), "problem": problem_text(p.code)}
                for p in plan.problems]
    problems += [{"row": row, "id": r.credential_id, "field": str(FIELD_LABELS["schedule"]),
                  "problem": problem_text("unknown_schedule")} for row, r in unscheduled]
    problems += [{"row": row, "id": plan.ids.get(row, ""), "field": str(FIELD_LABELS["cards"]),
                  "problem": problem_text(code)} for row, code in taken.items()]
    problems.sort(key=lambda p: p["row"])
    report = {"added": added, "updated": updated, "refused": len({p["row"] for p in problems}),
              "problems": problems, "version": store.version()}
    _record(audit.CREDENTIAL_IMPORT, "credentials.csv",
            f"added={added} updated={updated} refused={report['refused']} v{report['version']}")
    if added or updated:
        publish_credentials()
    return render_template("credential_import.html", form=ImportForm(formdata=None), report=report,
                           columns=COLUMNS)
