"""The trio adapter: the async client of :mod:`._async` over trio streams.

Strategy: a plain connection (unix or TCP) reads with the trio socket's
``recv_into`` straight into one :class:`._common.ReadBuffer`, so no
``bytes`` object is made per read; a TLS connection reads ``receive_some``
from its ``SSLStream``.  trio reads only when asked, so backpressure is
built in: a consumer that stops asking for events stops the reads, and the
kernel's buffers and flow control hold the engine back.

Cancellation (a cancel scope, ``fail_after``, a nursery that fails) in the
middle of a send tells the exchange the bytes may not have left
(``send_failed``); any exception in a call closes its stream at once
(``aclose_forcefully``), which works in a cancelled scope too.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio  # type: ignore[import-untyped,unused-ignore]

from wireproto.adapters import _async
from wireproto.adapters._common import ReadBuffer, Settings, Wire, peer_gone
from wireproto.errors import EngineUnreachable

__all__ = ["Client", "Connection", "Pending", "Session", "Stream"]

T = TypeVar("T")
Stream = _async.Stream
Pending = _async.Pending
Session = _async.Session


class Connection:
    """One trio stream (a SocketStream, or an SSLStream over one), as ``_async.Connection``."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.buffer = ReadBuffer()
        self.received = 0
        self._sock = stream.socket if isinstance(stream, trio.SocketStream) else None

    @property
    def dead(self) -> bool:
        # An idle connection has nothing to read: readable means closed (or garbage).
        return self._sock is not None and bool(self._sock.is_readable())

    async def fill(self, exchange: Wire) -> None:
        try:
            if self._sock is not None:
                # The buffer is kept while waiting: releasing it would need a
                # wait_readable before each recv_into, a second trip through
                # the scheduler per read (docs/performance.md).
                count: int = await self._sock.recv_into(self.buffer.ready())
                data: memoryview | bytes = self.buffer.take(count)
            else:
                data = await self.stream.receive_some(self.buffer.limit)
        except ConnectionResetError:
            data = b""  # a reset ends the stream, as in blocking; the exchange says what was cut
        except trio.BrokenResourceError as exc:
            if not isinstance(exc.__cause__, ConnectionResetError):
                raise _os_error(exc) from exc
            data = b""
        self.received += len(data)
        exchange.receive_data(data)

    async def flush(self, exchange: Wire) -> None:
        try:
            while out := exchange.data_to_send():
                await self.stream.send_all(out)
        except trio.BrokenResourceError as exc:
            error = _os_error(exc)
            if not peer_gone(error):  # the engine refused: what it sent is still to read
                exchange.send_failed()
            raise error from exc
        except BaseException:
            exchange.send_failed()  # cancelled mid-send: some bytes may never have left
            raise

    async def write_eof(self) -> None:
        stream: trio.abc.Stream = self.stream
        if isinstance(stream, trio.SSLStream):
            # As the docker CLI half-closes a TLS hijack: a TCP FIN under the
            # TLS layer (SSLStream has no send_eof), which reads on.  Every
            # record of ours is out: send_all returns only once it is.
            stream = stream.transport_stream
        if isinstance(stream, trio.abc.HalfCloseableStream):
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_eof()

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


def _os_error(exc: BaseException) -> OSError:
    """The OSError under a trio BrokenResourceError, as the blocking adapter would raise."""
    cause = exc.__cause__
    return cause if isinstance(cause, OSError) else BrokenPipeError(str(exc))


class _Runtime:
    async def connect(self, resolved: Settings, timeout: float | None) -> Connection:
        stream = await self.within(timeout, lambda: self._open(resolved))
        return Connection(stream)

    async def _open(self, resolved: Settings) -> Any:
        address = resolved.address
        try:
            if address.unix_path is not None:
                return await trio.open_unix_socket(address.unix_path)
            stream = await trio.open_tcp_stream(address.host, address.port)
            if resolved.tls is None:
                return stream
            tls = trio.SSLStream(
                stream, resolved.tls, server_hostname=address.host, https_compatible=True
            )
            try:
                await tls.do_handshake()
            except BaseException:
                await trio.aclose_forcefully(tls)
                raise
            return tls
        except (OSError, ssl.SSLError) as exc:
            raise EngineUnreachable(resolved.host, exc.strerror or str(exc)) from exc
        except trio.BrokenResourceError as exc:  # the TLS handshake failed
            raise EngineUnreachable(resolved.host, str(exc.__cause__ or exc)) from exc

    async def within(self, timeout: float | None, run: Callable[[], Awaitable[T]]) -> T:
        if timeout is None:
            return await run()
        try:
            with trio.fail_after(timeout):
                return await run()
        except trio.TooSlowError as exc:
            raise TimeoutError(f"no answer within {timeout} seconds") from exc

    def lock(self) -> _async.Lock:
        lock: _async.Lock = trio.Lock()
        return lock


class Client(_async.Client):
    """The trio client: ``async with Client() as client: await client.request(call)``."""

    runtime = _Runtime()
