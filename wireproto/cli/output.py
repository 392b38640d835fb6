"""Where container output goes: straight to file descriptors, in the engine's order."""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterable, Sequence

from wireproto.codec.sinks import Writable
from wireproto.exchange import Output

SYSTEMERR = 3  # the engine's own error stream: reported at the end, not written out
# The most buffers one writev takes (POSIX's IOV_MAX; Linux allows 1024).
IOV_MAX = 1024

Buffer = bytes | bytearray | memoryview


class FdWriter:
    """A sink writing straight to a file descriptor (no buffering, nothing lost)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: memoryview, /) -> int:
        view = memoryview(data)
        total = len(view)
        while view:
            view = view[os.write(self.fd, view) :]
        return total


class Collector:
    """A sink gathering the engine's systemerr stream (3), to report it at the end."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: memoryview, /) -> int:
        self.data += data
        return len(data)


def same_file(fd_a: int, fd_b: int) -> bool:
    """Whether two descriptors name one file (``2>&1``, or both a terminal)."""
    try:
        a, b = os.fstat(fd_a), os.fstat(fd_b)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def one_destination(fd_a: int, fd_b: int) -> bool:
    """Whether bytes written to either descriptor land in one place, in the
    order written: one pipe, terminal, socket or device, or one regular file
    through one offset.  Then both streams can go out through ``fd_a`` in
    large writes, instead of one write per switch between them.
    """
    if not same_file(fd_a, fd_b):
        return False
    return not stat.S_ISREG(os.fstat(fd_a).st_mode) or shares_offset(fd_a, fd_b)


def shares_offset(fd_a: int, fd_b: int) -> bool:
    """Whether two descriptors of a regular file are one open file (``2>&1``),
    not two opens with an offset each (``>f 2>f``).

    Status flags belong to the open file, not the descriptor: O_NONBLOCK,
    which regular files ignore, is flipped on one, looked for on the other,
    and put back.
    """
    flags = fcntl.fcntl(fd_a, fcntl.F_GETFL)
    fcntl.fcntl(fd_a, fcntl.F_SETFL, flags ^ os.O_NONBLOCK)
    try:
        return (fcntl.fcntl(fd_b, fcntl.F_GETFL) ^ flags) & os.O_NONBLOCK != 0
    finally:
        fcntl.fcntl(fd_a, fcntl.F_SETFL, flags)


def write_all(fd: int, buffers: Sequence[Buffer]) -> None:
    """Writes ``buffers`` in order, up to IOV_MAX of them a call, whatever a
    call leaves unwritten written after."""
    pending = list(buffers)
    start = 0
    while start < len(pending):
        group = pending[start : start + IOV_MAX]
        written = os.writev(fd, group)
        if written == sum(map(len, group)):
            start += len(group)
            continue
        for piece in group:  # a short write: resume inside the piece it stopped in
            if written < len(piece):
                pending[start] = memoryview(piece)[written:]
                break
            written -= len(piece)
            start += 1


def write_pieces(events: Iterable[object], systemerr: Collector) -> None:
    """Writes ordered Output pieces (the path for one shared output file):
    stdin's and stdout's to fd 1, stderr's to fd 2, as the docker CLI does."""
    if one_destination(1, 2):
        write_merged(events, systemerr)
        return
    writers: dict[int, Writable] = {
        0: FdWriter(1),
        1: FdWriter(1),
        2: FdWriter(2),
        SYSTEMERR: systemerr,
    }
    for event in events:
        if isinstance(event, Output):
            for stream, piece in event.pieces:
                writers[stream].write(memoryview(piece))


def write_merged(events: Iterable[object], systemerr: Collector) -> None:
    """:func:`write_pieces` when fds 1 and 2 are one destination: each
    event's pieces in one writev to fd 1."""
    for event in events:
        if not isinstance(event, Output):
            continue
        pieces = event.pieces
        out = [piece for stream, piece in pieces if stream != SYSTEMERR]
        if len(out) != len(pieces):
            for stream, piece in pieces:
                if stream == SYSTEMERR:
                    systemerr.write(memoryview(piece))
        write_all(1, out)
