"""A container's filesystem as the stub engine models it: a few files, tarred on demand.

Strategy: nothing of the host is read.  Every container has the files the
engine writes into it (``/etc/hostname``, ``/etc/hosts``, ``/etc/resolv.conf``)
and a ``/bin/sh`` standing for its image, enough for ``export`` (the whole
tree) and ``copy`` (one file or directory, archived under its base name, as
the engine's archive code names it) to answer real tar streams.
"""

from __future__ import annotations

import io
import posixpath
import tarfile

# The time stamped on every member: the scripted epoch (2023-11-14T22:13:20Z).
MTIME = 1_700_000_000


def files(container_id: str, name: str) -> dict[str, bytes]:
    """The container's files by absolute path."""
    host = container_id[:12]
    return {
        "/bin/sh": b"#!stub: the image's shell\n",
        "/etc/hostname": f"{host}\n".encode(),
        "/etc/hosts": f"127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t{host}\n".encode(),
        "/etc/resolv.conf": b"nameserver 127.0.0.53\n",
        "/etc/wireproto-name": f"{name}\n".encode(),
    }


def archive(tree: dict[str, bytes], resource: str = "/") -> bytes | None:
    """A tar of ``resource`` (a file, or a directory and what is under it), or None when
    the tree has no such path.  The members are named from the resource's base name."""
    wanted = posixpath.normpath("/" + resource.lstrip("/"))
    if wanted in tree:
        return _tar([(posixpath.basename(wanted), tree[wanted])], [])
    prefix = "" if wanted == "/" else wanted
    under = sorted(path for path in tree if path.startswith(prefix + "/"))
    if not under:
        return None
    base = posixpath.basename(prefix)
    members = [(_member(base, path[len(prefix) + 1 :]), tree[path]) for path in under]
    return _tar(members, _directories(members))


def _member(base: str, relative: str) -> str:
    return posixpath.join(base, relative) if base else relative


def _directories(members: list[tuple[str, bytes]]) -> list[str]:
    found: set[str] = set()
    for name, _ in members:
        parent = posixpath.dirname(name)
        while parent and parent not in found:
            found.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(found)


def _tar(members: list[tuple[str, bytes]], directories: list[str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive_file:
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
            archive_file.addfile(info)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, MTIME
            archive_file.addfile(info, io.BytesIO(data))
    return out.getvalue()
