"""Error pages (HTML, translated) and JSON errors for the API and live streams."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

__all__ = ["init_app"]

log = logging.getLogger(__name__)


def _messages() -> dict[int, str]:
    return {
        400: _("The request was not valid."),
        403: _("You do not have permission to open this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        413: _("The request is too large."),
        429: _("Too many requests. Wait a moment and try again."),
        500: _("Something went wrong in the console. The error has been logged."),
    }


def _render(status: int, message: str) -> ResponseReturnValue:
    if request.path.startswith("/api/") or request.path.startswith("/live/"):
        resp = jsonify(error=message)
        resp.status_code = status
        return resp
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        log.warning("refused a form without a valid CSRF token: %s %s (%s)", request.method,
                    request.path, exc.description)
        return _render(400, _("The form has expired or lacks its security token. Reload the "
                              "page and try again."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        message = _messages().get(status) or exc.name
        if status == 400 and exc.description and exc.description != type(exc).description:
            message = exc.description
        return _render(status, message)

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, _messages()[500])
