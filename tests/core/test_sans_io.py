"""The core is sans-IO: importing it pulls in no I/O or concurrency module."""

from __future__ import annotations

import pytest

from tests.support.sans_io import IO_MODULES, PACKAGE, imported_by

CORE_FILES = [
    *(path for path in PACKAGE.glob("*.py") if path.stem != "__main__"),
    *PACKAGE.glob("codec/**/*.py"),  # the decoders are core too, both backends
]
CORE_MODULES = sorted(
    ".".join(("wireproto", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(
        ".__init__"
    )
    for path in CORE_FILES
)


@pytest.mark.parametrize("backend", ["native", "python"])
def test_core_imports_no_io_modules(backend: str) -> None:
    imported = imported_by(CORE_MODULES, {"WIREPROTO_BACKEND": backend})
    assert {"wireproto.mux", "wireproto.codec.native.mux", "wireproto.codec.python.mux"} <= imported
    assert not {m.split(".")[0] for m in imported} & IO_MODULES


def test_a_failing_probe_shows_its_stderr() -> None:
    with pytest.raises(AssertionError, match=r"No module named 'wireproto\.no_such_module'"):
        imported_by(["wireproto.no_such_module"])
