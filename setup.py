# The native demuxer is built by cffi from native/; see native/ffibuilder.py.
# Without a C compiler the extension is skipped (optional=True there) and the
# pure-Python backend is used.
from setuptools import setup

setup(cffi_modules=["native/ffibuilder.py:ffibuilder"])
