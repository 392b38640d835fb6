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

import outcome  # type: ignore[import-untyped,unused-ignore]
import trio  # type: ignore[import-untyped,unused-ignore]

from wireproto.adapters import _async
from wireproto.adapters._common import EngineSpoke, ReadBuffer, Settings, Wire, peer_gone
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

    async def flush(self, exchange: Wire, *, request: bool = False) -> None:
        try:
            if request:
                await self._send_request(exchange)
            while out := exchange.data_to_send():
                await self.stream.send_all(out)
        except trio.BrokenResourceError as exc:
            error = _os_error(exc)
            if not peer_gone(error):  # the engine refused: what it sent is still to read
                exchange.send_failed()
            raise error from exc
        except EngineSpoke:
            raise  # what the engine sent is read next
        except BaseException:
            exchange.send_failed()  # cancelled mid-send: some bytes may never have left
            raise

    async def _send_request(self, exchange: Wire) -> None:
        """Sends a request, stopping (EngineSpoke) if the engine speaks first.

        The first write (the head) goes as is: the engine has nothing to
        answer before it.  Then a plain socket is polled before each write
        (what a failed write leaves stays in the kernel for ``fill``).  Over
        TLS a task reads while the rest goes out: blocked in a write when the
        engine answers and closes, the write fails and breaks the SSLStream,
        but the read already took the answer; a write is never cancelled
        (that too would break the stream).
        """
        if out := exchange.data_to_send():
            await self.stream.send_all(out)
        if self._sock is not None:
            while out := exchange.data_to_send():
                if self._sock.is_readable():
                    raise EngineSpoke()
                await self.stream.send_all(out)
            return
        answer = _Answer(self, exchange)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer.read)
            sent = await outcome.acapture(answer.send_until_answered)
            if not _hung_up(sent):
                nursery.cancel_scope.cancel()  # a read waiting for bytes may stop: it loses none
            # else the read goes on to the end, the answer that came before the reset included
        if answer.came and isinstance(sent, outcome.Error):
            raise EngineSpoke() from sent.error
        sent.unwrap()

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


class _Answer:
    """The two halves of sending a request over TLS: the body, and a read for an answer."""

    def __init__(self, conn: Connection, exchange: Wire) -> None:
        self.conn = conn
        self.exchange = exchange
        self.came = False

    async def send_until_answered(self) -> None:
        while out := self.exchange.data_to_send():
            if self.came:
                raise EngineSpoke()
            await self.conn.stream.send_all(out)

    async def read(self) -> None:
        """Reads until the end (or until cancelled), feeding the exchange.

        Session tickets and the like are the TLS layer's: ``receive_some``
        returns only the engine's bytes.  A read that fails leaves the
        error to the writes or the next ``fill``.
        """
        conn = self.conn
        while True:
            try:
                data = await conn.stream.receive_some(conn.buffer.limit)
            except trio.BrokenResourceError as exc:
                if not isinstance(exc.__cause__, ConnectionResetError):
                    return
                data = b""
            except (trio.ClosedResourceError, OSError):
                return
            conn.received += len(data)
            self.came = True
            self.exchange.receive_data(data)
            if not data:
                return


def _hung_up(sent: Any) -> bool:
    """Whether a send failed because the engine closed or reset (its bytes may still come)."""
    error = getattr(sent, "error", None)
    return isinstance(error, trio.BrokenResourceError) and peer_gone(_os_error(error))


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
