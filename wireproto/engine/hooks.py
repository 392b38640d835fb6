"""The small interfaces the world, its programs and the socket loop share.

Their own module so that :mod:`wireproto.engine.programs` (run by the world)
and :mod:`wireproto.engine.world` need not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Cancel(Protocol):
    def cancel(self) -> None: ...


class StdinSink(Protocol):
    """Where an attach or exec stream's stdin goes: a container's program."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], Cancel]


class _NoTimer:
    def cancel(self) -> None:
        pass


def no_scheduler(delay: float, callback: Callable[[], None]) -> Cancel:
    """Before a socket loop runs the world, timers never fire (sans-IO use)."""
    return _NoTimer()
