"""The calls the first verbs used, now part of the endpoint catalogue.

Kept as a thin re-export of :mod:`wireproto.api` for code written against
it; new code imports ``wireproto.api``.
"""

from __future__ import annotations

from wireproto.api.containers import attach, inspect_container, logs, wait
from wireproto.api.exec import exec_create, exec_inspect, exec_start
from wireproto.api.system import engine_version, ping

__all__ = [
    "attach",
    "engine_version",
    "exec_create",
    "exec_inspect",
    "exec_start",
    "inspect_container",
    "logs",
    "ping",
    "wait",
]
