"""``POST /build``: an image from a tar context; a JSON stream of the steps' output.

The body is the context as a tar stream (API 1.3+; no multipart), bytes or
an iterable of pieces sent chunked as they come (see
:func:`wireproto.api.buildcontext.tar_context`).  A failing step arrives
in-band (``{"error", "errorDetail": {"code"}}``, the exit status from 1.8):
:func:`wireproto.progress.check` turns it into BuildError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from wireproto.api import gates
from wireproto.api._common import TAR, make, opt
from wireproto.api.auth import AuthConfig, encode_config
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion

CONFIG_HEADER = "X-Registry-Config"


def build(
    context: bytes | Iterable[bytes],
    version: ApiVersion | None = None,
    *,
    tag: str | None = None,
    quiet: bool = False,
    nocache: bool = False,
    rm: bool = True,
    forcerm: bool = False,
    dockerfile: str | None = None,
    networkmode: str | None = None,
    registry_config: Mapping[str, AuthConfig] | None = None,
) -> Call:
    """``POST /build?t=&q=&nocache=&rm=&forcerm=``.

    ``rm`` removes intermediate containers after a successful build (the
    engine's default too); ``forcerm`` (1.12+) removes them even after a
    failure.  ``networkmode`` (e.g. ``none``) is the network of RUN steps;
    engines read it whatever the version prefix.  ``registry_config`` goes in
    ``X-Registry-Config`` (1.9+), for pulling ``FROM`` images.
    """
    headers = [("Content-Type", TAR)]
    if registry_config is not None:
        gates.require("build.registry_config", version)
        headers.append((CONFIG_HEADER, encode_config(registry_config)))
    query = {
        "t": tag,
        "q": quiet or None,
        "nocache": nocache or None,
        "rm": rm,
        "forcerm": opt("build.forcerm", forcerm, version),
        "dockerfile": dockerfile,
        "networkmode": networkmode,
    }
    return make(
        "POST",
        "/build",
        version=version,
        query=query,
        headers=headers,
        body=context,
        kind=BodyKind.JSONSTREAM,
        statuses=(200,),
    )
