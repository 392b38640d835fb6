"""Which implementation of the hot paths runs: chosen once, at import.

``WIREPROTO_BACKEND=native`` or ``=python`` forces one; unset (or empty)
means native when the C module was built, else python.  An unknown value,
or native forced but not built, is a loud error: never a silent fallback.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

ENV_VAR = "WIREPROTO_BACKEND"
BACKENDS = ("native", "python")

BUILD_HINT = (
    "the native backend (wireproto._native) is not built; install a C compiler "
    "and reinstall (`pip install --force-reinstall --no-deps .`), or build it in "
    "place with `python setup.py build_ext --inplace`, or set WIREPROTO_BACKEND=python"
)


def load_native() -> ModuleType | None:
    """The compiled cffi module, or None when it was not built."""
    try:
        return importlib.import_module("wireproto._native")
    except ImportError:
        return None


def require_native() -> ModuleType:
    """The compiled cffi module; ImportError saying how to build it if absent."""
    native = load_native()
    if native is None:
        raise ImportError(BUILD_HINT)
    return native


def choose(value: str | None) -> str:
    """The backend for a WIREPROTO_BACKEND value (None or "" for the default)."""
    if not value:
        return "native" if load_native() is not None else "python"
    if value not in BACKENDS:
        raise ValueError(
            f"{ENV_VAR}={value!r} is not a backend; valid values: {', '.join(BACKENDS)}"
        )
    if value == "native":
        require_native()
    return value


BACKEND = choose(os.environ.get(ENV_VAR))
