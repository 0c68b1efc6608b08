"""Ingest event handlers that say which event kinds they want.

The ingest runs every feature handler inside its own savepoint for every stored event; a handler
wrapped with :func:`for_kinds` is skipped (no savepoint, no call) for events of other kinds, so
adding features does not slow the ingest down for everything else.

Usage::

    services.event_handlers.append(for_kinds(patrol.on_event, "patrol.tap"))
    services.event_handlers.append(for_kinds(meters.on_event, "meter."))   # a prefix
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

__all__ = ["KindHandler", "for_kinds"]


@dataclass(frozen=True)
class KindHandler:
    """``handler`` called only for events whose kind is in ``kinds`` or starts with one of
    ``prefixes`` (each ending with ``"."``)."""

    handler: Callable[..., None]
    kinds: frozenset[str]
    prefixes: tuple[str, ...]

    def accepts(self, kind: str) -> bool:
        return kind in self.kinds or kind.startswith(self.prefixes)

    def __call__(self, *args: Any) -> None:
        self.handler(*args)


def for_kinds(handler: Callable[..., None], *kinds: str | Iterable[str]) -> KindHandler:
    """Wrap ``handler`` so the ingest calls it only for the given kinds; a kind ending with
    ``"."`` is a prefix (``"meter."``).  Arguments may be kinds or iterables of kinds."""
    flat: list[str] = []
    for k in kinds:
        flat.extend([k] if isinstance(k, str) else list(k))
    if not flat:
        raise ValueError("for_kinds needs at least one kind or prefix")
    return KindHandler(handler=handler,
                       kinds=frozenset(k for k in flat if not k.endswith(".")),
                       prefixes=tuple(k for k in flat if k.endswith(".")))
