"""Console users: name, role, password hash, language and open log-in sessions, kept in a
small TinyDB file with a crash-safe storage (:class:`~web.auth.storage.SafeJSONStorage`).

One writer at a time: a thread lock inside the process and an ``flock`` on ``<file>.lock``
across processes (the console and ``lobbygate user ...`` may run together). Every operation
opens the file afresh, so a change made by another process is seen at once.

Sessions: each log-in gets a random nonce; the store keeps its SHA-256 (never the nonce
itself) with its start time. A request is accepted only while its nonce is still listed, so
log-out (which removes it), a password change and disabling a user (which remove them all)
invalidate old session cookies even though Flask sessions live in the cookie.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from tinydb import Query, TinyDB
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import (InvalidRole, InvalidUsername, LastAdmin, UnknownUser, UserExists,
                      UserStoreError, WeakPassword)
from .storage import SafeJSONStorage

__all__ = ["ROLES", "MIN_PASSWORD_CHARS", "MAX_PASSWORD_CHARS", "User", "UserStore",
           "check_username", "check_password", "check_role"]

#: Roles, most powerful first: admin (everything), desk (前台), guard (门岗), patrol (巡更).
ROLES: tuple[str, ...] = ("admin", "desk", "guard", "patrol")
#: Password length bounds, characters.
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
_TABLE = "users"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def check_username(name: object) -> str:
    """Return ``name`` if it is a valid user name (2-32 of ``a-z 0-9 . _ -``, starting with a
    letter or digit) else raise :class:`~web.errors.InvalidUsername`."""
    if not isinstance(name, str) or not _USERNAME_RE.match(name):
        raise InvalidUsername(f"user name must be 2-32 characters a-z, 0-9, '.', '_' or '-' "
                              f"starting with a letter or digit, got {name!r}")
    return name


def check_password(password: object) -> str:
    """Return ``password`` if it is long enough (>= 10 characters) and not absurdly long
    (<= 256), else raise :class:`~web.errors.WeakPassword`."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"password must be at most {MAX_PASSWORD_CHARS} characters")
    return password


def check_role(role: object) -> str:
    """Return ``role`` if it is one of :data:`ROLES` else raise :class:`~web.errors.InvalidRole`."""
    if role not in ROLES:
        raise InvalidRole(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role  # type: ignore[return-value]


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class User:
    """One console user. Times are UTC ms; ``language`` is None until the user picks one."""

    username: str
    role: str
    disabled: bool = False
    language: str | None = None
    created_at: int = 0
    updated_at: int = 0
    password_hash: str = field(default="", repr=False)
    sessions: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def active(self) -> bool:
        return not self.disabled

    @classmethod
    def _from_doc(cls, doc: dict[str, Any]) -> "User":
        return cls(username=doc["username"], role=doc["role"], disabled=bool(doc.get("disabled")),
                   language=doc.get("language"), created_at=int(doc.get("created_at", 0)),
                   updated_at=int(doc.get("updated_at", 0)),
                   password_hash=doc.get("password_hash", ""),
                   sessions=dict(doc.get("sessions") or {}))


class UserStore:
    """Users in a TinyDB JSON file.

    ``path``: the file (created on the first write, mode 0o600); ``clock``: UTC ms (default the
    system clock); ``hash_method``: werkzeug's password hash method (default ``"scrypt"``);
    ``session_ttl_ms``: how long a log-in lasts (default 12 h); ``max_sessions``: open log-ins
    kept per user, the oldest is dropped beyond (default 20). The constructor does no I/O;
    :meth:`open` checks the file can be read."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], int] | None = None,
                 hash_method: str = "scrypt", session_ttl_ms: int = 12 * 3_600_000,
                 max_sessions: int = 20) -> None:
        self.path = Path(path)
        self._clock = clock or _now_ms
        self._hash_method = hash_method
        self._session_ttl_ms = session_ttl_ms
        self._max_sessions = max_sessions
        self._lock = threading.RLock()
        self._dummy_hash: str | None = None
        self._opened = False

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> "UserStore":
        """Check the users file is readable (a missing one is fine: no users yet)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        SafeJSONStorage(self.path).read()
        self._opened = True
        return self

    def close(self) -> None:
        """Idempotent; nothing stays open between operations."""
        self._opened = False

    def __enter__(self) -> "UserStore":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------
    def _db(self) -> TinyDB:
        return TinyDB(self.path, storage=SafeJSONStorage)

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        """The users table, with this process's lock and the cross-process file lock held."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise UserStoreError(f"cannot lock {lock_path}: {exc.strerror or exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield self._db().table(_TABLE, cache_size=0)
            finally:
                os.close(fd)  # releases the flock

    def _doc(self, table: Any, username: str) -> dict[str, Any] | None:
        return table.get(Query().username == username)

    def _update(self, username: str, change: Callable[[dict[str, Any]], None]) -> User:
        with self._writing() as table:
            doc = self._doc(table, username)
            if doc is None:
                raise UnknownUser(f"no user {username!r}")
            doc = dict(doc)
            change(doc)
            doc["updated_at"] = self._clock()
            table.update(doc, Query().username == username)
            return User._from_doc(doc)

    def _hash(self, password: str) -> str:
        return generate_password_hash(password, method=self._hash_method)

    # -- reading -----------------------------------------------------------------------------
    def get(self, username: str) -> User | None:
        """The user, or None."""
        if not isinstance(username, str):
            return None
        doc = self._db().table(_TABLE, cache_size=0).get(Query().username == username)
        return User._from_doc(doc) if doc else None

    def list(self) -> list[User]:
        """Every user, by name."""
        docs = self._db().table(_TABLE, cache_size=0).all()
        return sorted((User._from_doc(d) for d in docs), key=lambda u: u.username)

    def count(self) -> int:
        return len(self._db().table(_TABLE, cache_size=0))

    # -- changing ----------------------------------------------------------------------------
    def add(self, username: str, password: str, *, role: str,
            language: str | None = None) -> User:
        """Register a user; :class:`~web.errors.UserExists`, ``InvalidUsername``,
        ``WeakPassword`` or ``InvalidRole`` if refused."""
        check_username(username)
        check_password(password)
        check_role(role)
        password_hash = self._hash(password)
        now = self._clock()
        doc = {"username": username, "role": role, "disabled": False, "language": language,
               "created_at": now, "updated_at": now, "password_hash": password_hash,
               "sessions": {}}
        with self._writing() as table:
            if self._doc(table, username) is not None:
                raise UserExists(f"user {username!r} already exists")
            table.insert(doc)
        return User._from_doc(doc)

    def set_password(self, username: str, password: str) -> User:
        """Change the password and end every open log-in of that user."""
        check_password(password)
        password_hash = self._hash(password)

        def change(doc: dict[str, Any]) -> None:
            doc["password_hash"] = password_hash
            doc["sessions"] = {}
        return self._update(username, change)

    def set_role(self, username: str, role: str) -> User:
        """Change the role; :class:`~web.errors.LastAdmin` if that would leave no active admin."""
        check_role(role)

        def change(doc: dict[str, Any]) -> None:
            if doc["role"] == "admin" and role != "admin" and not doc.get("disabled"):
                self._refuse_last_admin(username)
            doc["role"] = role
        return self._update(username, change)

    def disable(self, username: str) -> User:
        """Disable a user (refused log-in, open sessions ended); ``LastAdmin`` if that would
        leave no active admin."""
        def change(doc: dict[str, Any]) -> None:
            if doc["role"] == "admin" and not doc.get("disabled"):
                self._refuse_last_admin(username)
            doc["disabled"] = True
            doc["sessions"] = {}
        return self._update(username, change)

    def enable(self, username: str) -> User:
        """Allow a disabled user to log in again."""
        def change(doc: dict[str, Any]) -> None:
            doc["disabled"] = False
        return self._update(username, change)

    def set_language(self, username: str, language: str | None) -> User:
        """Remember the user's interface language."""
        def change(doc: dict[str, Any]) -> None:
            doc["language"] = language
        return self._update(username, change)

    def _refuse_last_admin(self, username: str) -> None:
        """Raise LastAdmin unless another active admin than ``username`` exists (called
        with the write lock held)."""
        others = [u for u in self.list() if u.role == "admin" and u.active and u.username != username]
        if not others:
            raise LastAdmin("the console needs at least one active administrator")

    # -- authentication and sessions ---------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account active, else None. An unknown
        user costs the same hash check as a known one (no timing hint)."""
        user = self.get(username) if isinstance(username, str) else None
        if user is None or not isinstance(password, str):
            if self._dummy_hash is None:
                self._dummy_hash = self._hash(secrets.token_hex(16))
            check_password_hash(self._dummy_hash, password if isinstance(password, str) else "")
            return None
        if not check_password_hash(user.password_hash, password):
            return None
        return user if user.active else None

    def start_session(self, username: str) -> str:
        """Open a log-in session; returns its nonce (kept in the signed session cookie)."""
        nonce = secrets.token_urlsafe(32)

        def change(doc: dict[str, Any]) -> None:
            now = self._clock()
            sessions = {k: v for k, v in (doc.get("sessions") or {}).items()
                        if now - v < self._session_ttl_ms}
            sessions[_digest(nonce)] = now
            if len(sessions) > self._max_sessions:
                keep = sorted(sessions.items(), key=lambda kv: kv[1])[-self._max_sessions:]
                sessions = dict(keep)
            doc["sessions"] = sessions
        self._update(username, change)
        return nonce

    def end_session(self, username: str, nonce: str) -> None:
        """Close one log-in session (log-out); unknown users or nonces are ignored."""
        def change(doc: dict[str, Any]) -> None:
            (doc.get("sessions") or {}).pop(_digest(nonce), None)
        try:
            self._update(username, change)
        except UnknownUser:
            pass

    def end_all_sessions(self, username: str) -> User:
        """Close every log-in session of the user."""
        def change(doc: dict[str, Any]) -> None:
            doc["sessions"] = {}
        return self._update(username, change)

    def check_session(self, username: object, nonce: object) -> User | None:
        """The user if ``nonce`` is one of their open, unexpired sessions and the account is
        active, else None."""
        if not isinstance(username, str) or not isinstance(nonce, str):
            return None
        user = self.get(username)
        if user is None or not user.active:
            return None
        started = user.sessions.get(_digest(nonce))
        if started is None or self._clock() - started >= self._session_ttl_ms:
            return None
        return user
