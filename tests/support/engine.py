"""pytest plugin: a real Docker Engine (and two registries) for tests marked ``engine``.

Strategy: one engine per test session, found in this order:

1. ``WIREPROTO_ENGINE_HOST`` is set (CI: ``.ci/run`` evals ``scripts/engine.sh env``): use it,
   with ``WIREPROTO_REGISTRY``, ``WIREPROTO_AUTH_REGISTRY``, ``WIREPROTO_REGISTRY_USER``,
   ``WIREPROTO_REGISTRY_PASSWORD``, ``WIREPROTO_DOCKER_CLI`` and ``WIREPROTO_DOCKER_CONFIG``.
2. An engine that ``scripts/engine.sh up`` left running in ``$WIREPROTO_ENGINE_DIR`` (default
   ``/tmp/wireproto-engine``): use it and leave it running.
3. As root with everything installed: ``scripts/engine.sh up`` into a private directory, and
   ``down`` at the end of the session (``WIREPROTO_ENGINE_AUTOSTART=0`` turns this off; it never
   installs packages).
4. Otherwise the tests that need an engine skip, or fail when ``WIREPROTO_REQUIRE_ENGINE=1``.

Fixtures: ``engine`` (:class:`Engine`), ``registry`` and ``auth_registry`` (:class:`Registry`),
all session-scoped. A test marked ``engine`` gets the engine even if it does not ask for it (so
it skips or fails like the others), and a test that asks for one of these fixtures is marked
``engine`` (so ``-m "not engine"`` deselects it).
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_SH = ROOT / "scripts" / "engine.sh"
DEFAULT_DIR = "/tmp/wireproto-engine"
IMAGE = "wireproto-busybox:test"
ENGINE_FIXTURES = ("engine", "registry", "auth_registry")
# Bringing up an engine takes seconds, installing nothing; this is a hang guard only.
UP_TIMEOUT = 600
# Environment variables that would point the docker CLI somewhere other than -H.
CLI_ENV_DROP = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


class EngineCommandError(AssertionError):
    """A docker CLI command failed; the message carries its stdout and stderr."""


@dataclass(frozen=True)
class Registry:
    """A local registry: ``address`` is ``127.0.0.1:PORT``; no credentials for the plain one."""

    address: str
    user: str | None = None
    password: str | None = None


@dataclass
class Engine:
    """A running engine and the docker CLI to drive it.

    ``docker()`` returns raw bytes (``docker logs`` output is compared byte for byte).
    Containers made by ``run_container`` are removed at the end of the session.
    """

    host: str
    socket_path: str | None
    cli: str
    image: str = IMAGE
    docker_config: str | None = None
    containers: list[str] = field(default_factory=list)

    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CLI_ENV_DROP}
        if self.docker_config:
            env["DOCKER_CONFIG"] = self.docker_config  # `docker login` never writes ~/.docker
        env["DOCKER_CLI_HINTS"] = "false"
        return env

    def docker(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``docker -H HOST ARGS...``; raise :class:`EngineCommandError` if it fails."""
        cmd = [self.cli, "-H", self.host, *args]
        proc = subprocess.run(
            cmd, input=input, capture_output=True, timeout=timeout, env=self.cli_env()
        )
        if check and proc.returncode != 0:
            raise EngineCommandError(_describe(cmd, proc))
        return proc

    def run_container(
        self,
        cmd: Sequence[str],
        tty: bool = False,
        *,
        image: str | None = None,
        env: Mapping[str, str] | None = None,
        volumes: Sequence[str] = (),
        user: str | None = None,
        extra_args: Sequence[str] = (),
        expect_exit: int | None = 0,
        timeout: float = 120,
    ) -> str:
        """Create and start a container (``--network none``), wait for it to exit, return its id.

        ``volumes`` are ``-v`` specs (``HOST:CONTAINER[:ro]``). The exit code must equal
        ``expect_exit`` (None: any). The container stays (its logs are what tests read) until
        the end of the session.
        """
        args = ["create", "--network", "none"]
        if tty:
            args.append("--tty")
        for key, value in (env or {}).items():
            args += ["--env", f"{key}={value}"]
        for volume in volumes:
            args += ["--volume", volume]
        if user is not None:
            args += ["--user", user]
        args += [*extra_args, image or self.image, *cmd]
        cid = self.docker(*args).stdout.decode().strip()
        self.containers.append(cid)
        self.docker("start", cid)
        code = int(self.docker("wait", cid, timeout=timeout).stdout.decode().strip())
        if expect_exit is not None and code != expect_exit:
            logs = self.docker("logs", cid, check=False)
            raise EngineCommandError(
                f"container {cid[:12]} ({list(cmd)!r}) exited {code}, not {expect_exit}\n"
                f"stdout: {logs.stdout[-2000:]!r}\nstderr: {logs.stderr[-2000:]!r}"
            )
        return cid

    def container_lifetime(self) -> tuple[str, str, str]:
        """Runs and removes a container between two times a second apart or more:
        (its id, since, until) as ``docker events`` takes them, for an event window."""
        since = f"{time.time() - 1:.3f}"
        cid = self.run_container(["true"])
        self.docker("rm", cid)
        self.containers.remove(cid)
        time.sleep(1.1)
        return cid, since, f"{time.time():.3f}"

    def remove_containers(self) -> None:
        if self.containers:
            self.docker("rm", "--force", "--volumes", *self.containers, check=False)
            self.containers.clear()


def _describe(cmd: Sequence[str], proc: subprocess.CompletedProcess[bytes]) -> str:
    out = proc.stdout.decode(errors="replace")[-4000:]
    err = proc.stderr.decode(errors="replace")[-4000:]
    return f"{shlex.join(cmd)} exited {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}"


# --- where the engine comes from ----------------------------------------------------------------


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail with WIREPROTO_REQUIRE_ENGINE=1 (CI must not pass by skipping)."""
    if os.environ.get("WIREPROTO_REQUIRE_ENGINE") == "1":
        pytest.fail(f"no Docker Engine (WIREPROTO_REQUIRE_ENGINE=1): {reason}", pytrace=False)
    pytest.skip(f"no Docker Engine: {reason}")


def ping(host: str, timeout: float = 5) -> bool:
    """True if ``GET /_ping`` on ``host`` (unix:// or tcp://) answers 200 OK."""
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(host[len("unix://") :])
        elif host.startswith("tcp://"):
            name, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
            sock = socket.create_connection((name, int(port)), timeout=timeout)
        else:
            return False
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
    except (OSError, ValueError):
        return False
    return reply.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")) and reply.endswith(b"\r\n\r\nOK")


def parse_env_lines(text: str) -> dict[str, str]:
    """The ``export NAME=VALUE`` lines that ``scripts/engine.sh env`` prints, as a dict."""
    env = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            env[name] = value
    return env


def engine_sh(*args: str, timeout: float = UP_TIMEOUT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WIREPROTO_ENGINE_NO_INSTALL="1")
    return subprocess.run(
        ["bash", str(ENGINE_SH), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def autostart_blocker() -> str | None:
    """Why this session cannot start its own engine, or None if it can."""
    if os.environ.get("WIREPROTO_ENGINE_AUTOSTART", "1") == "0":
        return "WIREPROTO_ENGINE_AUTOSTART=0 and WIREPROTO_ENGINE_HOST is not set"
    if not ENGINE_SH.exists():
        return f"{ENGINE_SH} not found"
    if os.geteuid() != 0:
        return "WIREPROTO_ENGINE_HOST is not set, and starting one needs root"
    needed = ("dockerd", "containerd", "docker-registry", "htpasswd", "curl", "busybox")
    missing = [
        name for name in needed if not (shutil.which(name) or Path("/usr/sbin", name).exists())
    ]
    if missing:
        return f"not installed: {', '.join(missing)} (scripts/engine.sh up installs them)"
    return None


@pytest.fixture(scope="session")
def wireproto_engine_env() -> Iterator[dict[str, str]]:
    """The ``WIREPROTO_*`` settings of the session's engine (see the module docstring)."""
    if os.environ.get("WIREPROTO_ENGINE_HOST"):
        env = {k: v for k, v in os.environ.items() if k.startswith("WIREPROTO_")}
        if not ping(env["WIREPROTO_ENGINE_HOST"]):
            unavailable(f"WIREPROTO_ENGINE_HOST={env['WIREPROTO_ENGINE_HOST']} does not answer")
        yield env
        return

    default_dir = os.environ.get("WIREPROTO_ENGINE_DIR", DEFAULT_DIR)
    if ENGINE_SH.exists() and ping(f"unix://{default_dir}/docker.sock"):
        listed = engine_sh("env", default_dir, timeout=30)
        if listed.returncode == 0:
            yield parse_env_lines(listed.stdout)
            return

    blocker = autostart_blocker()
    if blocker:
        unavailable(blocker)
    # Short, private path: unix socket paths are limited to 108 bytes.
    engine_dir = tempfile.mkdtemp(prefix="wp-engine-", dir="/tmp")
    try:
        up = engine_sh("up", engine_dir)
        if up.returncode != 0:
            unavailable(f"scripts/engine.sh up {engine_dir} failed:\n{up.stderr[-3000:]}")
        listed = engine_sh("env", engine_dir, timeout=30)
        if listed.returncode != 0:
            unavailable(f"scripts/engine.sh env {engine_dir} failed:\n{listed.stderr[-3000:]}")
        yield parse_env_lines(listed.stdout)
    finally:
        down = engine_sh("down", engine_dir)
        if down.returncode == 0 and not _mounted_under(engine_dir):
            shutil.rmtree(engine_dir, ignore_errors=True)


def _mounted_under(path: str) -> bool:
    prefix = path.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as mounts:
        return any(line.split()[4].startswith(prefix) for line in mounts)


@pytest.fixture(scope="session")
def engine(wireproto_engine_env: dict[str, str]) -> Iterator[Engine]:
    env = wireproto_engine_env
    host = env["WIREPROTO_ENGINE_HOST"]
    cli = env.get("WIREPROTO_DOCKER_CLI") or (
        "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
    )
    if not cli:
        unavailable("no docker CLI (set WIREPROTO_DOCKER_CLI)")
    docker_config = env.get("WIREPROTO_DOCKER_CONFIG")
    private_config = None
    if not docker_config:
        docker_config = private_config = tempfile.mkdtemp(prefix="wp-docker-config-")
    the_engine = Engine(
        host=host,
        socket_path=host[len("unix://") :] if host.startswith("unix://") else None,
        cli=cli,
        image=env.get("WIREPROTO_IMAGE", IMAGE),
        docker_config=docker_config,
    )
    if the_engine.docker("image", "inspect", the_engine.image, check=False).returncode != 0:
        unavailable(f"image {the_engine.image} is missing (scripts/engine.sh up builds it)")
    try:
        yield the_engine
    finally:
        the_engine.remove_containers()
        if private_config:
            shutil.rmtree(private_config, ignore_errors=True)


def _registry(env: Mapping[str, str], name: str, with_auth: bool) -> Registry:
    address = env.get(name)
    if not address:
        unavailable(f"{name} is not set (scripts/engine.sh env sets it)")
    if not with_auth:
        return Registry(address)
    user, password = env.get("WIREPROTO_REGISTRY_USER"), env.get("WIREPROTO_REGISTRY_PASSWORD")
    if not user or not password:
        unavailable("WIREPROTO_REGISTRY_USER / WIREPROTO_REGISTRY_PASSWORD are not set")
    return Registry(address, user, password)


@pytest.fixture(scope="session")
def registry(engine: Engine, wireproto_engine_env: dict[str, str]) -> Registry:
    """The plain registry the engine can push to and pull from (insecure, on 127.0.0.1)."""
    return _registry(wireproto_engine_env, "WIREPROTO_REGISTRY", with_auth=False)


@pytest.fixture(scope="session")
def auth_registry(engine: Engine, wireproto_engine_env: dict[str, str]) -> Registry:
    """The registry with htpasswd basic auth. Its password's standard base64 has '+' and '/'."""
    return _registry(wireproto_engine_env, "WIREPROTO_AUTH_REGISTRY", with_auth=True)


# --- markers ------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engine: needs a real Docker Engine (skips without one unless WIREPROTO_REQUIRE_ENGINE=1)",
    )
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if any(name in names for name in ENGINE_FIXTURES) and not item.get_closest_marker("engine"):
            item.add_marker(pytest.mark.engine)


@pytest.fixture(autouse=True)
def _engine_for_engine_marker(request: pytest.FixtureRequest) -> None:
    """A test marked ``engine`` skips (or fails) without an engine even if it never asks for one."""
    if request.node.get_closest_marker("engine"):
        request.getfixturevalue("engine")
