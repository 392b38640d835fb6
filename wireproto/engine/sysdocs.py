"""The documents of ``GET /version``, ``GET /info`` and the auth endpoints, by API version.

Strategy: each version's reference shows the keys its engine sent; the
documents here carry those keys and no others below 1.41, so a client that
reads a key a version lacked finds it missing, as it would have.  At 1.41
they are dockerd 20.10's.  Auth stores only what an engine of 1.0 or 1.1
stored (username and email; the password is never kept or shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from wireproto.engine import eras
from wireproto.versions import ApiVersion

MODERN = ApiVersion(1, 41)
GIT_COMMIT = "wireproto"
GO_VERSION = "go1.x"


@dataclass
class Counts:
    containers: int
    running: int
    images: int


def version_document(
    engine: ApiVersion, server_version: str, minimum: ApiVersion
) -> dict[str, object]:
    """``GET /version`` as an engine of version ``engine`` answered it."""
    if engine >= MODERN:
        return _modern_version(engine, server_version, minimum)
    document: dict[str, object] = {}
    if eras.has("version.api_version", engine):
        document["ApiVersion"] = str(engine)
    document.update(Version=server_version, GitCommit=GIT_COMMIT, GoVersion=GO_VERSION)
    return document


def _modern_version(
    engine: ApiVersion, server_version: str, minimum: ApiVersion
) -> dict[str, object]:
    build = {
        "ApiVersion": str(engine),
        "MinAPIVersion": str(minimum),
        "GitCommit": GIT_COMMIT,
        "GoVersion": GO_VERSION,
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": "stub",
    }
    built_at = "2023-11-14T22:13:20.000000000+00:00"
    return {
        "Platform": {"Name": "wireproto stub engine"},
        "Components": [
            {
                "Name": "Engine",
                "Version": server_version,
                "Details": {**build, "Experimental": "false", "BuildTime": built_at},
            }
        ],
        "Version": server_version,
        **build,
        "BuildTime": built_at,
    }


def info_document(engine: ApiVersion, counts: Counts, server_version: str) -> dict[str, object]:
    """``GET /info`` with the keys the reference of ``engine`` shows."""
    if engine >= MODERN:
        return _modern_info(counts, server_version)
    document: dict[str, object] = {"Containers": counts.containers, "Images": counts.images}
    if eras.has("info.driver", engine):
        document.update(Driver="stub", ExecutionDriver="stub-0.1", KernelVersion="stub")
    document.update(Debug=False, NFd=11, NGoroutines=21)
    if eras.has("info.driver", engine):
        document.update(
            NEventsListener=0,
            InitPath="/usr/bin/docker",
            IndexServerAddress=["https://index.docker.io/v1/"],
        )
    document.update(MemoryLimit=True, SwapLimit=False)
    if eras.has("info.lxc", engine):
        document.update(EventsListeners="0", LXCVersion="0.7.5", KernelVersion="stub")
    if eras.has("info.ipv4_forwarding", engine):
        document["IPv4Forwarding"] = True
    return document


def _modern_info(counts: Counts, server_version: str) -> dict[str, object]:
    return {
        "ID": "WIRE:PROT:STUB",
        "Containers": counts.containers,
        "ContainersRunning": counts.running,
        "ContainersPaused": 0,
        "ContainersStopped": counts.containers - counts.running,
        "Images": counts.images,
        "Driver": "stub",
        "ServerVersion": server_version,
        "OperatingSystem": "wireproto stub engine",
        "OSType": "linux",
        "Architecture": "x86_64",
        "NCPU": 1,
        "MemTotal": 1 << 30,
        "Name": "wireproto-stub",
        "IndexServerAddress": "https://index.docker.io/v1/",
    }


@dataclass
class StoredLogin:
    """What an engine of 1.0/1.1 kept from ``POST /auth``: no password, by design here."""

    username: str = ""
    email: str = ""
    serveraddress: str = ""

    def __repr__(self) -> str:
        return f"StoredLogin(username={self.username!r}, email={self.email!r})"


def login_from(body: object) -> StoredLogin:
    """The non-secret part of an AuthConfig body (anything not a JSON object: empty)."""
    if not isinstance(body, dict):
        return StoredLogin()
    return StoredLogin(
        username=str(body.get("username") or ""),
        email=str(body.get("email") or ""),
        serveraddress=str(body.get("serveraddress") or ""),
    )
