"""``.dockerignore``: which files of a build context are left out, as the docker CLI decides.

The rules are moby's ``patternmatcher`` (what ``docker build`` uses):

* One pattern a line (lines end at "\n" only, as Go's scanner cuts them);
  ``#`` starts a comment line; surrounding spaces are trimmed; a pattern is
  cleaned like a path (``./a//b/`` is ``a/b``) and a leading ``/`` is
  dropped: patterns are relative to the context root.
* ``*`` is any run of characters but ``/``; ``?`` one such character;
  ``[...]`` a class; ``**`` any number of directories (also none); ``\\``
  escapes the next character.
* ``!pattern`` is an exception: it re-includes what earlier patterns left out.
  The last pattern that matches decides; a pattern is only tried while it
  could change the answer.
* A pattern that matched a directory matches everything below it, if it was
  tried there (``a/b`` then ``!a`` still leaves out ``a/b/c``).
* An excluded directory is walked only if an exception's text starts with
  its path (``!a/keep`` opens ``a``; ``!*/keep`` and ``!**/keep`` do not,
  so nothing below ``a`` is sent).

The Dockerfile and ``.dockerignore`` are always sent (the CLI adds
exceptions for both; the builder needs them).

Known differences from the docker CLI, on purpose (the CLI compiles patterns
to Go regular expressions; its bugs are not copied).  tests/api/test_dockerignore.py
runs the real CLI and asserts each one by name:

* ``regexp-escape-of-a-letter`` (all CLIs): ``\\`` before a letter is a
  regexp escape there (``a\\b``: "a" then a word boundary; ``\\x\\y`` a syntax
  error); here, as in Go's filepath.Match, ``a\\b`` is ``ab``.
* ``dockerfile-always-sent`` (all CLIs): the CLI adds its Dockerfile exception
  only when the Dockerfile was excluded, so with ``sub`` then ``!*/Dockerfile``
  and ``-f sub/Dockerfile`` it never walks ``sub`` and the build fails;
  here the Dockerfile is always sent.
* ``legacy-unescaped-regexp-metacharacters`` (CLI 20.10): ``+ ( ) { } | ^``
  are regexp operators there (``a+b`` leaves out ``ab``); 23+ treats them
  literally, as here.
* ``legacy-doublestar-no-suffix-test`` (CLI 20.10): ``**.log`` is ``**/.log``
  there (only names that are ``.log``); 23+ (and here) every name ending ``.log``.
* ``legacy-parent-at-pattern-depth`` (CLI 20.10): a pattern is tried on the
  one parent directory as deep as the pattern has parts (``**`` is one part),
  whatever came before: ``a/b`` then ``!a`` re-includes ``a/b``, and ``a``
  then ``!**/a`` does not re-include ``a/b``; 23+ (and here) the other way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wireproto.errors import BuildContextError

# Token kinds of a compiled pattern (one token per pattern element).
LIT, ANY, STAR, CLASS, DIRS, REST = range(6)
_WILD = frozenset("*?[]\\")


class InvalidPattern(BuildContextError):
    """A ``.dockerignore`` pattern is not valid (Go's filepath.Match syntax).

    ``pattern`` is the pattern, ``line`` its line in the file (0: not from a file).
    """

    def __init__(self, pattern: str, reason: str, line: int = 0) -> None:
        where = f"line {line}: " if line else ""
        super().__init__(f".dockerignore {where}pattern {pattern!r} is invalid: {reason}")
        self.pattern = pattern
        self.reason = reason
        self.line = line


@dataclass(frozen=True, slots=True)
class Token:
    kind: int
    char: str = ""  # LIT
    negated: bool = False  # CLASS
    ranges: tuple[tuple[str, str], ...] = ()  # CLASS: inclusive (low, high) pairs

    def takes(self, char: str) -> bool:
        """Whether this token consumes ``char`` (LIT, ANY, CLASS; STAR/DIRS/REST loop)."""
        if self.kind == LIT:
            return char == self.char
        if self.kind == CLASS:
            inside = any(low <= char <= high for low, high in self.ranges)
            return inside != self.negated
        return char != "/"  # ANY, and STAR's loop


def _class_char(text: str, i: int, pattern: str) -> tuple[str, int]:
    """One (possibly escaped) character of a class at ``text[i]``, and the index after it."""
    if i >= len(text):
        raise InvalidPattern(pattern, "unclosed character class '['")
    char = text[i]
    if char in "-]":
        raise InvalidPattern(pattern, f"{char!r} where a class character is expected")
    if char == "\\":
        if i + 1 >= len(text):
            raise InvalidPattern(pattern, "a '\\' ends the pattern")
        return text[i + 1], i + 2
    return char, i + 1


def _compile_class(text: str, i: int, pattern: str) -> tuple[Token, int]:
    """The class starting after the ``[`` at ``text[i - 1]``, as Go's filepath.Match reads it."""
    negated = i < len(text) and text[i] == "^"
    i += negated
    ranges: list[tuple[str, str]] = []
    while True:
        low, i = _class_char(text, i, pattern)
        high = low
        if i < len(text) and text[i] == "-":
            high, i = _class_char(text, i + 1, pattern)
            if high < low:
                raise InvalidPattern(pattern, f"the range {low}-{high} is reversed")
        ranges.append((low, high))
        if i < len(text) and text[i] == "]":
            return Token(CLASS, negated=negated, ranges=tuple(ranges)), i + 1


def compile_tokens(text: str) -> tuple[Token, ...]:
    """The tokens of a cleaned pattern: ``*`` ``?`` ``[...]`` ``\\x`` and moby's ``**``.

    ``**/`` (or ``**`` before more pattern) is any run of whole directories,
    none included (DIRS); a trailing ``**`` is anything at all (REST).
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        i += 1
        if char == "*" and i < n and text[i] == "*":
            i += 1
            if i < n and text[i] == "/":
                i += 1
            tokens.append(Token(REST if i >= n else DIRS))
        elif char == "*":
            tokens.append(Token(STAR))
        elif char == "?":
            tokens.append(Token(ANY))
        elif char == "[":
            token, i = _compile_class(text, i, text)
            tokens.append(token)
        elif char == "\\":
            if i >= n:
                raise InvalidPattern(text, "a '\\' ends the pattern")
            tokens.append(Token(LIT, text[i]))
            i += 1
        else:
            tokens.append(Token(LIT, char))
    return tuple(tokens)


class Automaton:
    """Matches a whole path against tokens by simulating the NFA: O(len(path) * len(tokens)).

    State ``k`` waits before token ``k``; state ``n + 1 + k`` is inside DIRS
    token ``k`` (any characters, leaving after a ``/``).  No backtracking:
    each character moves the whole set of states at once.
    """

    def __init__(self, tokens: tuple[Token, ...]) -> None:
        self.tokens = tokens
        self.size = len(tokens)

    def _close(self, states: set[int]) -> frozenset[int]:
        todo = list(states)
        seen = set(states)
        while todo:
            state = todo.pop()
            if state >= self.size:
                continue
            kind = self.tokens[state].kind
            if kind in (STAR, DIRS):
                for nxt in (state + 1, self.size + 1 + state if kind == DIRS else state + 1):
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
        return frozenset(seen)

    def _step(self, states: frozenset[int], char: str) -> set[int]:
        out: set[int] = set()
        for state in states:
            if state > self.size:  # inside DIRS token k
                k = state - self.size - 1
                out.add(state)
                if char == "/":
                    out.add(k + 1)
                continue
            if state == self.size:
                continue
            token = self.tokens[state]
            if token.kind == REST:
                out.add(state)
            elif token.kind == STAR:
                if char != "/":
                    out.add(state)
            elif token.kind != DIRS and token.takes(char):
                out.add(state + 1)
        return out

    def _accepts(self, states: frozenset[int]) -> bool:
        return any(
            s == self.size or (s < self.size and self.tokens[s].kind == REST) for s in states
        )

    def match(self, path: str) -> bool:
        states = self._close({0})
        for char in path:
            if not states:
                return False
            states = self._close(self._step(states, char))
        return self._accepts(states)


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str  # the cleaned pattern, without "!"
    exclusion: bool  # a "!" exception
    automaton: Automaton

    @classmethod
    def compile(cls, text: str, exclusion: bool) -> Pattern:
        return cls(text, exclusion, Automaton(compile_tokens(text)))

    def match(self, path: str) -> bool:
        """Whether the whole ``path`` matches, as moby's patternmatcher decides.

        A pattern that starts with ``**`` and has no other wildcard is a
        plain suffix test there (``**.log`` leaves out ``a.log``), so here too.
        """
        rest = self.text[2:]
        if self.text.startswith("**") and not _WILD & set(rest):
            return path.endswith(rest) or (rest.startswith("/") and path == rest[1:])
        return self.automaton.match(path)


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` (Unix): one slash, no ``.``, ``..`` resolved lexically."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    return ("/" + cleaned) if rooted else (cleaned or ".")


# Go's unicode.IsSpace (strings.TrimSpace); Python's str.strip also takes \x1c-\x1f.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def go_lines(text: str) -> list[str]:
    """The lines as Go's bufio.ScanLines cuts them: at "\n" only, less one "\r" before it
    (str.splitlines also cuts at \f, \v, \x1c-\x1e, \x85, \u2028: names may hold those)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def parse(text: str) -> list[str]:
    """The patterns of a ``.dockerignore`` file, cleaned (``!`` kept in front), as the
    docker CLI reads them; an invalid one raises InvalidPattern naming its line."""
    return [pattern for _, pattern in parse_lines(text)]


def parse_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, pattern)`` for each pattern of a ``.dockerignore`` file."""
    patterns = []
    for number, raw in enumerate(go_lines(text.removeprefix("\ufeff")), start=1):
        if raw.startswith("#"):  # the CLI tests for a comment before trimming
            continue
        line = raw.strip(GO_SPACE)
        if not line:
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip(GO_SPACE)
            if not line:
                raise InvalidPattern("!", 'an exception "!" with no pattern', number)
        line = go_clean(line)
        if len(line) > 1 and line.startswith("/"):
            line = line[1:]
        if invert and line == "/":  # the CLI cleans "!/" once more, to a lone "!"
            raise InvalidPattern("!/", 'an exception "!" with no pattern', number)
        pattern = ("!" if invert else "") + line
        try:
            compile_tokens(line)
        except InvalidPattern as exc:
            raise InvalidPattern(pattern, exc.reason, number) from None
        patterns.append((number, pattern))
    return patterns


# Per pattern, whether it matched a directory (or an ancestor of it), as the walk carries it down.
ParentHits = tuple[bool, ...]


class Matcher:
    """Decides, for a context-relative path (``a/b/c``), whether it is left out.

    As moby's ``MatchesUsingParentResults``: patterns are tried in order and a
    pattern is only tried while it could change the answer (an exclusion while
    the path is in, an exception while it is out).  A pattern that matched a
    directory matches everything below it, but only if it was tried there: so
    ``a/b`` then ``!a`` leaves out ``a/b`` (``!a`` was not tried at ``a``,
    which was in), where "any ancestor matches" would keep it.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: list[Pattern] = []
        for text in patterns:
            exclusion = text.startswith("!")
            body = text[1:] if exclusion else text
            if body:
                self.patterns.append(Pattern.compile(body, exclusion))

    def decide(self, path: str, parent: ParentHits | None = None) -> tuple[bool, ParentHits]:
        """Whether ``path`` is left out, given its directory's hits (None: at the root);
        and the hits to pass to the entries below ``path``."""
        matched = False
        hits = [False] * len(self.patterns)
        for index, pattern in enumerate(self.patterns):
            if pattern.exclusion != matched:
                continue  # it could not change the answer: not tried, so not inherited
            hit = (parent is not None and parent[index]) or pattern.match(path)
            hits[index] = hit
            if hit:
                matched = not pattern.exclusion
        return matched, tuple(hits)

    def excluded(self, path: str) -> bool:
        """Whether ``path`` is left out, deciding its directories from the root down."""
        parts = path.split("/")
        hits: ParentHits | None = None
        matched = False
        for depth in range(1, len(parts) + 1):
            matched, hits = self.decide("/".join(parts[:depth]), hits)
        return matched

    def may_include_below(self, directory: str) -> bool:
        """Whether the walk goes into the excluded ``directory`` (if not, nothing below it
        is sent).

        As the docker CLI's walk (moby's ``TarWithOptions``): only when an
        exception's text, as a directory, starts with ``directory/``.  Text, not
        a wildcard match: ``!a/keep`` opens ``a``, ``!*/keep`` and ``!**/keep`` do not.
        """
        below = directory + "/"
        return any(p.exclusion and (p.text + "/").startswith(below) for p in self.patterns)


def for_build(text: str, dockerfile: str = "Dockerfile") -> Matcher:
    """The matcher for a context whose ``.dockerignore`` says ``text``: the Dockerfile
    and .dockerignore itself are always kept, as the docker CLI does."""
    keep = ["!.dockerignore", "!" + go_clean(dockerfile)]
    return Matcher([*parse(text), *keep])
