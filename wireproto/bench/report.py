"""``wireproto bench``'s results shown: the table it prints and the picture ``--plot`` draws.

Both read the results dict :func:`wireproto.bench.runner.run` returns (or its JSON), so a
saved run can be shown again.  Each row may name its section's anchors (``baseline``, the
contender its ``x baseline`` divides by, and ``limit``, its ``x limit``'s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

MIB = 1024 * 1024
NAME_WIDTH = 24  # the contender column at least; wider when a name is longer
BENCH_EXTRA_HINT = "pip install '.[bench]'"

Rows = list[dict[str, Any]]


def grouped(rows: Iterable[dict[str, Any]], key: str) -> dict[str, Rows]:
    """Rows by ``row[key]``, in the order they first appear."""
    groups: dict[str, Rows] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def missing_anchors(rows: Rows) -> list[str]:
    """The baselines rows name that no row of their section measured (not installed)."""
    missing: dict[str, None] = {}
    for section_rows in grouped(rows, "section").values():
        measured = {row["contender"] for row in section_rows}
        for row in section_rows:
            anchor = row.get("baseline")
            if anchor and anchor not in measured:
                missing[anchor] = None
    return list(missing)


def table(results: dict[str, Any]) -> str:
    rows: Rows = results["rows"]
    width = max([NAME_WIDTH, *(len(row["contender"]) + 2 for row in rows)])
    lines = [
        f"wireproto bench: backend {results['backend']}, engine {results['engine']}, "
        f"best of {results['repeat']}, {results['elapsed_s']} s; MB = 10^6 bytes, "
        "CPU = the client thread's"
    ]
    for (section, case), case_rows in _cases(rows):
        lines.append(f"\n{section}: {case}")
        lines.append(
            f"  {'contender':<{width}}{'MiB':>7}{'wall s':>8}{'CPU s':>8}{'MB/s':>10}"
            f"{'CPU s/GiB':>11}{'x baseline':>12}{'x limit':>9}  x anchors"
        )
        lines.extend(_row_line(row, width) for row in case_rows)
    lines.extend(anchor_lines(rows))
    missing = list(
        dict.fromkeys(
            [*missing_anchors(rows), *(gap["contender"] for gap in results.get("missing", []))]
        )
    )
    if missing:
        lines.append(
            f'x baseline is "-" where its anchor is not installed ({", ".join(missing)}): '
            f"{BENCH_EXTRA_HINT}"
        )
    return "\n".join(lines)


def anchors(section_rows: Rows) -> tuple[str | None, str | None]:
    """(baseline, limit): the contenders a section's ratios divide by, as its rows name them."""
    first = section_rows[0]
    return first.get("baseline"), first.get("limit")


def anchor_lines(rows: Rows) -> list[str]:
    lines = ["\nx baseline and x limit divide by:"]
    sections = grouped(rows, "section")
    width = max(len(name) for name in sections)
    for section, section_rows in sections.items():
        baseline, limit = anchors(section_rows)
        if baseline is None and limit is None:
            continue
        limit_text = f"limit {limit}" if limit else "no limit"
        lines.append(f"  {section:<{width}}  baseline {baseline or '-'}; {limit_text}")
    return lines if len(lines) > 1 else []


def _cases(rows: Rows) -> list[tuple[tuple[str, str], Rows]]:
    cases: dict[tuple[str, str], Rows] = {}
    for row in rows:
        cases.setdefault((row["section"], row["case"]), []).append(row)
    return list(cases.items())


def _row_line(row: dict[str, Any], width: int) -> str:
    base = f"{row['x_baseline']:.1f}" if row["x_baseline"] is not None else "-"
    limit = f"{row['x_limit']:.2f}" if row["x_limit"] is not None else "-"
    others = ", ".join(f"{v:g}x {k}" for k, v in (row.get("anchors") or {}).items())
    return (
        f"  {row['contender']:<{width}}{row['bytes'] / MIB:>7.1f}{row['wall_s']:>8.3f}"
        f"{row['cpu_s']:>8.3f}{row['mb_per_s']:>10,.1f}"
        f"{row['cpu_s_per_gib']:>11.2f}{base:>12}{limit:>9}  {others}"
    ).rstrip()


# --- the picture ---------------------------------------------------------------------------

LIMIT_COLOUR = "black"
BASELINE_COLOUR = "0.65"


def title(results: dict[str, Any]) -> str:
    """One line: the engine as the run names it (it may hold brackets of its own)."""
    return (
        f"wireproto bench: engine {results['engine']}; backend {results['backend']}, "
        f"best of {results['repeat']}, {results['elapsed_s']} s"
    )


def plot(results: dict[str, Any], path: str) -> None:
    """Writes :func:`figure`'s picture to ``path`` (PNG, or what its suffix names)."""
    import matplotlib.pyplot as plt  # type: ignore[import-not-found,unused-ignore]

    drawn = figure(results)
    drawn.savefig(path, dpi=110)
    plt.close(drawn)


def figure(results: dict[str, Any]) -> Any:
    """Every section in a panel of its own: MB/s of each contender in each case, beside the
    section's baseline (grey, hatched) and limit (black)."""
    import matplotlib  # type: ignore[import-not-found,unused-ignore]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found,unused-ignore]

    sections = grouped(results["rows"], "section")
    if not sections:
        raise ValueError("no results to plot")
    drawn, axes = plt.subplots(
        len(sections), 1, figsize=(11, 3.4 * len(sections) + 0.6), squeeze=False
    )
    for axis, (section, rows) in zip(axes[:, 0], sections.items()):
        draw_section(axis, section, rows)
    drawn.suptitle(title(results), fontsize=10)
    # The title gets a band of its own above the first panel's caption.
    drawn.tight_layout(rect=(0, 0, 1, 1 - 0.35 / drawn.get_figheight()))
    return drawn


def draw_section(axis: Any, section: str, rows: Rows) -> None:
    """Grouped bars: one group per case, one bar per contender, on a log scale."""
    cases = list(grouped(rows, "case"))
    contenders = list(grouped(rows, "contender"))
    baseline, limit = anchors(rows)
    width = 0.8 / len(contenders)
    colours = iter(distinct_colours(len(contenders)))
    for index, contender in enumerate(contenders):
        by_case = {row["case"]: row["mb_per_s"] for row in rows if row["contender"] == contender}
        positions = [c + (index - (len(contenders) - 1) / 2) * width for c in range(len(cases))]
        heights = [by_case.get(case, math.nan) for case in cases]
        style, label = bar_style(contender, baseline, limit, colours)
        bars = axis.bar(positions, heights, width * 0.95, label=label, **style)
        axis.bar_label(bars, labels=[rate_label(h) for h in heights], fontsize=6, padding=1)
    axis.set_xticks(range(len(cases)), cases)
    axis.set_title(f"{section}: {anchor_caption(baseline, limit)}", fontsize=10, loc="left")
    log_rate_axis(axis, [row["mb_per_s"] for row in rows])
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if baseline and baseline not in contenders:
        axis.text(
            0.99,
            0.97,
            f"{baseline} is not installed: {BENCH_EXTRA_HINT}",
            transform=axis.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color="firebrick",
        )


def distinct_colours(count: int) -> list[str]:
    """``count`` colours no two alike: matplotlib's ten, then tab20's lighter halves."""
    from matplotlib import colormaps  # type: ignore[import-not-found,unused-ignore]

    if count <= 10:
        return [f"C{index}" for index in range(count)]
    from matplotlib.colors import to_hex  # type: ignore[import-not-found,unused-ignore]

    shades = colormaps["tab20"]
    return [str(to_hex(shades(index % 20))) for index in range(count)]


def log_rate_axis(axis: Any, rates: list[float]) -> None:
    """MB/s on a log scale from a whole decade at least half the lowest rate below it (so
    every panel has a labelled tick and the lowest bar shows), room on top for labels."""
    from matplotlib.ticker import (  # type: ignore[import-not-found,unused-ignore]
        FuncFormatter,
        NullFormatter,
    )

    axis.set_yscale("log")
    positive = [rate for rate in rates if rate > 0]
    if positive:
        axis.set_ylim(10 ** math.floor(math.log10(min(positive) / 2)), max(positive) * 2.5)
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: rate_label(value)))
    axis.yaxis.set_minor_formatter(NullFormatter())
    axis.set_ylabel("MB/s")
    axis.grid(axis="y", which="major", alpha=0.3)


def bar_style(
    contender: str, baseline: str | None, limit: str | None, colours: Iterator[str]
) -> tuple[dict[str, Any], str]:
    """The limit black, the baseline grey and hatched, every other contender a colour."""
    if contender == limit:
        return {
            "color": LIMIT_COLOUR
        }, contender if "limit" in contender else f"{contender} [limit]"
    if contender == baseline:
        return {
            "color": BASELINE_COLOUR,
            "hatch": "//",
            "edgecolor": "0.3",
        }, f"{contender} [baseline]"
    return {"color": next(colours)}, contender


def rate_label(rate: float) -> str:
    if math.isnan(rate):
        return ""
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.2g}"


def anchor_caption(baseline: str | None, limit: str | None) -> str:
    return f"baseline {baseline or 'none'}, {f'limit {limit}' if limit else 'no limit'}"
