"""Pull and push (``POST /images/create``, ``POST /images/(name)/push``): JSON progress streams.

Each function is pure: it returns a :class:`wireproto.http.Call` whose body is
a JSON stream of progress messages (decode with
:class:`wireproto.jsonstream.JSONStreamDecoder`, type with
:mod:`wireproto.progress`).  An error can arrive in-band, as a message,
after a ``200``: :func:`wireproto.progress.check` turns it into PullError or
PushError.
"""

from __future__ import annotations

from urllib.parse import quote

from wireproto.api import gates
from wireproto.api._common import make, opt, progress_kind
from wireproto.api.auth import AuthConfig, Reference, encode_auth, secret_json
from wireproto.http import Call
from wireproto.versions import ApiVersion

AUTH_HEADER = "X-Registry-Auth"


def pull(
    image: Reference,
    version: ApiVersion | None = None,
    *,
    auth: AuthConfig | None = None,
    registry: str | None = None,
) -> Call:
    """``POST /images/create?fromImage=&tag=``: pulls ``image`` (tag ``latest`` if none).

    ``auth`` goes in ``X-Registry-Auth`` (API 1.5+), URL-safe base64.
    ``registry`` (until 1.20) names the registry to pull from.  Before 1.1
    the progress is raw text (BYTES), a JSON stream after.
    """
    headers: list[tuple[str, str]] = []
    if auth is not None:
        gates.require("registry_auth", version)
        headers.append((AUTH_HEADER, encode_auth(auth)))
    query = {
        "fromImage": image.repository,
        "tag": image.digest or image.tag or "latest",
        "registry": opt("images.create.registry", registry, version),
    }
    return make(
        "POST",
        "/images/create",
        version=version,
        query=query,
        headers=headers,
        kind=progress_kind(version),
        statuses=(200,),
    )


def push(
    image: Reference,
    version: ApiVersion | None = None,
    *,
    auth: AuthConfig | None = None,
) -> Call:
    """``POST /images/(name)/push?tag=``: pushes ``image`` (every tag if it names none).

    From API 1.5 the auth config travels in ``X-Registry-Auth``, sent even
    when empty (``{}``): engines read a push without it as the old form, whose
    JSON body then must hold the config.  From 1.2 to 1.4 that body is the
    config.  At 1.0 and 1.1 a push has no body: the engine pushes with the
    login ``POST /auth`` stored, so ``auth`` is refused there.
    """
    config = auth or AuthConfig()
    query = {"tag": image.tag}
    headers: list[tuple[str, str]] = []
    body = None
    if gates.has("registry_auth", version):
        headers = [(AUTH_HEADER, encode_auth(config))]
    elif gates.has("push.auth_body", version):
        headers = [("Content-Type", "application/json")]
        body = secret_json(config.to_json())
    elif auth is not None:
        gates.require("push.auth_body", version)
    # The name keeps its slashes (registry/namespace/repo), as the docker CLI
    # sends it: the engine's route takes the rest of the path as the name.
    path = "/images/" + quote(image.repository, safe=":@/") + "/push"
    return make(
        "POST",
        path,
        version=version,
        query=query,
        headers=headers,
        body=body,
        kind=progress_kind(version),
        statuses=(200,),
    )
