"""run, ps, images, inspect, rm, rmi, start, stop, wait, tag, save, load, export, top, diff
against the stub engine, at today's API version and at 1.12 (and refusals below those)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from wireproto.cli import tables
from wireproto.engine import StubEngine

VERSIONS = [None, "1.41", "1.12"]
STUB_CONTAINER = "c10000000000"  # the stub's first container (logs-mux), created, not running


@pytest.fixture
def stub() -> Iterator[StubEngine]:
    with StubEngine() as engine:
        yield engine


def wp(
    engine: StubEngine, *args: str, version: str | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    pinned = ["--api-version", version] if version else []
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *pinned, *args],
        capture_output=True,
        input=stdin,
        timeout=60,
        env=env,
    )


def lines(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    return done.stdout.decode().splitlines()


@pytest.mark.parametrize("version", VERSIONS)
def test_ps_and_images_tables(stub: StubEngine, version: str | None) -> None:
    ps = wp(stub, "ps", "-a", version=version)
    assert ps.returncode == 0, ps.stderr
    header, *rows = lines(ps)
    assert header.startswith("CONTAINER ID   IMAGE") and header.endswith("PORTS     NAMES")
    assert rows and rows[0].startswith(STUB_CONTAINER + "   busybox:latest")
    assert rows[0].endswith("logs-mux")
    quiet = wp(stub, "ps", "-aq", version=version)
    assert lines(quiet) == [row[:12] for row in rows]
    images = wp(stub, "images", version=version)
    assert lines(images)[0] == "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE"
    assert lines(images)[1].startswith("busybox      latest    ")
    ids = lines(wp(stub, "images", "-q", version=version))
    assert ids == [line.split()[2] for line in lines(images)[1:]]


@pytest.mark.parametrize("version", VERSIONS)
def test_inspect_is_a_list_indented_by_4(stub: StubEngine, version: str | None) -> None:
    done = wp(stub, "inspect", STUB_CONTAINER, "busybox", version=version)
    assert done.returncode == 0, done.stderr
    documents = json.loads(done.stdout)
    assert documents[0]["Id"][:12] == STUB_CONTAINER
    assert done.stdout == (json.dumps(documents, indent=4, ensure_ascii=False) + "\n").encode()
    assert done.stdout.startswith(b'[\n    {\n        "Id": ')
    missing = wp(stub, "inspect", "nosuch", version=version)
    assert (missing.returncode, missing.stdout) == (1, b"[]\n")
    assert b"No such object: nosuch" in missing.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_lifecycle_prints_names_and_codes(stub: StubEngine, version: str | None) -> None:
    for verb in (["start"], ["stop", "-t", "1"], ["rm", "-f"]):
        done = wp(stub, *verb, STUB_CONTAINER, version=version)
        assert (done.returncode, done.stdout) == (0, f"{STUB_CONTAINER}\n".encode()), done.stderr
    gone = wp(stub, "rm", STUB_CONTAINER, "c20000000000", version=version)
    # as docker: the others still go, the exit code says one failed
    assert (gone.returncode, gone.stdout) == (1, b"c20000000000\n")
    assert b"No such container" in gone.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_wait_diff_export(stub: StubEngine, version: str | None, tmp_path: Path) -> None:
    assert wp(stub, "wait", STUB_CONTAINER, version=version).stdout == b"0\n"
    diff = wp(stub, "diff", STUB_CONTAINER, version=version)
    assert diff.returncode == 0 and all(line[:2] in ("A ", "C ", "D ") for line in lines(diff))
    out = tmp_path / "c.tar"
    done = wp(stub, "export", "-o", str(out), STUB_CONTAINER, version=version)
    assert done.returncode == 0, done.stderr
    assert tarfile.is_tarfile(out)
    failed = wp(stub, "export", "-o", str(tmp_path / "no.tar"), "nosuch", version=version)
    assert failed.returncode == 1 and not (tmp_path / "no.tar").exists()


@pytest.mark.parametrize("version", VERSIONS)
def test_tag_rmi_save_load(stub: StubEngine, version: str | None, tmp_path: Path) -> None:
    tagged = wp(stub, "tag", "busybox", "example.test:5000/mine:1", version=version)
    assert (tagged.returncode, tagged.stdout) == (0, b"")
    assert any(line.startswith("example.test:5000/mine   1 ") for line in lines(wp(stub, "images")))
    removed = wp(stub, "rmi", "example.test:5000/mine:1", version=version)
    assert lines(removed) == ["Untagged: example.test:5000/mine:1"]
    archive = tmp_path / "b.tar"
    assert wp(stub, "save", "-o", str(archive), "busybox", version=version).returncode == 0
    loaded = wp(stub, "load", "-i", str(archive), version=version)
    assert (loaded.returncode, loaded.stdout) == (0, b"Loaded image: busybox:latest\n")
    piped = wp(stub, "load", version=version, stdin=archive.read_bytes())
    assert piped.stdout == b"Loaded image: busybox:latest\n"


@pytest.mark.parametrize("version", VERSIONS)
def test_run_attaches_before_it_starts(stub: StubEngine, version: str | None) -> None:
    done = wp(
        stub, "run", "--rm", "--name", "r1", "-e", "A=1", "busybox", "echo", "hi", version=version
    )
    assert (done.returncode, done.stdout) == (0, b"hi\n"), done.stderr
    order = [r.path.rsplit("/", 1)[-1] for r in stub.received if r.method != "GET"]
    assert order.index("attach") < order.index("start")
    created = next(r for r in stub.received if r.path.endswith("/create"))
    assert created.query.get("name") == ["r1"]
    assert "r1" not in wp(stub, "ps", "-a").stdout.decode()  # --rm removed it
    detached = wp(stub, "run", "-d", "busybox", "true", version=version)
    assert detached.returncode == 0 and len(detached.stdout.strip()) == 64


def test_run_exits_125_on_its_own_errors(stub: StubEngine) -> None:
    done = wp(stub, "run", "--name", "logs-mux", "busybox", "true")
    assert done.returncode == 125 and done.stdout == b""


@pytest.mark.parametrize(
    ("args", "version", "needs"),
    [
        (["rm", "-f", STUB_CONTAINER], "1.9", b"1.10"),
        (["rmi", "-f", "busybox"], "1.9", b"1.10"),
        (["top", STUB_CONTAINER, "aux"], "1.3", b"1.4"),
        (["save", "-o", "/nonexistent/x.tar", "busybox"], "1.6", b"1.7"),
    ],
)
def test_refused_below_their_version(
    stub: StubEngine, args: list[str], version: str, needs: bytes
) -> None:
    done = wp(stub, *args, version=version)
    assert done.returncode == 2 and needs in done.stderr and done.stdout == b""


def test_docker_units() -> None:
    assert [tables.human_size(n) for n in (0, 999, 1000, 1_234_567, 772_800)] == [
        "0B",
        "999B",
        "1kB",
        "1.23MB",
        "773kB",
    ]
    durations = [
        0.5,
        1,
        59,
        60,
        119,
        3599,
        5400,
        47 * 3600,
        49 * 3600,
        15 * 86400,
        70 * 86400,
        800 * 86400,
    ]
    assert [tables.human_duration(s) for s in durations] == [
        "Less than a second",
        "1 second",
        "59 seconds",
        "About a minute",
        "About a minute",
        "59 minutes",
        "2 hours",
        "47 hours",
        "2 days",
        "2 weeks",
        "2 months",
        "2 years",
    ]
    assert tables.tabulate([("A", "BB", "C"), ("long-cell-x", "", "z")], minwidth=10) == (
        "A" + " " * 13 + "BB" + " " * 8 + "C\n" + "long-cell-x" + " " * 13 + "z\n"
    )
