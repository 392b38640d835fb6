"""``login``/``logout`` and ``pull``'s reference line, compared with the docker CLI.

On the real engine and its local registries: each CLI gets its own
``DOCKER_CONFIG`` and the files they write are compared byte for byte.  The
credential helper is a real program on ``PATH`` (a small script keeping its
store in a file), run by both CLIs.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import Engine, Registry
from wireproto.api.auth import parse_reference
from wireproto.cli.login import server_key
from wireproto.cli.streams import full_reference


@pytest.mark.parametrize(
    ("given", "key"),
    [
        (None, "https://index.docker.io/v1/"),
        ("docker.io", "https://index.docker.io/v1/"),
        ("https://index.docker.io/v1/", "https://index.docker.io/v1/"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
        ("https://registry.example:443/x", "registry.example:443"),
    ],
)
def test_server_keys_as_docker_stores_them(given: str | None, key: str) -> None:
    assert server_key(given) == key


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("someone/tool", "docker.io/someone/tool:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
        ("127.0.0.1:5000/x:1", "127.0.0.1:5000/x:1"),
        ("localhost/x", "localhost/x:latest"),
        ("Registry/x", "Registry/x:latest"),
        ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64),
        ("r.io/a/b:t@sha256:" + "b" * 64, "r.io/a/b:t@sha256:" + "b" * 64),
    ],
)
def test_full_reference_as_docker_pull_prints_it(given: str, printed: str) -> None:
    assert full_reference(parse_reference(given)) == printed


# --- against the real engine ------------------------------------------------------------------

HELPER = """#!{python}
import json, os, sys
path = os.environ["P11_HELPER_STORE"]
data = json.load(open(path)) if os.path.exists(path) else {{}}
action = sys.argv[1]
if action == "store":
    item = json.load(sys.stdin)
    data[item["ServerURL"]] = item
elif action in ("get", "erase"):
    url = sys.stdin.read().strip()
    if url not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    if action == "get":
        print(json.dumps(data[url]))
        sys.exit(0)
    del data[url]
json.dump(data, open(path, "w"), sort_keys=True)
"""


class Side:
    """One CLI (ours or docker's) with its own config directory and helper store."""

    def __init__(self, engine: Engine, root: Path, command: list[str], helper_dir: Path) -> None:
        self.engine = engine
        self.config = root / "config"
        self.helper_store = root / "helper.json"
        self.command = command
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        self.env.update(
            DOCKER_CONFIG=str(self.config),
            P11_HELPER_STORE=str(self.helper_store),
            PATH=f"{helper_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            DOCKER_CLI_HINTS="false",
        )

    def __call__(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*self.command, "-H", self.engine.host, *args],
            input=stdin,
            capture_output=True,
            timeout=120,
            env=self.env,
            cwd=self.config.parent,
        )

    @property
    def file(self) -> Path:
        return self.config / "config.json"

    def same_text(self, out: bytes) -> bytes:
        return out.replace(str(self.config).encode(), b"CONFIG")


@pytest.fixture
def sides(engine: Engine, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-p11test"
    helper.write_text(HELPER.format(python=sys.executable))
    helper.chmod(0o755)
    ours = Side(engine, tmp_path / "ours", [sys.executable, "-m", "wireproto"], helper_dir)
    theirs = Side(engine, tmp_path / "theirs", [engine.cli], helper_dir)
    for side in (ours, theirs):
        side.config.mkdir(parents=True)
    yield ours, theirs


def _both(
    sides: tuple[Side, Side], *args: str, stdin: bytes = b""
) -> list[tuple[int, bytes, bytes]]:
    """Runs both; their exit codes, stdouts and stderrs (config paths made alike)."""
    results = []
    for side in sides:
        done = side(*args, stdin=stdin)
        results.append((done.returncode, side.same_text(done.stdout), side.same_text(done.stderr)))
    return results


def _login(registry: Registry) -> tuple[list[str], bytes]:
    assert registry.user and registry.password
    return (
        ["login", "-u", registry.user, "--password-stdin", registry.address],
        registry.password.encode() + b"\n",
    )


@pytest.mark.engine
def test_login_then_logout_as_docker(sides: tuple[Side, Side], auth_registry: Registry) -> None:
    args, password = _login(auth_registry)
    ours, theirs = _both(sides, *args, stdin=password)
    assert ours[0] == theirs[0] == 0, ours
    assert ours[1] == theirs[1] == b"Login Succeeded\n"
    assert b"wireproto: " + ours[2] == b"wireproto: " + theirs[2]  # the unencrypted warning
    assert sides[0].file.read_bytes() == sides[1].file.read_bytes()
    assert stat.S_IMODE(sides[0].file.stat().st_mode) == 0o600
    assert password.strip() not in ours[1] + ours[2]
    # Stored credentials let pull through the auth registry, and login again without -u.
    again = _both(sides, "login", auth_registry.address)
    assert again[0] == again[1] and again[0][1].startswith(b"Authenticating with existing")
    out = _both(sides, "logout", auth_registry.address)
    assert out[0] == out[1] and out[0][:2] == (
        0,
        b"Removing login credentials for %s\n" % auth_registry.address.encode(),
    )
    assert sides[0].file.read_bytes() == sides[1].file.read_bytes() == b'{\n\t"auths": {}\n}'


@pytest.mark.engine
def test_login_keeps_the_rest_of_the_config(
    sides: tuple[Side, Side], auth_registry: Registry
) -> None:
    for side in sides:
        side.file.write_text(
            '{"psFormat": "table {{.ID}}", "auths": {"other:1": {"auth": "eDp5"}}}'
        )
        side.file.chmod(0o640)
    args, password = _login(auth_registry)
    ours = sides[0](*args, stdin=password)
    assert ours.returncode == 0, ours.stderr
    document = json.loads(sides[0].file.read_text())
    assert document["psFormat"] == "table {{.ID}}" and "other:1" in document["auths"]
    assert auth_registry.address in document["auths"]
    assert stat.S_IMODE(sides[0].file.stat().st_mode) == 0o640


@pytest.mark.engine
def test_a_wrong_password_fails_and_stores_nothing(
    sides: tuple[Side, Side], auth_registry: Registry
) -> None:
    args, _ = _login(auth_registry)
    ours, theirs = _both(sides, *args, stdin=b"wrong-password-p11\n")
    assert ours[0] == theirs[0] == 1
    assert ours[1] == theirs[1] == b""
    assert ours[2] == b"wireproto: " + theirs[2]
    assert b"wrong-password-p11" not in ours[2]
    assert not sides[0].file.exists()


@pytest.mark.engine
@pytest.mark.parametrize(
    "args", [["login", "--password-stdin"], ["login"]], ids=["no-username", "no-tty"]
)
def test_login_refusals_exit_1_as_docker(
    sides: tuple[Side, Side], registry: Registry, args: list[str]
) -> None:
    ours, theirs = _both(sides, *args, registry.address, stdin=b"x\n")
    assert ours[0] == theirs[0] == 1
    assert theirs[2].rstrip().endswith(ours[2].removeprefix(b"wireproto: ").rstrip())


@pytest.mark.engine
@pytest.mark.parametrize("section", ["credsStore", "credHelpers"])
def test_login_through_a_credential_helper(
    sides: tuple[Side, Side], auth_registry: Registry, engine: Engine, section: str
) -> None:
    for side in sides:
        setting: object = "p11test"
        if section == "credHelpers":
            setting = {auth_registry.address: "p11test"}
        side.file.write_text(json.dumps({section: setting}))
    args, password = _login(auth_registry)
    ours, theirs = _both(sides, *args, stdin=password)
    assert ours == theirs and ours[:2] == (0, b"Login Succeeded\n") and ours[2] == b""
    assert sides[0].file.read_bytes() == sides[1].file.read_bytes()
    assert password.strip() not in sides[0].file.read_bytes()
    assert sides[0].helper_store.read_bytes() == sides[1].helper_store.read_bytes()
    # The stored credentials work: pull from the auth registry through the helper.
    image = f"{auth_registry.address}/{uuid.uuid4().hex[:8]}:1"
    engine.docker("tag", engine.image, image)
    try:
        pushed = sides[0]("push", image)
        assert pushed.returncode == 0, pushed.stderr
    finally:
        engine.docker("rmi", image, check=False)
    pulled = sides[0]("pull", image)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.endswith(image.encode() + b"\n")
    engine.docker("rmi", image, check=False)
    out = _both(sides, "logout", auth_registry.address)
    assert out[0] == out[1] and out[0][0] == 0
    assert json.loads(sides[0].helper_store.read_text()) == {}
    assert sides[0].file.read_bytes() == sides[1].file.read_bytes()


@pytest.fixture(scope="module")
def pulled_image(engine: Engine, registry: Registry) -> Iterator[str]:
    name = f"{registry.address}/wp-p11-pull-{uuid.uuid4().hex[:8]}"
    for tag in ("1", "latest"):
        engine.docker("tag", engine.image, f"{name}:{tag}")
        engine.docker("push", f"{name}:{tag}")
    yield name
    engine.docker("rmi", f"{name}:1", f"{name}:latest", check=False)


@pytest.mark.engine
@pytest.mark.parametrize("form", ["no tag", "tag", "digest", "quiet"])
def test_pull_output_as_docker_pull(sides: tuple[Side, Side], pulled_image: str, form: str) -> None:
    engine = sides[0].engine
    args = [pulled_image] if form == "no tag" else [f"{pulled_image}:1"]
    if form == "quiet":
        args.insert(0, "-q")
    if form == "digest":
        digests = engine.docker("inspect", "--format", "{{json .RepoDigests}}", f"{pulled_image}:1")
        args = [json.loads(digests.stdout)[0]]
    ours, theirs = _both(sides, "pull", *args)
    assert ours == theirs and ours[0] == 0
    assert ours[1].endswith(
        (args[-1] if form != "no tag" else f"{pulled_image}:latest").encode() + b"\n"
    )
