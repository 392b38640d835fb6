"""The matrix cannot fall behind: every catalogue call has a case, the client's and the
engine's version tables agree, and the README shows the table the cases generate."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from tests.conformance import table
from tests.conformance.cases import CASES, GROUPS
from tests.conformance.model import VERSIONS
from wireproto.api import build, containers, events, exec, gates, images, registry, system
from wireproto.http import Call

CATALOGUE = (containers, exec, images, registry, system, build, events)
README = Path(__file__).resolve().parents[2] / "README.md"


def catalogue_functions() -> dict[str, object]:
    """Every public function of the catalogue modules that returns a Call."""
    found: dict[str, object] = {}
    for module in CATALOGUE:
        for name, func in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(func):
                continue
            if func.__module__ == module.__name__ and "Call" in str(
                func.__annotations__.get("return")
            ):
                found[f"{module.__name__}.{name}"] = func
    return found


def test_every_catalogue_call_has_a_case() -> None:
    covered = {case.func for case in CASES}
    missing = [name for name, func in catalogue_functions().items() if func not in covered]
    assert not missing, f"catalogue calls without a conformance case: {missing}"
    assert len(catalogue_functions()) >= 44


def test_cases_are_named_once_and_grouped() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    assert {case.group for case in CASES} == set(GROUPS)
    assert Call.__name__ == "Call"  # the annotation the discovery reads


def test_the_client_and_engine_tables_agree() -> None:
    """Where both tables have a row of the same name, they hold at the same versions."""
    from wireproto.engine import eras

    shared = sorted(set(gates.BY_NAME) & set(eras.BY_NAME))
    assert shared, "no row names in common between gates.py and eras.py"
    disagree = [
        f"{name} at {version}: client {gates.has(name, version)}, engine {eras.has(name, version)}"
        for name in shared
        for version in VERSIONS
        if gates.has(name, version) != eras.has(name, version)
    ]
    assert not disagree, disagree


def test_readme_shows_the_generated_table() -> None:
    shown = table.in_readme(README.read_text(encoding="utf-8"))
    if shown is None:
        pytest.fail(
            f"README.md has no {table.START} ... {table.END} section: paste the output of "
            "`python -m tests.conformance.table` there"
        )
    assert shown == table.render(), "README's conformance table is stale: regenerate it"
