"""``python -m wireproto`` and the ``wireproto`` console script."""

from __future__ import annotations

import signal
import sys

from wireproto.cli import main as _cli_main


def main() -> int:
    """Runs the ``wireproto`` command; returns its exit code."""
    # Die quietly of SIGPIPE, as `docker logs | head` does, instead of a traceback.
    # Here, in the process's entry point only: callers of wireproto.cli.main
    # (tests, embedding programs) keep Python's EPIPE errors.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    return _cli_main()


if __name__ == "__main__":
    sys.exit(main())
