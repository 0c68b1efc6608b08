"""Repeat suppression of a held card (pure: times are passed in, seconds)."""

from __future__ import annotations

import pytest

from hardware import RepeatFilter


def test_first_frame_of_a_card_is_a_new_presentation() -> None:
    assert RepeatFilter(window_s=0.5).accept("0F00B4C5D2", 10.0)


def test_frames_of_a_held_card_are_repeats() -> None:
    f = RepeatFilter(window_s=0.5)
    assert [f.accept("A", t) for t in (10.0, 10.08, 10.16)] == [True, False, False]


def test_a_card_held_longer_than_the_window_stays_one_presentation() -> None:
    f = RepeatFilter(window_s=0.5)
    results = [f.accept("A", 10.0 + 0.1 * i) for i in range(30)]   # 3 s on the antenna
    assert results.count(True) == 1


def test_a_card_back_after_being_away_longer_than_the_window_is_new() -> None:
    f = RepeatFilter(window_s=0.5)
    f.accept("A", 10.0)
    assert f.accept("A", 10.51)


def test_a_different_card_is_new_at_once() -> None:
    f = RepeatFilter(window_s=0.5)
    f.accept("A", 10.0)
    assert f.accept("B", 10.05)
    assert f.accept("A", 10.1)


def test_reset_makes_the_next_frame_new() -> None:
    f = RepeatFilter(window_s=0.5)
    f.accept("A", 10.0)
    f.reset()
    assert f.accept("A", 10.1)


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError):
        RepeatFilter(window_s=-1)
