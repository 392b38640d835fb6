"""The stub engine's local image endpoints: list, inspect, history, tag, delete, viz, commit.

Every document is :mod:`wireproto.engine.imagedocs`'s for the served
version; what a version lacked (``force``/``noprune`` before 1.10,
``filters`` before 1.12, the delete list before 1.2) is ignored or absent as
the engine of that version had it.  The registry side is
:mod:`wireproto.engine.registry`, build :mod:`wireproto.engine.builds`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from wireproto.engine import builds, imagedocs, query, registry
from wireproto.engine.registry import has, shape
from wireproto.engine.routes import Context, Route
from wireproto.engine.world import ContainerRecord, ImageRecord, World, normal_ref
from wireproto.versions import ApiVersion

if TYPE_CHECKING:
    from wireproto.engine.messages import Reply

MODERN = ApiVersion(1, 41)


def _bare(image_id: str, version: ApiVersion) -> str:
    return image_id if version >= MODERN else image_id.removeprefix("sha256:")


def _no_such(ctx: Context, name: str) -> Reply:
    return ctx.error(404, f"No such image: {name}")


def list_images(ctx: Context) -> Reply:
    images = list(ctx.world.images.values())
    if not ctx.flag("all"):
        # intermediate images (untagged parents of another image) are shown only with all
        parents = {image.parent for image in images}
        images = [i for i in images if i.repo_tags or i.id not in parents]
    name = ctx.query("filter") if has(ctx, "images.list.filter") else ""
    if name:
        images = [i for i in images if any(_repository(t) == name for t in i.repo_tags)]
    if has(ctx, "images.list.filters"):
        filters = query.filters(ctx.query("filters"))
        wanted = filters.get("dangling", [])
        if wanted:
            dangling = wanted[0].lower() in ("true", "1")
            images = [i for i in images if imagedocs.dangling(i) == dangling]
    images.sort(key=lambda image: image.created, reverse=True)
    return ctx.json(imagedocs.list_rows(images, shape(ctx)))


def _repository(ref: str) -> str:
    return ref.rpartition(":")[0] if "/" not in ref.rpartition(":")[2] else ref


def inspect(ctx: Context) -> Reply:
    image = ctx.world.image(ctx.params["name"])
    if image is None:
        return _no_such(ctx, ctx.params["name"])
    return ctx.json(imagedocs.inspect(image, shape(ctx)))


def history(ctx: Context) -> Reply:
    image = ctx.world.image(ctx.params["name"])
    if image is None:
        return _no_such(ctx, ctx.params["name"])
    chain = []
    while image is not None and image not in chain:
        chain.append(image)
        image = ctx.world.images.get(image.parent) if image.parent else None
    return ctx.json(imagedocs.history(chain, shape(ctx)))


def tag(ctx: Context) -> Reply:
    name = ctx.params["name"]
    image = ctx.world.image(name)
    if image is None:
        return _no_such(ctx, name)
    repository = ctx.query("repo")
    if not repository:
        return ctx.error(400, "repository name must have at least one component")
    ref = normal_ref(f"{repository}:{ctx.query('tag') or 'latest'}")
    holder = ctx.world.image(ref)
    refuses = has(ctx, "images.tag.conflict") and not ctx.flag("force")
    if holder is not None and holder is not image and refuses:
        message = (
            f"Conflict: Tag {ref.rpartition(':')[2]} is already set to image "
            f"{imagedocs.short(holder.id)}, if you want to replace it, please use -f option"
        )
        return ctx.error(409, message)
    ctx.world.tag(image, ref)
    ctx.world.emit("image", "tag", image.id, name=ref)
    return ctx.empty(201)


# --- delete ---------------------------------------------------------------------------------


def delete(ctx: Context) -> Reply:
    name = ctx.params["name"]
    image = ctx.world.image(name)
    if image is None:
        return _no_such(ctx, name)
    force = has(ctx, "images.delete.force") and ctx.flag("force")
    prune = not (has(ctx, "images.delete.force") and ctx.flag("noprune"))
    by_tag = any(normal_ref(name) == normal_ref(t) for t in image.repo_tags)
    if by_tag and len(image.repo_tags) > 1:
        ref = normal_ref(name)
        ctx.world.untag(ref)
        ctx.world.emit("image", "untag", image.id, name=ref)
        return _deleted(ctx, [ref], [])
    refused = _conflict(ctx, image, name, force, by_tag)
    if refused is not None:
        return refused
    untagged, deleted = _remove(ctx.world, image, prune)
    return _deleted(ctx, untagged, deleted)


def _conflict(
    ctx: Context, image: ImageRecord, name: str, force: bool, by_tag: bool
) -> Reply | None:
    """409 when deleting would take an image from under a container or from other tags."""
    if not by_tag and len(image.repo_tags) > 1 and not force:
        return ctx.error(
            409,
            f"conflict: unable to delete {imagedocs.short(image.id)} (must be forced) - "
            "image is referenced in multiple repositories",
        )
    user = _user(ctx.world, image)
    if user is None or (force and not user.running):
        return None
    if user.running:
        reason = f"cannot be forced) - image is being used by running container {user.id[:12]}"
    else:
        reason = f"must be forced) - image is being used by stopped container {user.id[:12]}"
    return ctx.error(409, f"conflict: unable to delete {imagedocs.short(image.id)} ({reason}")


def _user(world: World, image: ImageRecord) -> ContainerRecord | None:
    for container in world.containers.values():
        if container.image_id == image.id:
            return container
    return None


def _remove(world: World, image: ImageRecord, prune: bool) -> tuple[list[str], list[str]]:
    """Untags and deletes ``image``, then (``prune``) its untagged parents nothing else uses."""
    untagged = [normal_ref(t) for t in image.repo_tags]
    for ref in untagged:
        world.untag(ref)
        world.emit("image", "untag", image.id, name=ref)
    deleted = []
    current: ImageRecord | None = image
    while current is not None:
        world.remove_image(current)
        world.emit("image", "delete", current.id, name=current.id)
        deleted.append(current.id)
        parent = world.images.get(current.parent) if current.parent else None
        if not prune or parent is None or parent.repo_tags or _has_children(world, parent):
            break
        if _user(world, parent) is not None:
            break
        current = parent
    return untagged, deleted


def _has_children(world: World, image: ImageRecord) -> bool:
    return any(other.parent == image.id for other in world.images.values())


def _deleted(ctx: Context, untagged: list[str], deleted: list[str]) -> Reply:
    if not has(ctx, "images.delete.list"):
        return ctx.empty(204)
    return ctx.json(imagedocs.delete_results(untagged, deleted, shape(ctx)))


def viz(ctx: Context) -> Reply:
    text = imagedocs.viz(list(ctx.world.images.values()))
    return ctx.conn.document(200, text.encode(), "text/plain; charset=utf-8")


# --- commit ---------------------------------------------------------------------------------


def commit(ctx: Context) -> Reply:
    name = ctx.query("container")
    container = ctx.world.container(name)
    if container is None:
        return ctx.error(404, f"No such container: {name}")
    config = _commit_config(ctx)
    base = ctx.world.images.get(container.image_id)
    message = ctx.query("comment") if has(ctx, "commit.comment") else ctx.query("m")
    image = ImageRecord(
        id="sha256:" + ctx.world.new_id("image"),
        parent=container.image_id if base is not None else "",
        created=int(ctx.world.clock()),
        size=0,
        virtual_size=base.virtual_size if base is not None else 0,
        config={**container.config, **config},
        author=ctx.query("author"),
        comment=message,
    )
    repository = ctx.query("repo")
    if repository:
        image.repo_tags = [normal_ref(f"{repository}:{ctx.query('tag') or 'latest'}")]
    ctx.world.add_image(image)
    ctx.world.emit("container", "commit", container.id, comment=message, imageID=image.id)
    return ctx.json({"Id": _bare(image.id, shape(ctx))}, 201)


def _commit_config(ctx: Context) -> dict[str, object]:
    """The config to apply: the JSON ``run`` parameter at 1.7 .. 1.8, the body otherwise."""
    if has(ctx, "commit.run"):
        text = ctx.query("run")
        try:
            value = json.loads(text) if text else None
        except ValueError:
            raise query.QueryError(400, f"invalid JSON in run: {text[:40]}") from None
    else:
        value = ctx.body_json()
    return value if isinstance(value, dict) else {}


ROUTES: tuple[Route, ...] = (
    Route("GET", "/images/json", list_images),
    Route("GET", "/images/viz", viz, row="images.viz"),
    Route("GET", "/images/{name+}/json", inspect),
    Route("GET", "/images/{name+}/history", history),
    Route("POST", "/images/{name+}/tag", tag),
    Route("DELETE", "/images/{name+}", delete),
    Route("POST", "/commit", commit),
    *registry.ROUTES,
    *builds.ROUTES,
)
