"""``ps``'s PORTS cell as docker's DisplayablePorts writes it: first on documents (the
``Ports`` list as the engine sends it) against docker's rules, then as a differential test:
the stub engine lists the same port rows to ``wireproto ps -a`` and to the docker CLIs'
``ps -a`` (CLI 20.10 byte for byte, whole table; CLI 28's PORTS cells where its rules are
20.10's: it writes IPv6 as ``[::]:80`` and sorts IPs by value, not as text)."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from tests.support.stub import CLIS, docker
from wireproto.cli.containers import ports
from wireproto.engine import StubEngine
from wireproto.engine.script import Container, Script

Row = tuple[str, int, int, str]  # IP, PrivatePort, PublicPort, Type ("" and 0: absent)


def document(rows: list[Row]) -> list[dict[str, object]]:
    """Rows as the engine sends them: IP and PublicPort omitted when empty."""
    return [
        {
            **({"IP": ip} if ip else {}),
            "PrivatePort": private,
            **({"PublicPort": public} if public else {}),
            "Type": kind,
        }
        for ip, private, public, kind in rows
    ]


CASES: list[tuple[list[Row], str]] = [
    ([("", 9988, 0, "tcp")], "9988/tcp"),
    ([("", 9988, 0, "udp")], "9988/udp"),
    ([("0.0.0.0", 9988, 0, "tcp")], "0.0.0.0:0->9988/tcp"),  # an IP, no public port
    ([("", 9988, 8899, "tcp")], "9988/tcp"),  # no IP: the public port is not shown
    ([("4.3.2.1", 9988, 8899, "tcp")], "4.3.2.1:8899->9988/tcp"),
    ([("4.3.2.1", 9988, 9988, "tcp")], "4.3.2.1:9988->9988/tcp"),
    ([("", 9988, 0, "udp"), ("", 9988, 0, "udp")], "9988/udp, 9988/udp"),  # twice: not merged
    (
        [("1.2.3.4", 9998, 9998, "udp"), ("1.2.3.4", 9999, 9999, "udp")],
        "1.2.3.4:9998-9999->9998-9999/udp",
    ),
    (  # published on other numbers: never a range
        [("1.2.3.4", 9998, 8887, "udp"), ("1.2.3.4", 9999, 8888, "udp")],
        "1.2.3.4:8887->9998/udp, 1.2.3.4:8888->9999/udp",
    ),
    ([("", 9999, 0, "udp"), ("", 9998, 0, "udp")], "9998-9999/udp"),  # sorted first
    (
        [("1.2.3.4", 6677, 7766, "tcp"), ("", 9988, 8899, "udp")],
        "9988/udp, 1.2.3.4:7766->6677/tcp",  # the remapped ones last
    ),
    (
        [
            ("1.2.3.4", 9988, 8899, "udp"),
            ("1.2.3.4", 9988, 8899, "tcp"),
            ("4.3.2.1", 2233, 3322, "tcp"),
        ],
        "4.3.2.1:3322->2233/tcp, 1.2.3.4:8899->9988/tcp, 1.2.3.4:8899->9988/udp",
    ),
    (  # a gap ends a range where it comes; the group still open is shown at its first place
        [("", p, 0, "tcp") for p in (80, 81, 82, 90, 91)] + [("", 80, 0, "udp")],
        "80-82/tcp, 90-91/tcp, 80/udp",
    ),
    (
        [("", p, 0, kind) for p in (1024, 80) for kind in ("tcp", "udp")]
        + [("", 12345, 0, "sctp")],
        "80/tcp, 80/udp, 1024/tcp, 1024/udp, 12345/sctp",
    ),
    (
        [("0.0.0.0", p, p, "tcp") for p in (8000, 8001, 8002)]
        + [("::", p, p, "tcp") for p in (8000, 8001, 8002)]
        + [("", 8080, 0, "tcp")],
        "0.0.0.0:8000-8002->8000-8002/tcp, :::8000-8002->8000-8002/tcp, 8080/tcp",
    ),
    (  # IPs compare as text (CLI 20.10): "10." sorts before "9."
        [("9.0.0.1", 80, 8080, "tcp"), ("10.0.0.1", 80, 8080, "tcp")],
        "10.0.0.1:8080->80/tcp, 9.0.0.1:8080->80/tcp",
    ),
    (
        [("127.0.0.1", 53, 53, "udp"), ("127.0.0.1", 53, 53, "tcp"), ("127.0.0.1", 54, 54, "udp")],
        "127.0.0.1:53->53/tcp, 127.0.0.1:53-54->53-54/udp",
    ),
    ([], ""),
]


@pytest.mark.parametrize(("rows", "shown"), CASES)
def test_ports_cell_on_documents(rows: list[Row], shown: str) -> None:
    assert ports(document(rows)) == shown


def test_ports_before_1_5_were_one_string_shown_as_sent() -> None:
    assert ports("49153->8080") == "49153->8080"
    assert ports(None) == "" and ports([{"PrivatePort": 80, "Type": "tcp"}, "junk"]) == "80/tcp"


# --- the docker CLIs on the same rows -----------------------------------------------------------

IPS = ["", "", "0.0.0.0", "0.0.0.0", "127.0.0.1", "::", "10.0.0.1", "9.0.0.1"]
IPS_28 = ["", "0.0.0.0", "127.0.0.1"]  # where CLI 28's rules are 20.10's


def random_rows(rng: random.Random, ips: list[str]) -> tuple[Row, ...]:
    """Runs of consecutive ports, some published on the same number, some elsewhere."""
    rows: list[Row] = []
    for _ in range(rng.randint(0, 4)):
        ip, kind = rng.choice(ips), rng.choice(["tcp", "tcp", "udp", "sctp"])
        start = rng.choice([22, 80, 8000, 8080, 65534])
        for private in range(start, min(start + rng.randint(1, 4), 65536)):
            public = rng.choice([private, private, (private + 1000) % 65536, 0]) if ip else 0
            rows.append((ip, private, public, kind))
    rng.shuffle(rows)  # dockerd's come from a map: any order
    return tuple(rows)


def stub_with(rows: list[tuple[Row, ...]]) -> StubEngine:
    containers = tuple(
        Container(f"{index + 1:x}".ljust(64, "a"), f"ports-{index}", running=True, ports=one)
        for index, one in enumerate(rows)
    )
    return StubEngine(Script(containers=containers))


def wp_ps(engine: StubEngine) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, "ps", "-a"],
        capture_output=True,
        timeout=60,
        env=env,
    )


def cells(table: bytes, column: str = "PORTS") -> dict[str, str]:
    """NAMES -> the ``column`` cell of a ``ps`` table, cut at the header's offsets."""
    header, *lines = table.decode().splitlines()
    start, names = header.index(column), header.index("NAMES")
    return {line[names:]: line[start:names].rstrip() for line in lines}


@pytest.mark.parametrize("seed", range(3))
def test_ps_table_as_docker_20_10_on_the_stub(seed: int) -> None:
    if "/usr/bin/docker" not in CLIS:
        pytest.fail("the docker CLI 20.10 (/usr/bin/docker) is needed")
    rng = random.Random(seed)
    rows = [random_rows(rng, IPS) for _ in range(12)] + [tuple(r) for r, _ in CASES]
    with stub_with(rows) as engine:
        for _ in range(5):  # "Up N seconds" may tick between the two
            ours, theirs = wp_ps(engine), docker("/usr/bin/docker", engine, "ps", "-a")
            if ours.stdout == theirs.stdout:
                break
    assert (ours.returncode, theirs.returncode) == (0, 0), ours.stderr
    assert ours.stdout.decode() == theirs.stdout.decode()
    shown = cells(ours.stdout)
    assert any("-" in cell.split("->")[0] for cell in shown.values())  # ranges were made


@pytest.mark.parametrize("cli", [c for c in CLIS if c != "/usr/bin/docker"])
def test_ports_cells_as_docker_28_on_the_stub(cli: str) -> None:
    rng = random.Random(28)
    rows = [random_rows(rng, IPS_28) for _ in range(20)]
    with stub_with(rows) as engine:
        ours = wp_ps(engine)
        theirs = docker(cli, engine, "ps", "-a", "--format", "{{.Names}}\t{{.Ports}}")
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    expected = dict(line.split("\t") for line in theirs.stdout.decode().splitlines())
    assert cells(ours.stdout) == expected
