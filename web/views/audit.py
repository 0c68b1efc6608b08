"""``/audit``: the audit log, newest first, filtered by user and action (administrators)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, roles_required
from ..state import console

__all__ = ["bp", "PAGE_SIZE"]

PAGE_SIZE = 50
bp = Blueprint("audit", __name__)


@bp.get("/audit")
@roles_required(*PAGE_ROLES["audit"])
def index() -> ResponseReturnValue:
    log = console().audit
    user = (request.args.get("user") or "").strip()[:64] or None
    action = (request.args.get("action") or "").strip()[:64] or None
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    entries = log.search(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, user=user, action=action)
    total = log.count(user=user, action=action)
    return render_template("audit.html", entries=entries, page=page, total=total,
                           pages=max(1, -(-total // PAGE_SIZE)), user=user or "",
                           action=action or "", actions=log.actions())
