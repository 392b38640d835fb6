"""``python -m wireproto`` and the ``wireproto`` console script."""

from __future__ import annotations

import sys

from wireproto.cli import main as _cli_main


def main() -> int:
    """Runs the ``wireproto`` command; returns its exit code."""
    return _cli_main()


if __name__ == "__main__":
    sys.exit(main())
