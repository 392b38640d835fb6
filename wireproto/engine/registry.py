"""The stub engine's registry side: pull, import, push, insert, search, get and load (sans-IO).

Strategy: the stub never goes out.  Its "registry" is the world's pullable
images (the script's) plus whatever was pushed to it; ``search`` reads a
small built-in catalogue.  Each reply is the served version's: raw progress
text before 1.1 and a JSON stream after (``progressDetail`` from 1.8),
errors inside the stream once it has started (as the engines of 1.0 .. 1.12
wrote them) or before it at 1.41 (dockerd's 404).  Credentials: the login
``POST /auth`` stored (1.0 .. 1.1), the push body (1.2 .. 1.4), or
``X-Registry-Auth`` (1.5+).  Secrets are never kept beyond a request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import tarfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wireproto.engine import build, eras, imagedocs, sysdocs
from wireproto.engine.routes import Context, Route
from wireproto.engine.script import BASE_TIME, Image, chunk
from wireproto.engine.world import ImageRecord, World, image_from_script, normal_ref
from wireproto.versions import ApiVersion

if TYPE_CHECKING:
    from wireproto.engine.messages import Reply

MODERN = ApiVersion(1, 41)


def shape(ctx: Context) -> ApiVersion:
    """The version whose behaviour answers: the request's at an engine of 1.0 .. 1.12 (their
    code branched on it), dockerd 20.10's own at 1.41 (it answers every version alike here)."""
    engine = ctx.world.api_version
    return engine if engine >= MODERN else ctx.version


def has(ctx: Context, row: str) -> bool:
    return eras.has(row, shape(ctx))


@dataclass
class RegistryState:
    """Per world: the login stored by ``POST /auth`` (1.0 .. 1.1) and the images pushed."""

    login: sysdocs.StoredLogin = field(default_factory=sysdocs.StoredLogin)
    pushed: dict[str, ImageRecord] = field(default_factory=dict)  # by normal ref


# Kept beside the world (not in it): the registry is this module's concern alone.
_STATES: weakref.WeakKeyDictionary[World, RegistryState] = weakref.WeakKeyDictionary()


def state(world: World) -> RegistryState:
    found = _STATES.get(world)
    if found is None:
        found = _STATES[world] = RegistryState()
    return found


def parse_name(name: str) -> tuple[str, str]:
    """(repository, the name's own tag or "")."""
    if "@" in name:
        repository, _, digest = name.partition("@")
        return repository, digest
    repository, colon, own = name.rpartition(":")
    if colon and "/" not in own:
        return repository, own
    return name, ""


def split_reference(name: str, tag: str = "") -> tuple[str, str]:
    """(repository, tag): ``tag`` when given, else the name's own, else ``latest``."""
    repository, own = parse_name(name)
    return repository, tag or own or "latest"


def _reference(repository: str, tag: str) -> str:
    return f"{repository}@{tag}" if tag.startswith("sha256:") else f"{repository}:{tag}"


def stream(ctx: Context, pieces: Iterator[bytes] | list[bytes]) -> Reply:
    """A progress stream of the served version (each piece one chunk)."""
    body = [chunk(piece) for piece in pieces]
    return ctx.conn.streamed(body, imagedocs.stream_type(shape(ctx)))


def _failure(ctx: Context, message: str) -> Reply:
    return stream(ctx, [imagedocs.failure(message, shape(ctx))])


# --- pull and import -------------------------------------------------------------------------


def create(ctx: Context) -> Reply:
    """``POST /images/create``: a pull (``fromImage``) or an import (``fromSrc``)."""
    if ctx.query("fromSrc"):
        return import_image(ctx)
    if not ctx.query("fromImage"):
        return ctx.error(400, "fromImage or fromSrc is required")
    return pull(ctx)


def pull(ctx: Context) -> Reply:
    repository, tag = split_reference(ctx.query("fromImage"), ctx.query("tag"))
    registry = ctx.query("registry") if has(ctx, "images.create.registry") else ""
    if registry:
        repository = f"{registry}/{repository}"
    ref = _reference(repository, tag)
    found = pullable(ctx.world, ref)
    if found is None:
        return _pull_refused(ctx, repository, ref)
    if shape(ctx) >= MODERN and isinstance(found, tuple):
        script_image = found[1]
        ctx.world.add_image(image_from_script(script_image))
        ctx.world.emit("image", "pull", ref, name=repository)
        return ctx.conn.streamed(script_image.pull_body(), "application/json")
    present = ctx.world.image(ref) is not None
    record = materialise(ctx.world, found, ref)
    ctx.world.emit("image", "pull", ref, name=repository)
    if shape(ctx) >= MODERN:
        return stream(ctx, _modern_pull_lines(repository, ref, record, present))
    return stream(ctx, _old_pull_lines(shape(ctx), repository, record))


def pullable(world: World, ref: str) -> ImageRecord | tuple[str, Image] | None:
    """What a pull of ``ref`` gets: an image pushed to the stub, or one of the script's."""
    wanted = normal_ref(ref)
    pushed = state(world).pushed.get(wanted)
    if pushed is not None:
        return pushed
    for key, image in world.pullable.items():
        if normal_ref(key) == wanted:
            return (key, image)
    return None


def materialise(world: World, found: ImageRecord | tuple[str, Image], ref: str) -> ImageRecord:
    if isinstance(found, tuple):
        record = image_from_script(found[1])
    else:
        record = ImageRecord(
            id=found.id,
            parent=found.parent,
            created=found.created,
            size=found.size,
            virtual_size=found.virtual_size,
            config=dict(found.config),
            author=found.author,
            comment=found.comment,
            history=list(found.history),
        )
        local = world.images.get(found.id)
        if local is not None:
            record.repo_tags = list(local.repo_tags)
        record.repo_tags.append(normal_ref(ref))
    return world.add_image(record)


def _old_pull_lines(version: ApiVersion, repository: str, image: ImageRecord) -> Iterator[bytes]:
    """An engine of 1.0 .. 1.12: the repository, then each layer's download."""
    yield imagedocs.progress(f"Pulling repository {repository}", version)
    ident = imagedocs.short(image.id)
    yield imagedocs.progress("Pulling image", version, ident=ident)
    yield imagedocs.progress("Pulling fs layer", version, ident=ident)
    total = max(image.size, 1)
    for step in (1, 2, 3):
        current = total * step // 3
        yield imagedocs.progress("Downloading", version, ident=ident, current=current, total=total)
    yield imagedocs.progress("Download complete", version, ident=ident)


def _modern_pull_lines(
    repository: str, ref: str, image: ImageRecord, present: bool
) -> Iterator[bytes]:
    """dockerd 20.10 pulling an image pushed to the stub: its one layer, its digest (the
    push's), whether the local copy changed."""
    tag = ref.rpartition(":")[2]
    yield imagedocs.progress(f"Pulling from {repository}", MODERN, ident=tag)
    ident = imagedocs.short(image.id)
    if present:
        yield imagedocs.progress("Already exists", MODERN, ident=ident)
    else:
        yield imagedocs.progress("Pull complete", MODERN, ident=ident)
    yield imagedocs.progress(f"Digest: {pushed_digest(ref)}", MODERN)
    outcome = "Image is up to date" if present else "Downloaded newer image"
    yield imagedocs.progress(f"Status: {outcome} for {ref}", MODERN)


def pushed_digest(ref: str) -> str:
    """The digest the stub's registry gives a pushed reference (the same on push and pull)."""
    return "sha256:" + hashlib.sha256(ref.encode()).hexdigest()


def _pull_refused(ctx: Context, repository: str, ref: str) -> Reply:
    if shape(ctx) >= MODERN:
        message = (
            f"pull access denied for {repository}, repository does not exist or may "
            "require 'docker login': denied: requested access to the resource is denied"
        )
        return ctx.error(404, message)
    # docker 0.x .. 1.0 had written "Pulling repository" before it knew: the error is in-stream
    pieces = [
        imagedocs.progress(f"Pulling repository {repository}", shape(ctx)),
        imagedocs.failure(f"Error: image {ref} not found", shape(ctx)),
    ]
    return stream(ctx, pieces)


def import_image(ctx: Context) -> Reply:
    """``fromSrc=-``: the body is a tar of a root filesystem; a URL is never fetched."""
    source = ctx.query("fromSrc")
    if source != "-":
        return _failure(ctx, f"the stub engine does not fetch {source}")
    try:
        with tarfile.open(fileobj=io.BytesIO(ctx.request.body), mode="r:*") as archive:
            archive.getmembers()
    except (tarfile.TarError, EOFError, OSError) as exc:
        return _failure(ctx, f"the import is not a tar archive: {exc}")
    digest = hashlib.sha256(ctx.request.body).hexdigest()
    image = ImageRecord(id="sha256:" + digest, size=len(ctx.request.body), created=BASE_TIME)
    image.virtual_size = image.size
    repository = ctx.query("repo")
    if has(ctx, "images.create.registry") and ctx.query("registry") and repository:
        repository = f"{ctx.query('registry')}/{repository}"
    if repository:
        image.repo_tags = [normal_ref(_reference(*split_reference(repository, ctx.query("tag"))))]
    ctx.world.add_image(image)
    ctx.world.emit("image", "import", image.id, name=repository or image.id)
    shown = image.id if shape(ctx) >= MODERN else imagedocs.short(image.id)
    return stream(ctx, [imagedocs.progress(shown, shape(ctx))])


# --- push ------------------------------------------------------------------------------------


def push(ctx: Context) -> Reply:
    name = ctx.params["name"]
    repository, own = parse_name(name)
    tag = (ctx.query("tag") if has(ctx, "push.tag") else "") or own
    images = _to_push(ctx.world, repository, tag)
    if not images:
        if shape(ctx) >= MODERN:
            return ctx.error(404, f"An image does not exist locally with the tag: {name}")
        return ctx.error(404, f"No such image: {name}")
    auth = _push_auth(ctx)
    if not build.authorised(build.registry_of(repository), {"*": auth}):
        message = "unauthorized: authentication required"
        if shape(ctx) < MODERN:
            message = "Authentication is required."
        pieces = [_push_intro(shape(ctx), repository), imagedocs.failure(message, shape(ctx))]
        return stream(ctx, pieces)
    for ref, image in images:
        state(ctx.world).pushed[ref] = image
        ctx.world.emit("image", "push", ref, name=repository)
    return stream(ctx, _push_lines(shape(ctx), repository, images))


def _to_push(world: World, repository: str, tag: str) -> list[tuple[str, ImageRecord]]:
    """The (ref, image) pairs a push sends: one tag, or every tag of the repository."""
    found = []
    for image in world.images.values():
        for ref in image.repo_tags:
            repo, own = split_reference(ref)
            if normal_ref(f"{repo}:x") == normal_ref(f"{repository}:x") and tag in ("", own):
                found.append((normal_ref(ref), image))
    return found


def _push_auth(ctx: Context) -> dict[str, object]:
    """The credentials of this push as the served version took them."""
    if has(ctx, "registry_auth"):
        return _decoded(ctx.request.headers.get("x-registry-auth", ""))
    if has(ctx, "push.auth_body"):
        body = ctx.body_json()
        return body if isinstance(body, dict) else {}
    login = state(ctx.world).login
    return {"username": login.username} if login.username else {}


def _decoded(header: str) -> dict[str, object]:
    try:
        padded = header + "=" * (-len(header) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _push_intro(version: ApiVersion, repository: str) -> bytes:
    if version >= MODERN:
        return imagedocs.progress(f"The push refers to repository [{repository}]", version)
    return imagedocs.progress(f"The push refers to a repository [{repository}]", version)


def _push_lines(
    version: ApiVersion, repository: str, images: list[tuple[str, ImageRecord]]
) -> Iterator[bytes]:
    yield _push_intro(version, repository)
    for ref, image in images:
        ident = imagedocs.short(image.id)
        total = max(image.size, 1)
        yield imagedocs.progress("Pushing", version, ident=ident, current=total, total=total)
        yield imagedocs.progress("Pushed", version, ident=ident)
        digest = pushed_digest(ref)
        yield imagedocs.progress(f"{ref.rpartition(':')[2]}: digest: {digest} size: 527", version)


# --- insert and search ------------------------------------------------------------------------


def insert(ctx: Context) -> Reply:
    """Until 1.11: a new image, child of ``name``, with the file at ``path`` (never fetched:
    the stub models the file as empty)."""
    base = ctx.world.image(ctx.params["name"])
    if base is None:
        return ctx.error(404, f"No such image: {ctx.params['name']}")
    url, path = ctx.query("url"), ctx.query("path")
    if not url or not path:
        return stream(ctx, [imagedocs.failure("url and path are required", shape(ctx))])
    child = ImageRecord(
        id="sha256:" + ctx.world.new_id("image"),
        parent=base.id,
        size=0,
        virtual_size=base.virtual_size,
        config=dict(base.config),
        history=[{"created_by": f"insert {url} {path}", "created": BASE_TIME}],
    )
    ctx.world.add_image(child)
    pieces = [
        imagedocs.progress("Inserting", shape(ctx), current=1, total=1),
        imagedocs.progress(imagedocs.short(child.id), shape(ctx)),
    ]
    return stream(ctx, pieces)


def search(ctx: Context) -> Reply:
    return ctx.json(imagedocs.search(ctx.query("term"), shape(ctx)))


# --- get and load ----------------------------------------------------------------------------


def get_one(ctx: Context) -> Reply:
    name = ctx.params["name"]
    image = ctx.world.image(name)
    if image is None:
        return ctx.error(404, f"No such image: {name}")
    by_id = image.id.removeprefix("sha256:").startswith(name.removeprefix("sha256:"))
    return _tar_reply(ctx, [(image, [] if by_id else [name])])


def get_many(ctx: Context) -> Reply:
    chosen = []
    for name in ctx.request.query.get("names", []):
        image = ctx.world.image(name)
        if image is None:
            return ctx.error(404, f"No such image: {name}")
        chosen.append((image, [name]))
    return _tar_reply(ctx, chosen)


def _tar_reply(ctx: Context, chosen: list[tuple[ImageRecord, list[str]]]) -> Reply:
    data = save_tar(chosen, shape(ctx))
    return ctx.conn.document(200, data, "application/x-tar")


def save_tar(chosen: list[tuple[ImageRecord, list[str]]], version: ApiVersion) -> bytes:
    """A ``docker save`` tar: per image ``<id>/{VERSION,json,layer.tar}`` and
    ``repositories``; from 1.41 also ``<id>.json`` and ``manifest.json``."""
    out = io.BytesIO()
    repositories: dict[str, dict[str, str]] = {}
    manifest = []
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for image, names in chosen:
            hexid = image.id.removeprefix("sha256:")
            tags = [normal_ref(t) for t in (names or image.repo_tags)]
            parent = image.parent.removeprefix("sha256:")
            config = {"id": hexid, "parent": parent, "config": image.config}
            _add(archive, f"{hexid}/VERSION", b"1.0")
            _add(archive, f"{hexid}/json", json.dumps(config).encode())
            _add(archive, f"{hexid}/layer.tar", _empty_tar())
            for ref in tags:
                repo, _, tag = ref.rpartition(":")
                repositories.setdefault(repo, {})[tag] = hexid
            if version >= MODERN:
                _add(archive, f"{hexid}.json", json.dumps({"config": image.config}).encode())
                manifest.append(
                    {"Config": f"{hexid}.json", "RepoTags": tags, "Layers": [f"{hexid}/layer.tar"]}
                )
        _add(archive, "repositories", json.dumps(repositories).encode())
        if version >= MODERN:
            _add(archive, "manifest.json", json.dumps(manifest).encode())
    return out.getvalue()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), BASE_TIME, 0o644
    archive.addfile(info, io.BytesIO(data))


def _empty_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w"):
        pass
    return out.getvalue()


def load(ctx: Context) -> Reply:
    """``POST /images/load``: the images of a ``docker save`` tar, tagged as it says."""
    try:
        loaded = _read_saved(ctx.request.body)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        return ctx.error(500, f"the load is not a docker save archive: {exc}")
    lines = []
    for hexid, (config, parent, tags) in loaded.items():
        image = ctx.world.images.get("sha256:" + hexid)
        if image is None:
            # A new image only: re-adding a present one would move its own tags off it.
            image = ctx.world.add_image(
                ImageRecord(id="sha256:" + hexid, parent=parent, config=config)
            )
        for ref in tags:
            ctx.world.tag(image, ref)
            lines.append(f"Loaded image: {ref}\n")
        if not tags:
            lines.append(f"Loaded image ID: sha256:{hexid}\n")
        ctx.world.emit("image", "load", image.id, name=tags[0] if tags else image.id)
    if shape(ctx) < MODERN:
        return ctx.empty(200)
    body = b"".join(imagedocs.build_line(line, shape(ctx)) for line in lines)
    return ctx.conn.document(200, body, "application/json")


def _read_saved(body: bytes) -> dict[str, tuple[dict[str, object], str, list[str]]]:
    """hex id -> (config, parent id, tags) from a save tar's ``repositories`` and ``<id>/json``."""
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as archive:
        files = {m.name: m for m in archive.getmembers() if m.isfile()}

        def read(name: str) -> object:
            handle = archive.extractfile(files[name])
            return json.loads(handle.read() if handle else b"null")

        found: dict[str, tuple[dict[str, object], str, list[str]]] = {}
        for name in files:
            if name.endswith("/json") and name.count("/") == 1:
                document = read(name)
                if not isinstance(document, dict):
                    raise ValueError(f"{name} is not a JSON object")
                config = document.get("config")
                parent = str(document.get("parent") or "")
                found[name.split("/")[0]] = (
                    config if isinstance(config, dict) else {},
                    "sha256:" + parent if parent else "",
                    [],
                )
        repositories = read("repositories") if "repositories" in files else {}
        if isinstance(repositories, dict):
            for repo, tags in repositories.items():
                for tag, hexid in (tags or {}).items():
                    if hexid in found:
                        found[hexid][2].append(f"{repo}:{tag}")
    return found


ROUTES: tuple[Route, ...] = (
    Route("POST", "/images/create", create),
    Route("POST", "/images/{name+}/push", push),
    Route("POST", "/images/{name+}/insert", insert, row="images.insert"),
    Route("GET", "/images/search", search),
    Route("GET", "/images/{name+}/get", get_one, row="images.get"),
    Route("GET", "/images/get", get_many, row="images.get.names"),
    Route("POST", "/images/load", load, row="images.load"),
)
