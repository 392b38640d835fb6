"""The build context tar stream: contents, .dockerignore, streaming, gzip."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support.docker_cli_recorder import Recorder
from wireproto.api import buildcontext
from wireproto.api.buildcontext import BLOCK, BuildContextError, tar_context


def make_tree(root: Path) -> None:
    (root / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (root / "app").mkdir()
    (root / "app" / "main.py").write_text("print('hi')\n")
    (root / "app" / "caf\u00e9.txt").write_bytes(b"\xc3\xa9")
    (root / "app" / "run.sh").write_text("#!/bin/sh\n")
    (root / "app" / "run.sh").chmod(0o755)
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_bytes(b"x" * 1000)
    (root / "secret").mkdir()
    (root / "secret" / "key").write_text("k")
    (root / "secret" / "public").mkdir()
    (root / "secret" / "public" / "ok").write_text("ok")
    (root / "notes.tmp").write_text("t")
    (root / "deep" / "er").mkdir(parents=True)
    (root / "deep" / "er" / "x.tmp").write_text("t")
    (root / "link").symlink_to("app/main.py")
    (root / ("long-" + "n" * 150)).write_text("long name")


def members(stream: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(stream), mode="r:*") as archive:
        return {m.name.rstrip("/"): m for m in archive.getmembers()}


def test_whole_tree_without_dockerignore(tmp_path: Path) -> None:
    make_tree(tmp_path)
    data = b"".join(tar_context(tmp_path))
    found = members(data)
    assert {"Dockerfile", "app/main.py", "app/caf\u00e9.txt", "build/out.bin", "link"} <= set(found)
    assert found["app/run.sh"].mode == 0o755
    assert found["link"].issym() and found["link"].linkname == "app/main.py"
    assert found["app"].isdir()
    assert found["build/out.bin"].uid == 0 and found["build/out.bin"].size == 1000
    assert ("long-" + "n" * 150) in found
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        extracted = archive.extractfile("app/caf\u00e9.txt")
        assert extracted is not None and extracted.read() == b"\xc3\xa9"
    assert data == b"".join(tar_context(tmp_path))  # deterministic


def test_dockerignore_rules(tmp_path: Path) -> None:
    make_tree(tmp_path)
    (tmp_path / ".dockerignore").write_text(
        "build\n**/*.tmp\nsecret\n!secret/public\nDockerfile\n.dockerignore\n"
    )
    found = set(members(b"".join(tar_context(tmp_path))))
    assert "build" not in found and "build/out.bin" not in found
    assert "notes.tmp" not in found and "deep/er/x.tmp" not in found
    assert "secret/key" not in found
    assert "secret/public/ok" in found
    assert {"Dockerfile", ".dockerignore", "app/main.py"} <= found  # always sent


def test_excluded_directory_is_not_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path)
    listed: list[str] = []
    real = os.listdir

    def spy(path: str | os.PathLike[str]) -> list[str]:
        listed.append(os.path.relpath(path, tmp_path))
        return real(path)

    monkeypatch.setattr(buildcontext.os, "listdir", spy)
    b"".join(tar_context(tmp_path, ignore="build\nsecret\n!secret/public\n"))
    assert "build" not in listed
    assert "secret" in listed  # an exception could re-include inside it


@pytest.mark.parametrize(
    ("ignore", "sent", "not_sent"),
    [
        ("a\n!*/keep\n", {"b/keep"}, {"a", "a/keep"}),  # a wildcard exception does not open "a"
        ("a\n!**/keep\n", {"b/keep"}, {"a/keep", "a/x/keep"}),
        ("a\n!a/keep\n", {"a/keep"}, {"a", "a/x/keep"}),
        ("a/x\n!a\n", {"a", "a/keep"}, {"a/x", "a/x/keep"}),
    ],
)
def test_excluded_directory_walked_only_for_an_exception_under_its_path(
    tmp_path: Path, ignore: str, sent: set[str], not_sent: set[str]
) -> None:
    for name in ("a/keep", "a/x/keep", "b/keep"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("k")
    found = set(members(b"".join(tar_context(tmp_path, ignore=ignore))))
    assert sent <= found
    assert not (not_sent & found)


def test_streamed_in_bounded_pieces(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1024) * 1024)  # 1 MiB
    stream = tar_context(tmp_path)
    first = next(stream)  # produced before the whole file is read
    assert len(first) <= 2 * buildcontext.BLOCK
    rest = list(stream)
    assert max(len(p) for p in rest) <= 2 * buildcontext.BLOCK
    data = first + b"".join(rest)
    assert len(data) % 512 == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        extracted = archive.extractfile("big.bin")
        assert extracted is not None and extracted.read() == big.read_bytes()


def test_gzip(tmp_path: Path) -> None:
    make_tree(tmp_path)
    data = b"".join(tar_context(tmp_path, gzip=True))
    assert data[:2] == b"\x1f\x8b"
    assert gzip.decompress(data) == b"".join(tar_context(tmp_path))


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildContextError, match="not a directory"):
        tar_context(tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    (tmp_path / "f").chmod(0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(BuildContextError, match="cannot read"):
            b"".join(tar_context(tmp_path))


# --- hard links, special files, files that change size: as the docker CLI sends them -----------


def special_tree(root: Path) -> None:
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "a").write_text("hi\n")
    os.link(root / "a", root / "b")
    os.mkfifo(root / "fifo")
    os.symlink("a", root / "sym")
    with contextlib.suppress(PermissionError):
        os.mknod(root / "chr", 0o600 | stat.S_IFCHR, os.makedev(1, 3))


def member_shapes(stream: bytes) -> list[tuple[str, bytes, str, int, int, int]]:
    with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
        return [
            (m.name.rstrip("/"), m.type, m.linkname, m.size, m.devmajor, m.devminor) for m in tar
        ]


def test_hard_links_fifos_devices_symlinks_as_docker_sends(tmp_path: Path) -> None:
    special_tree(tmp_path)
    shapes = {s[0]: s[1:] for s in member_shapes(b"".join(tar_context(tmp_path)))}
    assert shapes["a"] == (tarfile.REGTYPE, "", 3, 0, 0)
    assert shapes["b"] == (tarfile.LNKTYPE, "a", 0, 0, 0)
    assert shapes["fifo"] == (tarfile.FIFOTYPE, "", 0, 0, 0)
    assert shapes["sym"] == (tarfile.SYMTYPE, "a", 0, 0, 0)
    if (tmp_path / "chr").exists():
        assert shapes["chr"] == (tarfile.CHRTYPE, "", 0, 1, 3)


def test_members_match_what_the_docker_cli_sends(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    context = tmp_path / "ctx"
    context.mkdir()
    special_tree(context)
    recorder = Recorder(tmp_path / "rec.sock")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER")}
    env.update(DOCKER_BUILDKIT="0", DOCKER_CONFIG=str(tmp_path / "cfg"))
    host = f"unix://{tmp_path / 'rec.sock'}"
    done = subprocess.run(
        [docker, "-H", host, "build", str(context)], capture_output=True, env=env, timeout=60
    )
    recorder.close()
    assert done.returncode == 0, done.stderr
    assert member_shapes(recorder.bodies[0]) == member_shapes(b"".join(tar_context(context)))


def test_a_file_that_grows_or_shrinks_while_sent_is_an_error(tmp_path: Path) -> None:
    for change in ("grow", "shrink"):
        root = tmp_path / change
        root.mkdir()
        big = root / "big"
        big.write_bytes(b"x" * (4 * BLOCK))
        stream = tar_context(root)
        next(stream)  # the header and the first block are out: the size is promised
        with open(big, "ab") as handle:
            if change == "grow":
                handle.write(b"more")
            else:
                handle.truncate(BLOCK)
        with pytest.raises(BuildContextError, match=f"{big}.*(grew|shrank)"):
            b"".join(stream)


def test_a_context_nested_deeper_than_the_python_stack(tmp_path: Path) -> None:
    """1100 levels (Python's stack stops recursion at 1000): walked whole, in order,
    a pattern's hits still carried down to the bottom."""
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("d/skip\n")
    levels = 1100
    bottom = tmp_path
    for _ in range(levels):  # not mkdir(parents=True): pathlib recurses once per level
        bottom = bottom / "d"
        bottom.mkdir()
    (bottom / "f").write_text("at the bottom")
    (tmp_path / "d" / "skip").mkdir()
    (tmp_path / "d" / "skip" / "gone").write_text("excluded")
    skipped = tmp_path / "d" / "skip"
    try:
        got = members(b"".join(tar_context(tmp_path)))
    finally:  # bottom up: pytest's cleanup (shutil.rmtree) recurses once per level too
        (bottom / "f").unlink()
        shutil.rmtree(skipped)
        while bottom != tmp_path:
            bottom.rmdir()
            bottom = bottom.parent
    deepest = "/".join(["d"] * levels) + "/f"
    assert got[deepest].size == len("at the bottom")
    assert not [name for name in got if "skip" in name]
    assert len(got) == levels + 3  # the directories, f, Dockerfile, .dockerignore
