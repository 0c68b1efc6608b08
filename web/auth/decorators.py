"""View decorators: :func:`login_required` and :func:`roles_required`.

Every page already needs a log-in (a ``before_request`` check in :mod:`web.auth.session`);
the decorators state it at the view and add the role check: a user whose role is not allowed
gets 403."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from flask import abort, g

from .users import ROLES

__all__ = ["login_required", "roles_required"]

F = TypeVar("F", bound=Callable[..., Any])


def login_required(view: F) -> F:
    """Anonymous requests are sent to the log-in page (401 for the API and live streams)."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            from .session import unauthenticated
            return unauthenticated()
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Like :func:`login_required`, and only users with one of ``roles`` get in (403 otherwise)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles_required needs roles among {ROLES}, got {roles}")
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                from .session import unauthenticated
                return unauthenticated()
            if user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)
        wrapped.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]
    return decorate
