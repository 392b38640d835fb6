"""``wireproto login`` and ``logout``: registry credentials kept as the docker CLI keeps them.

Strategy: ``login`` checks the credentials with the engine (``POST /auth``),
then stores them where ``docker login`` would: through the credential helper
named for that registry (``credHelpers``) or for all (``credsStore``), with
only an empty entry left in ``config.json``'s ``auths``; else in ``auths`` as
``{"auth": base64(user:password)}``.  ``logout`` erases them the same way.
The file is ``$DOCKER_CONFIG/config.json`` (else ``~/.docker/config.json``),
rewritten whole (other keys kept) through a temporary file and a rename, mode
0600, in the layout Go's ``json.MarshalIndent`` gives.  The password is read
from stdin (``--password-stdin``) or a terminal prompt, never an argument, and
is never printed: only the helper's stdin and the request body hold it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wireproto.adapters.blocking import Client
from wireproto.api import login as login_call
from wireproto.api.auth import DOCKER_HUB_KEY, AuthConfig, SecretText
from wireproto.api.credentials import (
    HELPER_PREFIX,
    HELPER_TIMEOUT,
    Credentials,
    config_path,
    find_helper,
    load_config,
)
from wireproto.cli.streams import GO_ESCAPES, client_for
from wireproto.errors import CredentialsError, WireprotoError
from wireproto.versions import ApiVersion

DOCKER_HUB_NAME = "docker.io"  # docker's DefaultNamespace: login to it is login to Hub
UNENCRYPTED_WARNING = (
    "WARNING! Your password will be stored unencrypted in {path}.\n"
    "Configure a credential helper to remove this warning. See\n"
    "https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n"
)


class LoginError(WireprotoError):
    """Login cannot go on (no username, no terminal to ask on); exit 1, as docker's."""


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = verbs.add_parser(
        "login", help="log in to a registry (default Docker Hub) and store the credentials"
    )
    login.add_argument("-u", "--username", help="registry user")
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    login.add_argument("server", nargs="?", metavar="SERVER")
    login.set_defaults(handler=run_login)
    logout = verbs.add_parser("logout", help="remove a registry's stored credentials")
    logout.add_argument("server", nargs="?", metavar="SERVER")
    logout.set_defaults(handler=run_logout)


def server_key(server: str | None) -> str:
    """The key docker stores a registry under: Hub's index URL, else ``host[:port]``
    (``registry.ConvertToHostname``: no scheme, nothing after the first ``/``)."""
    if not server or server == DOCKER_HUB_NAME:
        return DOCKER_HUB_KEY
    if server == DOCKER_HUB_KEY:
        return server
    for scheme in ("http://", "https://"):
        if server.startswith(scheme):
            server = server[len(scheme) :]
            break
    return server.split("/", 1)[0]


# --- config.json -------------------------------------------------------------------------------


def save_config(path: Path, document: Mapping[str, Any]) -> None:
    """Writes ``document`` as docker does (tab-indented, Go's escapes, no final newline),
    whole or not at all: a temporary file beside it, renamed over it."""
    target = Path(os.path.realpath(path))  # a symlinked config.json is written through
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps(docker_layout(document), indent="\t", ensure_ascii=False)
    data = go_json_escapes(text).encode("utf-8")
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".config.json.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)  # ours: made just above
        raise


# The docker CLI writes its ConfigFile struct: these keys in this order (maps sorted by
# key); keys it does not know, which it would drop, are kept here, after them.
CONFIG_KEYS = (
    "auths", "HttpHeaders", "psFormat", "imagesFormat", "networksFormat", "pluginsFormat",
    "volumesFormat", "statsFormat", "detachKeys", "credsStore", "credHelpers",
    "serviceInspectFormat", "servicesFormat", "tasksFormat", "secretFormat", "configFormat",
    "nodesFormat", "pruneFilters", "proxies", "experimental", "stackOrchestrator",
    "kubernetes", "currentContext", "cliPluginsExtraDirs", "plugins", "aliases",
)  # fmt: skip
SORTED_MAPS = ("auths", "HttpHeaders", "credHelpers", "proxies", "plugins", "aliases")


def docker_layout(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` in the order the docker CLI writes it."""
    known = [key for key in CONFIG_KEYS if key in config]
    ordered = {key: config[key] for key in [*known, *(k for k in config if k not in known)]}
    for key in SORTED_MAPS:
        if isinstance(ordered.get(key), dict):
            ordered[key] = dict(sorted(ordered[key].items()))
    return ordered


def go_json_escapes(text: str) -> str:
    """Go's HTML-safe escapes in JSON text, as ``json.MarshalIndent`` writes them."""
    return text.translate(GO_ESCAPES)


def plain(value: str) -> str:
    """A secret field's text, for the one place it must go (a helper's stdin, the file)."""
    return value.reveal() if isinstance(value, SecretText) else value


def _helper_for(config: Mapping[str, Any], server: str) -> str | None:
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict) and helpers.get(server):
        return str(helpers[server])
    store = config.get("credsStore")
    return str(store) if store else None


def _run_helper(name: str, action: str, payload: bytes) -> None:
    """``docker-credential-NAME store|erase`` with ``payload`` on stdin; the secret is never
    in an argument, and a failure names the helper, never what it was given."""
    if "/" in name:
        raise CredentialsError(f"credential helper name {name!r} holds a '/'")
    program = HELPER_PREFIX + name
    executable = find_helper(program)
    try:
        done = subprocess.run(
            [executable, action], input=payload, capture_output=True, timeout=HELPER_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"credential helper {program} did not answer") from None
    if done.returncode != 0:
        said = done.stdout.decode("utf-8", "replace").strip().splitlines()[:1]
        raise CredentialsError(
            f"credential helper {program} {action} failed (exit {done.returncode})"
            + (f": {said[0]}" if said and action == "erase" else "")
        )


def store(path: Path, server: str, auth: AuthConfig) -> bool:
    """Stores ``auth`` for ``server``; True when it went into the file (a password in clear)."""
    config = load_config(path)
    auths = config.get("auths")
    if not isinstance(auths, dict):
        auths = config["auths"] = {}
    helper = _helper_for(config, server)
    if helper is not None:
        token = auth.identitytoken
        secret = plain(token or auth.password)
        payload = {
            "ServerURL": server,
            "Username": "<token>" if token else auth.username,
            "Secret": secret,
        }
        _run_helper(helper, "store", json.dumps(payload).encode())
        auths[server] = {}  # as docker's native store: the address only, no secret
    else:
        auths[server] = _file_entry(auth)
    save_config(path, config)
    return helper is None and bool(auth.password)


def _file_entry(auth: AuthConfig) -> dict[str, str]:
    entry: dict[str, str] = {}
    password = plain(auth.password)
    if auth.username or password:
        entry["auth"] = base64.b64encode(f"{auth.username}:{password}".encode()).decode()
    if auth.identitytoken:
        entry["identitytoken"] = plain(auth.identitytoken)
    return entry


def erase(path: Path, server: str) -> None:
    """Removes ``server``'s credentials (helper, then the ``auths`` entry)."""
    config = load_config(path)
    helper = _helper_for(config, server)
    if helper is not None:
        _run_helper(helper, "erase", server.encode())
    auths = config.get("auths")
    if isinstance(auths, dict):
        auths.pop(server, None)
    else:
        config["auths"] = {}
    save_config(path, config)


# --- the verbs ---------------------------------------------------------------------------------


def _password_from_stdin() -> str:
    """All of stdin, less one final newline (and a ``\\r`` before it), as docker reads it."""
    data = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    data = data.removesuffix("\n")
    return data.removesuffix("\r")


def _ask(server: str, username: str | None) -> tuple[str, str]:
    if not (os.isatty(0) and sys.stdin.isatty()):
        raise LoginError("Cannot perform an interactive login from a non TTY device")
    import getpass

    if not username:
        sys.stdout.write("Username: ")
        sys.stdout.flush()
        username = sys.stdin.readline().strip()
    return username, getpass.getpass("Password: ")


def _authenticate(client: Client, auth: AuthConfig) -> AuthConfig:
    """``POST /auth``; the engine's status printed; an identity token replaces the password."""
    reply = client.request(login_call(auth, client.api_version))
    document = reply.document if isinstance(reply.document, dict) else {}
    token = document.get("IdentityToken")
    if isinstance(token, str) and token:
        auth = AuthConfig(
            username=auth.username, serveraddress=auth.serveraddress, identitytoken=token
        )
    status = document.get("Status")
    if isinstance(status, str) and status:
        print(status)
    return auth


def run_login(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    server = server_key(args.server)
    path = config_path()
    if args.password_stdin and not args.username:
        raise LoginError("Must provide --username with --password-stdin")
    with client_for(args, pinned) as client:
        stored = None if args.username else Credentials(path=path).get(server)
        if stored is not None and stored.username and stored.password:
            print("Authenticating with existing credentials...")
            auth = _authenticate(client, stored)
        else:
            if args.password_stdin:
                username, password = args.username, _password_from_stdin()
            else:
                username, password = _ask(server, args.username)
            auth = AuthConfig(username=username, password=password, serveraddress=server)
            auth = _authenticate(client, auth)
    in_clear = store(path, server, auth)
    if in_clear:
        sys.stderr.write(UNENCRYPTED_WARNING.format(path=path))
    return 0


def run_logout(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    server = server_key(args.server)
    keys = (
        [server] if server == DOCKER_HUB_KEY else [server, f"http://{server}", f"https://{server}"]
    )
    print(f"Removing login credentials for {server}")
    path = config_path()
    failed: dict[str, str] = {}
    for key in keys:
        try:
            erase(path, key)
        except CredentialsError as exc:
            failed[key] = str(exc)
    if len(failed) == len(keys):
        sys.stderr.write("WARNING: could not erase credentials:\n")
        for key, why in failed.items():
            sys.stderr.write(f"{key}: {why}\n")
    return 0
