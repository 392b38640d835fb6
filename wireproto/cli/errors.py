"""The command line's own error: only the CLI raises it, so it lives here.

Not a :class:`wireproto.errors.WireprotoError`: the library never raises it;
``wireproto.cli.run`` turns it into exit status 2 and a message.
"""

from __future__ import annotations


class UsageError(Exception):
    """A command line that cannot work (a bad --host, a bad --filter, a bad time)."""
