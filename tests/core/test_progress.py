"""Typed messages, in-band errors and progress aggregation (sans-IO)."""

from __future__ import annotations

from typing import Any

import pytest

from wireproto import progress
from wireproto.errors import BuildError, MalformedMessage, PullError, PushError
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.progress import (
    DictMessage,
    EngineEvent,
    JSONMessage,
    Progress,
    ProgressDetail,
    check,
)

LAYER = "a3ed95caeb02"
PULL: list[dict[str, Any]] = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": LAYER},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "b1"},
    {"status": "Already exists", "progressDetail": {}, "id": "c2"},
    {"status": "Waiting", "progressDetail": {}, "id": "b1"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 1000, "total": 4000},
        "progress": "[============>          ]  1kB/4kB",
        "id": LAYER,
    },
    {"status": "Downloading", "progressDetail": {"current": 3000, "total": 4000}, "id": LAYER},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": LAYER},
    {"status": "Download complete", "progressDetail": {}, "id": LAYER},
    {"status": "Extracting", "progressDetail": {"current": 2000, "total": 4000}, "id": LAYER},
    {"status": "Pull complete", "progressDetail": {}, "id": LAYER},
    {"status": "Downloading", "progressDetail": {"current": 10, "total": 100}, "id": "b1"},
    {"status": "Digest: sha256:" + "ab" * 32},
    {"status": "Status: Downloaded newer image for busybox:latest"},
]


def test_typed_fields_and_unknown_fields_kept() -> None:
    raw = {**PULL[5], "extra": {"kept": True}}
    message = JSONMessage.from_value(raw)
    assert message.status == "Downloading"
    assert message.id == LAYER
    assert message.progress_detail == ProgressDetail(1000, 4000)
    assert message.progress is not None and message.progress.startswith("[")
    assert message.stream is None and message.error is None and not message.is_error
    assert message.raw["extra"] == {"kept": True}
    assert JSONMessage.from_value({"progressDetail": {}}).progress_detail == ProgressDetail()
    assert JSONMessage.from_value({"aux": {"ID": "sha256:x"}}).aux == {"ID": "sha256:x"}


def test_wrong_field_types_are_typed_errors() -> None:
    with pytest.raises(MalformedMessage, match="status is int"):
        _ = JSONMessage.from_value({"status": 3}).status
    with pytest.raises(MalformedMessage, match="current"):
        _ = JSONMessage.from_value({"progressDetail": {"current": "1"}}).progress_detail
    with pytest.raises(MalformedMessage, match="message"):
        JSONMessage.from_value([1, 2])


def test_in_band_errors_become_typed_exceptions() -> None:
    ok = JSONMessage.from_value({"status": "Pulling fs layer", "id": "x"})
    assert check(ok, PullError) is ok
    denied = JSONMessage.from_value(
        {
            "errorDetail": {"message": "unauthorized: authentication required"},
            "error": "unauthorized: authentication required",
        }
    )
    with pytest.raises(PullError, match="pull failed: unauthorized") as pulled:
        check(denied, PullError)
    assert pulled.value.code is None
    with pytest.raises(PushError):
        check(denied, PushError)


def test_build_error_exit_code() -> None:
    text = "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    with_code = JSONMessage.from_value({"errorDetail": {"code": 3, "message": text}, "error": text})
    with pytest.raises(BuildError) as built:
        check(with_code, BuildError)
    assert built.value.exit_code == 3
    assert built.value.message == text
    old = JSONMessage.from_value({"error": text})  # no errorDetail: the text says it
    with pytest.raises(BuildError) as built:
        check(old, BuildError)
    assert built.value.exit_code == 3
    only_detail = JSONMessage.from_value({"errorDetail": {"message": "no space"}})
    with pytest.raises(BuildError, match="no space"):
        check(only_detail, BuildError)


def test_pull_aggregation() -> None:
    state = Progress()
    changed = [state.update(JSONMessage.from_value(raw)) for raw in PULL]
    assert changed[0] is None  # "Pulling from" is a note, not a layer
    assert list(state.layers) == [LAYER, "b1", "c2"]
    layer = state.layers[LAYER]
    assert (layer.phase, layer.current, layer.total, layer.extracted) == (
        "complete",
        4000,
        4000,
        2000,
    )
    assert state.layers["c2"].phase == "exists"
    assert state.layers["b1"].phase == "downloading"
    assert (state.bytes_done, state.bytes_total) == (4010, 4100)
    assert not state.complete
    state.update(JSONMessage.from_value({"status": "Pull complete", "id": "b1"}))
    assert state.complete
    assert state.bytes_done == state.bytes_total == 4100
    assert state.notes[0] == "latest: Pulling from library/busybox"
    assert state.notes[-1].startswith("Status: Downloaded")


def test_push_aggregation() -> None:
    state = Progress()
    for raw in [
        {"status": "The push refers to repository [127.0.0.1:5000/busybox]"},
        {"status": "Preparing", "progressDetail": {}, "id": "l1"},
        {"status": "Preparing", "progressDetail": {}, "id": "l2"},
        {"status": "Pushing", "progressDetail": {"current": 512, "total": 1024}, "id": "l1"},
        {"status": "Layer already exists", "progressDetail": {}, "id": "l2"},
        {"status": "Pushed", "progressDetail": {}, "id": "l1"},
        {"status": "latest: digest: sha256:ab size: 527"},
        {"progressDetail": {}, "aux": {"Tag": "latest", "Digest": "sha256:ab", "Size": 527}},
    ]:
        state.update(JSONMessage.from_value(raw))
    assert state.complete
    assert (state.bytes_done, state.bytes_total) == (1024, 1024)
    assert [layer.phase for layer in state.layers.values()] == ["complete", "exists"]


def test_events_old_and_new_fields() -> None:
    new = EngineEvent.from_value(
        {
            "status": "start",
            "id": "abc",
            "from": "busybox",
            "Type": "container",
            "Action": "start",
            "Actor": {"ID": "abc", "Attributes": {"image": "busybox", "name": "x"}},
            "scope": "local",
            "time": 1700000000,
            "timeNano": 1700000000123456789,
        }
    )
    assert (new.type, new.action, new.id, new.from_) == ("container", "start", "abc", "busybox")
    assert new.attributes["name"] == "x"
    assert new.time_nano == 1700000000123456789
    assert new.raw["scope"] == "local"
    old = EngineEvent.from_value({"status": "die", "id": "abc", "from": "busybox", "time": 1})
    assert (old.type, old.action, old.id) == ("container", "die", "abc")
    image = EngineEvent.from_value({"Type": "image", "Action": "pull", "Actor": {"ID": "busybox"}})
    assert (image.type, image.action, image.id, image.status) == ("image", "pull", "busybox", None)


def test_decoder_to_messages_with_engine_framing() -> None:
    decoder = JSONStreamDecoder()
    data = b"".join(b'{"status":"s%d","id":"l"}\r\n' % i for i in range(3))
    values = decoder.feed(data[:20]) + decoder.feed(data[20:]) + decoder.close()
    assert [m.status for m in progress.messages(values)] == ["s0", "s1", "s2"]


def test_messages_batch_wraps_objects_and_names_a_non_object() -> None:
    batch = progress.messages(iter([{"status": "a"}, {"status": "b", "extra": 1}]))
    assert [type(m) for m in batch] == [DictMessage, DictMessage]
    assert all(isinstance(m, JSONMessage) for m in batch)
    assert batch[1].raw == {"status": "b", "extra": 1}  # unknown fields kept, not copied
    assert progress.messages([]) == []
    with pytest.raises(MalformedMessage, match="message"):
        progress.messages([{"status": "a"}, [1]])
    with pytest.raises(MalformedMessage, match="message"):
        progress.messages([{"status": "a"}, True])  # bool is not an object either
