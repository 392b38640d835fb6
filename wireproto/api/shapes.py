"""Response shapes across API versions: the modern shape, whatever the engine's version.

Strategy: each helper takes the decoded JSON document and the version it was
asked at (None: the engine's newest) and returns a new value in the shape of
today's API; documents already in that shape come back equal.  A document
that fits neither shape raises RemoteProtocolError naming the field, never
a silent guess.  A field an old engine did not send (``ApiVersion`` in
``/version`` before 1.12, an event's ``from`` before 1.4, ``progressDetail``
before 1.8) stays absent: a normaliser renames and regroups, it never
invents a value.  Which version changed what is in :mod:`wireproto.api.gates`.

Each catalogue call whose reply changed shape carries its helper, bound to
the call's version, as ``Call.shape`` (a :class:`Normaliser`): the adapters'
``Reply.document`` is what it returns, ``Reply.raw`` what the engine sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wireproto.api import gates
from wireproto.errors import RemoteProtocolError
from wireproto.versions import ApiVersion

Helper = Callable[[object, ApiVersion | None], object]


@dataclass(frozen=True, slots=True)
class Normaliser:
    """``helper`` bound to the API version a call was made at: what ``Call.shape`` holds.

    Called with the raw document (None when the reply had no body).  No body
    stays None, except for a call whose reply had no body at that version by
    design: ``empty`` then builds the modern value (image delete before 1.2: ``[]``).
    Frozen and compared by value, so two Calls built alike stay equal.
    """

    helper: Helper
    version: ApiVersion | None
    empty: Callable[[], object] | None = None

    def __call__(self, document: object) -> object:
        if document is None:
            return None if self.empty is None else self.empty()
        return self.helper(document, self.version)


# --- GET /images/json: one row per repo:tag before 1.7, grouped in RepoTags after -----------


def group_images(rows: object, version: ApiVersion | None) -> list[dict[str, object]]:
    """``GET /images/json`` rows with ``RepoTags``; rows before 1.7 grouped by ``Id``.

    Before 1.7 each repository:tag was its own row (``Repository``, ``Tag``);
    rows of one image are merged in order, ``<none>:<none>`` for untagged.
    """
    listing = _rows(rows, "GET /images/json")
    if gates.has("images.list.grouped", version):
        return listing
    grouped: dict[object, dict[str, object]] = {}
    for row in listing:
        image = grouped.get(row.get("Id"))
        if image is None:
            image = {k: v for k, v in row.items() if k not in ("Repository", "Tag")}
            image["RepoTags"] = []
            grouped[row.get("Id")] = image
        tags = image["RepoTags"]
        assert isinstance(tags, list)
        tags.append(f"{row.get('Repository') or '<none>'}:{row.get('Tag') or '<none>'}")
    return list(grouped.values())


def _rows(rows: object, what: str) -> list[dict[str, object]]:
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise RemoteProtocolError(f"{what}: expected a list of objects, got {_kind(rows)}")
    return [dict(row) for row in rows]


def _kind(value: object) -> str:
    return type(value).__name__


# --- container Ports: a string before 1.5, a list of dicts after ------------------------------

# "49153->6379", "0.0.0.0:49153->6379/tcp", "53/udp", "6379"
_PORT = re.compile(
    r"\A(?:(?:(?P<ip>[0-9a-fA-F.:]+):)?(?P<public>\d+)->)?(?P<private>\d+)(?:/(?P<type>tcp|udp|sctp))?\Z"
)


def ports(value: object, version: ApiVersion | None) -> list[dict[str, object]]:
    """A container row's ``Ports`` as the list of ``{IP, PrivatePort, PublicPort, Type}``.

    Before 1.5 it was a string: comma-separated ``[IP:]PUBLIC->PRIVATE[/proto]``
    mappings, or ``PRIVATE[/proto]`` for a port exposed but not published.
    """
    if gates.has("ports.list", version) or isinstance(value, list):
        if value is None:
            return []
        return _rows(value, "Ports")
    if not isinstance(value, str):
        raise RemoteProtocolError(f"Ports: expected a string before API 1.5, got {_kind(value)}")
    return [_port(item.strip()) for item in value.split(",") if item.strip()]


def _port(item: str) -> dict[str, object]:
    match = _PORT.match(item)
    if match is None:
        raise RemoteProtocolError(f"Ports: {item!r} is not [IP:]PUBLIC->PRIVATE[/proto]")
    port: dict[str, object] = {"PrivatePort": int(match["private"]), "Type": match["type"] or "tcp"}
    if match["public"]:
        port["IP"] = match["ip"] or "0.0.0.0"
        port["PublicPort"] = int(match["public"])
    return port


def containers(rows: object, version: ApiVersion | None) -> list[dict[str, object]]:
    """``GET /containers/json`` rows with ``Ports`` in the modern form."""
    listing = _rows(rows, "GET /containers/json")
    for row in listing:
        if "Ports" in row:
            row["Ports"] = ports(row["Ports"], version)
    return listing


# --- inspect: lower-case keys before 1.12 ------------------------------------------------------


def camel_case(document: object, version: ApiVersion | None) -> dict[str, object]:
    """An inspect document (image or container) with the 1.12+ CamelCase top-level keys.

    Before 1.12 image inspect said ``id``, ``parent``, ``created``,
    ``container_config``, ``docker_version``, ...; these become ``Id``,
    ``Parent``, ``Created``, ``ContainerConfig``, ``DockerVersion``.  Nested
    configs were CamelCase already and are left alone.  (Container inspect is
    CamelCase in every reference, v1.0 included: it passes through.)
    """
    if not isinstance(document, dict):
        raise RemoteProtocolError(f"inspect: expected an object, got {_kind(document)}")
    if gates.has("inspect.camelcase", version):
        return dict(document)
    return {_camel(key): value for key, value in document.items()}


def _camel(key: str) -> str:
    if not key[:1].islower():
        return key
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


# The references v1.0 .. v1.12 spell these NetworkSettings keys IpAddress and IpPrefixLen;
# v1.13's and today's engines IPAddress and IPPrefixLen.
_NETWORK_KEYS = {"IpAddress": "IPAddress", "IpPrefixLen": "IPPrefixLen"}


def container_inspect(document: object, version: ApiVersion | None) -> dict[str, object]:
    """``GET /containers/(id)/json`` in today's shape: CamelCase top-level keys
    (:func:`camel_case`) and ``NetworkSettings.IPAddress``/``IPPrefixLen``."""
    container = camel_case(document, version)
    network = container.get("NetworkSettings")
    if isinstance(network, dict):
        renamed = dict(network)
        for old, new in _NETWORK_KEYS.items():
            if old in renamed and new not in renamed:
                renamed[new] = renamed.pop(old)
        container["NetworkSettings"] = renamed
    return container


# --- GET /images/search: Name/Description before 1.7, is_trusted became is_automated in 1.12 ---

# Before 1.7 the engine answered with its own keys; from 1.7 it passes on the registry's.
_SEARCH_KEYS = {"Name": "name", "Description": "description"}


def search_results(rows: object, version: ApiVersion | None) -> list[dict[str, object]]:
    """Search results with the registry's keys: ``name``, ``description`` (``Name``,
    ``Description`` before 1.7) and ``is_automated`` (called ``is_trusted`` before 1.12)."""
    listing = _rows(rows, "GET /images/search")
    if not gates.has("search.registry_keys", version):
        listing = [_search_row(row) for row in listing]
    if gates.has("search.is_automated", version):
        return listing
    for row in listing:
        if "is_trusted" in row and "is_automated" not in row:
            row["is_automated"] = row.pop("is_trusted")
    return listing


def _search_row(row: dict[str, object]) -> dict[str, object]:
    if "name" not in row and not isinstance(row.get("Name"), str):
        raise RemoteProtocolError(f"GET /images/search: a row has neither name nor Name: {row!r}")
    return {_SEARCH_KEYS.get(key, key): value for key, value in row.items()}


# --- GET /containers/(id)/top: rows of objects in 1.3, Titles and Processes from 1.4 ----------


def top_processes(document: object, version: ApiVersion | None) -> dict[str, object]:
    """``{"Titles": [...], "Processes": [[...], ...]}``; the 1.3 rows (one object per
    process, ``{"PID", "Tty", "Time", "Cmd"}``) become Titles (their keys, in order)
    and Processes (their values)."""
    if isinstance(document, dict) or gates.has("containers.top.titles", version):
        return _titled(document)
    rows = _rows(document, "GET /containers/(id)/top")
    titles = list(rows[0]) if rows else []
    for row in rows:
        if list(row) != titles:
            raise RemoteProtocolError(
                f"GET /containers/(id)/top: a row's keys {list(row)} are not {titles}"
            )
    return {"Titles": titles, "Processes": [list(row.values()) for row in rows]}


def _titled(document: object) -> dict[str, object]:
    if not isinstance(document, dict):
        raise RemoteProtocolError(
            f"GET /containers/(id)/top: expected an object, got {_kind(document)}"
        )
    for key in ("Titles", "Processes"):
        if not isinstance(document.get(key), list):
            raise RemoteProtocolError(f"GET /containers/(id)/top: {key} is not a list")
    return dict(document)


# --- GET /info: EventsListeners (a string) in the v1.3 reference, NEventsListener later -------


def info_document(document: object, version: ApiVersion | None) -> dict[str, object]:
    """``/info`` with ``NEventsListener`` as a number.

    The v1.3 reference lists ``"EventsListeners": "0"``; v1.11's and every later one
    ``"NEventsListener": 0``; the references in between show neither, so the old key
    is renamed wherever it appears, whatever the version.
    """
    if not isinstance(document, dict):
        raise RemoteProtocolError(f"GET /info: expected an object, got {_kind(document)}")
    info = dict(document)
    if "EventsListeners" in info and "NEventsListener" not in info:
        info["NEventsListener"] = _count(info.pop("EventsListeners"), "EventsListeners")
    return info


def _count(value: object, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise RemoteProtocolError(f"GET /info: {field} {value!r} is not a count")


# --- DELETE /images/(name): a list of Untagged / Deleted from 1.2 ------------------------------


@dataclass(frozen=True, slots=True)
class Untagged:
    """A reference (``repo:tag`` or ``repo@digest``) removed from an image."""

    reference: str


@dataclass(frozen=True, slots=True)
class Deleted:
    """An image (or layer) id removed from the engine."""

    id: str


def delete_results(document: object, version: ApiVersion | None = None) -> list[Untagged | Deleted]:
    """The image delete answer as typed results, in the engine's order.

    Before 1.2 the engine answered 204 with no body: that is an empty list.
    """
    if document is None or document == b"":
        return []
    results: list[Untagged | Deleted] = []
    for row in _rows(document, "DELETE /images"):
        results.append(_delete_result(row))
    return results


def _delete_result(row: Mapping[str, object]) -> Untagged | Deleted:
    if isinstance(row.get("Untagged"), str):
        return Untagged(str(row["Untagged"]))
    if isinstance(row.get("Deleted"), str):
        return Deleted(str(row["Deleted"]))
    raise RemoteProtocolError(f"DELETE /images: {dict(row)!r} is neither Untagged nor Deleted")


def delete_rows(document: object, version: ApiVersion | None = None) -> list[dict[str, str]]:
    """The image delete answer as today's JSON: ``[{"Untagged": ref}, {"Deleted": id}, ...]``.

    Before 1.2 the engine answered 204 with no body: that is an empty list
    (the Normaliser's ``empty``).  A row neither Untagged nor Deleted is an error.
    """
    rows: list[dict[str, str]] = []
    for result in delete_results(document, version):
        if isinstance(result, Untagged):
            rows.append({"Untagged": result.reference})
        else:
            rows.append({"Deleted": result.id})
    return rows


# --- each call's normaliser, bound to its version ---------------------------------------------


def bind(helper: Helper, version: ApiVersion | None) -> Normaliser:
    """``helper`` as a call's ``shape`` at ``version``."""
    return Normaliser(helper, version)
