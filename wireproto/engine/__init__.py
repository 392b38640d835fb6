"""The stub engine: a Docker Engine API peer built from wireproto's own core.

``with StubEngine() as engine:`` serves a scripted engine on a unix socket
(``engine.host``) from an event loop in a thread; ``wireproto serve`` runs
one as a command.  :mod:`~wireproto.engine.script` and
:mod:`~wireproto.engine.protocol` are sans-IO; the socket loop
(:mod:`~wireproto.engine.server`, asyncio) is imported only when
``StubEngine`` or ``StubEngineProcess`` is first used, so importing the
protocol side loads no I/O module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wireproto.engine.messages import Reply
from wireproto.engine.protocol import ServerConnection
from wireproto.engine.script import Container, Image, LogSpec, Script, ScriptedEvent

if TYPE_CHECKING:
    from wireproto.engine.server import StubEngine, StubEngineProcess

__all__ = [
    "Container",
    "Image",
    "LogSpec",
    "Reply",
    "Script",
    "ScriptedEvent",
    "ServerConnection",
    "StubEngine",
    "StubEngineProcess",
]


def __getattr__(name: str) -> object:
    if name in ("StubEngine", "StubEngineProcess"):
        from wireproto.engine import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
