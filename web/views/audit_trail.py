"""Writing what the logged-in user did to the audit log, from a page's request."""

from __future__ import annotations

from typing import Any

from flask import g, request

from ..state import console

__all__ = ["record_action"]


def record_action(action: str, target: Any, detail: Any = None) -> None:
    """Append ``action`` on ``target`` (with ``detail``, default none) to the audit log, by the
    logged-in user from the request's address."""
    console().audit.record(action, user=g.user.username, target=target, detail=detail,
                           remote_addr=request.remote_addr)
