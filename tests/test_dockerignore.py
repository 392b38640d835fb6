""".dockerignore rules, as moby's patternmatcher applies them."""

from __future__ import annotations

import time

import pytest

from wireproto.api.dockerignore import InvalidPattern, Matcher, Pattern, for_build, parse
from wireproto.errors import BuildContextError


def test_parse_cleans_and_skips_comments() -> None:
    text = "# comment\n\n  ./a//b/  \n/abs\n! keep.txt\n!/x/../y\n*.tmp\n"
    assert parse(text) == ["a/b", "abs", "!keep.txt", "!y", "*.tmp"]


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.tmp"], "a.tmp", True),
        (["*.tmp"], "dir/a.tmp", False),  # * does not cross directories
        (["*/*.tmp"], "dir/a.tmp", True),
        (["**/*.tmp"], "a.tmp", True),
        (["**/*.tmp"], "x/y/z/a.tmp", True),
        (["build"], "build/out/bin", True),  # a directory's contents go with it
        (["build"], "builder", False),
        (["a?c"], "abc", True),
        (["a?c"], "a/c", False),
        (["[ab].txt"], "b.txt", True),
        (["[ab].txt"], "c.txt", False),
        (["docs/**"], "docs/x/y.md", True),
        (["docs/**"], "docsx", False),
        (["**"], "anything/at/all", True),
        (["a.b"], "axb", False),  # the dot is literal
        (["*", "!keep.txt"], "keep.txt", False),
        (["*", "!keep.txt"], "other.txt", True),
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md", "README.md"], "README.md", True),  # the last match decides
        (["secret", "!secret/public"], "secret/public/a", False),
        (["secret", "!secret/public"], "secret/private/a", True),
        (["\\*literal"], "*literal", True),
        (["\\*literal"], "xliteral", False),
    ],
)
def test_matching(patterns: list[str], path: str, excluded: bool) -> None:
    assert Matcher(patterns).excluded(path) is excluded


@pytest.mark.parametrize(
    ("patterns", "directory", "walked"),
    [
        (["secret", "!secret/public"], "secret", True),
        (["secret", "!secret"], "secret", True),
        (["a/b", "!a/b/c/d"], "a/b/c", True),
        (["logs"], "logs", False),
        (["logs", "!other/x"], "logs", False),
        (["logs", "!logsx/y"], "logs", False),  # a text prefix, but not of the directory
        # The CLI compares the exception's text, not a wildcard match: these never open it.
        (["a", "!*/keep"], "a", False),
        (["logs", "!**/keep"], "logs", False),
        (["a", "!a*/keep"], "a", False),
        (["a", "![a]/keep"], "a", False),
        (["a", "!a/*"], "a", True),  # the text starts with "a/"
    ],
)
def test_may_include_below_as_the_cli_walk(
    patterns: list[str], directory: str, walked: bool
) -> None:
    assert Matcher(patterns).may_include_below(directory) is walked


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        # "!a" is not tried at "a" (it was in), so "a/b" keeps the exclusion below it.
        (["a/b", "!a"], "a/b", True),
        (["a/b", "!a"], "a/b/c", True),
        (["a/b", "!a"], "a/x", False),
        (["a", "!a/b"], "a/b/c", False),
        (["a", "!a/b", "a/b/c"], "a/b/c/d", True),
    ],
)
def test_parent_hits_only_from_patterns_tried_there(
    patterns: list[str], path: str, excluded: bool
) -> None:
    assert Matcher(patterns).excluded(path) is excluded


def test_dockerfile_and_dockerignore_always_sent() -> None:
    matcher = for_build("*\n", dockerfile="sub/Build.dockerfile")
    assert not matcher.excluded(".dockerignore")
    assert not matcher.excluded("sub/Build.dockerfile")
    assert matcher.excluded("other")


# --- Go's filepath.Match and moby's ** (no backtracking) ----------------------------------------

# (pattern, path, matches): Go's filepath.Match table, then moby patternmatcher's ** cases.
GO_CASES = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a\u263ab", True),
    ("a[^a]b", "a\u263ab", True),
    ("a???b", "a\u263ab", False),
    ("[a-\u03b6]*", "\u03b1", True),
    ("*[a-\u03b6]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("*x", "xxx", True),
    ("[!a]", "!", True),  # Go negates with ^ only: ! is a member
    ("**", "dir/file", True),
    ("**/**", "dir/file", True),
    ("dir/**", "dir/dir2/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[^b-d]e", "aze", True),
    (".*", "foo", False),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True),
    ("**/foo/bar", "foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("**.log", "a.log", True),  # moby: ** then no wildcard is a suffix test
]


@pytest.mark.parametrize(("pattern", "path", "matches"), GO_CASES)
def test_go_filepath_match_semantics(pattern: str, path: str, matches: bool) -> None:
    assert Pattern.compile(pattern, exclusion=False).match(path) is matches


@pytest.mark.parametrize(
    "pattern",
    ["[", "[^", "[^bc", "a[", "a/b[", "[]a]", "[-]", "[x-]", "[-x]", "[a-b-c]", "\\", "[z-a]"],
)
def test_invalid_patterns_are_typed_errors_naming_the_line(pattern: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        parse(f"# comment\nok\n{pattern}\n")
    assert isinstance(caught.value, BuildContextError)
    assert caught.value.line == 3 and "line 3" in str(caught.value)


def test_lone_exception_mark_is_an_error() -> None:
    with pytest.raises(InvalidPattern, match="line 2"):
        parse("a\n!\n")


def test_comment_only_at_line_start_and_go_clean() -> None:
    # The CLI tests for '#' before trimming; Go's Clean folds '//' (POSIX normpath keeps it).
    assert parse(" #x\n//a//b/./c/..\n") == ["#x", "a/b"]


PATHOLOGICAL = [
    ("*a" * 10 + "*b", "a" * 40),
    ("*a" * 12 + "*b", "a" * 40),
    ("**/" * 10 + "x", "/".join(["d"] * 30)),
    ("**/" * 10 + "*a" * 8 + "*b", "/".join(["a" * 20] * 20)),
]


@pytest.mark.parametrize(("pattern", "path"), PATHOLOGICAL)
def test_pathological_patterns_take_linear_time(pattern: str, path: str) -> None:
    matcher = Matcher([pattern])
    started = time.perf_counter()
    assert not matcher.excluded(path)
    assert time.perf_counter() - started < 0.5
