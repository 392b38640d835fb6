"""The C backend (native/*.c through cffi), behind the same interface.

Loading the compiled module lives here, not in :mod:`wireproto.codec.backend`,
so that the backend switch imports this package and this package never
imports the switch (no import cycle).
"""

from __future__ import annotations

import importlib
from types import ModuleType

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


def load_pieces() -> ModuleType | None:
    """The C piece cutter (``wireproto._pieces``, native/pieces.c), or None
    when it was not built: the pieces are then cut with struct, alike."""
    try:
        return importlib.import_module("wireproto._pieces")
    except ImportError:
        return None


def require_native() -> ModuleType:
    """The compiled cffi module; ImportError saying how to build it if absent."""
    native = load_native()
    if native is None:
        raise ImportError(BUILD_HINT)
    return native
