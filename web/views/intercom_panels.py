"""``/visitors/panels``: which building each intercom panel stands in (administrator), so a unit
number keyed at the panel (``1201``) is looked up in that building of the unit registry
(:class:`~web.visitors.panels.PanelBuildings`). Panels that have called but are not mapped yet
are offered for mapping. Every change is audited; it applies to calls made after it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..auth import PAGE_ROLES, roles_required
from ..errors import NotFound
from ..state import console
from ..visitors import actions
from ..visitors.messages import problem_text
from ..visitors.model import VisitError
from .forms import ConfirmForm

__all__ = ["bp", "PanelBuildingForm"]

bp = Blueprint("intercom_panels", __name__)
_admin = roles_required(*PAGE_ROLES["intercom_panels"])


class PanelBuildingForm(FlaskForm):
    """Map the panel ``panel`` (its ``[intercom] name``) of node ``node`` to a building."""

    node = StringField(_l("Node"), validators=[
        DataRequired(message=_l("Required.")), Length(max=64, message=_l("Too long."))])
    panel = StringField(_l("Panel"), validators=[
        DataRequired(message=_l("Required.")), Length(max=64, message=_l("Too long."))])
    building = SelectField(_l("Building"), choices=[], validate_choice=False)


def _page(form: PanelBuildingForm | None = None, status: int = 200) -> ResponseReturnValue:
    svc = console().services
    form = form or PanelBuildingForm(data={"node": request.args.get("node", ""),
                                           "panel": request.args.get("panel", "")})
    form.building.choices = [SelectChoice(b) for b in svc.units.buildings()]
    return render_template("intercom_panels.html", form=form, mappings=svc.visitors.panels.all(),
                           unmapped=svc.visitors.panels.unmapped_seen()), status


@bp.get("/visitors/panels")
@_admin
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/visitors/panels")
@_admin
def save() -> ResponseReturnValue:
    form = PanelBuildingForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    panels = console().services.visitors.panels
    before = panels.building_for(form.node.data.strip(), form.panel.data.strip())
    try:
        m = panels.set(form.node.data, form.panel.data, form.building.data or "",
                       by=g.user.username)
    except VisitError as exc:
        for name, codes in exc.errors.items():
            fld = getattr(form, name)
            fld.errors = list(fld.errors) + [problem_text(c) for c in codes]
        return _page(form, 400)
    console().audit.record(actions.PANEL_BUILDING, user=g.user.username,
                           target=f"{m.node}/{m.panel}",
                           detail=f"building {before or '-'} -> {m.building}",
                           remote_addr=request.remote_addr)
    flash(_("Saved: calls from panel %(panel)s look unit numbers up in building %(building)s.",
            panel=m.panel, building=m.building), "success")
    return redirect(url_for("intercom_panels.index"), code=303)


@bp.post("/visitors/panels/<node>/<panel>/delete")
@_admin
def remove(node: str, panel: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        m = console().services.visitors.panels.remove(node, panel)
    except NotFound:
        abort(404)
    console().audit.record(actions.PANEL_BUILDING_REMOVE, user=g.user.username,
                           target=f"{m.node}/{m.panel}", detail=f"building {m.building} -> -",
                           remote_addr=request.remote_addr)
    flash(_("Mapping removed."), "success")
    return redirect(url_for("intercom_panels.index"), code=303)
