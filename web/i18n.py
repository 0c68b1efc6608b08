"""Interface language: Simplified Chinese (``zh_CN``, the default: the desks and guards read
Chinese) and English.

The choice is remembered on the user record (once logged in) and in a cookie (for the log-in
page); :func:`select_locale` prefers the user's, then the cookie's, then the default.
"""

from __future__ import annotations

import functools

from flask import (Blueprint, Flask, Response, abort, g, make_response, redirect, request,
                   url_for)
from flask.typing import ResponseReturnValue

from . import audit
from .security import safe_next
from .state import console

__all__ = ["bp", "init_app", "select_locale", "select_timezone", "LANGUAGE_NAMES",
           "LANG_COOKIE", "html_lang", "language_code"]

#: How each language names itself (shown untranslated in the switcher).
LANGUAGE_NAMES: dict[str, str] = {"zh_CN": "中文", "en": "English"}
LANG_COOKIE = "lobbygate_lang"
_COOKIE_MAX_AGE_S = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The request's language: the user's choice, the cookie's, or the configured default."""
    cfg = console().config
    user = g.get("user")
    if user is not None and user.language in cfg.languages:
        return user.language
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in cfg.languages:
        return cookie
    return cfg.default_language


def language_code(locale: object) -> str:
    """The console's code (``zh_CN``) of a Babel locale (``zh_Hans_CN``) or code."""
    text = str(locale)
    if text in LANGUAGE_NAMES:
        return text
    for code in LANGUAGE_NAMES:
        if str(_parse(code)) == text:
            return code
    return text


@functools.lru_cache(maxsize=None)
def _parse(code: str) -> object:
    from babel import Locale

    return Locale.parse(code)


def select_timezone() -> str:
    return console().config.timezone


def html_lang(code: str) -> str:
    """``zh_CN`` -> ``zh-CN`` for the ``lang`` attribute."""
    return code.replace("_", "-")


def set_language_cookie(resp: Response, code: str) -> None:
    resp.set_cookie(LANG_COOKIE, code, max_age=_COOKIE_MAX_AGE_S, httponly=True, samesite="Lax",
                    secure=console().config.secure_cookies)


@bp.post("/lang/<code>")
def set_language(code: str) -> ResponseReturnValue:
    """Switch the interface language (POST with CSRF token); back to ``next``."""
    st = console()
    if code not in st.config.languages:
        abort(404)
    target = safe_next(request.form.get("next"), url_for("dashboard.index"))
    resp = make_response(redirect(target, code=303))
    set_language_cookie(resp, code)
    user = g.get("user")
    if user is not None and user.language != code:
        st.users.set_language(user.username, code)
        st.audit.record(audit.LANGUAGE, user=user.username, target=user.username, detail=code,
                        remote_addr=request.remote_addr)
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _languages() -> dict[str, object]:
        from flask_babel import get_locale

        locale = language_code(get_locale() or console().config.default_language)
        return {"languages": [(c, LANGUAGE_NAMES.get(c, c)) for c in console().config.languages],
                "current_language": locale, "html_lang": html_lang(locale)}
