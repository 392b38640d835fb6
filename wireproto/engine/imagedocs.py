"""The image documents and progress streams of the stub engine, by API version (sans-IO).

Strategy: one function per document, each taking the image's facts and the
served version and returning what an engine of that version sent: a row per
repository:tag before 1.7 and RepoTags after, lower-case inspect keys before
1.12, search rows with ``Name``/``Description`` before 1.7 and the
registry's keys after (``is_trusted`` until 1.11, ``is_automated`` from
1.12), delete results, the ``viz`` digraph, and progress messages: raw text
before 1.1, JSON with ``progressDetail``/``errorDetail`` from 1.8.  The
facts come from any object with an image record's attributes (:class:`ImageFacts`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Protocol

from wireproto.engine import eras
from wireproto.versions import ApiVersion


class ImageFacts(Protocol):
    id: str
    repo_tags: list[str]
    parent: str
    created: int
    size: int
    virtual_size: int
    config: dict[str, object]
    author: str
    comment: str


def short(image_id: str, length: int = 12) -> str:
    return image_id.removeprefix("sha256:")[:length]


def _bare(image_id: str, version: ApiVersion) -> str:
    """Ids were bare hex before the content-addressed ``sha256:`` ids of today's engines."""
    return image_id if version >= ApiVersion(1, 41) else image_id.removeprefix("sha256:")


def list_rows(images: Sequence[ImageFacts], version: ApiVersion) -> list[dict[str, object]]:
    """``GET /images/json``: a row per image with RepoTags from 1.7, per repository:tag before."""
    if eras.has("images.list.grouped", version):
        return [_grouped(image, version) for image in images]
    rows = []
    for image in images:
        for tag in image.repo_tags or ["<none>:<none>"]:
            repository, _, name = tag.rpartition(":")
            row: dict[str, object] = {
                "Repository": repository,
                "Tag": name,
                "Id": _bare(image.id, version),
                "Created": image.created,
            }
            if eras.has("images.sizes", version):
                row.update(Size=image.size, VirtualSize=image.virtual_size)
            rows.append(row)
    return rows


def _grouped(image: ImageFacts, version: ApiVersion) -> dict[str, object]:
    row: dict[str, object] = {
        "RepoTags": list(image.repo_tags) or ["<none>:<none>"],
        "Id": _bare(image.id, version),
        "Created": image.created,
        "Size": image.size,
        "VirtualSize": image.virtual_size,
    }
    if image.parent:
        row["ParentId"] = _bare(image.parent, version)
    if version >= ApiVersion(1, 41):
        row.update(ParentId=image.parent, RepoDigests=[], SharedSize=-1, Containers=-1)
        row["Labels"] = image.config.get("Labels") or None
    return row


def dangling(image: ImageFacts) -> bool:
    return not image.repo_tags


def inspect(image: ImageFacts, version: ApiVersion) -> dict[str, object]:
    """``GET /images/(name)/json``: lower-case keys before 1.12, CamelCase from 1.12."""
    facts: dict[str, object] = {
        "Id": _bare(image.id, version),
        "Parent": _bare(image.parent, version),
        "Created": _rfc3339(image.created),
        "Container": "",
        "ContainerConfig": dict(image.config),
    }
    if eras.has("images.sizes", version):
        facts["Size"] = image.size
    if eras.has("inspect.camelcase", version):
        facts.update(
            Config=dict(image.config),
            Author=image.author,
            Comment=image.comment,
            Architecture="amd64",
            Os="linux",
            VirtualSize=image.virtual_size,
            RepoTags=list(image.repo_tags),
        )
        return facts
    lower = {"Id": "id", "Parent": "parent", "Created": "created", "Container": "container"}
    lower |= {"ContainerConfig": "container_config", "Size": "Size"}
    return {lower[k]: v for k, v in facts.items()}


def _rfc3339(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def history(chain: Sequence[ImageFacts], version: ApiVersion) -> list[dict[str, object]]:
    """``GET /images/(name)/history``: the image and its parents, newest first."""
    return [
        {
            "Id": _bare(image.id, version),
            "Created": image.created,
            "CreatedBy": " ".join(str(c) for c in image.config.get("Cmd") or []),  # type: ignore[attr-defined]
        }
        for image in chain
    ]


CATALOGUE = (
    ("busybox", "Busybox base image.", 2000, True, False),
    ("alpine", "A minimal Docker image based on Alpine Linux.", 9000, True, False),
    ("wireproto/sshd", "An sshd for tests.", 3, False, True),
)


def search(term: str, version: ApiVersion) -> list[dict[str, object]]:
    """``GET /images/search`` from a small built-in catalogue (the stub never goes out)."""
    found = [entry for entry in CATALOGUE if term.lower() in entry[0]]
    if not eras.has("search.registry_keys", version):
        return [{"Name": name, "Description": about} for name, about, *_ in found]
    automated = "is_automated" if eras.has("search.is_automated", version) else "is_trusted"
    return [
        {
            "description": about,
            "is_official": official,
            automated: built,
            "name": name,
            "star_count": stars,
        }
        for name, about, stars, official, built in found
    ]


def viz(images: Sequence[ImageFacts]) -> str:
    """``GET /images/viz`` (until 1.6): the image tree as a Graphviz digraph."""
    lines = ["digraph docker {"]
    for image in images:
        node = f'"{short(image.id)}"'
        lines.append(f"{_parent_node(image)} -> {node}")
    for image in images:
        if image.repo_tags:
            label = "\\n".join([short(image.id), *image.repo_tags])
            lines.append(
                f'"{short(image.id)}" [label="{label}",shape=box,fillcolor="paleturquoise",'
                'style="filled,rounded"];'
            )
    lines += ["base [style=invisible]", "}"]
    return "\n".join(lines) + "\n"


def _parent_node(image: ImageFacts) -> str:
    return f'"{short(image.parent)}"' if image.parent else "base"


# --- progress streams ------------------------------------------------------------------------


def progress(
    status: str, version: ApiVersion, *, ident: str = "", current: int = 0, total: int = 0
) -> bytes:
    """One progress message: a text line before 1.1, a JSON object from 1.1."""
    if not eras.has("jsonstream", version):
        return f"{status}\n".encode()
    message: dict[str, object] = {"status": status}
    if ident:
        message["id"] = ident
    if total:
        message["progress"] = f"{current} B/{total} B"
        if eras.has("progress.detail", version):
            message["progressDetail"] = {"current": current, "total": total}
    return _line(message)


def failure(text: str, version: ApiVersion, code: int | None = None) -> bytes:
    """An error inside a stream: text before 1.1; ``errorDetail`` beside ``error`` from 1.8."""
    if not eras.has("jsonstream", version):
        return f"Error: {text}\n".encode()
    message: dict[str, object] = {"error": text}
    if eras.has("error_detail", version):
        detail: dict[str, object] = {"message": text}
        if code is not None:
            detail = {"code": code, "message": text}
        message["errorDetail"] = detail
    return _line(message)


def build_line(text: str, version: ApiVersion) -> bytes:
    """A line of build output: plain text before 1.8, ``{"stream": ...}`` from 1.8."""
    if not eras.has("build.jsonstream", version):
        return text.encode()
    return _line({"stream": text})


def build_failure(text: str, code: int, version: ApiVersion) -> bytes:
    """The end of a failed build: the engine's text before 1.8, errorDetail's code after."""
    if not eras.has("build.jsonstream", version):
        return f"Error build: {text}\n".encode()
    return _line({"errorDetail": {"code": code, "message": text}, "error": text})


def _line(message: dict[str, object]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\r\n"


def stream_type(version: ApiVersion) -> str:
    """Content-Type of pull, push and insert replies."""
    return (
        "application/json"
        if eras.has("jsonstream", version)
        else "application/vnd.docker.raw-stream"
    )


def delete_results(
    untagged: Sequence[str], deleted: Sequence[str], version: ApiVersion
) -> list[dict[str, str]]:
    """``DELETE /images/(name)`` from 1.2: what was untagged, then what was deleted."""
    return [{"Untagged": t} for t in untagged] + [{"Deleted": _bare(d, version)} for d in deleted]
