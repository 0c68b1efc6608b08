"""KeypadEntry: keys -> unit numbers (pure; times passed in)."""

from __future__ import annotations

import pytest

from edge.extensions.intercom import KeypadEntry
from hardware.readers.wiegand import KEY_HASH, KEY_STAR


def feed(entry: KeypadEntry, keys: str, at: float = 0.0) -> list[str | None]:
    codes = {"*": KEY_STAR, "#": KEY_HASH}
    return [entry.feed(codes.get(k, None) if k in codes else int(k), at) for k in keys]


def test_digits_then_hash_give_the_unit() -> None:
    assert feed(KeypadEntry(), "1201#")[-1] == "1201"


def test_star_clears_what_was_keyed() -> None:
    assert feed(KeypadEntry(), "99*801#")[-1] == "801"


def test_hash_alone_calls_nobody() -> None:
    assert feed(KeypadEntry(), "#") == [None]


def test_keys_older_than_the_timeout_are_forgotten() -> None:
    entry = KeypadEntry(timeout_s=10)
    feed(entry, "12", at=0.0)
    assert feed(entry, "801#", at=11.0)[-1] == "801"


def test_too_many_digits_are_refused_and_the_entry_starts_again() -> None:
    entry = KeypadEntry(max_digits=3)
    with pytest.raises(ValueError):
        feed(entry, "1234")
    assert entry.digits == "" and feed(entry, "12#")[-1] == "12"
