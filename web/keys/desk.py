"""A desk-assisted loan (前台代借): a borrower without a card (a contractor) gives their name
and ID; the desk records the name and the ID's last four characters (nothing more of the ID is
kept), then releases the key's slot remotely with the signed ``cabinet.release`` command, which
names the operator. The loan is recorded at once (state ``released``) and becomes ``out`` when
the cabinet reports the key taken with that command's id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConsoleError, NotFound
from .model import KeyLoan, id_last4

if TYPE_CHECKING:  # pragma: no cover
    from ..commands import CommandSender
    from . import KeyCabinet

__all__ = ["RELEASE_ACTION", "KeyReleaseRefused", "release_for_borrower", "MAX_BORROWER_CHARS"]

#: The node's command (``edge/extensions/cabinet.py``).
RELEASE_ACTION = "cabinet.release"
MAX_BORROWER_CHARS = 64
MAX_PURPOSE_CHARS = 200


class KeyReleaseRefused(ConsoleError):
    """The desk release was not sent; ``code`` says why: ``unknown_key``, ``two_person``,
    ``authorisation_ended``, ``on_loan``, ``no_cabinet_node``, ``no_command_key``,
    ``bad_borrower``, ``bad_id``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def release_for_borrower(keys: "KeyCabinet", commands: "CommandSender", *, key: str,
                         borrower: str, id_text: str, purpose: str, operator: str,
                         now_ms: int) -> KeyLoan:
    """Check, record and send a desk-assisted release of ``key`` for ``borrower`` (ID
    ``id_text``: only its last four characters are stored); returns the loan (state
    ``released``, or ``cancelled`` if the console could not hand the command to the broker).
    Raises :class:`KeyReleaseRefused`."""
    borrower = " ".join(str(borrower or "").split())
    if not borrower or len(borrower) > MAX_BORROWER_CHARS:
        raise KeyReleaseRefused("bad_borrower", f"the borrower's name is required (at most "
                                f"{MAX_BORROWER_CHARS} characters)")
    last4 = id_last4(id_text)
    if last4 is None:
        raise KeyReleaseRefused("bad_id", "type at least the last four characters of the ID")
    rec = keys.register.get(key)
    if rec is None:
        raise KeyReleaseRefused("unknown_key", f"no key {key}")
    if rec.two_person:
        raise KeyReleaseRefused("two_person", f"key {key} is a two-person key: two cards at "
                                "the cabinet")
    if not rec.active(now_ms):
        raise KeyReleaseRefused("authorisation_ended", f"the owner's authorisation for key {key} "
                                "has ended")
    if keys.loans.open_loan(key) is not None:
        raise KeyReleaseRefused("on_loan", f"key {key} is out or already released")
    node = keys.board.node_of(rec.cabinet)
    if node is None:
        raise KeyReleaseRefused("no_cabinet_node", f"cabinet {rec.cabinet} has not reported yet")
    try:
        env = commands.send(node, RELEASE_ACTION, {"cabinet": rec.cabinet, "key": key,
                                                   "holder": borrower}, issued_by=operator)
    except NotFound as exc:
        raise KeyReleaseRefused("no_command_key", str(exc)) from exc
    loan = keys.loans.desk_release(key=key, cabinet=rec.cabinet, slot=rec.slot, node=node,
                                   borrower=borrower, id_last4=last4,
                                   purpose=str(purpose or "").strip()[:MAX_PURPOSE_CHARS],
                                   operator=operator, cmd_id=env.cmd_id)
    if commands.status(env.cmd_id).state == "failed":
        keys.loans.cancel(loan.id)
        loan = keys.loans.get(loan.id)
    return loan
