"""What both decoder backends share: byte views, pieces, and their interface.

The backends (:mod:`wireproto.codec.python`, :mod:`wireproto.codec.native`)
import from here, never from the public faces (:mod:`wireproto.codec.mux`,
:mod:`wireproto.codec.chunked`), so a call on the hot path never climbs back
up a layer.  The Protocols below are the contract both backends satisfy;
:mod:`wireproto.codec.backend` types its table with them, so mypy checks it.
"""

from __future__ import annotations

from typing import Generic, NoReturn, Protocol, TypeVar

from wireproto.codec.sinks import Sinks
from wireproto.errors import FrameError, StreamFailed, TruncatedFrame

STREAMS = 4  # stdin, stdout, stderr, systemerr
HEADER_SIZE = 8
# Pieces shorter than this are bytes, and adjacent ones of one stream are merged
# (WP_COALESCE_BELOW in native/wireproto.h): fewer Python objects per chunk for
# log lines, while bulk payloads stay views of the input.
COALESCE_BELOW = 1024

BytesLike = bytes | bytearray | memoryview
Piece = tuple[int, bytes | memoryview]


def immutable(data: BytesLike) -> memoryview:
    """A byte view of ``data`` that nobody can change under us.

    Pieces handed out are views of the input; a mutable input (a bytearray, a
    view of a reused receive buffer) is copied once so that they stay valid.
    """
    if isinstance(data, bytes):
        return memoryview(data)
    view = data if isinstance(data, memoryview) else memoryview(data)
    if isinstance(view.obj, bytes) and view.format in ("B", "b", "c"):
        return view
    return memoryview(view.tobytes())


def byte_view(data: BytesLike) -> memoryview:
    """``data`` as a flat view of unsigned bytes, without a copy (``data``
    itself when it is one already: a new view costs as much as a small
    frame's worth of demuxing, once per read)."""
    view = data if type(data) is memoryview else memoryview(data)
    return view if view.format == "B" else view.cast("B")


class Decoder(Protocol):
    """A container-output decoder: a demuxer, or a raw TTY pass-through.

    ``feed`` returns ``(stream, payload)`` pieces in order; ``feed_into``
    appends each stream's payload to its sink instead.  A bad byte raises a
    typed error after everything before it was delivered (for ``feed``, in
    the error's ``pieces``); the decoder then stays failed.
    """

    @property
    def offset(self) -> int:
        """Stream bytes consumed so far."""
        ...

    def feed(self, data: BytesLike) -> list[Piece]: ...

    def feed_into(self, data: BytesLike, sinks: Sinks) -> None: ...

    def close(self) -> None:
        """The stream ended; an error if it ended inside a frame."""


class BodyEnd(Protocol):
    """Where a body stands on the wire: whether it ended, and what came after it."""

    @property
    def done(self) -> bool:
        """The whole body was read (chunked: the last chunk and the trailer section)."""
        ...

    @property
    def trailing(self) -> bytes:
        """The bytes that came after the body (valid once done)."""
        ...


class BodyDecoding(BodyEnd, Protocol):
    """A chunked-body decoder: wire bytes in, chunk data out (as views)."""

    @property
    def offset(self) -> int: ...

    def feed(self, data: BytesLike) -> list[memoryview]: ...

    def close(self) -> None:
        """The connection ended: IncompleteBody unless the body did."""


class ChunkedDemuxing(Decoder, BodyEnd, Protocol):
    """A chunked body carrying a multiplexed stream, decoded in one pass."""


Wire = TypeVar("Wire", bound=BodyEnd)


class ForwardsBodyEnd(Generic[Wire]):
    """``done`` and ``trailing`` of the wire-framing decoder wrapped, ``_wire``.

    Everything that wraps one (each backend's chunked classes around their
    chunk state, the body readers around a backend's decoder or a
    transport) says where the body stands by asking it: one source.
    """

    _wire: Wire

    @property
    def done(self) -> bool:
        return self._wire.done

    @property
    def trailing(self) -> bytes:
        return self._wire.trailing


def missing_detail(remaining: int) -> str:
    """What a chunked body cut short lacked, for IncompleteBody."""
    if remaining:
        return f"{remaining} bytes of chunk data missing"
    return "the last chunk never came"


class Failable:
    """The failure state of every decoder of both backends, one vocabulary.

    ``fail`` records an error (the first one stays) and raises nothing;
    ``check_usable`` raises StreamFailed once one was recorded (the decoder
    takes no more input, as h11 does); ``_fail_and_raise`` does both.
    """

    _error: Exception | None = None

    def check_usable(self) -> None:
        """Raises StreamFailed once the decoder failed: it takes no more input."""
        if self._error is not None:
            raise StreamFailed(self._error)

    def fail(self, error: Exception) -> None:
        """Records ``error`` as the failure (the first one stays); raises nothing.

        Also called from a layer above that lost payload (a sink raised).
        """
        self._error = self._error or error

    def _fail_and_raise(self, error: Exception) -> NoReturn:
        self.fail(error)
        raise error


class Demuxing(Failable):
    """What both backends' demuxers share: their failure state and ``close``."""

    def truncation(self) -> TruncatedFrame | None:
        """The error of the stream ending here: TruncatedFrame inside a frame, else None."""
        raise NotImplementedError

    def close(self) -> None:
        """Says the stream ended; TruncatedFrame if it ended inside a frame."""
        self.check_usable()
        error = self.truncation()
        if error is not None:
            self._fail_and_raise(error)


class Ending(Protocol):
    """What :func:`stream_end` needs of a demuxer (either backend's: a :class:`Demuxing`)."""

    def truncation(self) -> TruncatedFrame | None: ...

    def fail(self, error: Exception) -> None: ...

    def check_usable(self) -> None: ...


def stream_end(demuxer: Ending) -> FrameError | None:
    """The body ended, so the stream did: TruncatedFrame (failing ``demuxer``)
    when it ended inside a frame.  Checked at once, not left to ``close``: a
    reader that sees ``done`` must not take a cut stream for a whole one."""
    error = demuxer.truncation()
    if error is not None:
        demuxer.fail(error)
    return error
