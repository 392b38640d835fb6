"""Container output to file descriptors: in order, complete, in few writes.

When stdout and stderr are one destination (``2>&1`` into a pipe, a file or
/dev/null, or both a terminal), each Output event goes out in one writev
instead of one write per switch between the streams.  Real descriptors are
used throughout (pipes, files, /dev/null); only ``os.writev`` is wrapped
where a test counts calls or forces a short write.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wireproto.cli import output
from wireproto.exchange import Output


def pieces(count: int) -> list[tuple[int, bytes]]:
    """Log lines switching between stdout and stderr, a few stdin and systemerr ones."""
    streams = (1, 2, 1, 1, 2, 0, 1, 3)
    return [(streams[i % len(streams)], b"line %d\n" % i) for i in range(count)]


def expected(items: list[tuple[int, bytes]]) -> bytes:
    return b"".join(p for s, p in items if s != output.SYSTEMERR)


@contextmanager
def as_stdout_and_stderr(fd_out: int, fd_err: int) -> Iterator[None]:
    """Points fds 1 and 2 at the given descriptors for the block, restored after."""
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def drain(fd: int, into: bytearray) -> threading.Thread:
    def run() -> None:
        while data := os.read(fd, 65536):
            into.extend(data)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_one_pipe_is_one_destination() -> None:
    read_end, write_end = os.pipe()
    other_read, other_write = os.pipe()
    try:
        dup = os.dup(write_end)
        assert output.one_destination(write_end, dup)
        assert not output.one_destination(write_end, other_write)
        os.close(dup)
    finally:
        for fd in (read_end, write_end, other_read, other_write):
            os.close(fd)


def test_a_file_is_one_destination_only_through_one_offset(tmp_path: Path) -> None:
    path = tmp_path / "out"
    first = os.open(path, os.O_WRONLY | os.O_CREAT)
    shared = os.dup(first)  # 2>&1
    second = os.open(path, os.O_WRONLY)  # >f 2>f: an offset each
    try:
        flags = fcntl.fcntl(first, fcntl.F_GETFL)
        assert output.one_destination(first, shared)
        assert not output.one_destination(first, second)
        assert fcntl.fcntl(first, fcntl.F_GETFL) == flags  # the probe put the flag back
    finally:
        for fd in (first, shared, second):
            os.close(fd)


def test_dev_null_twice_is_one_destination() -> None:
    first, second = os.open(os.devnull, os.O_WRONLY), os.open(os.devnull, os.O_WRONLY)
    try:
        assert output.one_destination(first, second)
    finally:
        os.close(first)
        os.close(second)


@pytest.mark.parametrize("count", [1, 7, 1500])
def test_merged_pieces_keep_their_order_in_one_writev_an_event(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = pieces(count)
    calls: list[int] = []
    real_writev = os.writev

    def counted(fd: int, buffers: list[bytes]) -> int:
        calls.append(len(buffers))
        return real_writev(fd, buffers)

    monkeypatch.setattr(output.os, "writev", counted)
    read_end, write_end = os.pipe()
    got = bytearray()
    reader = drain(read_end, got)
    systemerr = output.Collector()
    try:
        with as_stdout_and_stderr(write_end, write_end):
            output.write_pieces([Output(pieces=items), Output(pieces=items)], systemerr)
    finally:
        os.close(write_end)
        reader.join()
        os.close(read_end)
    assert bytes(got) == expected(items) * 2
    assert bytes(systemerr.data) == b"".join(p for s, p in items if s == 3) * 2
    per_event = -(-sum(1 for s, _ in items if s != 3) // output.IOV_MAX)
    assert calls == [min(output.IOV_MAX, n) for n in calls] and len(calls) == 2 * per_event


def test_a_short_write_is_resumed_inside_the_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """writev may write less than asked (a signal, a full disk's last blocks):
    the rest goes out next, from the byte where it stopped."""
    real_writev = os.writev

    def short(fd: int, buffers: list[bytes]) -> int:
        data = b"".join(bytes(b) for b in buffers)
        return real_writev(fd, [data[: max(1, len(data) // 3 + 1)]])

    monkeypatch.setattr(output.os, "writev", short)
    path = tmp_path / "out"
    items = [(1, bytes([65 + i % 26]) * (i + 1)) for i in range(60)]
    with path.open("wb") as file:
        output.write_all(file.fileno(), [p for _, p in items])
    assert path.read_bytes() == b"".join(p for _, p in items)


def test_separate_files_keep_a_write_per_piece_and_stream(tmp_path: Path) -> None:
    out_path, err_path = tmp_path / "out", tmp_path / "err"
    items = pieces(40)
    with (
        out_path.open("wb") as out,
        err_path.open("wb") as err,
        as_stdout_and_stderr(out.fileno(), err.fileno()),
    ):
        output.write_pieces([Output(pieces=items)], output.Collector())
    assert out_path.read_bytes() == b"".join(p for s, p in items if s in (0, 1))
    assert err_path.read_bytes() == b"".join(p for s, p in items if s == 2)


def test_two_opens_of_one_file_write_each_piece_to_its_own_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``>f 2>f``: two offsets, so the streams are not merged into one (the
    docker CLI overwrites the same way); nothing goes through writev."""
    monkeypatch.setattr(output.os, "writev", None)
    path = tmp_path / "out"
    first = os.open(path, os.O_WRONLY | os.O_CREAT)
    second = os.open(path, os.O_WRONLY)
    try:
        with as_stdout_and_stderr(first, second):
            output.write_pieces([Output(pieces=[(1, b"aaaa"), (2, b"bb")])], output.Collector())
    finally:
        os.close(first)
        os.close(second)
    assert path.read_bytes() == b"bbaa"
