"""Every ``eras`` row is named by some test's ``pytest.mark.row(...)``, and every name is a row.

The marks are read from the test modules' source with :mod:`ast` rather than
from pytest's collection, so the check holds whichever subset of tests a run
selects (``-k``, one module, ``-x``).  Any ``pytest.mark.row(...)`` call counts:
as a decorator, a module's ``pytestmark`` or a ``pytest.param(marks=...)``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from wireproto.engine import eras
from wireproto.versions import ApiVersion

TESTS = Path(__file__).resolve().parent.parent


def _is_row_mark(node: ast.AST) -> bool:
    """``pytest.mark.row`` (the callee of a ``row(...)`` mark)."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "row"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "pytest"
    )


def marks_in_source(source: str, where: str) -> list[str]:
    """The row names a module's ``pytest.mark.row(...)`` calls give; non-literal names refused."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source, where)):
        if not (isinstance(node, ast.Call) and _is_row_mark(node.func)):
            continue
        for argument in node.args:
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                raise AssertionError(f"{where}:{node.lineno}: row() takes literal row names")
            names.append(argument.value)
        if not node.args:
            raise AssertionError(f"{where}:{node.lineno}: row() names no row")
    return names


def marks_under(root: Path) -> dict[str, list[str]]:
    """Row name -> the modules (relative to ``root``) whose tests name it."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        where = str(path.relative_to(root))
        for name in marks_in_source(path.read_text(encoding="utf-8"), where):
            found.setdefault(name, []).append(where)
    return found


def coverage_faults(rows: Iterable[eras.Row], marked: dict[str, list[str]]) -> list[str]:
    """Each row no test names, and each mark naming no row: empty when the two agree."""
    names = {row.name for row in rows}
    untested = [f"row {name!r} has no test marked with it" for name in sorted(names - set(marked))]
    unknown = [
        f"{', '.join(sorted(set(marked[name])))}: marks row {name!r}, which eras.py does not have"
        for name in sorted(set(marked) - names)
    ]
    return untested + unknown


# --- the check itself ----------------------------------------------------------------------------


def test_every_eras_row_has_a_marked_test_and_every_mark_is_a_row() -> None:
    faults = coverage_faults(eras.ROWS, marks_under(TESTS))
    assert not faults, "\n".join(faults)


# --- the check can fail, both ways ---------------------------------------------------------------


def _row(name: str) -> eras.Row:
    return eras.Row(name=name, since=ApiVersion(1, 5), source="a test's fake table")


def test_a_row_no_test_names_is_reported() -> None:
    table = (_row("a"), _row("b"))
    assert coverage_faults(table, {"a": ["t.py"]}) == ["row 'b' has no test marked with it"]


def test_a_mark_naming_no_row_is_reported_with_its_module() -> None:
    faults = coverage_faults((_row("a"),), {"a": ["t.py"], "typo": ["u.py", "u.py"]})
    assert faults == ["u.py: marks row 'typo', which eras.py does not have"]


def test_agreeing_table_and_marks_report_nothing() -> None:
    assert coverage_faults((_row("a"), _row("b")), {"a": ["t.py"], "b": ["t.py"]}) == []


def test_marks_are_read_from_decorators_pytestmark_and_params() -> None:
    source = """
import pytest
pytestmark = pytest.mark.row("m")
@pytest.mark.row("a", "b")
def test_x(): ...
@pytest.mark.parametrize("v", [pytest.param(1, marks=pytest.mark.row("p"))])
def test_y(v): ...
@pytest.mark.slow
def test_z(): ...
"""
    assert sorted(marks_in_source(source, "t.py")) == ["a", "b", "m", "p"]


def test_a_computed_row_name_is_refused() -> None:
    source = "import pytest\nNAME = 'a'\n@pytest.mark.row(NAME)\ndef test_x(): ...\n"
    try:
        marks_in_source(source, "t.py")
    except AssertionError as error:
        assert "t.py:3" in str(error)
    else:
        raise AssertionError("a non-literal row name was accepted")


def test_marks_are_found_in_files_on_disk(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "test_a.py").write_text(
        "import pytest\n@pytest.mark.row('_ping')\ndef test_a(): ...\n", encoding="utf-8"
    )
    assert marks_under(tmp_path) == {"_ping": ["sub/test_a.py"]}
