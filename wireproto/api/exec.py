"""Exec endpoints (API 1.15+): run a command in a running container.

Each function is pure: it returns a :class:`wireproto.http.Call` and refuses,
with UnsupportedInVersion, what ``version`` lacks (None: the engine's newest).
"""

from __future__ import annotations

from collections.abc import Sequence

from wireproto.api import gates
from wireproto.api._common import make
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion


def exec_create(
    container: str,
    cmd: Sequence[str],
    version: ApiVersion | None = None,
    *,
    stdin: bool = False,
    stdout: bool = True,
    stderr: bool = True,
    tty: bool = False,
    env: Sequence[str] = (),
    user: str | None = None,
    workdir: str | None = None,
) -> Call:
    """``POST /containers/(id)/exec`` (1.15+): creates an exec instance; 201 ``{"Id"}``.

    ``env`` (``K=V`` strings, 1.25+), ``user`` (1.19+) and ``workdir`` (1.35+)
    are sent only when set.
    """
    gates.require("exec", version)
    config: dict[str, object] = {
        "AttachStdin": stdin,
        "AttachStdout": stdout,
        "AttachStderr": stderr,
        "Tty": tty,
        "Cmd": list(cmd),
    }
    if env:
        gates.require("exec.env", version)
        config["Env"] = list(env)
    if user:
        gates.require("exec.user", version)
        config["User"] = user
    if workdir:
        gates.require("exec.workdir", version)
        config["WorkingDir"] = workdir
    return make(
        "POST",
        "/containers/{}/exec",
        container,
        version=version,
        json_body=config,
        kind=BodyKind.DOCUMENT,
        statuses=(201,),
    )


def exec_start(
    exec_id: str, version: ApiVersion | None = None, *, tty: bool = False, detach: bool = False
) -> Call:
    """``POST /exec/(id)/start`` (1.15+), hijacked: the command's output (stdin up).

    With ``detach`` the engine starts it and answers at once (no stream).
    """
    gates.require("exec", version)
    streamed = not detach  # detached, the engine answers at once: no stream, no hijack
    statuses = (101, 200) if streamed else (200,)
    if gates.has("exec.start.created", version):
        statuses = (*statuses, 201)
    return make(
        "POST",
        "/exec/{}/start",
        exec_id,
        version=version,
        json_body={"Detach": detach, "Tty": tty},
        kind=BodyKind.STDIO if streamed else BodyKind.EMPTY,
        statuses=statuses,
        hijack=streamed,
        tty=tty if streamed else None,
        endpoint="exec.start" if streamed else "",
    )


def exec_resize(exec_id: str, height: int, width: int, version: ApiVersion | None = None) -> Call:
    """``POST /exec/(id)/resize?h=&w=`` (1.15+): the exec's TTY size, in characters."""
    gates.require("exec.resize", version)
    return make(
        "POST",
        "/exec/{}/resize",
        exec_id,
        version=version,
        query={"h": height, "w": width},
        kind=BodyKind.EMPTY,
        statuses=(200, 201),
    )


def exec_inspect(exec_id: str, version: ApiVersion | None = None) -> Call:
    """``GET /exec/(id)/json`` (1.16+): ``Running``, ``ExitCode``, ``ProcessConfig``, ..."""
    gates.require("exec.inspect", version)
    return make(
        "GET", "/exec/{}/json", exec_id, version=version, kind=BodyKind.DOCUMENT, statuses=(200,)
    )
