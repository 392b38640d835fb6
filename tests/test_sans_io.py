"""The core is sans-IO: importing it pulls in no I/O or concurrency module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

import wireproto

IO_MODULES = {"socket", "ssl", "asyncio", "trio", "selectors", "threading"}
PACKAGE = Path(wireproto.__file__).parent
CORE_MODULES = sorted(
    f"wireproto.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__main__"
)
CORE_MODULES = [m.removesuffix(".__init__") for m in CORE_MODULES]

# -S keeps site's .pth hooks (some import threading) from hiding an import; the
# import path comes from this process instead, so the probe sees the same
# packages (a virtualenv's site-packages, which -S alone would lose).
PROBE = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
before = set(sys.modules)
for name in json.loads(sys.argv[2]):
    __import__(name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def probe_path() -> list[str]:
    """This tree first, then every directory this interpreter imports from."""
    return [str(PACKAGE.parent), *(p for p in sys.path if p and os.path.isdir(p))]


def imported_by(modules: Iterable[str], env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter (no site hooks) loads when importing ``modules``."""
    argv = [sys.executable, "-S", "-c", PROBE, json.dumps(probe_path()), json.dumps(list(modules))]
    result = subprocess.run(
        argv, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **(env or {})}
    )
    assert result.returncode == 0, f"the import probe failed:\n{result.stderr}"
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("backend", ["native", "python"])
def test_core_imports_no_io_modules(backend: str) -> None:
    imported = imported_by(CORE_MODULES, {"WIREPROTO_BACKEND": backend})
    assert "wireproto.mux" in imported
    assert not {m.split(".")[0] for m in imported} & IO_MODULES


def test_a_failing_probe_shows_its_stderr() -> None:
    with pytest.raises(AssertionError, match=r"No module named 'wireproto\.no_such_module'"):
        imported_by(["wireproto.no_such_module"])
