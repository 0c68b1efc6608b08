"""LoginRateLimiter: N failures per window per account and per address, injected clock."""

from __future__ import annotations

from web.auth.ratelimit import LoginRateLimiter

from console_helpers import FakeClock


def _fail(lim: LoginRateLimiter, n: int, *, user: str = "desk1", addr: str = "10.0.0.1") -> None:
    for _ in range(n):
        lim.failed(username=user, address=addr)


def test_tenth_failure_blocks_the_next_attempt(clock: FakeClock) -> None:
    lim = LoginRateLimiter(max_failures=10, window_ms=60_000, clock=clock)
    _fail(lim, 9)
    assert lim.retry_after_s(username="desk1", address="10.0.0.1") is None
    _fail(lim, 1)
    assert lim.retry_after_s(username="desk1", address="10.0.0.1") == 60


def test_account_is_blocked_from_any_address(clock: FakeClock) -> None:
    lim = LoginRateLimiter(max_failures=3, clock=clock)
    for i in range(3):
        lim.failed(username="desk1", address=f"10.0.0.{i}")
    assert lim.retry_after_s(username="desk1", address="10.9.9.9") is not None
    assert lim.retry_after_s(username="guard1", address="10.9.9.9") is None


def test_address_is_blocked_for_any_account(clock: FakeClock) -> None:
    lim = LoginRateLimiter(max_failures=3, clock=clock)
    for name in ("a1", "b1", "c1"):
        lim.failed(username=name, address="10.0.0.1")
    assert lim.retry_after_s(username="d1", address="10.0.0.1") is not None
    assert lim.retry_after_s(username="d1", address="10.0.0.2") is None


def test_block_ends_when_failures_leave_the_window(clock: FakeClock) -> None:
    lim = LoginRateLimiter(max_failures=2, window_ms=60_000, clock=clock)
    _fail(lim, 2)
    clock.advance(59_999)
    assert lim.retry_after_s(username="desk1", address="10.0.0.1") == 1
    clock.advance(1)
    assert lim.retry_after_s(username="desk1", address="10.0.0.1") is None


def test_account_key_ignores_case_and_spaces(clock: FakeClock) -> None:
    lim = LoginRateLimiter(max_failures=1, clock=clock)
    lim.failed(username=" Desk1 ", address="a")
    assert lim.retry_after_s(username="desk1", address="b") is not None


def test_remembered_keys_are_bounded(clock: FakeClock) -> None:
    lim = LoginRateLimiter(max_failures=1, clock=clock, max_keys=4)
    for i in range(10):
        lim.failed(username=f"u{i}", address=f"a{i}")
    assert lim.retry_after_s(username="u0", address="a0") is None      # forgotten
    assert lim.retry_after_s(username="u9", address="a9") is not None
