#!/usr/bin/env python3
"""Records raw HTTP transcripts from a real Docker engine, for the sans-IO tests.

Usage: DOCKER_HOST=unix:///path/docker.sock python scripts/record_transcripts.py [OUTDIR]

Each transcript is the exact bytes the engine sent for one request, written
by hand here (not by wireproto, so the tests check wireproto against an
independent request), over a raw unix socket: ``OUTDIR/NAME.response``.
``OUTDIR/index.json`` describes each one: the request bytes, how the call is
framed, the stdin sent after a hijack, and what a correct client must get
out of it: stdout and stderr as ``docker logs`` / ``docker exec`` print them
(in ``NAME.stdout`` and ``NAME.stderr``), an error status and message, or a
JSON document's fields.  Other bytes are kept in JSON as latin-1 strings, so
ASCII stays readable.

Needs the docker CLI and an image with busybox (WIREPROTO_IMAGE, default
wireproto-busybox:test).  Containers are named wp-rec-* and removed after.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

IMAGE = os.environ.get("WIREPROTO_IMAGE", "wireproto-busybox:test")
HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
NEWEST = "1.41"  # the test engine's newest API version (dockerd 20.10)

MUX_SCRIPT = (
    'printf "out1\\n"; sleep 0.05; printf "err1\\n" >&2; sleep 0.05; '
    'printf "\\000\\001\\377\\376 binary\\n"; sleep 0.05; '
    'head -c 17000 /dev/zero | tr "\\000" x; echo; sleep 0.05; '
    'printf "err2\\n" >&2; sleep 0.05; printf "no final newline"'
)
TTY_SCRIPT = 'printf "tty out\\n"; printf "tty err\\n" >&2; printf "end"'
EXEC_SCRIPT = "echo exec-out; echo exec-err >&2; exit 3"


def latin1(data: bytes) -> str:
    return data.decode("latin-1")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["docker", *args], capture_output=True, check=check)


def raw_exchange(request: bytes, stdin: bytes = b"", timeout: float = 20.0) -> bytes:
    """Sends ``request`` (then ``stdin`` and a half-close), reads until EOF."""
    path = HOST.removeprefix("unix://")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(request)
        if stdin:
            time.sleep(0.3)  # let the engine hijack first, as a client waits for 101
            sock.sendall(stdin)
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
        return bytes(received)


def http_request(
    method: str, target: str, body: bytes = b"", upgrade: bool = False, close: bool = True
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: docker", "User-Agent: wireproto-recorder"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    elif method == "POST":
        lines.append("Content-Length: 0")
    if upgrade:
        lines += ["Connection: Upgrade", "Upgrade: tcp"]
    elif close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Recorder:
    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.index: dict[str, dict[str, Any]] = {}

    def record(
        self,
        name: str,
        *,
        method: str,
        target: str,
        kind: str,
        expect: dict[str, Any],
        body: bytes = b"",
        hijack: bool = False,
        legacy: bool = False,
        stdin: bytes = b"",
        tty: bool | None = None,
        endpoint: str = "",
    ) -> bytes:
        request = http_request(method, target, body, upgrade=hijack and not legacy)
        response = raw_exchange(request, stdin)
        (self.outdir / f"{name}.response").write_bytes(response)
        for stream in ("stdout", "stderr"):
            if stream in expect:
                (self.outdir / f"{name}.{stream}").write_bytes(expect.pop(stream))
                expect[stream] = f"{name}.{stream}"
        self.index[name] = {
            "method": method,
            "target": target,
            "body": latin1(body),
            "kind": kind,
            "hijack": hijack,
            "legacy": legacy,
            "tty": tty,
            "endpoint": endpoint,
            "stdin": latin1(stdin),
            "request": latin1(request),
            "expect": {k: latin1(v) if isinstance(v, bytes) else v for k, v in expect.items()},
        }
        print(f"{name}: {len(response)} bytes", file=sys.stderr)
        return response


def plain_body(response: bytes) -> bytes:
    """The body of a small response, chunked or not."""
    head, body = response.split(b"\r\n\r\n", 1)
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    out = b""
    while True:
        size_line, body = body.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        if not size:
            return out
        out, body = out + body[:size], body[size + 2 :]


def finished_container(name: str, script: str, tty: bool = False) -> None:
    docker("rm", "-f", name, check=False)
    docker(
        "run",
        "--name",
        name,
        "--network",
        "none",
        *(["-t"] if tty else []),
        IMAGE,
        "sh",
        "-c",
        script,
    )


def logs_expect(name: str) -> dict[str, Any]:
    out = docker("logs", name)
    return {"status": 200, "stdout": out.stdout, "stderr": out.stderr}


def record_all(rec: Recorder) -> None:
    logs_query = "stdout=1&stderr=1"
    finished_container("wp-rec-mux", MUX_SCRIPT)
    finished_container("wp-rec-tty", TTY_SCRIPT, tty=True)
    for version, prefix in (("v1.12", "/v1.12"), ("newest", "")):
        rec.record(
            f"logs_mux_{version}",
            method="GET",
            kind="stdio",
            endpoint="logs",
            target=f"{prefix}/containers/wp-rec-mux/logs?{logs_query}",
            expect=logs_expect("wp-rec-mux"),
        )
        rec.record(
            f"error_404_logs_{version}",
            method="GET",
            kind="stdio",
            endpoint="logs",
            target=f"{prefix}/containers/wp-rec-nosuch/logs?{logs_query}",
            expect={"status": 404, "message": "No such container: wp-rec-nosuch"},
        )
    rec.record(
        "logs_tty_v1.12",
        method="GET",
        kind="stdio",
        endpoint="logs",
        tty=True,
        target=f"/v1.12/containers/wp-rec-tty/logs?{logs_query}",
        expect=logs_expect("wp-rec-tty"),
    )
    rec.record(
        "logs_tty_sniffed_v1.12",
        method="GET",
        kind="stdio",
        endpoint="logs",
        target=f"/v1.12/containers/wp-rec-tty/logs?{logs_query}",
        expect=logs_expect("wp-rec-tty"),
    )
    record_attach(rec)
    record_exec(rec)
    record_misc(rec)
    docker("rm", "-f", "wp-rec-mux", "wp-rec-tty", check=False)


def record_attach(rec: Recorder) -> None:
    stdin = b"hello\n" + bytes(range(256)) + b"\nworld\n"
    query = "stream=1&stdin=1&stdout=1&stderr=1"
    for name, prefix, legacy in (
        ("attach_101_newest", "", False),
        ("attach_101_v1.12", "/v1.12", False),
        ("attach_legacy_200_v1.12", "/v1.12", True),
    ):
        docker("rm", "-f", "wp-rec-cat", check=False)
        # create -i (no -d) sets StdinOnce: stdin EOF closes cat's stdin and it exits.
        docker("create", "-i", "--name", "wp-rec-cat", "--network", "none", IMAGE, "cat")
        docker("start", "wp-rec-cat")
        rec.record(
            name,
            method="POST",
            kind="stdio",
            endpoint="attach",
            hijack=True,
            legacy=legacy,
            stdin=stdin,
            target=f"{prefix}/containers/wp-rec-cat/attach?{query}",
            expect={"status": 200, "stdout": stdin, "stderr": b""},
        )
        docker("wait", "wp-rec-cat")
    docker("rm", "-f", "wp-rec-cat", check=False)
    rec.record(
        "error_404_attach_v1.12",
        method="POST",
        kind="stdio",
        endpoint="attach",
        hijack=True,
        legacy=True,
        target=f"/v1.12/containers/wp-rec-nosuch/attach?{query}",
        expect={"status": 404, "message": "No such container: wp-rec-nosuch"},
    )


def record_exec(rec: Recorder) -> None:
    docker("rm", "-f", "wp-rec-exec", check=False)
    docker("run", "-d", "--name", "wp-rec-exec", "--network", "none", IMAGE, "sleep", "600")
    create = json.dumps(
        {
            "AttachStdin": False,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": False,
            "Cmd": ["sh", "-c", EXEC_SCRIPT],
        }
    ).encode()
    response = rec.record(
        "exec_create",
        method="POST",
        kind="document",
        body=create,
        target=f"/v1.{NEWEST[2:]}/containers/wp-rec-exec/exec",
        expect={"status": 201, "keys": ["Id"]},
    )
    exec_id = json.loads(plain_body(response))["Id"]
    oracle = docker("exec", "wp-rec-exec", "sh", "-c", EXEC_SCRIPT, check=False)
    rec.record(
        "exec_start",
        method="POST",
        kind="stdio",
        endpoint="exec.start",
        hijack=True,
        body=json.dumps({"Detach": False, "Tty": False}).encode(),
        target=f"/v1.{NEWEST[2:]}/exec/{exec_id}/start",
        expect={"status": 200, "stdout": oracle.stdout, "stderr": oracle.stderr},
    )
    rec.record(
        "exec_inspect",
        method="GET",
        kind="document",
        target=f"/exec/{exec_id}/json",
        expect={"status": 200, "fields": {"ExitCode": oracle.returncode}},
    )
    docker("rm", "-f", "wp-rec-exec", check=False)
    docker("rm", "-f", "wp-rec-stopped", check=False)
    docker("run", "--name", "wp-rec-stopped", "--network", "none", IMAGE, "true")
    for version, prefix in (("v1.24", "/v1.24"), ("newest", "")):
        rec.record(
            f"error_409_exec_{version}",
            method="POST",
            kind="document",
            body=create,
            target=f"{prefix}/containers/wp-rec-stopped/exec",
            expect={"status": 409, "message_contains": "is not running"},
        )
    docker("rm", "-f", "wp-rec-stopped", check=False)


def record_misc(rec: Recorder) -> None:
    rec.record(
        "ping_v1.12",
        method="GET",
        kind="bytes",
        target="/v1.12/_ping",
        expect={"status": 200, "body": b"OK", "api_version": NEWEST},
    )
    rec.record(
        "ping_newest",
        method="GET",
        kind="bytes",
        target="/_ping",
        expect={"status": 200, "body": b"OK", "api_version": NEWEST},
    )
    rec.record(
        "version_v1.12",
        method="GET",
        kind="document",
        target="/v1.12/version",
        expect={"status": 200, "keys": ["ApiVersion", "Version"]},
    )
    rec.record(
        "error_400_too_old",
        method="GET",
        kind="document",
        target="/v1.5/version",
        expect={"status": 400, "message_contains": "is too old"},
    )


def main() -> None:
    outdir = Path(
        sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "tests" / "transcripts"
    )
    outdir.mkdir(parents=True, exist_ok=True)
    rec = Recorder(outdir)
    record_all(rec)
    index = json.dumps(rec.index, indent=1, sort_keys=True, ensure_ascii=True)
    (outdir / "index.json").write_text(index + "\n")


if __name__ == "__main__":
    main()
