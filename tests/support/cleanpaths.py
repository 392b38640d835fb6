"""Paths with empty, ``.`` or ``..`` segments and the 301 ``Location`` dockerd 20.10 answers:
one table for the stub's tests and the real engine's."""

from __future__ import annotations

# (method, target, Location)
MOVED = [
    ("GET", "//x/_ping", "/x/_ping"),
    ("GET", "//_ping", "/_ping"),
    ("GET", "/v1.41//_ping", "/v1.41/_ping"),
    ("GET", "/./_ping", "/_ping"),
    ("GET", "/a/../_ping", "/_ping"),
    ("GET", "/%2F_ping", "/_ping"),
    ("GET", "//_ping/?a=1&b=%2F", "/_ping/?a=1&b=%2F"),
    ("POST", "/v1.41/containers//x/start", "/v1.41/containers/x/start"),
    ("GET", "/../../containers/a%20b/json", "/containers/a%20b/json"),
    ("GET", "//[fe80::/v1.41/version", "/%5Bfe80::/v1.41/version"),
]
