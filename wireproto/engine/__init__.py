"""The stub engine: a Docker Engine API peer built from wireproto's own core.

``with StubEngine() as engine:`` serves a scripted engine on a unix socket
(``engine.host``) in a thread; ``wireproto serve`` runs one as a command.
"""

from wireproto.engine.protocol import Reply, ServerConnection
from wireproto.engine.script import Container, Event, Image, LogSpec, Script
from wireproto.engine.server import StubEngine, StubEngineProcess

__all__ = [
    "Container",
    "Event",
    "Image",
    "LogSpec",
    "Reply",
    "Script",
    "ServerConnection",
    "StubEngine",
    "StubEngineProcess",
]
