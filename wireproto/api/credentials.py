"""Registry credentials as the docker CLI stores them: config.json and credential helpers.

Lookup order for a registry (as the docker CLI): ``credHelpers[registry]``,
then ``credsStore`` (the default helper), then the ``auths`` entry, whose
``auth`` field is the *standard* base64 of ``user:password`` (or which holds
``username``/``password`` or ``identitytoken``).  Docker Hub is stored under
``https://index.docker.io/v1/``; other registries under their host, with or
without a scheme.

A helper ``docker-credential-NAME`` is run as ``NAME get`` with the server
address on stdin; it prints ``{"ServerURL", "Username", "Secret"}`` (a
``Username`` of ``<token>`` means the secret is an identity token), or exits
non-zero saying ``credentials not found``.  This module runs a subprocess:
it lives in ``wireproto.api``, outside the sans-IO core.

The helper is looked up on ``PATH`` as Go's ``exec.LookPath`` (1.19+) does
for the docker CLI: the first executable match wins, and a match found
through a relative entry (``.``, an empty entry, ``bin``) is refused with
:class:`RelativeHelperPath`, never run: whoever controls the current
directory would otherwise choose the program that receives the secrets.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wireproto.api.auth import DOCKER_HUB, DOCKER_HUB_KEY, AuthConfig
from wireproto.errors import CredentialsError

HELPER_PREFIX = "docker-credential-"
HELPER_TIMEOUT = 30.0  # seconds; a helper may prompt a keychain, but must not hang us
NOT_FOUND = "credentials not found"
Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    environ = os.environ if environ is None else environ
    directory = environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return Path(directory) / "config.json"


def load_config(path: Path) -> dict[str, Any]:
    """The parsed config.json; {} when it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror}") from None
    try:
        document = json.loads(data.decode("utf-8"))
    except RecursionError:  # nested past the parser's stack: no config is that deep
        raise CredentialsError(f"{path} nests too deep to be a config") from None
    except ValueError as exc:  # not UTF-8 (UnicodeDecodeError) or not JSON
        # The message names the place, never the text (it may hold secrets).
        raise CredentialsError(
            f"{path} is not valid JSON (line {getattr(exc, 'lineno', '?')})"
        ) from None
    if not isinstance(document, dict):
        raise CredentialsError(f"{path} does not hold a JSON object")
    return document


def _keys(section: object) -> list[str]:
    """The registries a config section names: its keys when it is an object, else none."""
    return list(section) if isinstance(section, dict) else []


def server_keys(registry: str) -> list[str]:
    """The config.json keys under which ``registry``'s credentials may be stored."""
    if registry in (DOCKER_HUB, "index.docker.io", "registry-1.docker.io", DOCKER_HUB_KEY):
        return [DOCKER_HUB_KEY, "index.docker.io", DOCKER_HUB]
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/"]


class RelativeHelperPath(CredentialsError):
    """A credential helper was found only through a relative ``PATH`` entry: not run.

    ``program`` is the helper's name, ``entry`` the PATH entry (``""`` for an
    empty one) and ``path`` where it was found.
    """

    def __init__(self, program: str, entry: str, path: str) -> None:
        shown = repr(entry) if entry else "an empty entry (the current directory)"
        super().__init__(
            f"credential helper {program} was found at {path} through the relative PATH "
            f"entry {shown}; refusing to run it (as the docker CLI does): "
            "put its directory on PATH as an absolute path"
        )
        self.program = program
        self.entry = entry
        self.path = path


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_helper(program: str, environ: Mapping[str, str] | None = None) -> str:
    """The absolute path of ``program`` on ``environ``'s PATH (as Go's LookPath finds it).

    Raises CredentialsError when it is nowhere, RelativeHelperPath when the
    first match comes through a relative entry.
    """
    environ = os.environ if environ is None else environ
    search = environ.get("PATH", os.defpath)
    for entry in search.split(os.pathsep):
        candidate = os.path.join(entry or ".", program)
        if not _is_executable(candidate):
            continue
        if not os.path.isabs(candidate):
            raise RelativeHelperPath(program, entry, candidate)
        return candidate
    raise CredentialsError(f"credential helper {program} is not on PATH")


class Credentials:
    """Looks up credentials in one config.json (``config``), running helpers with ``run``."""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        path: Path | None = None,
        environ: Mapping[str, str] | None = None,
        run: Runner = subprocess.run,
    ) -> None:
        self.path = path or config_path(environ)
        self.config = dict(config) if config is not None else load_config(self.path)
        self.environ = environ
        self._run = run

    def __repr__(self) -> str:
        return f"Credentials(path={str(self.path)!r})"

    def get(self, registry: str) -> AuthConfig | None:
        """The credentials for ``registry`` (a host[:port], or docker.io), or None."""
        keys = server_keys(registry)
        helpers = self.config.get("credHelpers") or {}
        for key in keys:
            if isinstance(helpers, dict) and helpers.get(key):
                return self.from_helper(str(helpers[key]), key)
        store = self.config.get("credsStore")
        if store:
            found = self.from_helper(str(store), keys[0])
            if found is not None:
                return found
        auths = self.config.get("auths") or {}
        for key in keys:
            entry = auths.get(key) if isinstance(auths, dict) else None
            if isinstance(entry, dict):
                return self.from_entry(entry, key)
        return None

    def all(self) -> dict[str, AuthConfig]:
        """Every registry's credentials (for ``X-Registry-Config`` on build)."""
        found: dict[str, AuthConfig] = {}
        # Either may be any JSON value in a hand-edited file: only objects name registries.
        auths, helpers = self.config.get("auths"), self.config.get("credHelpers")
        for key in [*_keys(auths), *_keys(helpers)]:
            config = self.get(key)
            if config is not None:
                found[key] = config
        return found

    def from_entry(self, entry: Mapping[str, Any], server: str) -> AuthConfig | None:
        """An ``auths`` entry: ``auth`` (std base64 of user:password), or its fields."""
        username = str(entry.get("username") or "")
        password = str(entry.get("password") or "")
        encoded = entry.get("auth")
        if encoded:
            try:
                decoded = base64.b64decode(str(encoded) + "=" * (-len(str(encoded)) % 4))
                username, sep, password = decoded.decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                sep = ""
            if not sep:
                raise CredentialsError(
                    f"{self.path}: the auth field for {server} is not base64 of user:password"
                ) from None
        token = str(entry.get("identitytoken") or "")
        if not (username or password or token):
            return None
        return AuthConfig(
            username=username,
            password=password,
            email=str(entry.get("email") or ""),
            serveraddress=server,
            identitytoken=token,
        )

    def from_helper(self, name: str, server: str) -> AuthConfig | None:
        """``docker-credential-NAME get``; None when it has no credentials for ``server``."""
        program = HELPER_PREFIX + name
        if "/" in name:
            raise CredentialsError(f"credential helper name {name!r} holds a '/'")
        executable = find_helper(program, self.environ)
        env = dict(self.environ) if self.environ is not None else None
        try:
            proc = self._run(
                [executable, "get"],
                input=server.encode(),
                capture_output=True,
                timeout=HELPER_TIMEOUT,
                env=env,
            )
        except FileNotFoundError:
            raise CredentialsError(f"credential helper {program} is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise CredentialsError(
                f"credential helper {program} did not answer in {HELPER_TIMEOUT:.0f}s"
            ) from None
        if proc.returncode != 0:
            said = (proc.stdout or b"").decode("utf-8", "replace").strip()
            if NOT_FOUND in said.lower():
                return None
            raise CredentialsError(
                f"credential helper {program} failed (exit {proc.returncode}) for {server}"
            )
        return self._parse_helper(program, server, proc.stdout)

    def _parse_helper(self, program: str, server: str, out: bytes) -> AuthConfig:
        try:
            document = json.loads(out)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise CredentialsError(f"credential helper {program} printed no JSON object")
        username = str(document.get("Username") or "")
        secret = str(document.get("Secret") or "")
        if username == "<token>":
            return AuthConfig(serveraddress=server, identitytoken=secret)
        return AuthConfig(username=username, password=secret, serveraddress=server)
