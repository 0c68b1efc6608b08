"""web: the lobbygate console, a Flask application.

:func:`create_app` builds it from a validated :class:`~web.config.ConsoleConfig`: blueprints
per feature (``web.auth``, ``web.i18n``, ``web.views.*``), extensions initialised in one place
(:mod:`web.extensions`), the data services (:mod:`web.services`) built and started unless the
caller hands in its own. :func:`close_app` ends live streams and stops what it started.

Usage::

    from web import create_app, close_app
    from web.config import load_config

    app = create_app(load_config("console.toml"))
    ...                                   # serve it (``lobbygate console`` uses waitress)
    close_app(app)
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .config import ConsoleConfig
    from .services import ConsoleServices

__all__ = ["create_app", "close_app"]

#: Seconds between heartbeat comments on a live stream (default 15).
LIVE_HEARTBEAT_S = 15.0
#: Largest request body accepted, bytes (forms are small).
MAX_CONTENT_LENGTH = 1024 * 1024


def _system_clock() -> int:
    return time.time_ns() // 1_000_000


def create_app(config: "ConsoleConfig", *, services: "ConsoleServices | None" = None,
               clock: Callable[[], int] | None = None,
               settings: Mapping[str, Any] | None = None, run_jobs: bool = False) -> "Flask":
    """The console application.

    ``config``: validated console settings; it must carry a secret key
    (:class:`~web.errors.ConsoleConfigError` otherwise). ``services``: the data layer to use
    (the caller starts and stops it); when None they are built from ``config`` with
    :func:`web.services.build_services`, started now and stopped by :func:`close_app`.
    ``clock``: UTC ms (default the system clock), used for log-in limits, the audit log,
    acknowledgements and sessions. ``settings``: extra Flask config values (e.g.
    ``LIVE_HEARTBEAT_S``), applied last. ``run_jobs``: run the periodic jobs (:mod:`web.jobs`)
    in a thread when the services are built here (the console process; tests drive
    ``services.jobs.run_due`` themselves)."""
    from .errors import ConsoleConfigError

    if not config.secret_key:
        raise ConsoleConfigError(["console.secret_key: required (or console.secret_key_file); "
                                  "the console never runs without a secret key"])

    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import audit as audit_mod
    from .auth.ratelimit import LoginRateLimiter
    from .auth.users import UserStore
    from .state import EXTENSION_KEY, ConsoleState

    clock = clock or _system_clock
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="lobbygate_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_hours),
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,          # valid as long as the log-in (a dashboard stays open)
        BABEL_DEFAULT_LOCALE=config.default_language,
        BABEL_DEFAULT_TIMEZONE=config.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        LIVE_HEARTBEAT_S=LIVE_HEARTBEAT_S,
        JSON_SORT_KEYS=False,
    )
    if settings:
        app.config.update(settings)
    if config.trusted_proxies:
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    owns = services is None
    if services is None:
        from .services import build_services

        from dataclasses import replace

        services = build_services(replace(config.services_config(), run_jobs=run_jobs),
                                  clock=clock)
        services.start()
    try:
        users = UserStore(config.users_db_path, clock=clock,
                          session_ttl_ms=int(config.session_hours * 3_600_000)).open()
        audit = audit_mod.AuditLog(services.db, clock=clock).open()
        limiter = LoginRateLimiter(max_failures=config.login_failures_per_minute,
                                   window_ms=60_000, clock=clock)
        app.extensions[EXTENSION_KEY] = ConsoleState(
            config=config, services=services, users=users, audit=audit, limiter=limiter,
            clock=clock, owns_services=owns)

        from .extensions import init_extensions

        init_extensions(app)
        _register_blueprints(app)
    except BaseException:
        if owns:
            services.stop()
        raise
    return app


def _register_blueprints(app: "Flask") -> None:
    from . import i18n, security
    from .auth import bp as auth_bp
    from .auth.session import init_session
    from .views import (access_log, alarms, api, audit, credentials, dashboard, doors, errors,
                        events, nodes, stream, users)

    init_session(app)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    from . import nav                  # the grouped main menu (base.html)
    nav.init_app(app)
    app.register_blueprint(auth_bp)
    from .views import keys, keys_cabinets, keys_loans        # key cabinet (issue 8)
    for module in (keys, keys_cabinets, keys_loans):
        app.register_blueprint(module.bp)
    for module in (dashboard, stream, nodes, events, alarms, users, audit, api, credentials,
                   doors, access_log):
        app.register_blueprint(module.bp)
    from .views import credential_enrol, schedules     # door access: enrolment, schedules
    for module in (credential_enrol, schedules):
        app.register_blueprint(module.bp)
    from .views import desk, invites, on_site, units, visitors   # intercom desk and visitors
    for module in (desk, visitors, on_site, invites, units):
        app.register_blueprint(module.bp)
    from .views import intercom_panels, invite_link   # /v/<token>: the one public page
    app.register_blueprint(intercom_panels.bp)
    app.register_blueprint(invite_link.bp)
    from .views import passes, passes_archive, passes_guard, passes_issue   # goods passes
    for module in (passes_issue, passes_guard, passes_archive, passes):
        app.register_blueprint(module.bp)
    from .views import patrol as patrol_views                     # patrol rounds (issue 9)
    app.register_blueprint(patrol_views.bp)
    from .views import meters as meters_views                     # meter reading (issue 10)
    app.register_blueprint(meters_views.bp)


def close_app(app: "Flask") -> None:
    """End live streams and stop the services :func:`create_app` started. Idempotent."""
    from .state import EXTENSION_KEY

    state = app.extensions.get(EXTENSION_KEY)
    if state is not None:
        state.close()
