"""Image endpoints (API v1.12), and ``insert`` for engines up to 1.11.

Each function is pure: it returns a :class:`wireproto.http.Call` and refuses,
with UnsupportedInVersion, what ``version`` lacks (None: the engine's newest).
Pull and push live with the registry auth code (:mod:`wireproto.api`
re-exports them).
"""

from __future__ import annotations

from wireproto.api import gates, shapes
from wireproto.api._common import TAR, Body, Filters, filters_query, make, opt, progress_kind
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion

DOC, EMPTY, TARBALL, STREAM = (
    BodyKind.DOCUMENT,
    BodyKind.EMPTY,
    BodyKind.TAR,
    BodyKind.JSONSTREAM,
)


def list_images(
    version: ApiVersion | None = None,
    *,
    all: bool = False,
    filters: Filters | None = None,
    filter: str | None = None,
) -> Call:
    """``GET /images/json``: the images (``all``: intermediate layers too).

    ``filters`` (1.12+) keeps the rows that match, e.g. ``{"dangling": ["true"]}``,
    ``{"label": ["key=value"]}``; ``filter`` (1.12 .. 1.40) keeps one repository's
    images (from 1.41: ``filters={"reference": [name]}``).
    Before 1.7 one row per repository:tag; the Call's ``shape``
    (:func:`wireproto.api.shapes.group_images`) gives the modern rows (``RepoTags``).
    """
    query = {
        "all": all or None,
        "filters": filters_query("images.list.filters", filters, version),
        "filter": opt("images.list.filter", filter, version),
    }
    return make(
        "GET",
        "/images/json",
        version=version,
        query=query,
        kind=DOC,
        statuses=(200,),
        shape=shapes.bind(shapes.group_images, version),
    )


def import_image(
    source: Body | str,
    version: ApiVersion | None = None,
    *,
    repo: str | None = None,
    tag: str | None = None,
    registry: str | None = None,
) -> Call:
    """``POST /images/create?fromSrc=``: an image from a tar of a root filesystem.

    ``source`` is the tar (bytes, or an iterable of bytes streamed chunked) or
    a URL the engine fetches.  A JSON stream of progress follows (raw text
    before 1.1).  ``registry`` (until 1.20) is sent as given.
    """
    url = source if isinstance(source, str) else None
    query = {
        "fromSrc": url or "-",
        "repo": repo,
        "tag": tag,
        "registry": opt("images.create.registry", registry, version),
    }
    body = None if isinstance(source, str) else source
    headers = () if body is None else (("Content-Type", TAR),)
    return make(
        "POST",
        "/images/create",
        version=version,
        query=query,
        body=body,
        headers=headers,
        kind=progress_kind(version),
        statuses=(200,),
    )


def insert(name: str, path: str, url: str, version: ApiVersion | None = None) -> Call:
    """``POST /images/(name)/insert?path=&url=`` (removed in 1.12): a new image with
    the file at ``url`` added at ``path``; a JSON stream of progress (raw text before 1.1)."""
    gates.require("images.insert", version)
    query = {"path": path, "url": url}
    return make(
        "POST",
        "/images/{}/insert",
        name,
        version=version,
        query=query,
        kind=progress_kind(version),
        statuses=(200,),
    )


def viz(version: ApiVersion | None = None) -> Call:
    """``GET /images/viz`` (until 1.6): the image tree as a Graphviz ``digraph``, text."""
    gates.require("images.viz", version)
    return make("GET", "/images/viz", version=version, kind=BodyKind.BYTES, statuses=(200,))


def inspect_image(name: str, version: ApiVersion | None = None) -> Call:
    """``GET /images/(name)/json``: lower-case keys before 1.12, normalised by
    :func:`shapes.camel_case`."""
    return make(
        "GET",
        "/images/{}/json",
        name,
        version=version,
        kind=DOC,
        statuses=(200,),
        shape=shapes.bind(shapes.camel_case, version),
    )


def history(name: str, version: ApiVersion | None = None) -> Call:
    """``GET /images/(name)/history``: ``[{"Id", "Created", "CreatedBy", ...}]``, newest first."""
    return make("GET", "/images/{}/history", name, version=version, kind=DOC, statuses=(200,))


def tag(
    name: str,
    repo: str,
    version: ApiVersion | None = None,
    *,
    tag: str | None = None,
    force: bool = False,
) -> Call:
    """``POST /images/(name)/tag?repo=&tag=``: another name for the image; 201.

    ``force`` (until 1.23) replaces a tag another image has; from 1.24 the engine
    has no such parameter (a tag always moves), so it is refused there.
    """
    query = {"repo": repo, "tag": tag, "force": opt("images.tag.force", force, version)}
    return make(
        "POST",
        "/images/{}/tag",
        name,
        version=version,
        query=query,
        kind=EMPTY,
        statuses=(201,),
    )


def remove_image(
    name: str, version: ApiVersion | None = None, *, force: bool = False, noprune: bool = False
) -> Call:
    """``DELETE /images/(name)``: 200 ``[{"Untagged"}, {"Deleted"}]`` (1.2+), 204 and no
    body before (normalised to ``[]``: :func:`shapes.delete_rows`; typed results:
    :func:`shapes.delete_results`).  ``force`` and ``noprune`` (keep untagged parents)
    are 1.10+."""
    query = {
        "force": opt("images.delete.force", force, version),
        "noprune": opt("images.delete.noprune", noprune, version),
    }
    lists = gates.has("images.delete.list", version)
    return make(
        "DELETE",
        "/images/{}",
        name,
        version=version,
        query=query,
        kind=DOC if lists else EMPTY,
        statuses=(200,) if lists else (204,),
        shape=shapes.Normaliser(shapes.delete_rows, version, empty=list),
    )


def search(term: str, version: ApiVersion | None = None) -> Call:
    """``GET /images/search?term=``: Docker Hub search results, normalised by
    :func:`shapes.search_results` (``Name``/``Description`` before 1.7, ``is_trusted``
    before 1.12)."""
    return make(
        "GET",
        "/images/search",
        version=version,
        query={"term": term},
        kind=DOC,
        statuses=(200,),
        shape=shapes.bind(shapes.search_results, version),
    )


def get_image(name: str, version: ApiVersion | None = None) -> Call:
    """``GET /images/(name)/get`` (1.7+): the image and its parents as a tar stream."""
    gates.require("images.get", version)
    return make("GET", "/images/{}/get", name, version=version, kind=TARBALL, statuses=(200,))


def load_image(tarball: Body, version: ApiVersion | None = None) -> Call:
    """``POST /images/load`` (1.7+): loads a tar made by :func:`get_image`.

    Old engines answer with an empty body, newer ones with a JSON stream
    (``{"stream": "Loaded image: ..."}``).
    """
    gates.require("images.load", version)
    return make(
        "POST",
        "/images/load",
        version=version,
        body=tarball,
        headers=(("Content-Type", TAR),),
        kind=STREAM,
        statuses=(200,),
    )
