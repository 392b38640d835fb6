"""Shape checks for the normalised replies (the modern shape, whatever the version)."""

from __future__ import annotations

import io
import tarfile

from tests.conformance.model import Ctx, Outcome, V


def is_tar(data: bytes) -> list[str]:
    """The member names of ``data``; fails unless it is a tar stream."""
    assert data, "expected a tar stream, got no bytes"
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getnames()


def rows(value: object, what: str) -> list[dict[str, object]]:
    """``value`` as a list of objects (``null`` is an empty list, as changes sends it)."""
    if value is None:
        return []
    assert isinstance(value, list), f"{what}: expected a list, got {type(value).__name__}"
    for row in value:
        assert isinstance(row, dict), f"{what}: expected objects, got {row!r}"
    return value


def document(outcome: Outcome, what: str, *keys: str) -> dict[str, object]:
    """The reply's document, an object with ``keys``."""
    doc = outcome.document
    assert isinstance(doc, dict), f"{what}: expected an object, got {doc!r}"
    missing = [key for key in keys if key not in doc]
    assert not missing, f"{what}: {missing} missing from {sorted(doc)}"
    return doc


def has_keys(outcome: Outcome, what: str, *keys: str) -> None:
    """The reply's document is an object with ``keys`` (a Case's check)."""
    document(outcome, what, *keys)


def camel_case(doc: dict[str, object], what: str) -> None:
    """Every top-level key CamelCase (lower-case keys before 1.12 are normalised away)."""
    lower = [key for key in doc if key[:1].islower()]
    assert not lower, f"{what}: lower-case keys {lower} in the normalised document"


def same_id(short_or_long: object, full: str) -> bool:
    """Whether an id an engine listed (12 characters before some versions) is ``full``."""
    text = str(short_or_long).removeprefix("sha256:")
    full = full.removeprefix("sha256:")
    return bool(text) and (full.startswith(text) or text.startswith(full))


def progress(outcome: Outcome, ctx: Ctx, what: str) -> None:
    """A progress reply: JSON messages from 1.1 (none with an error), raw text before
    (with no error line)."""
    if ctx.version >= V(1, 1):
        assert outcome.messages, f"{what}: no progress messages"
        errors = in_band_errors(outcome.messages)
        assert not errors, f"{what}: in-band errors {errors}"
        progress_detail(outcome.messages, ctx, what)
    else:
        assert not outcome.messages, f"{what}: JSON messages before 1.1: {outcome.messages}"
        plain_text(outcome.data, what)
        lines = text_errors(outcome.data)
        assert not lines, f"{what}: in-band errors {lines}"


def progress_detail(messages: list[object], ctx: Ctx, what: str) -> None:
    """A message with a progress bar has progressDetail from 1.8 (the change log), not before."""
    counted = [m for m in messages if isinstance(m, dict) and m.get("progress")]
    detailed = ctx.version >= V(1, 8)
    wrong = [m for m in counted if ("progressDetail" in m) is not detailed]
    assert not wrong, f"{what}: progressDetail {'missing' if detailed else 'before 1.8'}: {wrong}"


def plain_text(data: bytes, what: str) -> None:
    """Text output (progress before 1.1, build before 1.8): lines, none of them JSON."""
    assert data, f"{what}: no text"
    json_lines = [line for line in data.splitlines() if line.lstrip().startswith(b"{")]
    assert not json_lines, f"{what}: JSON where the version wrote text: {json_lines[:2]}"


def in_band_errors(messages: list[object]) -> list[object]:
    """The messages of a JSON stream that report an error."""
    return [m for m in messages if isinstance(m, dict) and "error" in m]


def text_errors(data: bytes) -> list[bytes]:
    """The lines of raw progress text (engines before 1.1) that report an error: the
    engines of then wrote ``Error: <message>`` into the stream once it had started."""
    return [line for line in data.splitlines() if line.startswith(b"Error")]


def delete_results(value: object) -> list[tuple[str, str]]:
    """Image delete results as (kind, value) pairs, whether typed or dicts."""
    assert isinstance(value, list), f"image delete: expected a list, got {value!r}"
    pairs = []
    for item in value:
        if isinstance(item, dict):
            ((kind, text),) = item.items()
            pairs.append((str(kind), str(text)))
        else:
            kind = type(item).__name__
            pairs.append((kind, str(getattr(item, "reference", getattr(item, "id", "")))))
    return pairs
