"""The core is sans-IO: importing it pulls in no I/O or concurrency module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import wireproto

IO_MODULES = {"socket", "ssl", "asyncio", "trio", "selectors", "threading"}
PACKAGE = Path(wireproto.__file__).parent
CORE_MODULES = sorted(
    f"wireproto.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__main__"
)
CORE_MODULES = [m.removesuffix(".__init__") for m in CORE_MODULES]

# -S keeps site's .pth hooks (some import threading) from hiding an import.
PROBE = """
import json, site, sys
sys.path[:0] = [sys.argv[1], *site.getsitepackages()]
before = set(sys.modules)
for name in json.loads(sys.argv[2]):
    __import__(name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.mark.parametrize("backend", ["native", "python"])
def test_core_imports_no_io_modules(backend: str) -> None:
    root = str(PACKAGE.parent)
    result = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, root, json.dumps(CORE_MODULES)],
        capture_output=True,
        text=True,
        check=True,
        env={"WIREPROTO_BACKEND": backend, "PATH": "/usr/bin:/bin"},
    )
    imported = set(json.loads(result.stdout))
    assert "wireproto.mux" in imported
    assert not {m.split(".")[0] for m in imported} & IO_MODULES
