"""The docker CLI's table and unit formats: tabwriter columns, "2 minutes ago", "1.24MB"."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from wireproto.units import human_duration


def tabulate(rows: Sequence[Sequence[str]], minwidth: int, padding: int = 3) -> str:
    """Rows aligned as Go's text/tabwriter does them for the docker CLI: every column but
    the last is as wide as its widest cell plus ``padding``, and never under ``minwidth``."""
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    widths = [
        max(minwidth, max(len(row[i]) for row in rows if i < len(row)) + padding)
        for i in range(columns - 1)
    ]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + row[-1])
    return "".join(line + "\n" for line in lines)


def ago(created: object, now: float | None = None) -> str:
    if not isinstance(created, int | float):
        return ""
    return human_duration((time.time() if now is None else now) - created) + " ago"


_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float, precision: int = 3) -> str:
    """go-units' HumanSizeWithPrecision (decimal units), as ``docker images`` prints SIZE."""
    unit = 0
    while size >= 1000.0 and unit < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.{precision}g}{_DECIMAL_UNITS[unit]}"


def short_id(identifier: object) -> str:
    """An id as the docker CLI shows it: no ``sha256:``, 12 characters."""
    text = str(identifier or "")
    return text.removeprefix("sha256:")[:12]


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def go_json(document: object, indent: int = 4) -> str:
    """JSON as ``docker inspect`` writes it: the engine's text re-indented (json.Indent),
    so nothing is escaped that the engine did not escape (it sends <, > and & as is)."""
    return json.dumps(document, indent=indent, ensure_ascii=False)
