"""The pass's QR code as inline SVG, rendered on the server with ``segno`` (pure Python; no
image files, nothing loaded by the browser from elsewhere, allowed by the strict CSP)."""

from __future__ import annotations

import segno

__all__ = ["qr_svg"]


def qr_svg(text: str, *, border: int = 4) -> str:
    """``<svg ...>`` holding ``text`` as a QR code (error correction M, as the contract sizes
    it; the smallest version that fits). No fixed size: a ``viewBox`` only, so CSS sets the
    printed size. ``border``: quiet zone in modules (default 4, the standard's minimum)."""
    qr = segno.make(text, error="m", micro=False, boost_error=False)
    return qr.svg_inline(scale=1, border=border, omitsize=True, dark="#000", light="#fff",
                         title="QR", svgclass="pass-qr-code", lineclass="")
