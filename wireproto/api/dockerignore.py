"""``.dockerignore``: which files of a build context are left out, as the docker CLI decides.

The rules are moby's ``patternmatcher`` (what ``docker build`` uses):

* One pattern a line; ``#`` starts a comment line; surrounding spaces are
  trimmed; a pattern is cleaned like a path (``./a//b/`` is ``a/b``) and a
  leading ``/`` is dropped: patterns are relative to the context root.
* ``*`` is any run of characters but ``/``; ``?`` one such character;
  ``[...]`` a class; ``**`` any number of directories (also none); ``\\``
  escapes the next character.
* ``!pattern`` is an exception: it re-includes what earlier patterns left out.
  The last pattern that matches decides.
* A pattern also matches everything below a directory it matches (``build``
  leaves out ``build/x/y``).

The Dockerfile and ``.dockerignore`` are always sent (the CLI adds
exceptions for both; the builder needs them).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

_ESCAPE = set(".+()|{}$^")


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str  # the cleaned pattern, without "!"
    exclusion: bool  # a "!" exception
    regex: re.Pattern[str]

    @property
    def literal_prefix(self) -> str:
        """The directories at its start that hold no wildcard."""
        parts = []
        for part in self.text.split("/"):
            if any(c in part for c in "*?[\\"):
                break
            parts.append(part)
        return "/".join(parts)


def compile_pattern(text: str) -> re.Pattern[str]:
    """The regular expression for one (cleaned) pattern, as patternmatcher builds it."""
    out = ["^"]
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        i += 1
        if ch == "*":
            if i < n and text[i] == "*":
                i += 1
                if i < n and text[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i < n:
                out.append(re.escape(text[i]))
                i += 1
            else:
                out.append(r"\\")
        elif ch in _ESCAPE:
            out.append("\\" + ch)
        else:
            out.append(ch)
    out.append("$")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:
        raise ValueError(f".dockerignore pattern {text!r} is invalid: {exc}") from None


def parse(text: str) -> list[str]:
    """The patterns of a ``.dockerignore`` file, cleaned (``!`` kept in front)."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        if line:
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line.lstrip("/") or "/"
        patterns.append(("!" if invert else "") + line)
    return patterns


class Matcher:
    """Decides, for a context-relative path (``a/b/c``), whether it is left out."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: list[Pattern] = []
        for text in patterns:
            exclusion = text.startswith("!")
            body = text[1:] if exclusion else text
            if body:
                self.patterns.append(Pattern(body, exclusion, compile_pattern(body)))
        self.has_exceptions = any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (or a directory above it) is left out by the last matching rule."""
        matched = False
        parent = posixpath.dirname(path)
        parents = parent.split("/") if parent else []
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.regex.match(path) is not None
            if not hit:
                for i in range(len(parents)):
                    if pattern.regex.match("/".join(parents[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pattern.exclusion
        return matched

    def may_include_below(self, directory: str) -> bool:
        """Whether an exception could re-include something under an excluded ``directory``
        (if not, the directory is not walked at all)."""
        prefix = directory + "/"
        for pattern in self.patterns:
            if not pattern.exclusion:
                continue
            literal = pattern.literal_prefix
            if not literal or literal.startswith(prefix):
                return True
            wild = literal != pattern.text
            if wild and (directory == literal or directory.startswith(literal + "/")):
                return True
        return False


def for_build(text: str, dockerfile: str = "Dockerfile") -> Matcher:
    """The matcher for a context whose ``.dockerignore`` says ``text``: the Dockerfile
    and .dockerignore itself are always kept, as the docker CLI does."""
    keep = ["!.dockerignore", "!" + posixpath.normpath(dockerfile)]
    return Matcher([*parse(text), *keep])
