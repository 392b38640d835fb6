# The native demuxer is built by cffi from native/; see native/ffibuilder.py.
# Without a C compiler the extension is skipped (optional=True there) and the
# pure-Python backend is used.  The JSON stream's whole-line feeds are a plain
# CPython extension (native/jsonfeed.c: it calls Python objects), optional too.
from setuptools import Extension, setup

JSONFEED = Extension(
    "wireproto._jsonfeed",
    sources=["native/jsonfeed.c"],
    include_dirs=["native"],
    depends=["native/jsonscan.h"],
    extra_compile_args=["-O3", "-Wall", "-Wextra"],
    optional=True,
)

setup(cffi_modules=["native/ffibuilder.py:ffibuilder"], ext_modules=[JSONFEED])
