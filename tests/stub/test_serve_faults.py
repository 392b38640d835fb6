"""``wireproto serve`` as a process under clients that leave, a socket path that is taken,
and attach stdin nobody reads back; and ``wireproto logs | head`` ending as shell tools do.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.engine import Container, LogSpec, StubEngineProcess, server
from wireproto.engine.server import SocketPathTaken, StubEngine
from wireproto.exchange import Output

MIB = 1024 * 1024
SERVE = [sys.executable, "-m", "wireproto", "serve"]
BIG_LOGS = ["--log-size", str(64 * MIB), "--running"]


@pytest.fixture
def stub() -> Iterator[StubEngineProcess]:
    with StubEngineProcess(extra=BIG_LOGS, stderr=subprocess.PIPE) as process:
        yield process


def unix(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(path)
    return sock


def leave_abruptly(sock: socket.socket) -> None:
    """Closes with a reset (SO_LINGER 0), as a killed client's kernel may."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def still_serving(stub: StubEngineProcess) -> None:
    assert stub.proc is not None and stub.proc.poll() is None, "the server died"
    assert os.path.exists(stub.socket_path)
    with Client(stub.host) as client:
        assert client.request(api.ping()).data == b"OK"


def server_log(stub: StubEngineProcess) -> str:
    """Stops the server (SIGTERM) and returns what it wrote on stderr."""
    assert stub.proc is not None and stub.proc.stderr is not None
    stub.proc.terminate()
    assert stub.proc.wait(timeout=10) == 0
    return stub.proc.stderr.read().decode()


# --- a peer leaving never kills the server ---------------------------------------------------


@pytest.mark.parametrize("abrupt", [False, True], ids=["close", "reset"])
def test_serve_survives_a_client_leaving_mid_logs(stub: StubEngineProcess, abrupt: bool) -> None:
    with unix(stub.socket_path) as sock:
        sock.sendall(b"GET /containers/bench/logs?stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(65536)
        if abrupt:
            leave_abruptly(sock)
    time.sleep(0.3)
    still_serving(stub)
    log = server_log(stub)
    assert "left during body" in log and "Traceback" not in log, log


def test_serve_survives_adapters_leaving_mid_logs(stub: StubEngineProcess, backend: str) -> None:
    """The blocking, asyncio and trio clients each stop reading after the first output."""
    trio = pytest.importorskip("trio")
    from wireproto.adapters.asyncio import Client as AsyncClient
    from wireproto.adapters.trio import Client as TrioClient

    call = api.logs("bench", tty=False)
    with Client(stub.host, backend=backend) as client:
        for event in client.stream(call):
            if isinstance(event, Output):
                break

    async def leave(client_class: type) -> None:
        async with (
            client_class(stub.host, backend=backend) as client,
            client.stream(call) as events,
        ):
            async for event in events:
                if isinstance(event, Output):
                    break

    asyncio.run(leave(AsyncClient))
    trio.run(leave, TrioClient)
    time.sleep(0.3)
    still_serving(stub)
    assert "Traceback" not in server_log(stub)


def test_serve_survives_a_client_leaving_mid_attach(stub: StubEngineProcess) -> None:
    request = (
        b"POST /containers/bench/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
        b"Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
    for abrupt in (False, True):
        with unix(stub.socket_path) as sock:
            sock.sendall(request)
            sock.recv(65536)
            sock.sendall(b"some stdin\n" * 1000)
            if abrupt:
                leave_abruptly(sock)
        time.sleep(0.3)
        still_serving(stub)
    log = server_log(stub)
    assert log.count("the client left") == 2 and "Traceback" not in log, log


def test_serve_survives_more_body_than_declared(stub: StubEngineProcess) -> None:
    """A body past its Content-Length is a malformed next request: refused, closed, serve on."""
    with unix(stub.socket_path) as sock:
        sock.sendall(
            b"POST /containers/bench/wait HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
        )
        # the server may answer and close while this is still being sent
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"x" * (4 * MIB))
    time.sleep(0.3)
    still_serving(stub)
    log = server_log(stub)
    assert "refused a request (4" in log and "Traceback" not in log, log


# --- our own stdout closing ends the command quietly --------------------------------------------


def test_logs_into_a_closed_pipe_ends_quietly() -> None:
    """``wireproto logs bench | head -1``: killed by SIGPIPE as cat would be, nothing on stderr."""
    extra = ["--log-size", str(16 * MIB), "--stderr-ratio", "0"]
    with StubEngineProcess(extra=extra) as stub:
        for verb in (["logs", "bench"], ["events", "--since", "0", "--until", "1800000000"]):
            command = [sys.executable, "-m", "wireproto", "-H", stub.host, *verb]
            shell = f"set -o pipefail; {' '.join(command)} | head -c 1 >/dev/null"
            result = subprocess.run(
                ["bash", "-c", shell], capture_output=True, timeout=60, check=False
            )
            assert result.stderr == b"", result.stderr.decode()
            if verb[0] == "logs":  # events fit in the pipe: head leaves after they are written
                assert result.returncode == 128 + signal.SIGPIPE


def test_a_stdout_whose_reader_left_is_seen_as_closed() -> None:
    """The probe that tells our own broken stdout from a peer's broken socket."""
    probe = "from wireproto.cli import stdout_closed; import sys; sys.exit(stdout_closed())"
    read, write = os.pipe()
    os.close(read)
    closed = subprocess.run([sys.executable, "-c", probe], stdout=write, check=False)
    os.close(write)
    read, write = os.pipe()
    open_pipe = subprocess.run([sys.executable, "-c", probe], stdout=write, check=False)
    os.close(write)
    os.close(read)
    assert (closed.returncode, open_pipe.returncode) == (1, 0)


# --- --socket takes a free path or a stale socket only ----------------------------------------


def serve_at(path: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*SERVE, "--socket", str(path)], capture_output=True, timeout=30, check=False
    )


def test_a_regular_file_is_kept_and_refused(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    path.write_bytes(b"precious")
    result = serve_at(path)
    assert result.returncode == 1 and b"not a socket" in result.stderr, result.stderr
    assert path.read_bytes() == b"precious"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    path.mkdir()
    result = serve_at(path)
    assert result.returncode == 1 and b"not a socket" in result.stderr, result.stderr
    assert path.is_dir()


def test_a_live_socket_is_kept_and_refused(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen(8)
        inode = path.stat().st_ino
        result = serve_at(path)
        assert result.returncode == 1 and b"live socket" in result.stderr, result.stderr
        assert b"Traceback" not in result.stderr
        assert path.stat().st_ino == inode
        with unix(str(path)):  # still the listener's
            listener.accept()[0].close()


def test_a_stale_socket_is_replaced_and_removed_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))  # bound, never listening, closed: a stale socket file
    with StubEngineProcess(socket_path=str(path)) as stub:
        still_serving(stub)
    assert not path.exists()  # the server removed the socket it made


def test_a_socket_replaced_meanwhile_is_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    with StubEngineProcess(socket_path=str(path)), socket.socket(socket.AF_UNIX) as other:
        path.unlink()
        other.bind(str(path))  # someone else's socket now
        other.listen(1)
        inode = path.stat().st_ino
    assert path.exists() and path.stat().st_ino == inode


class _RacingProbe(socket.socket):
    """A socket whose refused connect lets a rival take the path first: the rival removes
    the stale socket and binds its own, live one, right after the claim's probe."""

    rival: socket.socket | None = None

    def connect(self, address: Any) -> None:
        try:
            super().connect(address)
        except ConnectionRefusedError:
            if type(self).rival is None:
                os.unlink(address)
                rival = socket.socket(socket.AF_UNIX)
                rival.bind(address)
                rival.listen(8)
                type(self).rival = rival
            raise


def test_a_live_socket_taking_the_path_during_the_claim_is_never_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))  # a stale socket file: what the claim probes and finds refused
    monkeypatch.setattr(server.socket, "socket", _RacingProbe)
    engine = StubEngine(socket_path=str(path))
    with pytest.raises(SocketPathTaken):
        engine.listen()
    rival = _RacingProbe.rival
    assert rival is not None
    with rival, unix(str(path)):  # the rival still listens there
        rival.accept()[0].close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker.sock"]  # no name left behind


def test_in_process_engine_refuses_a_file(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    path.write_bytes(b"precious")
    with pytest.raises(SocketPathTaken):
        StubEngine(socket_path=str(path)).listen()
    assert path.read_bytes() == b"precious"


# --- attach stdin is read at the pace its echo is read -------------------------------------------


def rss(pid: int) -> int:
    """Resident set size in bytes, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_unread_attach_echo_bounds_the_server() -> None:
    """64 MiB of stdin whose echo is not read: the server's memory stays far below it;
    read afterwards, the echo is byte-exact."""
    size = 64 * MIB
    block = bytes(range(256)) * 4096  # 1 MiB
    extra = ["--log-size", "1000", "--tty", "--running"]
    bench = Container("b" * 64, "bench", tty=True, output=LogSpec(size=1000, mix="line"))
    with StubEngineProcess(extra=extra) as stub, unix(stub.socket_path) as sock:
        assert stub.proc is not None
        sock.sendall(
            b"POST /containers/bench/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n"
            b"Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        )
        received = sock.recv(65536)
        head, _, first = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        before = rss(stub.proc.pid)
        sent = [0]

        def send_stdin() -> None:
            for _ in range(size // len(block)):
                sock.sendall(block)
                sent[0] += len(block)
            sock.shutdown(socket.SHUT_WR)

        sock.settimeout(None)
        writer = threading.Thread(target=send_stdin, daemon=True)
        writer.start()
        stalled_at = wait_for_stall(sent)
        growth = rss(stub.proc.pid) - before
        assert stalled_at < size // 2, "nothing held the writer back"
        assert growth < 16 * MIB, f"the server grew by {growth} bytes"

        digest = hashlib.sha256(first)
        while piece := sock.recv(1 << 20):
            digest.update(piece)
        writer.join(timeout=30)
    wanted = hashlib.sha256(bench.expected()[0] + block * (size // len(block)))
    assert digest.hexdigest() == wanted.hexdigest()


def wait_for_stall(sent: list[int]) -> int:
    """Waits until the writer has made no progress for half a second; returns where it is."""
    last, still_since = -1, time.monotonic()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if sent[0] != last:
            last, still_since = sent[0], time.monotonic()
        elif time.monotonic() - still_since > 0.5:
            break
    return last
