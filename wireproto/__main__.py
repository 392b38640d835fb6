"""``python -m wireproto`` and the ``wireproto`` console script."""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

from wireproto.cli import main as _cli_main
from wireproto.cli import stdout_closed

# The status a shell reports for a process killed by SIGPIPE (128 + 13).
SIGPIPE_STATUS = 141


def main() -> int:
    """Runs the ``wireproto`` command; returns its exit code.

    SIGPIPE keeps Python's disposition (ignored): a peer's socket closing is an
    EPIPE error the command handles (``serve`` logs it and goes on serving), never
    a silent death.  Only our own stdout's reader leaving (``wireproto logs c | head -1``)
    ends the command, quietly, as shell tools end.
    """
    try:
        code = _cli_main()
        sys.stdout.flush()  # here, not at exit, where a failure prints "Exception ignored"
    except BrokenPipeError:
        if not stdout_closed():
            raise
        _end_as_shell_tools_do()
    return code


def _end_as_shell_tools_do() -> NoReturn:
    """Dies of SIGPIPE, as ``cat`` or the docker CLI do when their reader leaves.

    The shell reports 141 (pipefail scripts see what they see with ``docker logs | head``);
    nothing is flushed into the closed pipe, so nothing prints "Exception ignored".
    """
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.raise_signal(signal.SIGPIPE)
    os._exit(SIGPIPE_STATUS)  # no SIGPIPE (Windows), or it did not end us


if __name__ == "__main__":
    sys.exit(main())
