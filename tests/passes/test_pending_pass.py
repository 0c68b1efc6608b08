"""The pass waiting for the guard's button: its deadline on an injected monotonic clock, and one
pass at a time."""

from __future__ import annotations

import pytest

from edge.passes import PendingPass
from pass_helpers import make_token


class Mono:
    """Monotonic seconds, moved by hand."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def mono() -> Mono:
    return Mono()


@pytest.fixture
def pending(mono: Mono) -> PendingPass:
    return PendingPass(timeout_s=60.0, monotonic=mono)


def test_a_pass_does_not_expire_before_its_timeout(pending, mono) -> None:
    pending.offer(make_token(), {})
    mono.now += 59.9
    assert pending.expire() is None and pending.current is not None


def test_a_pass_expires_at_its_timeout(pending, mono) -> None:
    pending.offer(make_token(), {})
    mono.now += 60.0
    expired = pending.expire()
    assert expired is not None and expired.pass_id == make_token().pass_id
    assert pending.current is None


def test_seconds_left_counts_down_to_zero(pending, mono) -> None:
    assert pending.seconds_left() is None
    pending.offer(make_token(), {})
    mono.now += 45.0
    assert pending.seconds_left() == pytest.approx(15.0)
    mono.now += 30.0
    assert pending.seconds_left() == 0.0


def test_offering_a_second_pass_returns_the_one_it_supersedes(pending) -> None:
    pending.offer(make_token("gp-1"), {})
    superseded = pending.offer(make_token("gp-2"), {})
    assert superseded is not None and superseded.pass_id == "gp-1"
    assert pending.current is not None and pending.current.pass_id == "gp-2"


def test_take_empties_it(pending) -> None:
    pending.offer(make_token(), {})
    assert pending.take() is not None
    assert pending.take() is None and pending.expire() is None
