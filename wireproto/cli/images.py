"""``images``, ``rmi``, ``tag``, ``save``, ``load``: thin faces over the catalogue, printing
what the docker CLI prints."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator

from wireproto import api
from wireproto.api import shapes
from wireproto.cli import tables
from wireproto.cli.containers import download, each
from wireproto.cli.errors import UsageError
from wireproto.cli.streams import client_for, json_values
from wireproto.versions import ApiVersion

IMAGES_HEADER = ("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")
LOAD_CHUNK = 1 << 16


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    images = verbs.add_parser("images", help="list images")
    images.add_argument("-a", "--all", action="store_true", help="intermediate images too")
    images.add_argument("-q", "--quiet", action="store_true", help="only the ids")
    images.set_defaults(handler=images_verb)
    rmi = verbs.add_parser("rmi", help="remove images")
    rmi.add_argument("-f", "--force", action="store_true", help="even if containers use it")
    rmi.add_argument("--no-prune", action="store_true", help="keep untagged parents")
    rmi.add_argument("images", nargs="+", metavar="IMAGE")
    rmi.set_defaults(handler=rmi_verb)
    tag = verbs.add_parser("tag", help="give an image another name")
    tag.add_argument("source", metavar="SOURCE_IMAGE")
    tag.add_argument("target", metavar="TARGET_IMAGE[:TAG]")
    tag.set_defaults(handler=tag_verb)
    save = verbs.add_parser("save", help="images as a tar archive")
    save.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    save.add_argument("image")
    save.set_defaults(handler=save_verb)
    load = verbs.add_parser("load", help="load images from a tar archive")
    load.add_argument("-i", "--input", metavar="FILE", help="read FILE, not stdin")
    load.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    load.set_defaults(handler=load_verb)


# --- images ------------------------------------------------------------------------------------


def images_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:
        rows = client.request(api.list_images(client.api_version, all=args.all)).document
    assert isinstance(rows, list)
    now = time.time()
    lines = [line for row in rows for line in image_lines(row, now)]
    if args.quiet:
        sys.stdout.write("".join(line[2] + "\n" for line in lines))
    else:
        sys.stdout.write(tables.tabulate([IMAGES_HEADER, *lines], minwidth=10))
    return 0


def image_lines(row: dict[str, object], now: float) -> Iterator[tuple[str, ...]]:
    """One line per repository:tag, else per digested repository, else ``<none> <none>``."""
    rest = (tables.short_id(row.get("Id")), tables.ago(row.get("Created"), now), size(row))
    names = [split_reference(str(ref)) for ref in _listed(row.get("RepoTags"))]
    names = [name for name in names if name != ("<none>", "<none>")]
    if not names:
        digested = [str(ref).partition("@")[0] for ref in _listed(row.get("RepoDigests"))]
        names = [(repo, "<none>") for repo in digested if repo != "<none>"]
    for repo, tag in names or [("<none>", "<none>")]:
        yield (repo, tag, *rest)


def _listed(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def split_reference(reference: str) -> tuple[str, str]:
    """``host:5000/repo:tag`` as (``host:5000/repo``, ``tag``): the tag follows the last
    colon after the last slash."""
    repo, colon, tag = reference.rpartition(":")
    if not colon or "/" in tag:
        return reference, "<none>"
    return repo, tag


def size(row: dict[str, object]) -> str:
    value = row.get("Size")
    return tables.human_size(value) if isinstance(value, int | float) else ""


# --- rmi, tag ----------------------------------------------------------------------------------


def rmi_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:

        def remove(name: str) -> None:
            call = api.remove_image(
                name, client.api_version, force=args.force or False, noprune=args.no_prune or False
            )
            for result in shapes.delete_results(client.request(call).document):
                if isinstance(result, shapes.Untagged):
                    print(f"Untagged: {result.reference}", flush=True)
                else:
                    print(f"Deleted: {result.id}", flush=True)

        return each(args.images, remove)


def tag_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    repo, tag = split_reference(args.target)
    with client_for(args, pinned) as client:
        call = api.tag(args.source, repo, client.api_version, tag=None if tag == "<none>" else tag)
        client.request(call)
    return 0


# --- save, load --------------------------------------------------------------------------------


def save_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:
        return download(client, api.get_image(args.image, client.api_version), args.output)


def load_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    source = open(args.input, "rb") if args.input else sys.stdin.buffer  # noqa: SIM115
    if not args.input and source.isatty():
        raise UsageError("requested load from stdin, but stdin is empty")
    with source, client_for(args, pinned) as client:
        body = iter(lambda: source.read(LOAD_CHUNK), b"")
        failed = False
        for value in json_values(client.stream(api.load_image(body, client.api_version))):
            if not isinstance(value, dict):
                continue
            if value.get("error") or value.get("errorDetail"):
                sys.stderr.write(f"wireproto: {value.get('error') or value['errorDetail']}\n")
                failed = True
            elif isinstance(value.get("stream"), str) and not args.quiet:
                sys.stdout.write(value["stream"])
    return 1 if failed else 0
