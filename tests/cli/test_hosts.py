"""-H, DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI reads them.

Real sockets on loopback: a plain TCP listener answering a ping, and a TLS one
that demands a client certificate (as an engine started with ``--tlsverify``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sockets import (
    PING_OK,
    TLSVerifyEngine,
    accept_each,
    answer,
    make_certificates,
)
from wireproto.cli.errors import UsageError
from wireproto.cli.hosts import docker_host

# (what the user gives, what docker connects to: its "Cannot connect ... at X" names X)
NORMALISED = [
    ("127.0.0.1:2375", "tcp://127.0.0.1:2375"),
    ("127.0.0.1", "tcp://127.0.0.1:2375"),
    ("localhost:9", "tcp://localhost:9"),
    (":9", "tcp://localhost:9"),
    ("tcp://", "tcp://localhost:2375"),
    ("tcp://127.0.0.1", "tcp://127.0.0.1:2375"),
    ("tcp://127.0.0.1:9", "tcp://127.0.0.1:9"),
    ("  127.0.0.1:9 ", "tcp://127.0.0.1:9"),
    ("[::1]:9", "tcp://[::1]:9"),
    ("unix:///tmp/x.sock", "unix:///tmp/x.sock"),
]


@pytest.mark.parametrize(("given", "expected"), NORMALISED)
def test_hosts_as_docker_completes_them(given: str, expected: str) -> None:
    assert docker_host(given, {}) == expected
    assert docker_host(None, {"DOCKER_HOST": given}) == expected
    assert docker_host(given, {"DOCKER_HOST": "unix:///elsewhere"}) == expected  # -H first


def test_no_host_is_the_default_and_fd_is_refused() -> None:
    assert docker_host(None, {}) is None and docker_host("", {"DOCKER_HOST": ""}) is None
    for bad in ("fd://", "fd://3", "tcp://x:port", "tcp://a://b"):
        with pytest.raises(UsageError):
            docker_host(bad, {})


@pytest.mark.parametrize(("given", "expected"), NORMALISED[:7])
def test_docker_names_the_same_address(given: str, expected: str) -> None:
    cli = os.environ.get("WIREPROTO_DOCKER_CLI") or shutil.which("docker")
    if cli is None:
        pytest.skip("needs the docker CLI")
    closed = subprocess.run(
        [cli, "-H", given, "version"],
        capture_output=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent"},
        timeout=60,
    )
    said = re.search(rb"Cannot connect to the Docker daemon at (\S+?)\.? Is", closed.stderr)
    assert said is not None, closed.stderr
    assert said.group(1).decode() == expected


def wireproto(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return subprocess.run(
        [sys.executable, "-m", "wireproto", *args],
        capture_output=True,
        env={**base, **env},
        timeout=60,
    )


@pytest.fixture
def tcp_engine() -> Iterator[int]:
    """A loopback TCP listener answering each connection's first request with a ping."""
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=accept_each, args=(listener, answer(PING_OK)), daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_a_bare_address_is_tcp(tcp_engine: int) -> None:
    for args, env in [
        (["-H", f"127.0.0.1:{tcp_engine}"], {}),
        (["-H", f"tcp://127.0.0.1:{tcp_engine}"], {}),
        ([], {"DOCKER_HOST": f"127.0.0.1:{tcp_engine}"}),
        (["-H", f":{tcp_engine}"], {}),  # localhost
    ]:
        done = wireproto(*args, "ping", env=env)
        assert (done.returncode, done.stdout) == (0, b"OK (API version 1.41)\n"), done.stderr


def test_fd_is_a_clear_usage_error() -> None:
    done = wireproto("-H", "fd://", "ping", env={})
    assert done.returncode == 2 and b"fd://" in done.stderr and b"Traceback" not in done.stderr


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@needs_openssl
@pytest.mark.parametrize("how", ["-H", "DOCKER_HOST"])
def test_tls_verify_from_the_environment(tmp_path: Path, how: str) -> None:
    engine = TLSVerifyEngine(tmp_path, [PING_OK])
    address = f"localhost:{engine.port}"
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
    args = ["-H", address] if how == "-H" else []
    if how == "DOCKER_HOST":
        env["DOCKER_HOST"] = address
    done = wireproto(*args, "ping", env=env)
    engine.close()
    assert (done.returncode, done.stdout) == (0, b"OK (API version 1.41)\n"), done.stderr
    assert engine.seen and engine.seen[0].startswith(b"GET /_ping HTTP/1.1\r\n")


# The listener's handshake fails (that is the point): its thread's exception is expected.
handshake_fails = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


@needs_openssl
@handshake_fails
def test_tls_verify_refuses_an_engine_signed_by_another_ca(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    (tmp_path / "client").mkdir()
    engine = TLSVerifyEngine(tmp_path / "engine", [PING_OK])
    make_certificates(tmp_path / "client")  # another CA, another client certificate
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path / "client")}
    done = wireproto("-H", f"localhost:{engine.port}", "ping", env=env)
    assert done.returncode in (1, 3) and done.stdout == b""
    assert b"certificate" in done.stderr.lower() and b"Traceback" not in done.stderr


@needs_openssl
@handshake_fails
def test_without_tls_verify_the_cert_path_is_not_used(tmp_path: Path) -> None:
    engine = TLSVerifyEngine(tmp_path, [PING_OK])
    done = wireproto(
        "-H", f"localhost:{engine.port}", "ping", env={"DOCKER_CERT_PATH": str(tmp_path)}
    )
    assert done.returncode != 0 and done.stdout == b""  # plain HTTP to a TLS engine
