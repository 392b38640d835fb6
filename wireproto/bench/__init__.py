"""The benchmark harness behind ``wireproto bench`` (see :mod:`wireproto.bench.runner`)."""
