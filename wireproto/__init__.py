"""wireproto: a sans-IO toolkit for the Docker Engine API wire protocol.

The core (this package's top-level modules) takes bytes in and gives events
and bytes out; it never does I/O.  Adapters in ``wireproto.adapters`` move the
bytes over blocking sockets, asyncio or trio.
"""

__version__ = "0.1.0"
