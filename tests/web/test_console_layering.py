"""The console never imports the node's hardware stack (DESIGN.md, Layering)."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("gpiozero", "serial", "pymodbus", "edge", "hardware")


def test_web_imports_no_node_or_hardware_module() -> None:
    code = ("import pkgutil, importlib, sys, web\n"
            "for m in pkgutil.walk_packages(web.__path__, 'web.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(' '.join(sorted(n for n in sys.modules if n.split('.')[0] in %r)))" % (FORBIDDEN,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
