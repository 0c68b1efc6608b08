"""``/invites`` visitor invites (访客邀请): the desk or an administrator pre-registers a visitor
for a unit and a time window; the console signs an ``LI1.`` token with the site key and shows it
as a QR code (``/invites/<id>``, sized for a phone; ``/invites/<id>/qr.svg`` to send). The
door node verifies it offline; the admission checks the visitor in. Revoking publishes
``sync/invite-revocations``. ``POST /invites/<id>/link`` makes the visitor's phone link
(``/v/<token>``, :mod:`web.views.invite_link`) and shows it once on the page it returns.
Creating, revoking and making links are audited (never a token itself)."""

from __future__ import annotations

import io
import zoneinfo

import segno
from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..access.csv_io import parse_local_time
from ..auth import PAGE_ROLES, roles_required
from ..errors import AlreadyDone, NotFound
from ..signing import SigningUnavailable
from ..state import console
from ..visitors import actions
from ..visitors.messages import INVITE_STATE_LABELS, problem_text
from ..visitors.model import VisitError
from .audit_trail import record_action as _record
from .forms import ConfirmForm
from .visitor_forms import InviteForm
from .visitors import local_input

__all__ = ["bp", "qr_svg"]

bp = Blueprint("invites", __name__)
_desk = roles_required(*PAGE_ROLES["invites"])


def qr_svg(text: str, *, scale: int = 6) -> str:
    """The QR code of ``text`` as an SVG document (error correction M, dark on white)."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="svg", scale=scale, border=2,
                                                  xmldecl=False, svgns=True, dark="#000",
                                                  light="#fff")
    return buf.getvalue().decode("utf-8")


@bp.get("/invites")
@_desk
def index() -> ResponseReturnValue:
    st = console()
    return render_template("invites.html", invites=st.services.visitors.invites.recent(),
                           now=st.clock(), state_labels=INVITE_STATE_LABELS)


@bp.route("/invites/new", methods=["GET", "POST"])
@_desk
def create() -> ResponseReturnValue:
    st = console()
    tz_name = st.config.timezone
    if request.method == "GET":
        now = st.clock()
        form = InviteForm(data={"unit": request.args.get("unit", ""),
                                "valid_from": local_input(now, tz_name),
                                "valid_until": local_input(now + 86_400_000, tz_name)})
        return render_template("invite_form.html", form=form)
    form = InviteForm()
    if not form.validate_on_submit():
        return render_template("invite_form.html", form=form), 400
    tz = zoneinfo.ZoneInfo(tz_name)
    times: dict[str, int] = {}
    for name in ("valid_from", "valid_until"):
        try:
            times[name] = parse_local_time(getattr(form, name).data, tz)
        except ValueError:
            getattr(form, name).errors = [problem_text("bad_time")]
    if len(times) < 2:
        return render_template("invite_form.html", form=form), 400
    try:
        signer = st.services.signer()
    except SigningUnavailable:
        flash(_("Invites cannot be issued: the console has no site signing key "
                "(console.signing_key_file)."), "error")
        return render_template("invite_form.html", form=form), 503
    try:
        inv = st.services.visitors.create_invite(
            signer=signer, by=g.user.username, name=form.name.data.strip(),
            phone=(form.phone.data or "").strip(), unit=form.unit.data.strip(),
            purpose=(form.purpose.data or "").strip(), uses=form.uses.data, **times)
    except VisitError as exc:
        for name, codes in exc.errors.items():
            fld = getattr(form, name, form.unit)
            fld.errors = list(fld.errors) + [problem_text(c) for c in codes]
        return render_template("invite_form.html", form=form), 400
    _record(actions.INVITE_CREATE, inv.invite_id,
            f"unit {inv.unit}; {inv.uses} use(s); {inv.valid_from}..{inv.valid_until}")
    flash(_("Invite created. Show or send the QR code to the visitor."), "success")
    return redirect(url_for("invites.show", invite_id=inv.invite_id), code=303)


def _invite(invite_id: str):  # type: ignore[no-untyped-def]
    inv = console().services.visitors.invites.get(invite_id)
    if inv is None:
        abort(404)
    return inv


@bp.get("/invites/<invite_id>")
@_desk
def show(invite_id: str) -> ResponseReturnValue:
    return _page(invite_id)


def _page(invite_id: str, link_url: str | None = None) -> ResponseReturnValue:
    """The invite's page; ``link_url``: a phone link just made (shown this once)."""
    inv = _invite(invite_id)
    st = console()
    state = inv.state(st.clock())
    return render_template("invite.html", inv=inv, state=state,
                           state_label=INVITE_STATE_LABELS[state],
                           svg=qr_svg(inv.qr_text) if state in ("valid", "not_yet_valid") else None,
                           link_url=link_url,
                           link=st.services.visitors.links.current(inv.invite_id))


@bp.post("/invites/<invite_id>/link")
@_desk
def make_link(invite_id: str) -> ResponseReturnValue:
    """A new phone link (the previous one stops working), shown once on the page returned."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    inv = _invite(invite_id)
    if inv.state(console().clock()) not in ("valid", "not_yet_valid"):
        flash(_("This invite can no longer be used: no phone link was made."), "error")
        return redirect(url_for("invites.show", invite_id=invite_id), code=303)
    token = console().services.visitors.links.issue(invite_id, by=g.user.username)
    _record(actions.INVITE_LINK, invite_id, "phone link made (earlier links replaced)")
    return _page(invite_id, link_url=url_for("invite_link.show", token=token, _external=True))


@bp.get("/invites/<invite_id>/qr.svg")
@_desk
def svg(invite_id: str) -> ResponseReturnValue:
    inv = _invite(invite_id)
    resp = Response(qr_svg(inv.qr_text, scale=10), mimetype="image/svg+xml")
    resp.headers["Content-Disposition"] = f'attachment; filename="invite-{inv.invite_id}.svg"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/invites/<invite_id>/revoke")
@_desk
def revoke(invite_id: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        version, published = console().services.visitors.revoke_invite(invite_id,
                                                                      by=g.user.username)
    except NotFound:
        abort(404)
    except AlreadyDone:
        flash(_("The invite was already revoked."), "warning")
        return redirect(url_for("invites.show", invite_id=invite_id), code=303)
    _record(actions.INVITE_REVOKE, invite_id, f"invite-revocations v{version}")
    flash(_("Invite revoked."), "success")
    if not published:
        flash(_("Saved. The door nodes get the change when the console is connected to the "
                "broker again."), "warning")
    return redirect(url_for("invites.show", invite_id=invite_id), code=303)
