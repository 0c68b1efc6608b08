"""Response headers every page gets, and the safe-redirect check.

Nothing loads from another origin: the Content-Security-Policy allows scripts, styles,
images and connections from the console itself only (no inline script)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

__all__ = ["init_app", "safe_next", "CSP"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site (``/events?node=gate``), else ``default``.
    Refuses absolute URLs, scheme-relative ``//host`` and backslash tricks (open redirects)."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _headers(resp: Response) -> Response:
    h = resp.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        h.setdefault("Cache-Control", "no-store")
    return resp


def init_app(app: Flask) -> None:
    app.after_request(_headers)
