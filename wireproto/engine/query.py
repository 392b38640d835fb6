"""Query parameters the stub engine parses, refused as dockerd 20.10 refuses them (sans-IO).

Strategy: every malformed value becomes a :class:`QueryError` carrying the
status and message the real engine answers (checked against dockerd 20.10):
its handlers hand Go's own error text back, as a 500, for filters that are
not JSON of the right shape and for timestamps that are not numbers.  The
filter text is checked for nesting depth with a flat scan before it is
parsed, so deep input costs no recursion.
"""

from __future__ import annotations

import json

from wireproto.engine.script import parse_timestamp

# Go's encoding/json refuses nesting deeper than this (scanner maxNestingDepth).
GO_MAX_DEPTH = 10_000
# The shapes a filter may take: {"key": {"value": true}} or, from old clients, {"key": ["value"]}.
_FILTER_TYPES = ("map[string]map[string]bool", "map[string]bool", "bool")
_GO_KINDS = {dict: "object", list: "array", str: "string", bool: "bool", int: "number"}


class QueryError(ValueError):
    """A query parameter the engine refuses: answer ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def filters(text: str) -> dict[str, list[str]]:
    """A ``filters`` parameter as dockerd's ``filters.FromJSON`` reads it: key -> values."""
    if not text:
        return {}
    value = _go_json(text)
    if value is None:
        return {}
    problem = _shape_problem(value, 0)
    if problem is None:
        assert isinstance(value, dict)
        return {key: list(values or ()) for key, values in value.items()}
    if _is_legacy(value):
        assert isinstance(value, dict)
        return {key: [v for v in items or () if isinstance(v, str)] for key, items in value.items()}
    raise QueryError(500, problem)


def timestamp(text: str) -> int | None:
    """A ``since``/``until`` parameter in Unix nanoseconds, None when empty."""
    if not text:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as exc:  # Go's strconv error text, which dockerd answers as a 500
        raise QueryError(500, str(exc)) from None


def event_window(since_text: str, until_text: str) -> tuple[int | None, int | None]:
    """The events endpoint's (since, until), with its check that they are in order."""
    since, until = timestamp(since_text), timestamp(until_text)
    if since is not None and until is not None and since > until:
        message = f"`since` time ({since_text}) cannot be after `until` time ({until_text})"
        raise QueryError(400, message)
    return since, until


def _go_json(text: str) -> object:
    """``text`` parsed as JSON; syntax errors worded as Go's encoding/json words them."""
    depth, deepest = _nesting(text)
    if deepest > GO_MAX_DEPTH:
        raise QueryError(500, f"invalid character {text.lstrip()[0]!r} exceeded max depth")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise QueryError(500, "unexpected end of JSON input") from None
        message = f"invalid character {text[exc.pos]!r} looking for beginning of value"
        raise QueryError(500, message) from None
    except RecursionError:  # deeper than Python's parser goes, within Go's limit
        if depth:
            raise QueryError(500, "unexpected end of JSON input") from None
        kind = "array" if text.lstrip().startswith("[") else "object"
        raise QueryError(500, _type_error(kind, 0)) from None


def _nesting(text: str) -> tuple[int, int]:
    """(open brackets left at the end, deepest nesting), strings skipped."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            escaped = not escaped and character == "\\"
            in_string = escaped or character != '"'
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return depth, deepest


def _shape_problem(value: object, level: int) -> str | None:
    """Go's first type error decoding ``value`` into the filter map, None if it fits."""
    if value is None:
        return None
    if level == 2:
        return None if isinstance(value, bool) else _type_error(_kind(value), level)
    if not isinstance(value, dict):
        return _type_error(_kind(value), level)
    for item in value.values():
        problem = _shape_problem(item, level + 1)
        if problem is not None:
            return problem
    return None


def _is_legacy(value: object) -> bool:
    """The pre-1.23 shape, ``{"key": ["value", ...]}``, which dockerd still accepts."""
    return isinstance(value, dict) and all(
        items is None or (isinstance(items, list) and all(isinstance(v, str | None) for v in items))
        for items in value.values()
    )


def _kind(value: object) -> str:
    """A JSON value's kind as Go's errors name it (bool is tested before int: a subclass)."""
    return next((k for t, k in _GO_KINDS.items() if isinstance(value, t)), "number")


def _type_error(kind: str, level: int) -> str:
    return f"json: cannot unmarshal {kind} into Go value of type {_FILTER_TYPES[level]}"
