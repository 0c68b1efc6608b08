"""CSV downloads: streamed, UTF-8 with a BOM (so spreadsheet programs read Chinese), CRLF rows,
cells that a spreadsheet would run as a formula neutralised."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Iterator, Sequence

from flask import Response, stream_with_context

from ..csv_cells import guard_cell
from ..filters import format_ms

__all__ = ["csv_cell", "csv_download"]

_FLUSH_ROWS = 200

#: A CSV cell that a spreadsheet will not run as a formula (see :mod:`web.csv_cells`).
csv_cell = guard_cell


def csv_download(rows: Iterable[Sequence[Any]], *, name: str, now_ms: int,
                 guard: bool = True) -> Response:
    """Stream ``rows`` (the header first) as the attachment ``<name>-<YYYYmmdd-HHMMSS>.csv``
    (``now_ms``: UTC ms, shown in the site's time zone), flushing every 200 rows. ``guard``
    (default True) passes each cell through :func:`csv_cell`; False when the rows are already
    safe (the credentials export neutralises its own cells so they import back unchanged)."""

    def body() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        yield "\ufeff"
        for n, row in enumerate(rows, start=1):
            writer.writerow([csv_cell(v) for v in row] if guard else row)
            if n % _FLUSH_ROWS == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    resp = Response(stream_with_context(body()), mimetype="text/csv")
    stamp = format_ms(now_ms, "%Y%m%d-%H%M%S")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    resp.charset = "utf-8"
    return resp
