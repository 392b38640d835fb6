"""The asyncio adapter: the async client of :mod:`._async` over asyncio transports.

Strategy: a ``BufferedProtocol`` hands the event loop a view of one
:class:`._common.ReadBuffer`; the loop reads straight into it (no copy, no
``bytes`` per read) and the exchange reads that view.  After each read the
protocol pauses the transport (``pause_reading``) until the exchange has
decoded it: the buffer is never overwritten while a view of it is in use,
and a consumer that stops asking for events stops the reads from the socket
(the kernel's buffers fill and TCP/unix flow control holds the engine).
So memory per stream is one buffer, however fast the engine writes.  Over
TLS the loop decrypts into bytes of its own, handed over with the same
pause after each delivery (see ``_TLSProtocol`` for why not a buffer).
Writes go through the transport, with ``pause_writing``/``resume_writing``
flow control.

A write that fails (the engine refused a request body, answered and reset
the connection) makes asyncio drop the socket with what the engine sent
still in the kernel: plain sockets read it then (``_Protocol._drain``); over
TLS, ``_DrainOnLoss`` stands under asyncio's TLS protocol and hands it those
bytes to decrypt before the loss.  It needs the TLS protocol of Python
3.11 on (a BufferedProtocol) and finds the socket transport under it through
a private attribute of asyncio.  Without them (Python 3.10, or a future
asyncio) the adapter works as before, except that an answer landing with
the reset during one write is lost: the request fails as RequestCut, and
a test says so.

Cancellation: a task cancelled (or timed out) in the middle of a call aborts
the transport; if request or stdin bytes were still in the transport's
buffer, the exchange is told they never left (``send_failed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from wireproto.adapters import _async
from wireproto.adapters._common import (
    RECV_SIZE,
    EngineSpoke,
    ReadBuffer,
    Settings,
    Wire,
    peer_gone,
)
from wireproto.errors import EngineUnreachable

__all__ = ["Client", "Connection", "Pending", "Session", "Stream"]

T = TypeVar("T")
Stream = _async.Stream
Pending = _async.Pending
Session = _async.Session


def _tcp_under_tls(transport: asyncio.Transport) -> asyncio.Transport | None:
    """The socket transport an asyncio TLS transport writes its records to."""
    under = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    return under if isinstance(under, asyncio.Transport) else None


class _DrainOnLoss(asyncio.BufferedProtocol):
    """Stands between the socket transport under TLS and asyncio's TLS protocol.

    A write that fails because the engine reset the connection makes the
    socket transport stop reading and report the loss, and the TLS protocol
    then drops what it had not decrypted: the engine's answer, sent just
    before the reset, is lost although the kernel still holds it (it came in
    while the write was being encrypted, before the loop could read it).
    So on a loss this first reads what the kernel holds, at most its
    receive buffer, and hands it to the TLS protocol with the application's
    reading resumed, so that it is decrypted and delivered; then the loss.
    Only the protocol methods of the TLS protocol are called.
    """

    def __init__(self, tls: asyncio.Transport, under: asyncio.Transport) -> None:
        self.tls = tls
        self.under = under
        self.inner = cast(asyncio.BufferedProtocol, under.get_protocol())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.inner.connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.inner.get_buffer(sizehint))

    def buffer_updated(self, nbytes: int) -> None:
        self.inner.buffer_updated(nbytes)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            # A loss we did not ask for.  Without an error too: a write failing
            # in resume_writing makes asyncio report the loss first as None.
            if exc is not None or not self.tls.is_closing():
                self._hand_over(_drain_socket(self.under))
        finally:
            self.inner.connection_lost(exc)

    def _hand_over(self, chunks: list[bytes]) -> None:
        """Feeds ``chunks`` to the TLS protocol as reads, each delivered at once."""
        for chunk in chunks:
            rest = memoryview(chunk)
            while rest:
                self.tls.resume_reading()  # our protocol pauses after each delivery
                buffer = self.get_buffer(len(rest))
                size = min(len(buffer), len(rest))
                buffer[:size] = rest[:size]
                self.inner.buffer_updated(size)
                rest = rest[size:]


def _drain_socket(transport: asyncio.BaseTransport) -> list[bytes]:
    """What the kernel still holds for the socket under ``transport`` (it stays open)."""
    chunks: list[bytes] = []
    sock = transport.get_extra_info("socket")
    if sock is None:
        return chunks
    with contextlib.suppress(OSError), sock.dup() as raw:
        while chunk := raw.recv(RECV_SIZE, socket.MSG_DONTWAIT):
            chunks.append(chunk)
    return chunks


def _drain_on_loss(tls: asyncio.Transport) -> bool:
    """Puts a _DrainOnLoss under ``tls``; False where asyncio's TLS layer is not as known."""
    under = _tcp_under_tls(tls)
    if under is None or not isinstance(under.get_protocol(), asyncio.BufferedProtocol):
        return False
    under.set_protocol(_DrainOnLoss(tls, under))
    return True


class _Flow:
    """What both protocols track: a read ready, EOF, loss, write flow control."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.count = 0  # bytes received, not yet fed to an exchange
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None
        self.drained: list[bytes] = []  # read from the socket as asyncio dropped it
        self._read_waiter: asyncio.Future[None] | None = None
        self._write_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self.watching = False  # a request is going out: bytes arriving wake the writer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writer()

    def _wake_writer(self) -> None:
        waiter, self._write_waiter = self._write_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def spoke(self) -> bool:
        """The engine sent bytes, or closed, or the connection is gone."""
        return bool(self.count or self.eof or self.lost or self.drained)

    def watch(self) -> None:
        """Reads while a request goes out, so that an answer stops it (``spoke``).

        Over TLS the answer is best decrypted before a failed write makes
        asyncio drop the TLS layer: reading on during the writes does that
        (``_DrainOnLoss`` reads what still races a write).
        """
        assert self.transport is not None
        self.watching = True
        if not self.spoke:  # nothing unread: the buffer is free for a read
            self.transport.resume_reading()

    def _received(self, count: int) -> None:
        assert self.transport is not None
        self.count += count
        self.transport.pause_reading()  # until the exchange has decoded this read
        self._wake_reader()

    def _wake_reader(self) -> None:
        waiter, self._read_waiter = self._read_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self.watching:
            self._wake_writer()

    async def wait_readable(self) -> None:
        """Resumes reading and waits for a read, EOF or the connection's loss."""
        assert self.transport is not None
        if self.count or self.eof or self.lost:
            return
        self._idle()
        self._read_waiter = asyncio.get_running_loop().create_future()
        self.transport.resume_reading()
        await self._read_waiter

    def _idle(self) -> None:
        """Called before waiting for bytes."""

    async def wait_writable(self) -> None:
        """Waits for room in the transport's buffer (or, watching, for the engine to speak)."""
        if self._write_paused and not self.lost and not (self.watching and self.spoke):
            self._write_waiter = asyncio.get_running_loop().create_future()
            await self._write_waiter


class _Protocol(_Flow, asyncio.BufferedProtocol):
    """Receives into a ReadBuffer, one read at a time: sockets without TLS."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = ReadBuffer()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer.view

    def buffer_updated(self, nbytes: int) -> None:
        self._received(nbytes)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self._drain()
        super().connection_lost(exc)

    def _drain(self) -> None:
        """Keeps what the kernel still holds for us when asyncio drops the socket.

        A failed write makes asyncio close the socket, reading included,
        while what the engine sent before it stopped reading (its error
        reply to a request body it refused, a container's last output) is
        still unread: read it here, before the socket closes, at most what
        the kernel buffered.  Over TLS, ``_DrainOnLoss`` does it under the
        TLS layer, which must decrypt those bytes.
        """
        assert self.transport is not None
        self.drained.extend(_drain_socket(self.transport))

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return True  # keep our write side open (stdin may still go up), as a socket would

    def take(self) -> memoryview:
        """The bytes received, for the exchange; valid until the next read."""
        count, self.count = self.count, 0
        return self.buffer.take(count)

    def _idle(self) -> None:
        # No buffer while waiting: the loop asks for one (get_buffer) only when
        # bytes arrived, so an idle stream holds none.  Measured: as fast as
        # reusing one buffer (a read's allocation is cheap next to its decoding).
        self.buffer.release()


class _TLSProtocol(_Flow, asyncio.Protocol):
    """Receives the TLS transport's decrypted bytes as it delivers them.

    Not a BufferedProtocol: asyncio's TLS layer, when the engine's FIN comes
    while a buffered protocol has paused reading, reads one more buffer on
    resuming and then shuts the connection, dropping what it had decrypted
    beyond that buffer (seen: output cut at 48 KiB).  Handed bytes, it drains
    all it has in one call.  Pausing after each delivery keeps the memory
    bound: at most what one read of the socket decrypts.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.pending.append(data)
        self._received(len(data))

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # asyncio's TLS transport cannot stay half-open, and warns if asked

    def take(self) -> bytes:
        pending, self.pending, self.count = self.pending, [], 0
        return pending[0] if len(pending) == 1 else b"".join(pending)


_TURNS = 3  # loop turns that let a TLS answer in: the read runs in the second


def _readable_poll(transport: asyncio.Transport) -> select.poll | None:
    """A poll for input on the socket under ``transport`` (None if it has none)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
    return poller


class Connection:
    """One asyncio transport and its protocol, as :class:`._async.Connection`."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol | _TLSProtocol) -> None:
        self.transport = transport
        self.protocol = protocol
        self.received = 0
        self._raw = _readable_poll(transport) if isinstance(protocol, _TLSProtocol) else None

    @property
    def dead(self) -> bool:
        p = self.protocol
        return p.eof or p.lost or p.count > 0 or self.transport.is_closing()

    async def fill(self, exchange: Wire) -> None:
        p = self.protocol
        await p.wait_readable()
        if p.count:
            self.received += p.count
            exchange.receive_data(p.take())
        elif p.drained:
            data = p.drained.pop(0)
            self.received += len(data)
            exchange.receive_data(data)
        elif p.error is not None and not peer_gone(p.error):
            raise p.error
        else:
            # EOF; a reset ends the stream too, as in blocking, and so does a
            # write the engine refused (what it sent before was read above).
            exchange.receive_data(b"")

    async def flush(self, exchange: Wire, *, request: bool = False) -> None:
        p = self.protocol
        if request:
            p.watch()
        try:
            while out := exchange.data_to_send():
                if request and await self._spoke():
                    raise EngineSpoke()  # what it sent is read next: the answer, or the end
                if p.lost or self.transport.is_closing():
                    raise p.error or BrokenPipeError("the connection is closed")
                self.transport.write(out)
                await p.wait_writable()
            if p.lost and self.transport.get_write_buffer_size():
                raise p.error or BrokenPipeError("the connection is closed")
        except BaseException as exc:
            if not peer_gone(exc):  # the engine refused: what it sent is still to read
                exchange.send_failed()
                self.transport.abort()
            raise
        finally:
            p.watching = False

    async def _spoke(self) -> bool:
        """Whether the engine spoke while a request goes out.

        A write the socket takes at once does not return to the loop, which
        reads only when it runs: over TLS, a write failing once the engine
        hung up makes asyncio drop the TLS layer with the answer unread.  So
        over TLS, bytes waiting in the socket are let in before each write
        (a few loop turns: the loop runs the read after this task's turn),
        and sending stops early.  What lands during the write itself,
        ``_DrainOnLoss`` reads; plain sockets need no turn: ``_drain`` reads.
        """
        p = self.protocol
        if self._raw is not None:
            for _ in range(_TURNS):
                if p.spoke or not self._raw.poll(0):
                    break
                await asyncio.sleep(0)
        return p.spoke

    async def write_eof(self) -> None:
        transport = self.transport
        if not transport.can_write_eof():
            # asyncio's TLS transport cannot half-close; the docker CLI's way
            # is a TCP FIN under the TLS layer, which the engine reads as the
            # end of stdin.  The socket transport under it (not public API:
            # checked by a test) flushes our records first, then shuts.
            transport = _tcp_under_tls(transport) or transport
        if transport.can_write_eof():
            transport.write_eof()

    async def aclose(self) -> None:
        self.transport.abort()


class _Runtime:
    async def connect(self, resolved: Settings, timeout: float | None) -> Connection:
        address = resolved.address
        loop = asyncio.get_running_loop()
        protocol = _Protocol() if resolved.tls is None else _TLSProtocol()
        try:
            if address.unix_path is not None:
                opening = loop.create_unix_connection(lambda: protocol, address.unix_path)
            else:
                opening = loop.create_connection(
                    lambda: protocol,
                    address.host,
                    address.port,
                    ssl=resolved.tls,
                    server_hostname=address.host if resolved.tls is not None else None,
                )
            transport, _ = await self.within(timeout, lambda: opening)
        except (OSError, ssl.SSLError) as exc:  # TimeoutError is an OSError, as in blocking
            if isinstance(exc, TimeoutError):
                raise
            raise EngineUnreachable(resolved.host, exc.strerror or str(exc)) from exc
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if resolved.tls is not None:
            _drain_on_loss(transport)  # where it cannot, an answer may race a reset as before
        return Connection(transport, protocol)

    async def within(self, timeout: float | None, run: Callable[[], Awaitable[T]]) -> T:
        if timeout is None:
            return await run()
        try:
            return await asyncio.wait_for(run(), timeout)
        except asyncio.TimeoutError as exc:  # not the builtin one before Python 3.11
            raise TimeoutError(f"no answer within {timeout} seconds") from exc

    def lock(self) -> _async.Lock:
        return asyncio.Lock()


class Client(_async.Client):
    """The asyncio client: ``async with Client() as client: await client.request(call)``."""

    runtime = _Runtime()
