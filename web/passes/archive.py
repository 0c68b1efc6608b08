"""The ten-day archive (security hands its copies back to the desk every ten days): the passes
issued or released in a period, with what needs a look flagged.

Flags (a row may have several):

- ``unused``: issued, never released, and its window has ended (not cancelled);
- ``open``: issued, not released yet, still valid at report time;
- ``unknown``: released at a gate under a pass id the console never issued;
- ``double_use``: released more than once (two gates, or a gate that lost its ledger);
- ``released_cancelled``: released although the desk had cancelled it (a gate that had not
  received the revocation yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from .model import GoodsPass
from .store import GoodsPassStore

__all__ = ["ArchiveRow", "ArchiveReport", "build_archive", "FLAGS", "CSV_HEADER", "csv_rows"]

FLAGS = ("unused", "open", "unknown", "double_use", "released_cancelled")
CSV_HEADER = ("pass_id", "kind", "unit", "carrier", "relation", "carrier_id_last4",
              "authorisation", "letter_ref", "items", "item_count", "vehicle_plate",
              "valid_from", "valid_until", "issued_at", "issued_by", "state", "releases",
              "first_release", "gates", "flags")


@dataclass(frozen=True)
class ArchiveRow:
    """One line of the report: ``gp`` (None for an unknown pass id), the releases seen and
    the ``flags``; ``unit``/``item_count`` come from the gate's event when ``gp`` is None."""

    pass_id: str
    gp: GoodsPass | None
    releases: int
    first_release: int | None
    gates: tuple[str, ...]
    flags: tuple[str, ...]
    unit: str = ""
    item_count: int | None = None


@dataclass
class ArchiveReport:
    """Rows plus totals (``issued``, ``released``, and one count per flag)."""

    since_ms: int
    until_ms: int
    rows: list[ArchiveRow] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


def _flags(gp: GoodsPass | None, releases: int, now_ms: int) -> tuple[str, ...]:
    out = []
    if gp is None:
        out.append("unknown")
    else:
        if releases == 0 and gp.state != "cancelled":
            out.append("open" if gp.valid_until >= now_ms else "unused")
        if releases and gp.state == "cancelled":
            out.append("released_cancelled")
    if releases > 1:
        out.append("double_use")
    return tuple(out)


def iter_archive(store: GoodsPassStore, since_ms: int, until_ms: int,
                 now_ms: int) -> Iterator[ArchiveRow]:
    """The report's rows one by one (for the CSV export of a long period)."""
    for r in store.archive_rows(since_ms, until_ms):
        gp = r["pass"]
        yield ArchiveRow(pass_id=r["pass_id"], gp=gp, releases=r["releases"],
                         first_release=r["first_release"], gates=tuple(r["gates"]),
                         flags=_flags(gp, r["releases"], now_ms),
                         unit=gp.unit if gp else (r.get("unit") or ""),
                         item_count=gp.item_count if gp else r.get("items"))


def build_archive(store: GoodsPassStore, since_ms: int, until_ms: int,
                  now_ms: int) -> ArchiveReport:
    """The report for ``[since_ms, until_ms)`` at ``now_ms``."""
    report = ArchiveReport(since_ms=since_ms, until_ms=until_ms)
    totals = {"issued": 0, "released": 0, **{f: 0 for f in FLAGS}}
    for row in iter_archive(store, since_ms, until_ms, now_ms):
        report.rows.append(row)
        if row.gp is not None and since_ms <= row.gp.issued_at < until_ms:
            totals["issued"] += 1
        if row.releases:
            totals["released"] += 1
        for f in row.flags:
            totals[f] += 1
    report.totals = totals
    return report


def csv_rows(rows: Iterable[ArchiveRow], *, fmt: Any, now_ms: int) -> Iterator[list[Any]]:
    """The CSV lines (header first); ``fmt(ms)`` formats a time in the site's zone; states
    as at ``now_ms``."""
    yield list(CSV_HEADER)
    for row in rows:
        gp = row.gp
        releases = [row.releases, fmt(row.first_release) if row.first_release else "",
                    " ".join(row.gates), " ".join(row.flags)]
        if gp is None:
            yield [row.pass_id, "", row.unit, "", "", "", "", "", "", row.item_count or "", "",
                   "", "", "", "", "unknown", *releases]
            continue
        items = "; ".join(f"{i.description} x{i.quantity}" + (" *" if i.large else "")
                          for i in gp.items)
        yield [gp.pass_id, gp.kind, gp.unit, gp.carrier_name, gp.carrier_relation,
               gp.carrier_id_last4, gp.authorisation, gp.letter_ref, items, gp.item_count,
               gp.vehicle_plate, fmt(gp.valid_from), fmt(gp.valid_until), fmt(gp.issued_at),
               gp.issued_by, gp.state_at(now_ms), *releases]
