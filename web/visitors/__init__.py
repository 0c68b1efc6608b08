"""Intercom desk and visitor management (issue 6, console side): calls, visits, invites,
watchlist, settings. See :mod:`web.visitors.desk` for how they work together."""

from .calls import Call, CallStore, resolve_unit
from .desk import Registration, UnlockRefused, VisitorDesk
from .invites import Invite, InviteStore
from .model import ID_TYPES, VisitError, VisitInput, parse_visit
from .settings import SettingsStore, VisitorSettings
from .visits import Visit, VisitNotFound, VisitStore
from .watchlist import WATCH_KINDS, WatchEntry, Watchlist

__all__ = ["Call", "CallStore", "resolve_unit", "Registration", "UnlockRefused", "VisitorDesk",
           "Invite", "InviteStore", "ID_TYPES", "VisitError", "VisitInput", "parse_visit",
           "SettingsStore", "VisitorSettings", "Visit", "VisitNotFound", "VisitStore",
           "WATCH_KINDS", "WatchEntry", "Watchlist"]
