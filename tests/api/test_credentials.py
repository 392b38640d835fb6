"""config.json credentials and the docker-credential-* helper protocol (a real fake helper)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from wireproto.api.auth import AuthConfig
from wireproto.api.credentials import (
    Credentials,
    RelativeHelperPath,
    config_path,
    load_config,
)
from wireproto.errors import CredentialsError

PASSWORD = "wp-??????-~~~~~~-Pass"

HELPER = """#!/bin/sh
# A fake docker-credential helper: `get` reads the server on stdin.
read server
echo "$1 $server" >> "{log}"
case "$server" in
  reg.example)
    printf '{{"ServerURL":"%s","Username":"helper-user","Secret":"{secret}"}}' "$server" ;;
  token.example) printf '{{"ServerURL":"%s","Username":"<token>","Secret":"id-token"}}' "$server" ;;
  broken.example) echo "not json" ;;
  fail.example) echo "keychain locked {secret}" >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


@pytest.fixture
def helper_env(tmp_path: Path) -> dict[str, str]:
    """A PATH with docker-credential-fake in it; the helper logs its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-fake"
    script.write_text(HELPER.format(log=tmp_path / "calls.log", secret=PASSWORD))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path)}


def test_config_path(tmp_path: Path) -> None:
    assert config_path({"DOCKER_CONFIG": str(tmp_path)}) == tmp_path / "config.json"
    assert config_path({}).name == "config.json"


def test_auths_entry_with_auth_field(tmp_path: Path) -> None:
    encoded = base64.b64encode(f"wireproto:{PASSWORD}".encode()).decode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"127.0.0.1:5001": {"auth": encoded}}})
    )
    creds = Credentials(environ={"DOCKER_CONFIG": str(tmp_path)})
    found = creds.get("127.0.0.1:5001")
    assert found == AuthConfig(
        username="wireproto", password=PASSWORD, serveraddress="127.0.0.1:5001"
    )
    assert creds.get("127.0.0.1:9999") is None


def test_auths_entry_forms() -> None:
    creds = Credentials(
        {
            "auths": {
                "https://index.docker.io/v1/": {"identitytoken": "tok"},
                "https://r.example": {"username": "u", "password": "p", "email": "e@x"},
                "empty.example": {},
            }
        }
    )
    hub = creds.get("docker.io")
    assert hub is not None and hub.identitytoken == "tok"
    other = creds.get("r.example")
    assert other is not None and (other.username, other.password, other.email) == ("u", "p", "e@x")
    assert creds.get("empty.example") is None
    assert set(creds.all()) == {"https://index.docker.io/v1/", "https://r.example"}


def test_bad_auth_field_names_no_secret() -> None:
    creds = Credentials({"auths": {"r.example": {"auth": "bm9jb2xvbg=="}}})  # "nocolon"
    with pytest.raises(CredentialsError, match=r"r\.example") as caught:
        creds.get("r.example")
    assert "nocolon" not in str(caught.value)


def test_bad_config_json_names_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"auths": {"x": {"auth": "' + PASSWORD)
    with pytest.raises(CredentialsError, match="not valid JSON") as caught:
        load_config(path)
    assert PASSWORD not in str(caught.value)
    assert load_config(tmp_path / "missing.json") == {}


def test_cred_helpers_protocol(tmp_path: Path, helper_env: dict[str, str]) -> None:
    config = {"credHelpers": {"reg.example": "fake", "token.example": "fake"}}
    creds = Credentials(config, environ=helper_env)
    found = creds.get("reg.example")
    assert found == AuthConfig(
        username="helper-user", password=PASSWORD, serveraddress="reg.example"
    )
    assert PASSWORD not in repr(found)
    token = creds.get("token.example")
    assert token == AuthConfig(identitytoken="id-token", serveraddress="token.example")
    assert (tmp_path / "calls.log").read_text().splitlines() == [
        "get reg.example",
        "get token.example",
    ]


def test_creds_store_then_auths(helper_env: dict[str, str]) -> None:
    config = {"credsStore": "fake", "auths": {"other.example": {"auth": "dTpw"}}}  # u:p
    creds = Credentials(config, environ=helper_env)
    found = creds.get("reg.example")
    assert found is not None and found.username == "helper-user"
    # The store has nothing for other.example ("credentials not found"): the auths entry.
    other = creds.get("other.example")
    assert other is not None and (other.username, other.password) == ("u", "p")
    assert creds.get("nothing.example") is None


def test_helper_failures_are_typed_and_secret_free(helper_env: dict[str, str]) -> None:
    creds = Credentials(
        {"credHelpers": {"fail.example": "fake", "broken.example": "fake", "gone.example": "gone"}},
        environ=helper_env,
    )
    with pytest.raises(CredentialsError, match="exit 3") as caught:
        creds.get("fail.example")
    assert PASSWORD not in str(caught.value)
    with pytest.raises(CredentialsError, match="no JSON"):
        creds.get("broken.example")
    with pytest.raises(CredentialsError, match="docker-credential-gone is not on PATH"):
        creds.get("gone.example")
    assert "config.json" in repr(creds)


MARKER_HELPER = """#!/bin/sh
# Writes a marker if it runs at all, then answers like a helper.
echo ran > "{marker}"
printf '{{"ServerURL":"x","Username":"dot-user","Secret":"{secret}"}}'
"""


@pytest.fixture
def dot_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """docker-credential-dot in the current directory (and in ./rel); returns the marker path."""
    work = tmp_path / "work"
    (work / "rel").mkdir(parents=True)
    marker = tmp_path / "helper-ran"
    for where in (work, work / "rel"):
        script = where / "docker-credential-dot"
        script.write_text(MARKER_HELPER.format(marker=marker, secret=PASSWORD))
        script.chmod(0o755)
    monkeypatch.chdir(work)
    return marker


@pytest.mark.parametrize(
    "path_value",
    [".", "", "/nonexistent-dir::/usr/bin", ".:/usr/bin", "rel", "/usr/bin:rel", "./rel"],
    ids=["dot", "empty", "empty-between", "dot-first", "relative-dir", "relative-after", "dot-rel"],
)
def test_helper_through_relative_path_entry_is_refused(dot_helper: Path, path_value: str) -> None:
    creds = Credentials({"credHelpers": {"reg.example": "dot"}}, environ={"PATH": path_value})
    with pytest.raises(RelativeHelperPath, match="relative PATH entry") as caught:
        creds.get("reg.example")
    assert isinstance(caught.value, CredentialsError)
    assert "docker-credential-dot" in str(caught.value)
    assert not dot_helper.exists(), "the helper found through a relative PATH entry ran"


def test_helper_through_absolute_path_entry_runs(dot_helper: Path) -> None:
    absolute = str(Path.cwd() / "rel")
    creds = Credentials({"credsStore": "dot"}, environ={"PATH": f"/nonexistent-dir:{absolute}"})
    found = creds.get("reg.example")
    assert found is not None and found.username == "dot-user"
    assert dot_helper.read_text() == "ran\n"


def test_first_match_decides_as_go_lookpath(dot_helper: Path) -> None:
    # An absolute entry before "." wins; "." before an absolute one is refused
    # even though the absolute one has the helper too (Go returns ErrDot).
    absolute = str(Path.cwd() / "rel")
    creds = Credentials({"credsStore": "dot"}, environ={"PATH": f"{absolute}:."})
    assert creds.get("reg.example") is not None
    dot_helper.unlink()
    creds = Credentials({"credsStore": "dot"}, environ={"PATH": f".:{absolute}"})
    with pytest.raises(RelativeHelperPath):
        creds.get("reg.example")
    assert not dot_helper.exists()


def test_helper_name_with_a_slash_is_refused(dot_helper: Path) -> None:
    creds = Credentials({"credsStore": "x/../../dot"}, environ={"PATH": "/usr/bin"})
    with pytest.raises(CredentialsError, match="holds a '/'"):
        creds.get("reg.example")
    assert not dot_helper.exists()


# --- hand-edited configs and odd helpers: a typed error or nothing, never another exception ----

DEEP = "[" * 40_000 + "]" * 40_000


@pytest.mark.parametrize(
    "text",
    [
        b'{"auths": ' + DEEP.encode() + b"}",
        b'{"credHelpers": {"a": ' + b'{"b":' * 30_000 + b"1" + b"}" * 30_000 + b"}}",
        b'{"auths": {"r.example": {"auth": "\xff\xfe"}}}',
    ],
    ids=["deep-array", "deep-object", "not-utf8"],
)
def test_unreadable_config_is_a_credentials_error(tmp_path: Path, text: bytes) -> None:
    (tmp_path / "config.json").write_bytes(text)
    with pytest.raises(CredentialsError, match=r"config\.json"):
        Credentials(environ={"DOCKER_CONFIG": str(tmp_path)})


@pytest.mark.parametrize("section", ["auths", "credHelpers"])
@pytest.mark.parametrize("value", [5, 2.5, True, ["reg.example"], "reg.example"])
def test_sections_that_are_not_objects_name_no_registry(section: str, value: object) -> None:
    creds = Credentials({section: value}, environ={"PATH": "/nonexistent"})
    assert creds.all() == {}
    assert creds.get("reg.example") is None


def test_helper_printing_deep_json_is_a_credentials_error(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "deep.json").write_text('{"Username": ' + DEEP + "}")
    script = bin_dir / "docker-credential-deep"
    script.write_text(f"#!/bin/sh\nexec /bin/cat '{bin_dir / 'deep.json'}'\n")
    script.chmod(0o755)
    creds = Credentials({"credsStore": "deep"}, environ={"PATH": str(bin_dir)})
    with pytest.raises(CredentialsError, match="no JSON object"):
        creds.get("reg.example")
