"""``/keys`` the key register (钥匙登记): admins add, edit and remove keys; the desk reads it,
opens a key's page (its loans) and lends a key to a borrower without a card (a signed
``cabinet.release`` naming the operator). Every change is audit-logged; register changes publish
the retained ``sync/key-permissions`` snapshot (version + 1) for the cabinet nodes."""

from __future__ import annotations

import json
import zoneinfo
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..access.csv_io import format_local_time, parse_local_time
from ..auth import PAGE_ROLES, roles_required
from ..keys.desk import KeyReleaseRefused, release_for_borrower
from ..keys.messages import (FLAG_LABELS, HOW_LABELS, KEY_KIND_LABELS, LOAN_STATE_LABELS,
                             problem_text, refusal_text)
from ..keys.model import KEY_KINDS, KeyRecord, validate_key
from ..keys.register import KeyExists, KeyNotFound, KeyOnLoan, SlotTaken
from ..state import console
from .audit_trail import record_action as _record
from .forms import ConfirmForm
from .keys_forms import KeyForm, ReleaseForm

__all__ = ["bp", "KEY_ADD", "KEY_EDIT", "KEY_DELETE", "KEY_RELEASE"]

bp = Blueprint("keys", __name__)

#: Audit actions of the key register and the desk.
KEY_ADD = "key.add"
KEY_EDIT = "key.edit"
KEY_DELETE = "key.delete"
KEY_RELEASE = "key.release"
HISTORY_ROWS = 100


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(console().config.timezone)


def _published() -> None:
    if not console().services.keys.publish():
        flash(_("Saved. The key cabinets get the change when the console is connected to the "
                "broker again."), "warning")


def _labels() -> dict[str, Any]:
    return {"kind_labels": KEY_KIND_LABELS, "loan_state_labels": LOAN_STATE_LABELS,
            "how_labels": HOW_LABELS, "flag_labels": FLAG_LABELS}


@bp.get("/keys")
@roles_required(*PAGE_ROLES["keys"])
def index() -> ResponseReturnValue:
    st = console()
    q = (request.args.get("q") or "").strip()[:100]
    kind = request.args.get("kind") or ""
    keys = st.services.keys
    rows = keys.register.search(text=q or None, kind=kind if kind in KEY_KINDS else None)
    out = {loan.key: loan for loan in keys.loans.out_now()}
    return render_template("keys.html", rows=rows, out=out, q=q, kind=kind, kinds=KEY_KINDS,
                           now=st.clock(), total=keys.register.count(),
                           version=keys.register.version(), **_labels())


def _form_page(form: KeyForm, *, number: str | None, status: int = 200) -> ResponseReturnValue:
    units = [u.code for u in console().services.units.search(limit=2000)]
    return render_template("key_form.html", form=form, number=number, units=units), status


def _from_form(form: KeyForm, *, number: str | None) -> tuple[KeyRecord | None, dict[str, list[str]]]:
    values: dict[str, Any] = {
        "number": number or form.number.data, "label": form.label.data, "unit": form.unit.data,
        "kind": form.kind.data, "cabinet": form.cabinet.data, "slot": form.slot.data,
        "takers": form.takers.data or "", "two_person": bool(form.two_person.data),
        "max_loan_min": form.max_loan_min.data, "authorised_by": form.authorised_by.data,
        "borrowers": form.borrowers.data, "note": form.note.data}
    extra: dict[str, list[str]] = {}
    until_text = (form.authorised_until.data or "").strip()
    if until_text:
        try:
            values["authorised_until"] = parse_local_time(until_text, _tz())
        except ValueError:
            extra["authorised_until"] = ["bad_time"]
    unit = (form.unit.data or "").strip()
    if unit and not console().services.units.exists(unit):
        extra["unit"] = ["unknown_unit"]
    record, errors = validate_key(values)
    for name, codes in extra.items():
        errors.setdefault(name, [])
        errors[name] = [c for c in errors[name] if c != "until_required"] + codes
    return (None if errors else record), errors


def _apply_problems(form: KeyForm, errors: dict[str, list[str]]) -> None:
    for name, codes in errors.items():
        fld = getattr(form, name, None)
        if fld is not None:
            fld.errors = list(fld.errors) + [problem_text(c) for c in codes]


def _save(form: KeyForm, *, number: str | None) -> ResponseReturnValue:
    create = number is None
    if not form.validate_on_submit():
        return _form_page(form, number=number, status=400)
    record, errors = _from_form(form, number=number)
    if record is None:
        _apply_problems(form, errors)
        return _form_page(form, number=number, status=400)
    try:
        version = console().services.keys.register.save(record, by=g.user.username, create=create)
    except KeyExists:
        _apply_problems(form, {"number": ["number_taken"]})
        return _form_page(form, number=number, status=400)
    except KeyNotFound:
        abort(404)
    except SlotTaken as exc:
        form.slot.errors = [_("Slot %(slot)d of cabinet %(cabinet)s already holds key %(key)s.",
                              slot=record.slot, cabinet=record.cabinet, key=exc.owner)]
        return _form_page(form, number=number, status=400)
    _record(KEY_ADD if create else KEY_EDIT, record.number,
            json.dumps({"version": version, "cabinet": record.cabinet, "slot": record.slot,
                        "takers": list(record.takers)}, ensure_ascii=False))
    flash(_("Key %(key)s saved.", key=record.number), "success")
    _published()
    return redirect(url_for("keys.detail", number=record.number), code=303)


@bp.route("/keys/new", methods=["GET", "POST"])
@roles_required(*PAGE_ROLES["keys_admin"])
def add() -> ResponseReturnValue:
    form = KeyForm()
    if request.method == "GET":
        return _form_page(form, number=None)
    return _save(form, number=None)


def _key(number: str) -> KeyRecord:
    rec = console().services.keys.register.get(number)
    if rec is None:
        abort(404)
    return rec


@bp.route("/keys/<number>/edit", methods=["GET", "POST"])
@roles_required(*PAGE_ROLES["keys_admin"])
def edit(number: str) -> ResponseReturnValue:
    rec = _key(number)
    if request.method == "GET":
        form = KeyForm(data={
            "number": rec.number, "label": rec.label, "unit": rec.unit, "kind": rec.kind,
            "cabinet": rec.cabinet, "slot": rec.slot, "takers": "\n".join(rec.takers),
            "two_person": rec.two_person, "max_loan_min": rec.max_loan_min,
            "authorised_by": rec.authorised_by, "borrowers": rec.borrowers, "note": rec.note,
            "authorised_until": format_local_time(rec.authorised_until, _tz(), "%Y-%m-%dT%H:%M")})
        return _form_page(form, number=number)
    form = KeyForm()
    form.number.data = number                  # the number is not editable
    return _save(form, number=number)


@bp.post("/keys/<number>/delete")
@roles_required(*PAGE_ROLES["keys_admin"])
def delete(number: str) -> ResponseReturnValue:
    _key(number)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    keys = console().services.keys
    try:
        version = keys.register.delete(number, by=g.user.username,
                                       open_loan=keys.loans.open_loan(number) is not None)
    except KeyOnLoan:
        flash(_("Key %(key)s is out; remove it once it is returned.", key=number), "error")
        return redirect(url_for("keys.detail", number=number), code=303)
    _record(KEY_DELETE, number, f"v{version}")
    flash(_("Key %(key)s removed from the register.", key=number), "success")
    _published()
    return redirect(url_for("keys.index"), code=303)


def _detail_page(rec: KeyRecord, form: ReleaseForm, status: int = 200) -> ResponseReturnValue:
    st = console()
    keys = st.services.keys
    history = keys.loans.search(key=rec.number, limit=HISTORY_ROWS)
    unit = st.services.units.get(rec.unit) if rec.unit else None
    return render_template("key_detail.html", key=rec, history=history, unit=unit,
                           current=keys.loans.open_loan(rec.number), now=st.clock(),
                           release_form=form, confirm_form=ConfirmForm(),
                           node=keys.board.node_of(rec.cabinet), **_labels()), status


@bp.get("/keys/<number>")
@roles_required(*PAGE_ROLES["keys"])
def detail(number: str) -> ResponseReturnValue:
    return _detail_page(_key(number), ReleaseForm(formdata=None))


@bp.post("/keys/<number>/release")
@roles_required(*PAGE_ROLES["key_release"])
def release(number: str) -> ResponseReturnValue:
    st = console()
    rec = _key(number)
    form = ReleaseForm()
    if not form.validate_on_submit():
        return _detail_page(rec, form, 400)
    try:
        loan = release_for_borrower(st.services.keys, st.services.commands, key=number,
                                    borrower=form.borrower.data, id_text=form.id_number.data,
                                    purpose=form.purpose.data or "", operator=g.user.username,
                                    now_ms=st.clock())
    except KeyReleaseRefused as exc:
        flash(_("Not released: %(why)s", why=refusal_text(exc.code)), "error")
        return _detail_page(rec, form, 400)
    _record(KEY_RELEASE, number, json.dumps(
        {"loan": loan.id, "cmd_id": loan.cmd_id, "node": loan.node, "borrower": loan.holder_name,
         "id_last4": loan.id_last4, "purpose": loan.purpose}, ensure_ascii=False))
    if loan.state == "cancelled":
        flash(_("The release of %(key)s could not be sent: the console is not connected to the "
                "broker.", key=number), "error")
    else:
        flash(_("Slot of key %(key)s released for %(who)s. The loan starts when the key is "
                "taken.", key=number, who=loan.holder_name), "success")
    return redirect(url_for("keys.detail", number=number), code=303)
