""".dockerignore rules, as moby's patternmatcher applies them."""

from __future__ import annotations

import pytest

from wireproto.api.dockerignore import Matcher, for_build, parse


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


def test_may_include_below() -> None:
    matcher = Matcher(["secret", "!secret/public", "logs", "!**/keep"])
    assert matcher.may_include_below("secret")
    assert matcher.may_include_below("logs")  # a wildcard exception could match inside
    assert not Matcher(["logs"]).may_include_below("logs")
    assert not Matcher(["logs", "!other/x"]).may_include_below("logs")


def test_dockerfile_and_dockerignore_always_sent() -> None:
    matcher = for_build("*\n", dockerfile="sub/Build.dockerfile")
    assert not matcher.excluded(".dockerignore")
    assert not matcher.excluded("sub/Build.dockerfile")
    assert matcher.excluded("other")
