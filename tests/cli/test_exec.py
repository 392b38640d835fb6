"""``wireproto exec -e/-u/-w`` against ``docker exec`` on the real engine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.engine import Engine
from wireproto import api
from wireproto.cli.errors import UsageError
from wireproto.cli.verbs import exec_env
from wireproto.errors import UnsupportedInVersion
from wireproto.versions import ApiVersion

SCRIPT = 'echo "A=$A B=$B C=${C-unset} D=${D-unset}"; id -u; id -g; pwd; exit 4'


def test_env_values_as_the_docker_cli_sends_them() -> None:
    environ = {"B": "from here"}
    assert exec_env(["A=1", "B", "C", "E=x=y", "F="], environ) == [
        "A=1",
        "B=from here",
        "C",
        "E=x=y",
        "F=",
    ]
    with pytest.raises(UsageError):
        exec_env(["=1"], environ)


@pytest.mark.parametrize(
    ("field", "kwargs", "below"),
    [
        ("Env", {"env": ["A=1"]}, ApiVersion(1, 24)),
        ("User", {"user": "nobody"}, ApiVersion(1, 18)),
        ("WorkingDir", {"workdir": "/tmp"}, ApiVersion(1, 34)),
    ],
)
def test_exec_fields_are_gated(field: str, kwargs: dict[str, object], below: ApiVersion) -> None:
    call = api.exec_create("c", ["true"], ApiVersion(below.major, below.minor + 1), **kwargs)  # type: ignore[arg-type]
    assert f'"{field}":'.encode() in bytes(call.request.body or b"")  # type: ignore[arg-type]
    with pytest.raises(UnsupportedInVersion):
        api.exec_create("c", ["true"], below, **kwargs)  # type: ignore[arg-type]
    assert f'"{field}"'.encode() not in bytes(api.exec_create("c", ["true"], below).request.body)  # type: ignore[arg-type]


def wireproto(
    engine: Engine,
    *args: str,
    api_version: str | None = None,
    env: dict[str, str] | None = None,
    backend: str = "python",
) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    pinned = ["--api-version", api_version] if api_version else []
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *pinned, *args],
        capture_output=True,
        timeout=60,
        env={**base, **(env or {}), "WIREPROTO_BACKEND": backend},
    )


@pytest.mark.engine
@pytest.mark.parametrize("api_version", [None, "1.35"])
def test_env_user_workdir_as_docker_exec(
    engine: Engine, sleeper: str, api_version: str | None, backend: str
) -> None:
    flags = ["-e", "A=one two", "-e", "B", "-e", "C", "-u", "65534:65534", "-w", "/tmp"]
    here = {"B": "from here"}
    ours = wireproto(
        engine,
        "exec",
        *flags,
        sleeper,
        "sh",
        "-c",
        SCRIPT,
        api_version=api_version,
        env=here,
        backend=backend,
    )
    theirs = subprocess.run(
        [engine.cli, "-H", engine.host, "exec", *flags, sleeper, "sh", "-c", SCRIPT],
        capture_output=True,
        timeout=60,
        env={**engine.cli_env(), **here},
    )
    assert ours.returncode == theirs.returncode == 4
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)
    assert ours.stdout == b"A=one two B=from here C=unset D=unset\n65534\n65534\n/tmp\n"


@pytest.mark.engine
@pytest.mark.parametrize(
    ("flags", "version", "needs"),
    [(["-w", "/tmp"], "1.34", b"1.35"), (["-e", "A=1"], "1.24", b"1.25")],
)
def test_refused_below_their_version(
    engine: Engine, sleeper: str, flags: list[str], version: str, needs: bytes
) -> None:
    done = wireproto(engine, "exec", *flags, sleeper, "true", api_version=version)
    assert done.returncode == 2 and needs in done.stderr and done.stdout == b""
