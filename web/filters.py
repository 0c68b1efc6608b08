"""Jinja filters and globals: times in the site's time zone, short data summaries, labels,
and ``can(page)`` for the navigation."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import datetime, timezone
from typing import Any

from flask import Flask, g

from . import labels
from .auth.access import can
from .state import console

__all__ = ["init_app", "format_ms", "data_summary"]

_TZ_CACHE: dict[str, zoneinfo.ZoneInfo] = {}


def _tz() -> zoneinfo.ZoneInfo:
    name = console().config.timezone
    tz = _TZ_CACHE.get(name)
    if tz is None:
        tz = _TZ_CACHE[name] = zoneinfo.ZoneInfo(name)
    return tz


def format_ms(ms: int | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """UTC ms as local time of the site (``2024-05-01 08:30:00``); "" for None."""
    if ms is None:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(_tz()).strftime(fmt)
    except (OverflowError, OSError, ValueError):
        return str(ms)


#: Data keys whose integer values are instants (UTC ms): shown as the site's local time.
_TIME_KEYS = re.compile(r"(^|_)(at|ts|expires|since|until|from|due)$")
#: Plausible UTC ms (2001-09-09 .. 5138-11-16): a count or an id is never shown as a date.
_MS_RANGE = (1_000_000_000_000, 100_000_000_000_000)


def _instant(key: str, value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)
            and _MS_RANGE[0] <= value < _MS_RANGE[1] and bool(_TIME_KEYS.search(key)))


def data_summary(data: Any, limit: int = 160) -> str:
    """An event's data as ``key=value`` pairs on one line, cut at ``limit`` characters; an
    instant (a key such as ``expires``, ``cancelled_at``, ``valid_until`` holding UTC ms) is
    shown as the site's local time (``2026-11-26 09:30:00``)."""
    if not isinstance(data, dict):
        text = json.dumps(data, ensure_ascii=False)
    else:
        parts = []
        for key, value in data.items():
            if _instant(str(key), value):
                value = format_ms(value)
            elif not isinstance(value, str):
                value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            parts.append(f"{key}={value}")
        text = " ".join(parts)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def data_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)


_ERRORISH = re.compile(r"error|fail|refused|reject|dropped|bad|invalid|stale|disconnect|timeout|overflow")


def error_counters(counters: Any) -> list[tuple[str, Any]]:
    """The non-zero counters of a node's health figures whose name says something went wrong
    (``reader_errors``, ``mqtt_disconnects``, ``commands_refused``...), by name."""
    if not isinstance(counters, dict):
        return []
    return sorted((k, v) for k, v in counters.items()
                  if _ERRORISH.search(str(k)) and isinstance(v, (int, float))
                  and not isinstance(v, bool) and v)


def seconds(value: float | None) -> str:
    """A duration in seconds, compact: ``45 s``, ``12 min``, ``3.5 h``."""
    if value is None:
        return ""
    v = float(value)
    if v < 120:
        return f"{v:.0f} s"
    if v < 7200:
        return f"{v / 60:.0f} min"
    return f"{v / 3600:.1f} h"


def init_app(app: Flask) -> None:
    app.add_template_filter(format_ms, "dt")
    app.add_template_filter(data_summary, "summary")
    app.add_template_filter(data_json, "pretty_json")
    app.add_template_filter(seconds, "seconds")
    app.add_template_filter(error_counters, "error_counters")
    app.add_template_filter(lambda v: labels.label(labels.ROLE_LABELS, v), "role_label")
    app.add_template_filter(lambda v: labels.label(labels.KIND_LABELS, v), "kind_label")
    app.add_template_filter(lambda v: labels.label(labels.CLASS_LABELS, v), "class_label")
    app.add_template_filter(lambda v: labels.label(labels.NODE_STATE_LABELS, v), "state_label")
    app.add_template_filter(lambda v: labels.label(labels.ACTION_LABELS, v), "action_label")
    app.add_template_filter(lambda v: labels.label(labels.DOOR_STATE_LABELS, v), "door_state_label")
    app.add_template_filter(lambda v: labels.label(labels.REASON_LABELS, v), "reason_label")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        user = g.get("user")
        return {"can": lambda page: can(user.role if user else None, page),
                "site": console().config.site}
