"""``wireproto bench`` on tiny sizes: every section runs, checks its bytes, writes JSON."""

from __future__ import annotations

import importlib.util
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from wireproto.bench import chunkedlogs, jsonstreams, kernels, runner
from wireproto.cli import main


@pytest.fixture(autouse=True)
def keep_sigpipe() -> Iterator[None]:
    """cli.main() restores SIGPIPE's default (die quietly); pytest must keep ignoring it."""
    old = signal.getsignal(signal.SIGPIPE)
    yield
    signal.signal(signal.SIGPIPE, old)


def test_bench_small_run_writes_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["bench", "--size", "1", "--repeat", "1", "--json", str(out)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "wireproto bench:" in table and "e2e logs: line (100 B frames)" in table
    results = json.loads(out.read_text())
    sections = {row["section"] for row in results["rows"]}
    assert sections == {"demux kernels", "chunked logs", "JSON streams", "e2e logs", "concurrency"}
    contenders = {row["contender"] for row in results["rows"]}
    assert {"wireproto python", "raw socket (limit)", "wireproto asyncio"} <= contenders
    assert {"wireproto typed (json)", "json.loads per line"} <= contenders
    assert all(row["mb_per_s"] > 0 for row in results["rows"])
    chunked = {row["contender"] for row in results["rows"] if row["section"] == "chunked logs"}
    assert {"Exchange + sinks, sniffed", "h11", "http.client"} <= chunked
    # Each contender ran, or says how to install it.
    missing = {gap["contender"] for gap in results["missing"]}
    assert "aiohttp C parser" in chunked | missing
    assert all("pip install '.[bench]'" in gap["hint"] for gap in results["missing"])
    assert "x anchors" in table and "wall s" in table


def test_chunked_logs_contenders_see_every_byte() -> None:
    # Small chunks and big ones, the head included: each parser checks its bytes.
    for chunk_size in chunkedlogs.CHUNK_SIZES:
        work = chunkedlogs.workload(chunk_size, 256 * 1024)
        for entrant in chunkedlogs.contenders():
            if entrant.missing is None:
                assert chunkedlogs.timed(entrant, work, 1)[2] == work.size


def test_json_contenders_count_every_message() -> None:
    messages, _ = jsonstreams.make_stream(64 * 1024)
    for entrant in jsonstreams.contenders():
        if entrant.missing is None:
            assert jsonstreams.timed(entrant, messages, 1)[2] == len(b"".join(messages))


def test_plot_draws_a_png_or_says_matplotlib_is_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With matplotlib, --plot writes a PNG; without it, a clear usage error (exit 2)."""
    path = tmp_path / "p.png"
    argv = ["bench", "--only", "kernels", "--size", "1", "--repeat", "1", "--plot", str(path)]
    if importlib.util.find_spec("matplotlib") is None:
        assert main(argv) == 2
        assert "--plot needs matplotlib" in capsys.readouterr().err
    else:
        assert main(argv) == 0
        assert path.read_bytes().startswith(b"\x89PNG")


def test_kernel_slices_keep_whole_frames() -> None:
    work = kernels.workload("log", 4 * runner.MIB)
    piece = kernels.sliced(work, runner.MIB)
    for entrant in kernels.contenders(runner.MIB, runner.MIB):
        assert kernels.timed(entrant, piece, 1)[2] == len(piece.data)
