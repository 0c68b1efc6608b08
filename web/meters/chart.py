"""A bar chart of consumption as geometry for a server-side SVG (no JavaScript): bars, axis
ticks and labels, in a fixed viewBox that scales to the page width.

Each bar carries its text (``title``: "3 Jan: 1.25 kWh (estimated)") so screen readers and
mouse hover read the values; the page shows the same numbers in a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

__all__ = ["Bar", "Chart", "bar_chart", "nice_max"]

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 12, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str          # the axis label ("" when thinned out)
    label_x: float
    title: str          # the full text for screen readers / hover
    css: str            # "bar", "bar bar-estimated" or "bar bar-missing"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]   # (y, text)
    plot_left: int
    plot_right: int
    plot_bottom: int
    label_y: int
    total: float
    unit: str


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        top = m * 10 ** exp
        if top >= value * 0.999999:
            return float(top)
    return float(10 ** (exp + 1))  # pragma: no cover


def _fmt(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") if v else "0"


def bar_chart(points: Sequence[tuple[str, float | None, bool, str]], *, unit: str,
              every: int = 1, estimated_text: str = "estimated",
              missing_text: str = "no data") -> Chart:
    """``points``: ``(axis label, amount or None, estimated, long label)`` in order;
    ``every``: show every n-th axis label."""
    n = max(len(points), 1)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top = nice_max(max((p[1] or 0.0) for p in points) if points else 0.0)
    slot = plot_w / n
    bw = max(1.0, slot * 0.72)
    bars = []
    for i, (label, amount, estimated, long_label) in enumerate(points):
        x = LEFT + i * slot + (slot - bw) / 2
        if amount is None:
            h, css = 2.0, "bar bar-missing"
            title = f"{long_label}: {missing_text}"
        else:
            h = max(0.0, amount / top * plot_h)
            css = "bar bar-estimated" if estimated else "bar"
            title = f"{long_label}: {_fmt(amount)} {unit}" + (f" ({estimated_text})" if estimated else "")
        bars.append(Bar(round(x, 2), round(TOP + plot_h - h, 2), round(bw, 2), round(h, 2),
                        label if i % every == 0 else "", round(x + bw / 2, 2), title, css))
    ticks = tuple((round(TOP + plot_h - plot_h * k / 4, 2), _fmt(top * k / 4)) for k in range(5))
    total = sum(p[1] or 0.0 for p in points)
    return Chart(WIDTH, HEIGHT, tuple(bars), ticks, LEFT, WIDTH - RIGHT, TOP + plot_h,
                 HEIGHT - 8, total, unit)
