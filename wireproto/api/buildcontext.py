"""A build context as a tar stream, produced as it is sent (``POST /build``'s body).

Strategy: a generator walks the directory (sorted, so the same tree gives
the same bytes), writes each entry's tar header (PAX, so long names and
non-ASCII names survive) and reads each file in blocks of ``BLOCK`` bytes as
the consumer pulls: nothing is written to a temporary file and at most one
block plus one batch of headers is in memory, whatever the context's size.
The consumer (the exchange's request body) pulls the next piece only when
the socket took the previous one: that is the backpressure.

``.dockerignore`` rules (:mod:`wireproto.api.dockerignore`) decide what is
left out; an excluded directory is not even walked unless an exception could
re-include something in it.  Owners are written as root (uid/gid 0), as the
docker CLI does; modes and modification times are kept.  ``gzip=True``
compresses the stream (the engine detects the compression itself).
"""

from __future__ import annotations

import os
import stat
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from wireproto.api import dockerignore
from wireproto.errors import BuildContextError

BLOCK = 64 * 1024  # bytes read from a file at a time, and the size pieces are batched to
TAR_BLOCK = 512


def _header(name: str, st: os.stat_result, kind: bytes, size: int = 0, link: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime)
    info.size = size
    info.linkname = link
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def _file_blocks(path: Path, size: int) -> Iterator[bytes]:
    """The file's ``size`` bytes, then the padding to a whole tar block."""
    remaining = size
    try:
        with open(path, "rb") as handle:
            while remaining:
                block = handle.read(min(BLOCK, remaining))
                if not block:
                    raise BuildContextError(f"{path} shrank while it was sent")
                remaining -= len(block)
                yield block
            if handle.read(1):
                # The header already promised ``size`` bytes: a cut copy would be a
                # silently wrong image (the docker CLI fails here too).
                raise BuildContextError(f"{path} grew while it was sent (past {size} bytes)")
    except OSError as exc:
        raise BuildContextError(f"cannot read {path}: {exc.strerror}") from None
    pad = -size % TAR_BLOCK
    if pad:
        yield b"\0" * pad


class ContextWalker:
    """Walks ``root``, yielding ``(relative path, absolute path, stat)`` of what is sent."""

    def __init__(self, root: Path, matcher: dockerignore.Matcher) -> None:
        self.root = root
        self.matcher = matcher

    def entries(self) -> Iterator[tuple[str, Path, os.stat_result]]:
        # Depth first with a stack of listings, not recursion: a context may nest
        # deeper than Python's stack (the docker CLI walks any depth).
        Level = tuple[Iterator[tuple[str, Path, os.stat_result]], dockerignore.ParentHits | None]
        stack: list[Level] = [(self._listing(self.root, ""), None)]
        while stack:
            listing, parent = stack[-1]
            found = next(listing, None)
            if found is None:
                stack.pop()
                continue
            relative, path, st = found
            # The directory's pattern hits go down with the walk, as in the docker CLI.
            excluded, hits = self.matcher.decide(relative, parent)
            if stat.S_ISDIR(st.st_mode):
                if not excluded:
                    yield relative, path, st
                if not excluded or self.matcher.may_include_below(relative):
                    stack.append((self._listing(path, relative), hits))
            elif not excluded:
                yield relative, path, st

    @staticmethod
    def _listing(directory: Path, rel: str) -> Iterator[tuple[str, Path, os.stat_result]]:
        """``directory``'s entries, sorted by name, with their paths relative to the root."""
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            raise BuildContextError(f"cannot list {directory}: {exc.strerror}") from None
        for name in names:
            path = directory / name
            try:
                st = os.lstat(path)
            except OSError as exc:
                raise BuildContextError(f"cannot stat {path}: {exc.strerror}") from None
            yield (f"{rel}/{name}" if rel else name), path, st


_SPECIAL = {
    stat.S_IFIFO: tarfile.FIFOTYPE,
    stat.S_IFCHR: tarfile.CHRTYPE,
    stat.S_IFBLK: tarfile.BLKTYPE,
}


def tar_entries(walker: ContextWalker) -> Iterator[bytes]:
    """The uncompressed tar stream, piece by piece (not yet batched).

    As the docker CLI's archive: a file seen again through another hard link
    is a LNKTYPE member naming the first; FIFOs and devices are members of
    their type (never opened); sockets are left out.
    """
    first_names: dict[tuple[int, int], str] = {}
    for relative, path, st in walker.entries():
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            yield _header(relative + "/", st, tarfile.DIRTYPE)
        elif stat.S_ISLNK(mode):
            yield _header(relative, st, tarfile.SYMTYPE, link=os.readlink(path))
        elif stat.S_ISREG(mode):
            inode = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and inode in first_names:
                yield _header(relative, st, tarfile.LNKTYPE, link=first_names[inode])
                continue
            if st.st_nlink > 1:
                first_names[inode] = relative
            yield _header(relative, st, tarfile.REGTYPE, size=st.st_size)
            yield from _file_blocks(path, st.st_size)
        elif stat.S_IFMT(mode) in _SPECIAL:
            yield _header(relative, st, _SPECIAL[stat.S_IFMT(mode)])
    yield b"\0" * (2 * TAR_BLOCK)  # end of archive


def _batched(pieces: Iterator[bytes], size: int = BLOCK) -> Iterator[bytes]:
    batch: list[bytes] = []
    held = 0
    for piece in pieces:
        batch.append(piece)
        held += len(piece)
        if held >= size:
            yield b"".join(batch)
            batch, held = [], 0
    if batch:
        yield b"".join(batch)


def _gzipped(pieces: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    for piece in pieces:
        out = compressor.compress(piece)
        if out:
            yield out
    yield compressor.flush()


def tar_context(
    root: str | os.PathLike[str],
    *,
    dockerfile: str = "Dockerfile",
    gzip: bool = False,
    ignore: str | None = None,
) -> Iterator[bytes]:
    """The build context in ``root`` as a tar stream (an iterator of bytes pieces).

    ``ignore`` overrides the patterns of ``root/.dockerignore`` (None: read it).
    Errors (an unreadable file) raise :class:`BuildContextError` as the
    stream reaches them.
    """
    base = Path(root)
    if not base.is_dir():
        raise BuildContextError(f"build context {base} is not a directory")
    if ignore is None:
        ignore_file = base / ".dockerignore"
        try:
            # Bytes, not read_text: universal newlines would cut lines at a lone "\r".
            ignore = ignore_file.read_bytes().decode("utf-8", errors="surrogateescape")
        except FileNotFoundError:
            ignore = ""
        except OSError as exc:
            raise BuildContextError(f"cannot read {ignore_file}: {exc.strerror}") from None
    walker = ContextWalker(base, dockerignore.for_build(ignore, dockerfile))
    pieces = _batched(tar_entries(walker))
    return _gzipped(pieces) if gzip else pieces
