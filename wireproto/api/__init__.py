"""The endpoint catalogue: every Engine API endpoint as a pure function returning a Call.

Each function takes the API version in use (None: unprefixed, the engine's
newest) and refuses, with :class:`wireproto.errors.UnsupportedInVersion`,
what that version lacks (:mod:`wireproto.api.gates` holds the table).  The
Call carries the request, how its response is framed (``kind``, ``hijack``)
and the success statuses the API documents (``statuses``).

A call whose response changed shape across versions carries its
normaliser (``Call.shape``, from :mod:`wireproto.api.shapes`), so the
adapters' ``Reply.document`` has today's shape at every version
(``Reply.raw``: the document as sent).  Pull and push (``images/create``, ``push``)
are re-exported from :mod:`wireproto.api.registry`; build and events are
:func:`wireproto.api.build.build` and :func:`wireproto.api.events.events`
(their module names are taken, so they are not re-exported here).
"""

from __future__ import annotations

from wireproto.api.containers import (
    attach,
    attach_ws,
    changes,
    copy,
    create_container,
    export,
    inspect_container,
    kill,
    list_containers,
    logs,
    pause,
    remove_container,
    resize,
    restart,
    start,
    stop,
    top,
    unpause,
    wait,
)
from wireproto.api.exec import exec_create, exec_inspect, exec_resize, exec_start
from wireproto.api.images import (
    get_image,
    history,
    import_image,
    insert,
    inspect_image,
    list_images,
    load_image,
    remove_image,
    search,
    tag,
    viz,
)
from wireproto.api.registry import pull, push
from wireproto.api.system import commit, default_auth, engine_version, info, login, ping

__all__ = [
    "attach",
    "attach_ws",
    "changes",
    "commit",
    "copy",
    "create_container",
    "default_auth",
    "engine_version",
    "exec_create",
    "exec_inspect",
    "exec_resize",
    "exec_start",
    "export",
    "get_image",
    "history",
    "import_image",
    "info",
    "insert",
    "inspect_container",
    "inspect_image",
    "kill",
    "list_containers",
    "list_images",
    "load_image",
    "login",
    "logs",
    "pause",
    "ping",
    "pull",
    "push",
    "remove_container",
    "remove_image",
    "resize",
    "restart",
    "search",
    "start",
    "stop",
    "tag",
    "top",
    "unpause",
    "viz",
    "wait",
]
