"""``-H`` and ``DOCKER_HOST`` as the docker CLI reads them, before the adapter parses them.

Strategy: the docker CLI (``opts.ParseHost``) takes an address without a
scheme as TCP (``-H 127.0.0.1:2375``), fills a missing host with
``localhost`` and a missing port with 2375 (with TLS too: 2376 is only the
default when no host is given at all), and refuses what it cannot reach.
Here the value is rewritten into the explicit form the adapters take
(``tcp://HOST:PORT``); TLS is still decided by the adapter from
``DOCKER_TLS_VERIFY``/``DOCKER_TLS``/``DOCKER_CERT_PATH``, as docker does.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from wireproto.cli.errors import UsageError

DEFAULT_TCP_HOST = "localhost"
DEFAULT_TCP_PORT = 2375  # docker's ParseTCPAddr default, TLS or not


def docker_host(value: str | None, environ: Mapping[str, str]) -> str | None:
    """``-H`` (else ``$DOCKER_HOST``) in the adapters' explicit form; None: the default.

    A value starting with ``/`` stays a unix socket path (the adapters' reading;
    docker would take it as a TCP path), ``http(s)://`` passes to the adapter.
    """
    host = (value if value is not None else environ.get("DOCKER_HOST", "")).strip()
    if not host:
        return None
    if host.startswith("/"):
        return host
    scheme, sep, rest = host.partition("://")
    if not sep:
        scheme, rest = "tcp", host  # docker: an address without a scheme is TCP
    if scheme == "tcp":
        return "tcp://" + tcp_address(rest, host)
    if scheme == "unix":
        return host if rest else "unix:///var/run/docker.sock"
    if scheme == "fd":
        raise UsageError(
            f"host {host!r}: fd:// is where a daemon started by systemd listens; "
            "a client connects with unix:// or tcp://"
        )
    return host  # http(s)://, or a scheme the adapter refuses with its own message


def tcp_address(rest: str, given: str) -> str:
    """``HOST:PORT[/path]`` as docker's ``ParseTCPAddr`` completes it (no path kept:
    the engine serves none)."""
    if "://" in rest:
        raise UsageError(f"host {given!r}: invalid address, expected tcp://HOST:PORT")
    if not rest:
        return f"{DEFAULT_TCP_HOST}:{DEFAULT_TCP_PORT}"
    parts = urlsplit("tcp://" + rest)
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"host {given!r}: invalid port") from None
    name = parts.hostname or DEFAULT_TCP_HOST
    if ":" in name:
        name = f"[{name}]"  # an IPv6 address keeps its brackets
    return f"{name}:{port if port is not None else DEFAULT_TCP_PORT}"
