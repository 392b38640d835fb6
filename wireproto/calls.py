"""The calls the first verbs need: ping, version, inspect, logs, attach, wait, exec.

Each function is pure: it returns a :class:`wireproto.http.Call` (the request
and how its response is framed) and refuses, with InvalidVersion, a parameter
the API version in use does not have.  ``version=None`` sends an unprefixed
path, which the engine serves at its newest version, so nothing is refused.
(The full endpoint catalogue is to live in ``wireproto.api``; these move
there when it exists.)
"""

from __future__ import annotations

from collections.abc import Sequence

from wireproto.errors import InvalidVersion
from wireproto.http import BodyKind, Call, request
from wireproto.versions import ApiVersion

V = ApiVersion
# When each parameter or endpoint appeared (the API's "What's new" lists).
SINCE = {
    "_ping": V(1, 11),
    "logs": V(1, 11),
    "logs.tail": V(1, 13),
    "exec": V(1, 15),
    "exec.inspect": V(1, 16),
    "logs.since": V(1, 19),
    "wait.condition": V(1, 30),
    "logs.until": V(1, 35),
}


def require(feature: str, version: ApiVersion | None) -> None:
    """InvalidVersion unless ``version`` (None: the engine's newest) has ``feature``."""
    since = SINCE[feature]
    if version is not None and version < since:
        raise InvalidVersion(f"{feature} needs API {since} or newer; this call uses API {version}")


def ping(version: ApiVersion | None = None) -> Call:
    """``GET /_ping``: ``OK``, and on modern engines an Api-Version header."""
    require("_ping", version)
    return Call(request=request("GET", "/_ping", version=version), kind=BodyKind.BYTES)


def engine_version(version: ApiVersion | None = None) -> Call:
    """``GET /version``: the engine's version document."""
    return Call(request=request("GET", "/version", version=version), kind=BodyKind.DOCUMENT)


def inspect_container(container: str, version: ApiVersion | None = None) -> Call:
    """``GET /containers/(id)/json``."""
    target = request("GET", "/containers/{}/json", container, version=version)
    return Call(request=target, kind=BodyKind.DOCUMENT)


def logs(
    container: str,
    version: ApiVersion | None = None,
    *,
    follow: bool = False,
    timestamps: bool = False,
    tail: str | None = None,
    since: str | None = None,
    until: str | None = None,
    stdout: bool = True,
    stderr: bool = True,
    tty: bool | None = None,
) -> Call:
    """``GET /containers/(id)/logs`` (v1.11+): multiplexed, or raw with a TTY."""
    require("logs", version)
    for name, value in (("tail", tail), ("since", since), ("until", until)):
        if value is not None:
            require(f"logs.{name}", version)
    query = {
        "follow": follow or None,
        "stdout": stdout,
        "stderr": stderr,
        "timestamps": timestamps or None,
        "tail": tail,
        "since": since,
        "until": until,
    }
    req = request("GET", "/containers/{}/logs", container, version=version, query=query)
    return Call(request=req, kind=BodyKind.STDIO, tty=tty, endpoint="logs")


def attach(
    container: str,
    version: ApiVersion | None = None,
    *,
    stdin: bool = False,
    stdout: bool = True,
    stderr: bool = True,
    logs: bool = False,
    tty: bool | None = None,
) -> Call:
    """``POST /containers/(id)/attach?stream=1``, hijacked."""
    query = {"stream": True, "stdin": stdin, "stdout": stdout, "stderr": stderr, "logs": logs}
    req = request("POST", "/containers/{}/attach", container, version=version, query=query)
    return Call(request=req, kind=BodyKind.STDIO, hijack=True, tty=tty, endpoint="attach")


def wait(
    container: str, version: ApiVersion | None = None, *, condition: str | None = None
) -> Call:
    """``POST /containers/(id)/wait``: blocks until the container stops; ``StatusCode``."""
    if condition is not None:
        require("wait.condition", version)
    query = {"condition": condition}
    req = request("POST", "/containers/{}/wait", container, version=version, query=query)
    return Call(request=req, kind=BodyKind.DOCUMENT)


def exec_create(
    container: str,
    cmd: Sequence[str],
    version: ApiVersion | None = None,
    *,
    stdin: bool = False,
    tty: bool = False,
) -> Call:
    """``POST /containers/(id)/exec`` (v1.15+): creates an exec instance; ``Id``."""
    require("exec", version)
    config = {
        "AttachStdin": stdin,
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": tty,
        "Cmd": list(cmd),
    }
    req = request("POST", "/containers/{}/exec", container, version=version, json_body=config)
    return Call(request=req, kind=BodyKind.DOCUMENT)


def exec_start(exec_id: str, version: ApiVersion | None = None, *, tty: bool = False) -> Call:
    """``POST /exec/(id)/start``, hijacked: the command's output."""
    require("exec", version)
    body = {"Detach": False, "Tty": tty}
    req = request("POST", "/exec/{}/start", exec_id, version=version, json_body=body)
    return Call(request=req, kind=BodyKind.STDIO, hijack=True, tty=tty, endpoint="exec.start")


def exec_inspect(exec_id: str, version: ApiVersion | None = None) -> Call:
    """``GET /exec/(id)/json`` (v1.16+): ``Running`` and ``ExitCode``."""
    require("exec.inspect", version)
    req = request("GET", "/exec/{}/json", exec_id, version=version)
    return Call(request=req, kind=BodyKind.DOCUMENT)
