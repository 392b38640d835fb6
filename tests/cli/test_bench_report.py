"""``wireproto bench``'s table and picture, from real (tiny) runs: columns that line up, the
anchors named, one hint when they are not installed, and every section in the picture."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wireproto.bench import report

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--size", "1", "--repeat", "1"]
HINT = "pip install '.[bench]'"
# Run with docker-py and aiodocker unimportable, as on a machine without the bench extra.
HIDE_ANCHORS = "sys.modules['docker'] = sys.modules['aiodocker'] = None\n"
RUN_CLI = "from wireproto.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def bench(tmp_path: Path, *args: str, anchors: bool = True) -> tuple[str, dict[str, Any]]:
    """A tiny ``wireproto bench`` in a subprocess: (its table, its JSON)."""
    out = tmp_path / "bench.json"
    code = "import sys\n" + ("" if anchors else HIDE_ANCHORS) + RUN_CLI
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code, "bench", *TINY, "--json", str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(out.read_text())


def table_lines(table: str) -> list[str]:
    """The column headers and the rows of every case, up to the ``x limit`` column (the ``x
    anchors`` text after it is as long as it needs)."""
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("  contender "))
    end = header.index("x limit") + len("x limit")
    return [
        line[:end]
        for line in lines
        if line.startswith("  contender ") or re.match(r"  \S.*\d", line[:end])
    ]


def test_columns_line_up_whatever_the_names(tmp_path: Path) -> None:
    """The JSON section has a contender longer than the old fixed column."""
    table, results = bench(tmp_path, "--only", "json")
    longest = max(len(row["contender"]) for row in results["rows"])
    assert longest > 24
    lines = table_lines(table)
    cases = {(row["section"], row["case"]) for row in results["rows"]}
    assert len(lines) == len(cases) + len(results["rows"])
    assert len({len(line) for line in lines}) == 1, "\n".join(lines)
    for row in results["rows"]:
        line = next(line for line in lines if line.startswith(f"  {row['contender']}  "))
        assert line.split()[-1] == f"{row['x_limit']:.2f}"


def test_missing_anchors_give_one_hint_line(tmp_path: Path) -> None:
    table, results = bench(tmp_path, "--only", "json", "--only", "concurrency", anchors=False)
    assert {row["baseline"] for row in results["rows"]} == {"docker-py json_stream", "aiodocker"}
    assert all(row["x_baseline"] is None for row in results["rows"])
    hints = [line for line in table.splitlines() if HINT in line]
    assert len(hints) == 1, table
    assert "docker-py json_stream" in hints[0] and "aiodocker" in hints[0]


def test_installed_anchors_need_no_hint(tmp_path: Path) -> None:
    if importlib.util.find_spec("docker") is None:
        pytest.fail("docker-py is a test dependency (pip install '.[test]')")
    table, results = bench(tmp_path, "--only", "json")
    assert HINT not in table
    assert all(row["x_baseline"] is not None for row in results["rows"])
    assert "  JSON streams  baseline docker-py json_stream; limit msgspec Struct per line" in table


def test_the_title_names_the_engine_without_doubled_brackets() -> None:
    results = {
        "engine": "stub (wireproto.engine, subprocess)",
        "backend": "native",
        "repeat": 2,
        "elapsed_s": 9.5,
    }
    title = report.title(results)
    assert "stub (wireproto.engine, subprocess)" in title
    assert "((" not in title and "))" not in title


def test_the_picture_shows_every_section_with_its_anchors(tmp_path: Path) -> None:
    """matplotlib is a test dependency: the picture is checked, not skipped."""
    _table, results = bench(tmp_path, "--plot", str(tmp_path / "bench.png"))
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")
    drawn = report.figure(results)
    panels = {axis.get_title(loc="left").split(":")[0]: axis for axis in drawn.axes}
    sections = {row["section"] for row in results["rows"]}
    assert sections == {"demux kernels", "chunked logs", "JSON streams", "e2e logs", "concurrency"}
    assert set(panels) == sections
    for section, axis in panels.items():
        rows = [row for row in results["rows"] if row["section"] == section]
        labels = axis.get_legend_handles_labels()[1]
        measured = {row["contender"] for row in rows}
        assert len(labels) == len(measured)
        baseline, limit = rows[0]["baseline"], rows[0]["limit"]
        assert f"baseline {baseline}" in axis.get_title(loc="left")
        if baseline in measured:
            assert f"{baseline} [baseline]" in labels
        else:
            assert any(HINT in text.get_text() for text in axis.texts)
        if limit:
            assert any(label.startswith(limit) for label in labels)
        bars = [bar for container in axis.containers for bar in container]
        drawn_rates = sorted(bar.get_height() for bar in bars if not math.isnan(bar.get_height()))
        assert drawn_rates == sorted(row["mb_per_s"] for row in rows)  # every figure, a bar


def test_the_lowest_bar_of_a_panel_shows() -> None:
    """A rate that is a power of ten must not sit on the axis's floor."""
    rows = [
        {"section": "e2e logs", "case": "tiny", "contender": name, "mb_per_s": rate}
        for name, rate in (("raw socket (limit)", 1853.0), ("docker-py", 1.0))
    ]
    results = {"engine": "stub", "backend": "native", "repeat": 1, "elapsed_s": 1.0, "rows": rows}
    axis = report.figure(results).axes[0]
    floor = axis.get_ylim()[0]
    assert all(bar.get_height() >= 2 * floor for bar in axis.containers[1])
