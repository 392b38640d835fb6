"""``wireproto build`` against docker's habits: options, the sending line, exit codes.

The engine tests run ``DOCKER_BUILDKIT=0 docker build`` (the classic builder,
whose API wireproto speaks) and ``wireproto build`` on the same context and
compare stdout byte for byte (``Running in <id>`` lines aside), exit codes always.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import Engine, Registry
from wireproto.api import build as build_api
from wireproto.cli import build
from wireproto.cli.errors import UsageError
from wireproto.errors import BuildContextError, UnsupportedInVersion
from wireproto.versions import ApiVersion


def test_human_size_as_go_units() -> None:
    assert [build.human_size(n) for n in (0, 512, 999, 1000, 3072, 4608, 10_240_000)] == [
        "0B",
        "512B",
        "999B",
        "1kB",
        "3.072kB",
        "4.608kB",
        "10.24MB",
    ]


def test_build_args_and_labels_as_the_docker_cli_reads_them() -> None:
    environ = {"FROM_ENV": "e"}
    got = build.build_args(["A=1", "B=", "C=x=y", "FROM_ENV", "UNSET"], environ)
    assert got == {"A": "1", "B": "", "C": "x=y", "FROM_ENV": "e", "UNSET": None}
    assert build.labels(["a=1", "b"]) == {"a": "1", "b": ""}
    with pytest.raises(UsageError):
        build.build_args(["=1"], environ)
    with pytest.raises(UsageError):
        build.labels(["=x"])


def test_maps_go_as_json_objects_and_are_gated() -> None:
    call = build_api.build(
        b"", ApiVersion(1, 41), buildargs={"A": "1 2", "B": None}, labels={"l": "v"}, target="t"
    )
    target = call.request.target
    assert "buildargs=%7B%22A%22%3A%221%202%22%2C%22B%22%3Anull%7D" in target
    assert "labels=%7B%22l%22%3A%22v%22%7D" in target and "target=t" in target
    for version, kwargs in [
        (ApiVersion(1, 20), {"buildargs": {"A": "1"}}),
        (ApiVersion(1, 22), {"labels": {"a": "b"}}),
        (ApiVersion(1, 37), {"target": "t"}),
    ]:
        with pytest.raises(UnsupportedInVersion):
            build_api.build(b"", version, **kwargs)  # type: ignore[arg-type]
    assert "buildargs" not in build_api.build(b"", ApiVersion(1, 12)).request.target


def test_dockerfile_path_is_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = tmp_path / "ctx"
    (context / "sub").mkdir(parents=True)
    (context / "sub" / "D").write_text("FROM x\n")
    (tmp_path / "outside.D").write_text("FROM x\n")
    monkeypatch.chdir(tmp_path)
    assert build.dockerfile_in_context("ctx", "ctx/sub/D") == "sub/D"
    assert build.dockerfile_in_context("ctx", str(context / "sub" / "D")) == "sub/D"
    assert build.dockerfile_in_context("ctx", None) is None
    with pytest.raises(BuildContextError):
        build.dockerfile_in_context("ctx", "sub/D")  # as docker: not found from here
    with pytest.raises(UsageError, match="outside the build context"):
        build.dockerfile_in_context("ctx", "outside.D")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_context_meter_lines() -> None:
    plain = io.StringIO()
    assert (
        b"".join(build.ContextMeter([b"x" * 2048, b"y" * 1024], plain)) == b"x" * 2048 + b"y" * 1024
    )
    assert plain.getvalue() == "Sending build context to Docker daemon  3.072kB\r\r\n"
    tty = _Tty()
    list(build.ContextMeter([b"x" * 512], tty))
    assert tty.getvalue() == (
        "Sending build context to Docker daemon     512B\r"
        "Sending build context to Docker daemon     512B\r\r\n"
    )


# --- against the real engine ------------------------------------------------------------------


def wireproto(
    engine: Engine, *args: str, cwd: Path | None = None, api_version: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = engine.docker_config or ""
    pinned = ["--api-version", api_version] if api_version else []
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *pinned, *args],
        capture_output=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


def docker_build(engine: Engine, *args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**engine.cli_env(), "DOCKER_BUILDKIT": "0"}
    return subprocess.run(
        [engine.cli, "-H", engine.host, "build", *args],
        capture_output=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


_IDS = re.compile(
    rb"^( ---> Running in | ---> |Successfully built |Removing intermediate container )"
    rb"[0-9a-f]{12}$",
    re.M,
)


def _steady(out: bytes) -> bytes:
    """Output with container and image ids blanked (they differ from build to build)."""
    return _IDS.sub(rb"\1<id>", out)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def images(engine: Engine) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    if made:
        engine.docker("rmi", "--force", *made, check=False)


@pytest.mark.engine
@pytest.mark.parametrize("code", [3, 7, 255])
def test_a_failing_run_exits_with_its_code(engine: Engine, tmp_path: Path, code: int) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {engine.image}\nRUN echo {unique('going')} && exit {code}\n"
    )
    (context / "data.txt").write_text("some data\n")
    ours = wireproto(engine, "build", "--network", "none", "ctx", cwd=tmp_path)
    theirs = docker_build(engine, "--network", "none", "ctx", cwd=tmp_path)
    assert ours.returncode == theirs.returncode == code
    assert _steady(ours.stdout) == _steady(theirs.stdout)
    assert ours.stdout.startswith(b"Sending build context to Docker daemon  3.072kB\r\r\n")
    message = theirs.stderr.splitlines()[-1]
    assert message.endswith(b"returned a non-zero code: %d" % code)
    assert ours.stderr == b"wireproto: " + message + b"\n"


@pytest.mark.engine
def test_options_reach_the_image(engine: Engine, tmp_path: Path, images: list[str]) -> None:
    context = tmp_path / "ctx"
    (context / "docker").mkdir(parents=True)
    (context / "docker" / "Other.Dockerfile").write_text(
        f"FROM {engine.image} AS first\nARG A\nARG B=default\nARG FROM_ENV\n"
        'RUN echo "A=$A B=$B E=$FROM_ENV" > /args\n'
        "FROM first AS second\nRUN echo second > /second\n"
    )
    tag_ours, tag_theirs = unique("wp-p11-ours"), unique("wp-p11-theirs")
    images += [tag_ours, tag_theirs]
    flags = [
        "-f", "ctx/docker/Other.Dockerfile",
        "--build-arg", "A=one two", "--build-arg", "FROM_ENV",
        "--label", "p11=yes", "--label", "empty",
        "--target", "first", "--network", "none", "--no-cache",
    ]  # fmt: skip
    os.environ["FROM_ENV"] = "from-env"
    try:
        ours = wireproto(engine, "build", *flags, "-t", tag_ours, "ctx", cwd=tmp_path)
        theirs = docker_build(engine, *flags, "-t", tag_theirs, "ctx", cwd=tmp_path)
    finally:
        del os.environ["FROM_ENV"]
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert _steady(ours.stdout).replace(tag_ours.encode(), b"T") == _steady(theirs.stdout).replace(
        tag_theirs.encode(), b"T"
    )
    cid = engine.run_container(["cat", "/args"], image=tag_ours)
    assert engine.docker("logs", cid).stdout == b"A=one two B=default E=from-env\n"
    cid = engine.run_container(["ls", "/second"], image=tag_ours, expect_exit=1)  # stage 1 only
    labels = engine.docker("inspect", "--format", "{{json .Config.Labels}}", tag_ours)
    assert labels.stdout.strip() == b'{"empty":"","p11":"yes"}'


@pytest.mark.engine
def test_options_refused_below_their_version(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {engine.image}\n")
    for flags, version, needs in [
        (["--build-arg", "A=1"], "1.20", b"1.21"),
        (["--label", "a=b"], "1.22", b"1.23"),
        (["--target", "x"], "1.37", b"1.38"),
    ]:
        done = wireproto(engine, "build", *flags, ".", cwd=tmp_path, api_version=version)
        assert done.returncode == 2
        assert needs in done.stderr and done.stdout == b""


@pytest.mark.engine
def test_pull_inside_a_build_keeps_the_layer_ids(
    engine: Engine, registry: Registry, tmp_path: Path, images: list[str]
) -> None:
    # An image with a layer of its own, pushed and then removed here: FROM pulls that layer.
    base = f"{registry.address}/{unique('wp-p11-from')}:1"
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {engine.image}\nRUN echo {base} > /own\n")
    engine.docker("build", "--network", "none", "-t", base, str(context), input=None)  # the layer
    engine.docker("push", base)
    (context / "Dockerfile").write_text(f"FROM {base}\n")
    outputs = []
    for run in (docker_build, wireproto):
        engine.docker("rmi", "--force", base)
        done = (
            run(engine, "ctx", cwd=tmp_path)
            if run is docker_build
            else run(engine, "build", "ctx", cwd=tmp_path)
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    images.append(base)
    ours, theirs = (_layer_lines(out) for out in (outputs[1], outputs[0]))
    # The engine's intermediate statuses (Waiting, Verifying Checksum) vary from pull to
    # pull; the other lines are the same byte for byte, and every layer line has its id.
    assert ours[0] == theirs[0]
    assert set(ours[1]) == set(theirs[1]) and ours[1]
    pulled = [s for s in ours[1].values() if s != [b"Already exists"]]  # the base is here
    assert pulled
    for statuses in pulled:
        assert statuses[0] == b"Pulling fs layer" and statuses[-1] == b"Pull complete"
    assert b"\nPulling fs layer" not in outputs[1]


_LAYER = re.compile(rb"([0-9a-f]{12}): (.*)")


def _layer_lines(out: bytes) -> tuple[list[bytes], dict[bytes, list[bytes]]]:
    """The lines that are not about one layer, and each layer's statuses in order."""
    others: list[bytes] = []
    layers: dict[bytes, list[bytes]] = {}
    for line in out.split(b"\n"):
        found = _LAYER.fullmatch(line)
        if found:
            layers.setdefault(found.group(1), []).append(found.group(2))
        else:
            others.append(line)
    return others, layers
