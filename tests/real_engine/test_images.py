"""pull, push, build and events against the real engine and its local registries."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import Engine, Registry
from wireproto.adapters.blocking import Client
from wireproto.api import build as build_api
from wireproto.api import events as events_api
from wireproto.api import registry as registry_api
from wireproto.api.auth import AuthConfig, parse_reference
from wireproto.api.buildcontext import tar_context
from wireproto.cli.streams import json_values, run_messages
from wireproto.errors import BuildError, PullError, PushError
from wireproto.http import Response
from wireproto.progress import EngineEvent, Progress
from wireproto.versions import ApiVersion

pytestmark = pytest.mark.engine
V1_12 = ApiVersion(1, 12)


def wireproto(
    engine: Engine, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def empty_config(tmp_path: Path) -> dict[str, str]:
    """No credentials anywhere (DOCKER_CONFIG points at an empty directory)."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    return {"DOCKER_CONFIG": str(directory)}


@pytest.fixture
def pushed(engine: Engine, auth_registry: Registry, empty_config: dict[str, str]) -> Iterator[str]:
    """The test image pushed to the auth registry by `wireproto push` (password on stdin)."""
    name = f"{auth_registry.address}/wp-p3/{unique('busybox')}:t1"
    engine.docker("tag", engine.image, name)
    assert auth_registry.password is not None and auth_registry.user is not None
    done = wireproto(
        engine,
        "push",
        "-u",
        auth_registry.user,
        "--password-stdin",
        name,
        stdin=auth_registry.password.encode() + b"\n",
        env=empty_config,
    )
    assert done.returncode == 0, done.stderr
    assert any(word in done.stdout for word in (b"Pushed", b"already exists", b"Mounted from"))
    assert b"digest: sha256:" in done.stdout
    yield name
    engine.docker("rmi", "--force", name, check=False)


def _auth(registry: Registry) -> AuthConfig:
    assert registry.user and registry.password
    return AuthConfig(
        username=registry.user, password=registry.password, serveraddress=registry.address
    )


@pytest.mark.parametrize("version", [None, V1_12], ids=["negotiated", "v1.12"])
def test_push_then_pull_back_with_basic_auth(
    engine: Engine, auth_registry: Registry, pushed: str, version: ApiVersion | None
) -> None:
    engine.docker("rmi", pushed)
    image = parse_reference(pushed)
    with Client(engine.host) as client:
        call = registry_api.pull(image, version or client.negotiate(), auth=_auth(auth_registry))
        progress = Progress()
        statuses = []
        for message in run_messages(client, call, PullError):
            progress.update(message)
            statuses.append(message.status)
    assert any(s and s.startswith("Status: Downloaded newer image") for s in statuses), statuses
    engine.docker("image", "inspect", pushed)


def test_pull_with_config_json_credentials(
    engine: Engine, auth_registry: Registry, pushed: str, tmp_path: Path
) -> None:
    engine.docker("rmi", pushed)
    assert auth_registry.user and auth_registry.password
    secret = base64.b64encode(f"{auth_registry.user}:{auth_registry.password}".encode()).decode()
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps({"auths": {auth_registry.address: {"auth": secret}}})
    )
    done = wireproto(engine, "pull", pushed, env={"DOCKER_CONFIG": str(config)})
    assert done.returncode == 0, done.stderr
    assert b"Status: Downloaded newer image" in done.stdout
    assert auth_registry.password.encode() not in done.stdout + done.stderr


def test_pull_with_wrong_password_fails(
    engine: Engine, auth_registry: Registry, pushed: str, empty_config: dict[str, str]
) -> None:
    engine.docker("rmi", pushed)
    assert auth_registry.user
    done = wireproto(
        engine,
        "pull",
        "-u",
        auth_registry.user,
        "--password-stdin",
        pushed,
        stdin=b"wrong-password\n",
        env=empty_config,
    )
    assert done.returncode == 1
    assert b"unauthorized" in done.stderr or b"authentication required" in done.stderr
    assert b"wrong-password" not in done.stderr


def test_pull_missing_tag_fails(
    engine: Engine, registry: Registry, empty_config: dict[str, str]
) -> None:
    done = wireproto(engine, "pull", f"{registry.address}/wp-p3/none:missing", env=empty_config)
    assert done.returncode == 1
    assert b"not found" in done.stderr or b"unknown" in done.stderr, done.stderr


def test_push_without_credentials_is_an_error_not_a_success(
    engine: Engine, auth_registry: Registry
) -> None:
    # The engine answers 200 and reports the failure in-band: docker-py's push
    # returns normally here (its issue 3161); ours raises PushError.
    name = f"{auth_registry.address}/wp-p3/{unique('noauth')}:t1"
    engine.docker("tag", engine.image, name)
    try:
        with Client(engine.host) as client, pytest.raises(PushError) as caught:
            call = registry_api.push(parse_reference(name), client.negotiate())
            for _ in run_messages(client, call, PushError):
                pass
        assert "basic auth" in caught.value.message or "unauthorized" in caught.value.message
    finally:
        engine.docker("rmi", name, check=False)


def test_push_to_plain_registry_and_pull_at_v1_12(engine: Engine, registry: Registry) -> None:
    name = f"{registry.address}/wp-p3/{unique('plain')}:t2"
    engine.docker("tag", engine.image, name)
    try:
        done = wireproto(engine, "--api-version", "1.12", "push", name)
        assert done.returncode == 0, done.stderr
        engine.docker("rmi", name)
        done = wireproto(engine, "--api-version", "1.12", "pull", name)
        assert done.returncode == 0, done.stderr
        engine.docker("image", "inspect", name)
    finally:
        engine.docker("rmi", name, check=False)


# --- build ----------------------------------------------------------------------------------


def _containers(engine: Engine, marker: str) -> list[str]:
    """Containers whose command holds ``marker`` (other tests share the engine)."""
    listed = engine.docker("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}")
    return [line.split()[0] for line in listed.stdout.decode().splitlines() if marker in line]


def test_build_with_dockerignore(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {engine.image}\nCOPY . /ctx/\nRUN echo built > /ctx/marker\n"
    )
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "a.txt").write_text("a")
    (tmp_path / "keep" / "b.tmp").write_text("b")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key").write_text("k")
    (tmp_path / "secret" / "public").mkdir()
    (tmp_path / "secret" / "public" / "ok").write_text("ok")
    (tmp_path / ".dockerignore").write_text("**/*.tmp\nsecret\n!secret/public\n")
    tag = f"wp-p3-build:{unique('ok')}"
    done = wireproto(engine, "build", "-t", tag, "--network", "none", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert b"Successfully built" in done.stdout
    try:
        cid = engine.run_container(["find", "/ctx"], image=tag)
        listed = set(engine.docker("logs", cid).stdout.decode().split())
        assert listed == {
            "/ctx",
            "/ctx/Dockerfile",
            "/ctx/.dockerignore",
            "/ctx/keep",
            "/ctx/keep/a.txt",
            "/ctx/secret",
            "/ctx/secret/public",
            "/ctx/secret/public/ok",
            "/ctx/marker",
        }
    finally:
        engine.remove_containers()
        engine.docker("rmi", "--force", tag, check=False)


@pytest.mark.parametrize("version", [None, V1_12], ids=["negotiated", "v1.12"])
def test_failing_run_step_gives_its_exit_code_and_forcerm_cleans_up(
    engine: Engine, tmp_path: Path, version: ApiVersion | None
) -> None:
    marker = unique("forcerm")
    (tmp_path / "Dockerfile").write_text(
        f"FROM {engine.image}\nRUN echo going && exit 7 # {marker}\n"
    )
    output: list[str] = []
    with Client(engine.host) as client, pytest.raises(BuildError) as caught:
        call = build_api.build(
            tar_context(tmp_path),
            version or client.negotiate(),
            forcerm=True,
            nocache=True,
            networkmode="none",
        )
        for message in run_messages(client, call, BuildError):
            output.append(message.stream or "")
    assert caught.value.exit_code == 7
    assert "going\n" in output
    assert _containers(engine, marker) == []  # forcerm: no intermediate container left

    done = wireproto(engine, "build", "--forcerm", "--network", "none", str(tmp_path))
    assert done.returncode == 7  # the step's code, as docker build exits
    assert b"returned a non-zero code: 7" in done.stderr


def test_without_forcerm_the_failed_container_stays(engine: Engine, tmp_path: Path) -> None:
    # The contrast that shows forcerm did something above.
    marker = unique("no-forcerm")
    (tmp_path / "Dockerfile").write_text(f"FROM {engine.image}\nRUN exit 5 # {marker}\n")
    with Client(engine.host) as client, pytest.raises(BuildError) as caught:
        call = build_api.build(tar_context(tmp_path), client.negotiate(), networkmode="none")
        for _ in run_messages(client, call, BuildError):
            pass
    assert caught.value.exit_code == 5
    left = _containers(engine, marker)
    assert len(left) == 1
    engine.docker("rm", "--force", *left)


# --- events ---------------------------------------------------------------------------------


def test_events_window_matches_docker_events(engine: Engine) -> None:
    cid, since, until = engine.container_lifetime()
    window = ["--since", since, "--until", until, "--filter", f"container={cid}"]
    ours = wireproto(engine, "events", *window)
    assert ours.returncode == 0, ours.stderr
    theirs = engine.docker("events", *window, "--format", "{{json .}}")
    lines = ours.stdout.decode().splitlines()
    assert lines == theirs.stdout.decode().splitlines()
    actions = [EngineEvent.from_value(json.loads(line)).action for line in lines]
    assert actions[:2] == ["create", "start"] and "die" in actions and actions[-1] == "destroy"


def test_events_stream_cut_off_by_the_caller(engine: Engine) -> None:
    label = unique("wp-p3-events")
    run = {"extra_args": ["--label", label]}
    with Client(engine.host) as client:
        call = events_api.events(client.negotiate(), filters={"label": [label]})
        stream = client.stream(call)
        head = next(stream)  # the request is out and the engine answered: events flow now
        assert isinstance(head, Response) and head.status == 200
        values = json_values(stream)
        cid = engine.run_container(["true"], **run)  # type: ignore[arg-type]
        first = EngineEvent.from_value(next(values))
        assert first.id == cid and first.action == "create"
        stream.close()  # the caller stops reading: the connection is dropped
    assert engine.docker("version").returncode == 0  # the engine is fine

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wireproto",
            "-H",
            engine.host,
            "events",
            "--filter",
            f"label={label}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.0)
        cid = engine.run_container(["true"], **run)  # type: ignore[arg-type]
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert json.loads(line)["id"] == cid
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
    finally:
        proc.kill()
        proc.wait()


def test_build_quiet_from_a_tar_on_stdin(engine: Engine, tmp_path: Path) -> None:
    import io
    import tarfile

    dockerfile = f"FROM {engine.image}\nRUN echo {unique('quiet')}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("Other.dockerfile")
        info.size = len(dockerfile)
        archive.addfile(info, io.BytesIO(dockerfile))
    done = wireproto(
        engine,
        "build",
        "-q",
        "-f",
        "Other.dockerfile",
        "--network",
        "none",
        "-",
        stdin=buffer.getvalue(),
    )
    assert done.returncode == 0, done.stderr
    image_id = done.stdout.decode().strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    engine.docker("image", "inspect", image_id)
    engine.docker("rmi", image_id, check=False)
