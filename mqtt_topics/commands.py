"""Signed commands: the envelope on ``…/cmd/{action}``, HMAC-SHA256 signing and the
node-side verifier that refuses unsigned, forged, expired, early and replayed commands."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from .errors import CommandRejected, ContractError
from .payloads import _Fields, _load, dumps
from .topics import check_name, check_node_id

#: Longest lifetime a command may claim (``expires_at - issued_at``), ms.  Default 5 min.
MAX_LIFETIME_MS = 5 * 60 * 1000
#: Clock difference tolerated between console and node, ms.  Default 30 s.
CLOCK_SKEW_MS = 30 * 1000
_SIG_LEN = 64  # hex characters of an HMAC-SHA256


@dataclass(frozen=True, slots=True)
class CommandEnvelope:
    """A command to one node.

    ``issued_at`` / ``expires_at``: UTC ms; ``issued_by``: the console user who caused it;
    ``args``: the action's own object; ``sig``: hex HMAC-SHA256 of the canonical JSON of
    every other field with the node's command key (empty until :meth:`signed`)."""

    cmd_id: str
    node: str
    action: str
    issued_by: str
    issued_at: int
    expires_at: int
    args: Mapping[str, Any] = field(default_factory=dict)
    sig: str = ""

    def __post_init__(self) -> None:
        check_node_id(self.node)
        check_name(self.action, "command action")
        if not isinstance(self.cmd_id, str) or not 8 <= len(self.cmd_id) <= 64 or not self.cmd_id.isalnum():
            raise ContractError("cmd: 'cmd_id' must be 8-64 letters or digits")
        if self.expires_at <= self.issued_at:
            raise ContractError("cmd: 'expires_at' must be after 'issued_at'")
        if not isinstance(self.args, Mapping):
            raise ContractError("cmd: 'args' must be a JSON object")

    @classmethod
    def create(cls, *, node: str, action: str, issued_by: str, now_ms: int,
               ttl_ms: int = 60_000, args: Mapping[str, Any] | None = None) -> "CommandEnvelope":
        """A new unsigned command with a random ``cmd_id`` valid for ``ttl_ms`` (default 60 s)."""
        return cls(cmd_id=secrets.token_hex(12), node=node, action=action, issued_by=issued_by,
                   issued_at=now_ms, expires_at=now_ms + ttl_ms, args=dict(args or {}))

    def signing_bytes(self) -> bytes:
        """The exact bytes the signature covers."""
        d = self._dict()
        d.pop("sig")
        return dumps(d)

    def signed(self, key: bytes) -> "CommandEnvelope":
        """A copy signed with the node's command key."""
        return replace(self, sig=hmac.new(key, self.signing_bytes(), hashlib.sha256).hexdigest())

    def signature_valid(self, key: bytes) -> bool:
        """True if ``sig`` is this envelope's HMAC under ``key`` (constant-time compare)."""
        want = hmac.new(key, self.signing_bytes(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, self.sig)

    def _dict(self) -> dict[str, Any]:
        return {"cmd_id": self.cmd_id, "node": self.node, "action": self.action,
                "issued_by": self.issued_by, "issued_at": self.issued_at,
                "expires_at": self.expires_at, "args": dict(self.args), "sig": self.sig}

    def to_json(self) -> bytes:
        return dumps(self._dict())

    @classmethod
    def from_json(cls, raw: bytes | str) -> "CommandEnvelope":
        f = _Fields(_load(raw, "cmd"), "cmd",
                    {"cmd_id", "node", "action", "issued_by", "issued_at", "expires_at", "args", "sig"})
        sig = f.str("sig", optional=True, max_len=_SIG_LEN) or ""
        return cls(cmd_id=f.str("cmd_id", max_len=64), node=f.str("node", max_len=32),
                   action=f.str("action", max_len=140), issued_by=f.str("issued_by", max_len=64),
                   issued_at=f.ts("issued_at"), expires_at=f.ts("expires_at"),
                   args=f.obj_("args", optional=True), sig=sig)


class CommandVerifier:
    """Node-side check of incoming commands.

    ``key``: the node's HMAC key; ``node``: the node id commands must name; ``clock``: a
    callable returning UTC ms (injected for tests); ``max_lifetime_ms`` (default 5 min) and
    ``skew_ms`` (default 30 s) bound what is accepted.  Remembers accepted ``cmd_id`` s until
    they expire, so a replay inside the lifetime is refused too.  Thread-safe."""

    def __init__(self, *, key: bytes, node: str, clock: Callable[[], int],
                 max_lifetime_ms: int = MAX_LIFETIME_MS, skew_ms: int = CLOCK_SKEW_MS) -> None:
        if len(key) < 16:
            raise ContractError("command key must be at least 16 bytes")
        self._key, self._node, self._clock = key, node, clock
        self._max_lifetime, self._skew = max_lifetime_ms, skew_ms
        self._seen: OrderedDict[str, int] = OrderedDict()  # cmd_id -> expires_at
        self._lock = threading.Lock()

    def verify(self, cmd: CommandEnvelope, *, action: str | None = None) -> None:
        """Return if ``cmd`` may run; raise :class:`CommandRejected` with the reason otherwise.
        ``action`` is the action named by the topic, which must match the envelope."""
        if not cmd.sig:
            raise CommandRejected("unsigned", "command carries no signature")
        if not cmd.signature_valid(self._key):
            raise CommandRejected("bad_signature", "signature does not match the node key")
        if cmd.node != self._node:
            raise CommandRejected("wrong_node", f"command is for {cmd.node!r}, not {self._node!r}")
        if action is not None and action != cmd.action:
            raise CommandRejected("bad_payload", f"topic action {action!r} != envelope action {cmd.action!r}")
        now = self._clock()
        if cmd.expires_at - cmd.issued_at > self._max_lifetime:
            raise CommandRejected("bad_lifetime", "command claims a lifetime longer than allowed")
        if cmd.issued_at > now + self._skew:
            raise CommandRejected("not_yet_valid", "command issued in the future (clock skew?)")
        if now > cmd.expires_at + self._skew:
            raise CommandRejected("expired", f"command expired {now - cmd.expires_at} ms ago")
        with self._lock:
            self._forget(now)
            if cmd.cmd_id in self._seen:
                raise CommandRejected("replayed", f"command {cmd.cmd_id} was already accepted")
            self._seen[cmd.cmd_id] = cmd.expires_at

    def _forget(self, now: int) -> None:
        horizon = now - self._skew
        for cid in [c for c, exp in self._seen.items() if exp < horizon]:
            del self._seen[cid]
