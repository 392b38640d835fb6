"""The import probe: which modules a fresh interpreter loads when importing some of ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import wireproto

IO_MODULES = {"socket", "ssl", "asyncio", "trio", "selectors", "threading"}
PACKAGE = Path(wireproto.__file__).parent

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
