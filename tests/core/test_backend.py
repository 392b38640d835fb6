"""WIREPROTO_BACKEND picks the backend once, loudly: no silent fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wireproto.codec import backend as _backend


def backend_in_subprocess(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != _backend.ENV_VAR}
    if value is not None:
        env[_backend.ENV_VAR] = value
    code = "from wireproto import mux; print(mux.BACKEND, mux.Demuxer.__module__)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_python_can_be_forced() -> None:
    result = backend_in_subprocess("python")
    assert result.stdout.split() == ["python", "wireproto.codec.python.mux"]


def test_native_can_be_forced_when_built() -> None:
    if _backend.load_native() is None:
        pytest.skip("the native module is not built")
    result = backend_in_subprocess("native")
    assert result.stdout.split() == ["native", "wireproto.codec.native.mux"]


def test_unset_means_native_when_built() -> None:
    expected = "native" if _backend.load_native() is not None else "python"
    assert backend_in_subprocess(None).stdout.split()[0] == expected
    assert backend_in_subprocess("").stdout.split()[0] == expected


def test_an_unknown_value_lists_the_valid_ones() -> None:
    result = backend_in_subprocess("rust")
    assert result.returncode != 0
    assert "WIREPROTO_BACKEND='rust' is not a backend; valid values: native, python" in (
        result.stderr
    )


def test_native_forced_but_not_built_says_how_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_backend, "load_native", lambda: None)
    with pytest.raises(ImportError, match="build_ext --inplace"):
        _backend.choose("native")
    assert _backend.choose(None) == "python"
