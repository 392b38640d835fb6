"""The markers a sans-IO loop returns instead of an event.

One class for every such marker, so each is compared with ``is``, prints
its name, and is told apart from an event by ``isinstance(x, Sentinel)``.
"""

from __future__ import annotations


class Sentinel:
    """A named marker; each instance is its own value, compared with ``is``."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA = Sentinel("NEED_DATA")  # feed more bytes (or EOF) to go on
PAUSED = Sentinel("PAUSED")  # the exchange is over: no more events
