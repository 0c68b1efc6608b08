"""Signed commands: verify, dispatch to the handler registered for the action, answer.

Every command gets a :class:`~mqtt_topics.CommandResult` on ``cmd_result`` (QoS 1, not
journalled). A command refused before its handler runs (``unsigned``, ``bad_signature``,
``expired``, ``replayed``, ``not_yet_valid``, ``wrong_node``, ``bad_lifetime``,
``unknown_action``, and unparseable ``bad_payload`` ones the bridge recovered a ``cmd_id`` from)
is answered with the reason *and* journalled as a ``command.refused`` alarm
``{cmd_id, action, reason}``. A handler that raises :class:`~edge.errors.CommandArgumentError`
gets ``bad_payload: ...``; any other exception gets ``failed: ...``; both are counted and logged
and the node goes on.

Handlers are registered per action by extensions: ``register(action, handler)`` where
``handler(envelope) -> dict | None``; the dict is logged (the v1 ``cmd_result`` has no field for
it). ``node.ping`` is built in.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Mapping

from mqtt_topics import CommandEnvelope, CommandRejected, CommandResult, CommandVerifier
from mqtt_topics.topics import check_name

from .counters import Counters
from .errors import CommandArgumentError, EdgeError
from .journal import utc_ms

__all__ = ["CommandDispatcher", "CommandHandler", "REFUSED_KIND"]

log = logging.getLogger(__name__)

#: The alarm journalled for every refused command.
REFUSED_KIND = "command.refused"
_MAX_ERROR = 500

CommandHandler = Callable[[CommandEnvelope], "Mapping[str, Any] | None"]


class CommandDispatcher:
    """Verify and run commands for one node.

    :param verifier: a :class:`mqtt_topics.CommandVerifier` holding the node key and clock.
    :param publish_result: sends a :class:`CommandResult` (the bridge's ``publish_result``).
    :param emit: journals an event: ``emit(kind, data)`` (the node's, which also wakes the pump).
    :param clock: UTC ms for result timestamps.
    """

    def __init__(self, *, verifier: CommandVerifier,
                 publish_result: Callable[[CommandResult], object],
                 emit: Callable[[str, Mapping[str, Any]], object],
                 clock: Callable[[], int] = utc_ms) -> None:
        self._verifier = verifier
        self._publish_result = publish_result
        self._emit = emit
        self._clock = clock
        self._lock = threading.Lock()
        self._handlers: dict[str, CommandHandler] = {}
        self.counters = Counters(["received", "ok", "refused", "failed", "bad_args"])
        self.register("node.ping", lambda env: {"pong": True})

    def register(self, action: str, handler: CommandHandler) -> None:
        """Run ``handler`` for commands named ``action`` (dotted words, e.g. ``relay.pulse``).
        Raises :class:`EdgeError` if the action already has a handler."""
        check_name(action, "command action")
        with self._lock:
            if action in self._handlers:
                raise EdgeError(f"command action {action!r} already has a handler")
            self._handlers[action] = handler

    def unregister(self, action: str) -> None:
        with self._lock:
            self._handlers.pop(action, None)

    @property
    def actions(self) -> list[str]:
        with self._lock:
            return sorted(self._handlers)

    # -- entry points (called from the bridge's network thread) --------------------------------

    def handle(self, action: str, envelope: CommandEnvelope) -> CommandResult:
        """Verify ``envelope`` (received on the ``cmd/{action}`` topic), run its handler and
        answer. Never raises."""
        self.counters.incr("received")
        try:
            self._verifier.verify(envelope, action=action)
        except CommandRejected as exc:
            return self.refuse(envelope.cmd_id, envelope.action, str(exc), issued_by=envelope.issued_by)
        with self._lock:
            handler = self._handlers.get(envelope.action)
        if handler is None:
            return self.refuse(envelope.cmd_id, envelope.action,
                               f"unknown_action: this node has no handler for {envelope.action!r}",
                               issued_by=envelope.issued_by)
        try:
            outcome = handler(envelope)
        except CommandArgumentError as exc:
            self.counters.incr("bad_args")
            log.warning("command %s (%s) has bad arguments: %s", envelope.cmd_id, envelope.action, exc)
            return self._answer(envelope.cmd_id, False, f"bad_payload: {exc}")
        except Exception as exc:  # noqa: BLE001 - a handler never takes the node down
            self.counters.incr("failed")
            log.exception("command %s (%s) failed", envelope.cmd_id, envelope.action)
            return self._answer(envelope.cmd_id, False, f"failed: {type(exc).__name__}: {exc}")
        self.counters.incr("ok")
        log.info("command %s (%s) by %s ran: %s", envelope.cmd_id, envelope.action,
                 envelope.issued_by, dict(outcome) if outcome else "ok")
        return self._answer(envelope.cmd_id, True, None)

    def refuse(self, cmd_id: str, action: str | None, error: str, *,
               issued_by: str | None = None) -> CommandResult:
        """Answer ``cmd_id`` with ``error`` (``"<reason>: <detail>"``) and journal a
        ``command.refused`` alarm. Never raises."""
        self.counters.incr("refused")
        reason = error.split(":", 1)[0]
        log.warning("command %s (%s) refused: %s", cmd_id, action, error)
        data: dict[str, Any] = {"cmd_id": cmd_id, "action": (action or "")[:64], "reason": reason,
                                "error": error[:_MAX_ERROR]}
        if issued_by is not None:
            data["issued_by"] = issued_by[:64]
        try:
            self._emit(REFUSED_KIND, data)
        except Exception:  # noqa: BLE001 - still answer even if the journal failed
            log.exception("command %s: could not journal %s", cmd_id, REFUSED_KIND)
        return self._answer(cmd_id, False, error)

    def _answer(self, cmd_id: str, ok: bool, error: str | None) -> CommandResult:
        result = CommandResult(cmd_id=cmd_id, ok=ok, error=error[:_MAX_ERROR] if error else None,
                               ts=self._clock())
        try:
            self._publish_result(result)
        except Exception:  # noqa: BLE001
            log.exception("command %s: could not publish the result", cmd_id)
        return result
