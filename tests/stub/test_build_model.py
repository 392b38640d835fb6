"""The stub engine's build model: context tar, Dockerfile steps, RUN statuses, credentials."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from typing import Literal

import pytest

from wireproto.engine import build
from wireproto.versions import ApiVersion as V

Mode = Literal["w", "w:gz", "w:bz2"]


def context(files: dict[str, bytes], mode: Mode = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2"])
def test_context_is_read_from_any_compression(mode: Mode) -> None:
    files = build.read_context(context({"./Dockerfile": b"FROM busybox\n", "a/b": b"x"}, mode))
    assert files == {"Dockerfile": b"FROM busybox\n", "a/b": b"x"}


def test_a_context_that_is_not_a_tar_is_a_build_error() -> None:
    with pytest.raises(build.BuildError, match="not a tar"):
        build.read_context(b"FROM busybox\n" * 100)


def test_steps_drop_comments_and_join_continuations() -> None:
    steps = build.parse('# c\n\nfrom busybox\nRUN echo a \\\n  && true\nCMD ["sh"]\n')
    assert [str(s) for s in steps] == ["FROM busybox", "RUN echo a && true", 'CMD ["sh"]']


@pytest.mark.parametrize(
    ("command", "status"),
    [
        ("true", 0),
        ("echo hi", 0),
        ("false", 1),
        ("exit 3", 3),
        ("true && exit 7", 7),
        ("exit x", 2),
    ],
)
def test_run_status_model(command: str, status: int) -> None:
    assert build.run_status(command) == status


TWELVE = V(1, 12)


def run(text: str, files: dict[str, bytes] | None = None, version: V = TWELVE) -> build.Outcome:
    options = build.Options(version=version, remove=True)
    return build.execute(build.parse(text), files or {}, options)


def test_a_failing_run_stops_with_its_exit_status() -> None:
    outcome = run("FROM busybox\nRUN exit 4\nCMD x\n")
    assert outcome.failure is not None and outcome.failure.code == 4
    assert "[/bin/sh -c exit 4] returned a non-zero code: 4" in outcome.failure.message
    assert outcome.lines[-1].startswith(" ---> Running in")


def test_the_config_follows_env_label_cmd() -> None:
    outcome = run('FROM busybox\nENV A=1 B="two words"\nLABEL k=v\nCMD ["echo", "hi"]\n')
    assert outcome.failure is None
    assert outcome.config == {
        "Env": ["A=1", "B=two words"],
        "Labels": {"k": "v"},
        "Cmd": ["echo", "hi"],
    }
    assert outcome.lines[0] == "Step 0 : FROM busybox\n"


def test_step_lines_at_141_count_from_one_of_n() -> None:
    assert run("FROM busybox\nRUN true\n", version=V(1, 41)).lines[0] == "Step 1/2 : FROM busybox\n"


def test_copy_checks_the_file_is_in_the_context() -> None:
    assert run("FROM busybox\nCOPY a.txt /a\n", {"a.txt": b""}).failure is None
    assert run("FROM busybox\nCOPY dir /d\n", {"dir/x": b""}).failure is None
    failed = run("FROM busybox\nADD missing.txt /m\n", {"a.txt": b""}).failure
    assert failed is not None and "missing.txt" in failed.message


def test_no_from_is_refused() -> None:
    failed = run("RUN true\n").failure
    assert failed is not None and "from" in failed.message


@pytest.mark.parametrize(
    ("version", "rm", "forcerm", "expected"),
    [
        (V(1, 4), "1", "", (False, False)),
        (V(1, 5), "1", "", (True, False)),
        (V(1, 6), "1", "", (False, False)),
        (V(1, 8), "1", "", (False, False)),
        (V(1, 9), "1", "", (True, False)),
        (V(1, 11), "", "", (False, False)),
        (V(1, 11), "1", "1", (True, False)),
        (V(1, 12), "", "", (True, False)),
        (V(1, 12), "0", "", (False, False)),
        (V(1, 12), "0", "1", (True, True)),
    ],
)
def test_rm_and_forcerm_as_each_version_reads_them(
    version: V, rm: str, forcerm: str, expected: tuple[bool, bool]
) -> None:
    query = {"rm": [rm], "forcerm": [forcerm]}
    assert build.remove_intermediate(version, query) == expected


def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


AUTH = {"username": "u", "password": "p"}


@pytest.mark.parametrize(
    ("version", "headers", "ok"),
    [
        (V(1, 7), {"x-registry-auth": b64(AUTH)}, False),
        (V(1, 8), {"x-registry-auth": b64(AUTH)}, True),
        (V(1, 8), {"x-registry-config": b64({"configs": {"r.example": AUTH}})}, False),
        (V(1, 9), {"x-registry-auth": b64(AUTH)}, False),
        (V(1, 9), {"x-registry-config": b64({"configs": {"r.example": AUTH}})}, True),
        (V(1, 12), {"x-registry-config": b64({"r.example": AUTH})}, False),
        (V(1, 18), {"x-registry-config": b64({"configs": {"r.example": AUTH}})}, True),
        (V(1, 19), {"x-registry-config": b64({"configs": {"r.example": AUTH}})}, False),
        (V(1, 41), {"x-registry-config": b64({"r.example": AUTH})}, True),
    ],
)
def test_build_credentials_in_each_version_s_form(
    version: V, headers: dict[str, str], ok: bool
) -> None:
    found = build.credentials(version, headers)
    assert build.authorised("r.example", found) is ok
