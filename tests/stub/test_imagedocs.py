"""Image documents and progress streams per API version (wireproto.engine.imagedocs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from wireproto.engine import imagedocs
from wireproto.versions import ApiVersion as V


@dataclass
class Facts:
    id: str = "sha256:" + "ab" * 32
    repo_tags: list[str] = field(default_factory=lambda: ["busybox:latest", "busybox:1"])
    parent: str = ""
    created: int = 1_700_000_000
    size: int = 10
    virtual_size: int = 20
    config: dict[str, object] = field(default_factory=lambda: {"Cmd": ["sh"]})
    author: str = ""
    comment: str = ""


@pytest.mark.parametrize(("version", "rows"), [(V(1, 6), 2), (V(1, 7), 1)])
def test_list_one_row_per_tag_before_1_7(version: V, rows: int) -> None:
    listed = imagedocs.list_rows([Facts()], version)
    assert len(listed) == rows
    if rows == 2:
        assert {(r["Repository"], r["Tag"]) for r in listed} == {
            ("busybox", "latest"),
            ("busybox", "1"),
        }
    else:
        assert listed[0]["RepoTags"] == ["busybox:latest", "busybox:1"]


@pytest.mark.parametrize(("version", "sizes"), [(V(1, 1), False), (V(1, 2), True)])
def test_list_sizes_from_1_2(version: V, sizes: bool) -> None:
    assert ("VirtualSize" in imagedocs.list_rows([Facts()], version)[0]) is sizes


@pytest.mark.parametrize(("version", "camel"), [(V(1, 11), False), (V(1, 12), True)])
def test_inspect_keys_lower_case_before_1_12(version: V, camel: bool) -> None:
    document = imagedocs.inspect(Facts(), version)
    assert ("Id" in document, "id" in document) == (camel, not camel)
    assert ("ContainerConfig" if camel else "container_config") in document


@pytest.mark.parametrize(
    ("version", "keys"),
    [
        (V(1, 6), {"Name", "Description"}),
        (V(1, 7), {"name", "description", "star_count", "is_official", "is_trusted"}),
        (V(1, 11), {"name", "description", "star_count", "is_official", "is_trusted"}),
        (V(1, 12), {"name", "description", "star_count", "is_official", "is_automated"}),
    ],
)
def test_search_keys_per_version(version: V, keys: set[str]) -> None:
    rows = imagedocs.search("busy", version)
    assert len(rows) == 1 and set(rows[0]) == keys


def test_viz_is_a_digraph_of_parents() -> None:
    child = Facts(id="sha256:" + "cd" * 32, parent="sha256:" + "ab" * 32, repo_tags=["app:1"])
    text = imagedocs.viz([Facts(), child])
    assert text.startswith("digraph docker {\n") and text.endswith("}\n")
    assert '"abababababab" -> "cdcdcdcdcdcd"' in text and 'base -> "abababababab"' in text


@pytest.mark.parametrize(("version", "json_"), [(V(1, 0), False), (V(1, 1), True)])
def test_progress_text_before_1_1(version: V, json_: bool) -> None:
    line = imagedocs.progress("Pulling", version, current=1, total=100)
    assert line.startswith(b"{") is json_
    assert imagedocs.stream_type(version) == (
        "application/json" if json_ else "application/vnd.docker.raw-stream"
    )


@pytest.mark.parametrize(("version", "detail"), [(V(1, 7), False), (V(1, 8), True)])
def test_progress_detail_and_error_detail_from_1_8(version: V, detail: bool) -> None:
    message = json.loads(imagedocs.progress("Pulling", version, current=1, total=100))
    assert ("progressDetail" in message) is detail
    error = json.loads(imagedocs.failure("nope", version))
    assert ("errorDetail" in error) is detail


@pytest.mark.parametrize("version", [V(1, 7), V(1, 8)])
def test_build_output_text_before_1_8(version: V) -> None:
    line = imagedocs.build_line("Step 0 : FROM busybox\n", version)
    end = imagedocs.build_failure(
        "The command [/bin/sh -c exit 3] returned a non-zero code: 3", 3, version
    )
    if version < V(1, 8):
        assert line == b"Step 0 : FROM busybox\n" and end.startswith(b"Error build: ")
    else:
        assert json.loads(line) == {"stream": "Step 0 : FROM busybox\n"}
        assert json.loads(end)["errorDetail"]["code"] == 3


def test_delete_results_list_untagged_then_deleted() -> None:
    assert imagedocs.delete_results(["a:1"], ["sha256:" + "ab" * 32], V(1, 2)) == [
        {"Untagged": "a:1"},
        {"Deleted": "ab" * 32},
    ]
