"""`pip install .` builds the native module with a compiler and still succeeds without one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def project_copy(destination: Path) -> Path:
    """The project's own files (tracked or new, not ignored): no built module rides along."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def pip_install(venv: Path, source: Path, env_changes: dict[str, str]) -> None:
    """``pip install SOURCE`` into ``venv`` (made if missing), as a user would run it."""
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, **env_changes}
    env.pop("WIREPROTO_BACKEND", None)
    env.pop("PYTHONPATH", None)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(source)], check=True, env=env)


def install_and_report(
    tmp_path: Path, env_changes: dict[str, str], source: Path | None = None
) -> str:
    source = source or project_copy(tmp_path / "src")
    venv = tmp_path / "venv"
    pip_install(venv, source, env_changes)
    python = venv / "bin" / "python"
    probe = (
        "import wireproto.adapters.blocking, wireproto.api, wireproto.cli\n"
        "import wireproto.mux as m\n"
        "print(m.BACKEND, [(s, bytes(p)) for s, p in m.Demuxer().feed(m.encode(1, b'ok'))])"
    )
    clean_env = {"PATH": os.environ["PATH"]}
    result = subprocess.run(
        [str(python), "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=clean_env,
    )
    usage = subprocess.run(
        [str(venv / "bin" / "wireproto"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=clean_env,
    )
    assert "logs" in usage.stdout
    return result.stdout


@pytest.mark.slow
def test_install_with_a_compiler_builds_native(tmp_path: Path) -> None:
    output = install_and_report(tmp_path, {})
    assert output.startswith("native ")
    assert output.split(" ", 1)[1].strip() == "[(1, b'ok')]"


@pytest.mark.slow
def test_install_without_a_compiler_falls_back_to_python(tmp_path: Path) -> None:
    output = install_and_report(tmp_path, {"CC": "false"})
    assert output.startswith("python ")
    assert output.split(" ", 1)[1].strip() == "[(1, b'ok')]"


@pytest.fixture(scope="module")
def built_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project after one ``pip install .`` with the compiler: build/ holds the module."""
    tmp = tmp_path_factory.mktemp("built")
    source = project_copy(tmp / "src")
    pip_install(tmp / "venv", source, {})
    assert sorted(source.glob("build/lib*/wireproto/_native*")), "no native module was built"
    return source


@pytest.mark.slow
@pytest.mark.parametrize("left", ["build", "inplace", "both"])
def test_install_without_a_compiler_ignores_what_an_earlier_build_left(
    tmp_path: Path, built_tree: Path, left: str
) -> None:
    """``CC=false pip install .`` in a tree built before ships no native module, whether it
    was left in build/ (newer than the sources, so setuptools would skip the build), in
    wireproto/ (``build_ext --inplace``), or in both."""
    source = tmp_path / "src"
    shutil.copytree(built_tree, source)  # copy2: the build's times, so it still looks fresh
    module = sorted(source.glob("build/lib*/wireproto/_native*"))[0]
    if left in ("inplace", "both"):
        shutil.copy2(module, source / "wireproto" / module.name)
    if left == "inplace":
        shutil.rmtree(source / "build")
    output = install_and_report(tmp_path, {"CC": "false"}, source)
    assert output.startswith("python ")
    assert output.split(" ", 1)[1].strip() == "[(1, b'ok')]"
