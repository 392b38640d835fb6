"""The stub engine's protocol side is sans-IO, as the client core is (core/test_sans_io.py)."""

from __future__ import annotations

from tests.support.sans_io import IO_MODULES, imported_by

SANS_IO = ["wireproto.engine.protocol", "wireproto.engine.script", "wireproto.engine"]


def test_engine_protocol_imports_no_io_modules() -> None:
    imported = imported_by(SANS_IO)
    assert "wireproto.engine.protocol" in imported and "h11" in imported
    assert not {m.split(".")[0] for m in imported} & IO_MODULES, sorted(imported)


def test_the_server_is_still_importable_from_the_package() -> None:
    from wireproto.engine import StubEngine, StubEngineProcess
    from wireproto.engine.server import StubEngine as Direct

    assert StubEngine is Direct and StubEngineProcess.__name__ == "StubEngineProcess"
