"""Builders for the key-cabinet console tests: register entries and cabinet events stored
through the real stores and handed to the feature's handlers, as the ingest does."""

from __future__ import annotations

from typing import Any

from mqtt_topics import EventEnvelope, is_alarm
from web.access import CredentialRecord
from web.keys.model import KeyRecord

from console_helpers import T0

ALICE_CARD = "em:0A00000001"


def add_key(services: Any, number: str = "K-001", *, slot: int = 1, cabinet: str = "main",
            takers: tuple[str, ...] = ("cred:c-alice",), **kw: Any) -> KeyRecord:
    rec = KeyRecord(number=number, label=kw.pop("label", f"{number} label"), cabinet=cabinet,
                    slot=slot, takers=takers, kind=kw.pop("kind", "common-area"), **kw)
    services.keys.register.save(rec, by="admin1", create=True)
    return rec


def add_alice(services: Any, **kw: Any) -> None:
    services.credentials.save(CredentialRecord(credential_id="c-alice", cards=(ALICE_CARD,),
                                               holder="王芳", kind=kw.pop("kind", "staff"), **kw),
                              by="admin1", create=True)


class Feed:
    """Stores cabinet events (node ``cab``) and runs the feature's handlers in one transaction
    per event, the way the ingest does."""

    _boots = 0

    def __init__(self, services: Any, node: str = "cab") -> None:
        self.services, self.node, self.seq = services, node, 0
        Feed._boots += 1
        self.boot = f"b{Feed._boots}"             # each feed is its own boot: seqs start at 1

    def __call__(self, kind: str, ts: int = T0, **data: Any):  # type: ignore[no-untyped-def]
        self.seq += 1
        data.setdefault("cabinet", "main")
        env = EventEnvelope(event_id=f"{self.node}:{self.boot}:{self.seq}", node=self.node, kind=kind,
                            ts=ts, seq=self.seq, data=data)
        s = self.services
        with s.db.transaction():
            ev = s.events.add(env, received_at=ts)
            if is_alarm(kind):
                s.alarms.raise_for_event(ev)
            for handler in (s.keys.loans.on_event, s.keys.board.on_event):
                handler(ev)
        return ev
