# The native demuxer is built by cffi from native/; see native/ffibuilder.py.
# Without a C compiler the extension is skipped (optional=True there) and the
# pure-Python backend is used.  The JSON stream's whole-line feeds are a plain
# CPython extension (native/jsonfeed.c: it calls Python objects), optional too,
# as is the one making a read's short pieces (native/pieces.c: it makes Python
# objects).
from __future__ import annotations

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

BINARY_SUFFIXES = (".so", ".pyd", ".dylib")


def module_binaries(directory: Path, module: str) -> list[Path]:
    """Every compiled form of ``module`` in ``directory`` (any ABI tag: abi3, cpython-3XX)."""
    return [
        path
        for path in directory.glob(module + ".*")
        if path.name.endswith(BINARY_SUFFIXES) and path.is_file()
    ]


class FreshBuildExt(build_ext):
    """Removes an extension's earlier output before building it.

    With ``optional=True`` a failed compile is only a warning, so a module left by an
    earlier build would ship as if just built; and setuptools does not even try to build
    when that module is newer than the sources.  Removed first, a failed build leaves none.
    """

    def build_extension(self, ext: Extension) -> None:
        target = Path(self.get_ext_fullpath(ext.name))
        for stale in module_binaries(target.parent, ext.name.rpartition(".")[2]):
            stale.unlink()
        super().build_extension(ext)


class SourceOnlyBuildPy(build_py):
    """Takes no compiled module from the source tree as package data (``build_ext
    --inplace`` leaves one there): only build_ext decides whether the wheel has one."""

    def find_data_files(self, package: str, src_dir: str) -> list[str]:
        files: list[str] = super().find_data_files(package, src_dir)
        return [name for name in files if not name.endswith(BINARY_SUFFIXES)]


def c_extension(name: str, source: str, *headers: str) -> Extension:
    """An optional CPython extension from native/ (a failed compile only warns)."""
    return Extension(
        f"wireproto.{name}",
        sources=[f"native/{source}"],
        include_dirs=["native"],
        depends=[f"native/{header}" for header in headers],
        extra_compile_args=["-O3", "-Wall", "-Wextra"],
        optional=True,
    )


JSONFEED = c_extension("_jsonfeed", "jsonfeed.c", "jsonscan.h")
PIECES = c_extension("_pieces", "pieces.c", "wireproto.h")

setup(
    cffi_modules=["native/ffibuilder.py:ffibuilder"],
    ext_modules=[JSONFEED, PIECES],
    cmdclass={"build_ext": FreshBuildExt, "build_py": SourceOnlyBuildPy},
)
