"""The stub engine's images endpoints: list and pull (sans-IO)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wireproto.engine.routes import Context, Route

if TYPE_CHECKING:
    from wireproto.engine.protocol import Reply


def list_images(ctx: Context) -> Reply:
    return ctx.json(
        [
            {
                "Id": image.id,
                "RepoTags": image.repo_tags,
                "RepoDigests": image.repo_digests,
                "Created": image.created,
                "Size": image.size,
                "Labels": None,
            }
            for image in ctx.world.images.values()
        ]
    )


def pull(ctx: Context) -> Reply:
    repository = ctx.query("fromImage")
    tag = ctx.query("tag") or "latest"
    if ":" in repository and not tag:
        repository, tag = repository.rsplit(":", 1)
    image = ctx.world.script.image(repository, tag)
    if image is None:
        message = (
            f"pull access denied for {repository}, repository does not exist or may "
            "require 'docker login': denied: requested access to the resource is denied"
        )
        return ctx.error(404, message)
    return ctx.conn.streamed(image.pull_body(), "application/json")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/images/json", list_images),
    Route("POST", "/images/create", pull),
)
