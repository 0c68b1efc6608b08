"""``/passes`` (admin, desk): the goods passes — search (unit, carrier, pass id, state, kind,
issue dates), a pass's page (guards too), cancel with a reason (audited; the pass id goes out
at once in the retained ``sync/pass-revocations`` snapshot), the printable pass (one A4 page:
desk and security copies with the signed QR code) and the authorisation letter's scan."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..auth import PAGE_ROLES, can, roles_required
from ..passes.days import day_start, parse_day
from ..passes.messages import (AUTH_LABELS, KIND_LABELS, REASON_LABELS, RELATION_LABELS,
                               STATE_LABELS, VERDICT_LABELS)
from ..passes.model import KINDS, STATES
from ..passes.qr import qr_svg
from ..passes.store import DATASET, PassNotCancellable, PassNotFound
from ..state import console
from .passes_forms import CancelForm

__all__ = ["bp", "AUDIT_CANCEL", "PAGE_SIZE", "labels"]

bp = Blueprint("passes", __name__)
_manage = roles_required(*PAGE_ROLES["passes"])
_view = roles_required(*PAGE_ROLES["passes_guard"])
AUDIT_CANCEL = "goods_pass.cancel"
PAGE_SIZE = 200


def labels() -> dict[str, Any]:
    """The label tables the pass templates use."""
    return {"relation_labels": RELATION_LABELS, "auth_labels": AUTH_LABELS,
            "state_labels": STATE_LABELS, "kind_labels": KIND_LABELS,
            "verdict_labels": VERDICT_LABELS, "reason_labels": REASON_LABELS}


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(console().config.timezone)


@bp.get("/passes")
@_manage
def index() -> ResponseReturnValue:
    st = console()
    args = {k: (request.args.get(k) or "").strip()[:64]
            for k in ("q", "unit", "carrier", "state", "kind", "since", "until")}
    errors: dict[str, str] = {}
    bounds: dict[str, int | None] = {"since": None, "until": None}
    for name in ("since", "until"):
        if args[name]:
            try:
                day = parse_day(args[name])
                bounds[name] = day_start(day + timedelta(days=1 if name == "until" else 0), _tz())
            except ValueError:
                errors[name] = _("Not a valid date.")
    state = args["state"] if args["state"] in STATES else ""
    kind = args["kind"] if args["kind"] in KINDS else ""
    rows = st.services.passes.search(
        text=args["q"] or None, unit=args["unit"] or None, carrier=args["carrier"] or None,
        state=state or None, kind=kind or None, since_ms=bounds["since"],
        until_ms=bounds["until"], limit=PAGE_SIZE) if not errors else []
    return render_template("passes/index.html", rows=rows, args=args, errors=errors,
                           states=STATES, kinds=KINDS, now=st.clock(), page_size=PAGE_SIZE,
                           total=st.services.passes.count(),
                           version=st.services.passes.revocations_version(), **labels())


def _target(pass_id: str):  # type: ignore[no-untyped-def]
    gp = console().services.passes.get(pass_id[:40])
    if gp is None:
        abort(404)
    return gp


@bp.get("/passes/<pass_id>")
@_view
def detail(pass_id: str) -> ResponseReturnValue:
    st = console()
    gp = _target(pass_id)
    return render_template("passes/detail.html", gp=gp, now=st.clock(),
                           verdicts=st.services.passes.verdicts_for(gp.pass_id),
                           cancel_form=CancelForm(), may_manage=can(g.user.role, "passes"),
                           **labels())


@bp.post("/passes/<pass_id>/cancel")
@_manage
def cancel(pass_id: str) -> ResponseReturnValue:
    st = console()
    gp = _target(pass_id)
    form = CancelForm()
    if not form.validate_on_submit():
        return render_template("passes/detail.html", gp=gp, now=st.clock(),
                               verdicts=st.services.passes.verdicts_for(gp.pass_id),
                               cancel_form=form, may_manage=True, **labels()), 400
    reason = form.reason.data.strip()
    try:
        version = st.services.passes.cancel(gp.pass_id, by=g.user.username, reason=reason)
    except PassNotFound:
        abort(404)
    except PassNotCancellable as exc:
        flash(_("Pass %(id)s cannot be cancelled: it is %(state)s.", id=gp.pass_id,
                state=STATE_LABELS.get(exc.state, exc.state)), "error")
        return redirect(url_for("passes.detail", pass_id=gp.pass_id), code=303)
    st.audit.record(AUDIT_CANCEL, user=g.user.username, target=gp.pass_id,
                    detail=f"v{version}: {reason}", remote_addr=request.remote_addr)
    if st.services.sync.publish(DATASET):
        st.services.passes.mark_published(version)
        flash(_("Pass %(id)s cancelled; the gates refuse it from now on.", id=gp.pass_id),
              "success")
    else:
        flash(_("Pass %(id)s cancelled. The gates get the cancellation when the console is "
                "connected to the broker again.", id=gp.pass_id), "warning")
    return redirect(url_for("passes.detail", pass_id=gp.pass_id), code=303)


@bp.get("/passes/<pass_id>/print")
@_manage
def print_pass(pass_id: str) -> ResponseReturnValue:
    st = console()
    gp = _target(pass_id)
    return render_template("passes/print.html", gp=gp, qr=qr_svg(gp.qr_text), now=st.clock(),
                           site=st.config.site, **labels())


@bp.get("/passes/<pass_id>/letter")
@_manage
def letter(pass_id: str) -> ResponseReturnValue:
    st = console()
    gp = _target(pass_id)
    found = st.services.pass_scans.path(gp.letter_scan)
    if found is None:
        abort(404)
    path, mime = found
    resp = send_file(path, mimetype=mime, download_name=path.name, as_attachment=False,
                     max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-store"
    return resp
