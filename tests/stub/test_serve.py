"""``wireproto serve`` and StubEngineProcess: the stub engine as a command, in its own process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.engine import Container, LogSpec, StubEngineProcess
from wireproto.exchange import Output


def collect(client: Client, name: str, tty: bool = False) -> tuple[bytes, bytes]:
    got: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
    for event in client.stream(api.logs(name, tty=tty)):
        if isinstance(event, Output):
            for stream, piece in event.pieces:
                got[stream] += piece
    return bytes(got[1]), bytes(got[2])


def test_process_serves_the_bench_container_as_its_flags_say() -> None:
    extra = ["--log-size", "300000", "--mix", "tiny", "--stderr-ratio", "0.5"]
    bench = Container("b" * 64, "bench", output=LogSpec(size=300_000, mix="tiny", stderr_ratio=0.5))
    with StubEngineProcess(extra=extra) as stub, Client(stub.host) as client:
        assert collect(client, "bench") == bench.expected()
        assert client.request(api.ping()).data == b"OK"


def test_process_tty_running_and_rate() -> None:
    extra = ["--log-size", "200000", "--tty", "--running", "--rate", "1000000"]
    bench = Container("b" * 64, "bench", tty=True, output=LogSpec(size=200_000, mix="line"))
    with StubEngineProcess(extra=extra) as stub:
        started = time.monotonic()
        with Client(stub.host) as client:
            assert collect(client, "bench", tty=True) == bench.expected()
        assert time.monotonic() - started >= 0.15  # 200 kB at 1 MB/s: 0.2 s at best
        with socket.socket(socket.AF_UNIX) as sock:  # running: a followed stream stays open
            sock.connect(stub.socket_path)
            request = b"GET /containers/bench/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: x\r\n\r\n"
            sock.sendall(request)
            sock.settimeout(2)
            data = b""
            while len(data) < 200_000:
                data += sock.recv(65536)
            sock.settimeout(0.5)
            try:
                tail = sock.recv(65536)
            except TimeoutError:
                tail = b""
            assert not (data + tail).endswith(b"0\r\n\r\n")


def test_serve_on_tcp_and_stop_on_interrupt() -> None:
    argv = [sys.executable, "-m", "wireproto", "serve", "--tcp", "127.0.0.1:0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("listening on tcp://127.0.0.1:"), line
        host = line.split()[-1]
        with Client(host) as client:
            assert client.request(api.ping()).response.api_version == "1.41"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_a_bad_address() -> None:
    for where in (["--tcp", "nonsense"], ["--tcp", "10.1.2.3:2375"]):
        result = subprocess.run(
            [sys.executable, "-m", "wireproto", "serve", *where], capture_output=True, timeout=30
        )
        assert result.returncode == 2 and b"Traceback" not in result.stderr, result.stderr
