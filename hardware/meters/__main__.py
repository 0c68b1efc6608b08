"""``python -m hardware.meters [FILE_OR_NAME...]``: check register maps (default: the built-in
ones) and print every problem."""

from .maps import main

raise SystemExit(main())
