"""benchmarks/bench_go.py on tiny inputs: the Go anchors count what wireproto counts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks import bench_go

TINY = ["--mux-size", "1", "--json-size", "0.2", "--rounds", "1"]


def no_go(missing: str | None) -> None:
    """Skips without Go, except in CI, which installs it (.ci/run's Go step)."""
    if os.environ.get("CI"):
        pytest.fail(f"{missing}: CI installs Go and docker's Go sources first")
    pytest.skip(f"{missing}: {bench_go.INSTALL_HINT}")


def test_without_go_it_says_how_to_install_and_runs_wireproto(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    bench_go.main([*TINY, "--go", str(tmp_path / "no-go"), "--json", str(out)])
    printed = capsys.readouterr().out
    assert bench_go.INSTALL_HINT in printed and "not measured" in printed
    results = json.loads(out.read_text())
    assert {f["side"] for f in results["figures"].values()} == {"wireproto"}
    assert len(results["figures"]) == 3 and results["goals"] == []


def test_without_the_sources_it_says_so(tmp_path: Path) -> None:
    toolchain, missing = bench_go.find_toolchain("/bin/true", str(tmp_path))
    assert toolchain is None and missing is not None
    assert bench_go.GO_IMPORTS[0] in missing


def test_go_anchors_check_their_counts_against_python(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _toolchain, missing = bench_go.find_toolchain(None, bench_go.GOPATH)
    if missing is not None:
        no_go(missing)
    out = tmp_path / "figures.json"
    bench_go.main([*TINY, "--json", str(out)])
    results = json.loads(out.read_text())
    go_rows = [f for f in results["figures"].values() if f["side"] == "go"]
    assert len(go_rows) == 3 and all(f["median_mb_per_s"] > 0 for f in go_rows)
    assert [goal["at_least"] for goal in results["goals"]] == [3.0, 4.5, 4.5]
    assert "docker-docker-dev" in " ".join(results["versions"])
    printed = capsys.readouterr().out
    assert bench_go.STDCOPY in printed and bench_go.JSONMESSAGE in printed


def test_the_go_harness_stops_on_a_miscount(tmp_path: Path) -> None:
    toolchain, missing = bench_go.find_toolchain(None, bench_go.GOPATH)
    if toolchain is None:
        no_go(missing)
    binary = bench_go.build(toolchain, tmp_path)
    path = tmp_path / "progress.jsonl"
    path.write_bytes(b'{"status":"a"}\r\n{"status":"b","id":"x"}\r\n')
    contender = bench_go.CONTENDERS[3]
    assert bench_go.timed_go(binary, contender, bench_go.Input("progress", b"", 2, None, path)) > 0
    with pytest.raises(SystemExit, match="saw 2 units"):
        bench_go.timed_go(binary, contender, bench_go.Input("progress", b"", 3, None, path))


def test_a_wireproto_miscount_stops_the_run(tmp_path: Path) -> None:
    item = bench_go.Input("progress", b"{}\r\n", 2, None, tmp_path / "x")
    contender = bench_go.CONTENDERS[2]
    with pytest.raises(SystemExit, match="saw 1 units"):
        bench_go.check(contender, item, 1, None)
