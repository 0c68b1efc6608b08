"""Handlers wrapped with for_kinds are called (inside a savepoint) only for their kinds."""

from __future__ import annotations

import pytest

from web.handlers import for_kinds


def test_exact_kind_and_prefix_are_accepted() -> None:
    h = for_kinds(lambda ev: None, "patrol.tap", "meter.")
    assert h.accepts("patrol.tap") and h.accepts("meter.total")


def test_other_kinds_are_not_accepted() -> None:
    h = for_kinds(lambda ev: None, "patrol.tap", "meter.")
    assert not h.accepts("patrol.tapped") and not h.accepts("door.granted")


def test_iterables_of_kinds_are_flattened() -> None:
    h = for_kinds(lambda ev: None, ("key.taken", "key.returned"))
    assert h.accepts("key.returned")


def test_calling_the_wrapper_calls_the_handler() -> None:
    seen: list[str] = []
    for_kinds(seen.append, "x.")("event")
    assert seen == ["event"]


def test_no_kinds_is_refused() -> None:
    with pytest.raises(ValueError):
        for_kinds(lambda ev: None)
