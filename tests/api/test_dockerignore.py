""".dockerignore rules, as moby's patternmatcher applies them; and parity with the real docker CLI.

The parity test runs ``docker build`` (classic builder) against a fake engine
that records the context tar it is sent, and compares the members (names and
types) with what tar_context sends for the same directory. The differences we
keep on purpose are named in wireproto.api.dockerignore and asserted exactly.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.docker_cli_recorder import Recorder
from wireproto.api.buildcontext import tar_context
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


@pytest.mark.parametrize("mark", ["!", "! ", "!/", "! //"])
def test_lone_exception_mark_is_an_error(mark: str) -> None:
    with pytest.raises(InvalidPattern, match="line 2"):
        parse(f"a\n{mark}\n")


def test_lines_end_at_newline_only_and_trim_as_go() -> None:
    # Go's scanner cuts at "\n" (less one "\r"); str.splitlines would also cut at \f, \r, \u2028.
    text = "ab\x0cx\r\nq\rr\n a\x1c \n\u2028z\n"
    assert parse(text) == ["ab\x0cx", "q\rr", "a\x1c", "z"]


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


# --- parity with the docker CLI: what `docker build` (classic builder) really sends -------------

TREE = [
    "a/keep", "a/x/keep", "a/b/c", "b/keep", "x/y/foo/keep", "x/y/foo/o", ".hidden", ".git/HEAD",
    "dir with space/f g.txt", " lead", "n1.log", "d/n2.log", "abc.txt", "abd.txt", "ab", "a+b",
    "a(b)", "a{1}", "a|b", "a^b", "a[b]", "a*b", "q?x", "k\\", "a\\b", "caf\u00e9/\u00e9t\u00e9",
    "sub/Dockerfile", "sub/other", "sub/deep/x", "build/out/bin", "e/", "ab\x0cx", "a\x1c", "q\rr",
    "z", "tab\tname", "special/h1",
]  # fmt: skip


def parity_tree(root: Path) -> None:
    (root / "Dockerfile").write_text("FROM scratch\n")
    for name in TREE:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    os.link(root / "special/h1", root / "special/h2")  # the second name is a LNKTYPE member
    os.link(root / "build/out/bin", root / "special/h0")  # a regular file when build/ is out
    os.mkfifo(root / "special/fifo")
    os.symlink("h1", root / "special/sym")


@dataclass(frozen=True)
class Case:
    name: str
    ignore: str | None  # None: no .dockerignore at all
    dockerfile: str = "Dockerfile"


CASES = [
    Case("no-dockerignore", None),
    Case("empty", ""),
    Case("dir-then-wildcard-exception", "a\n!*/keep\n"),
    Case("dir-then-doublestar-exception", "a\n!**/keep\n"),
    Case("dir-then-literal-exception", "a\n!a/keep\n"),
    Case("dir-then-subdir-exception", "a\n!a/b\n"),
    Case("exception-not-tried-at-parent", "a/b\n!a\n"),
    Case("doublestar-exception-on-a-shallow-parent", "[ab]/*\n!b/c\na/\n!**/a/\n"),
    Case("doublestar-dir-and-exception", "**/foo\n!**/foo/keep\n"),
    Case("doublestar-middle-literal-exception", "x/**/foo\n!x/y/foo/keep\n"),
    Case("star-children-file-exception", "a/*\n!a/b/c\n"),
    Case("trailing-doublestar", "build/**\n!build/out/bin\n"),
    Case("exception-trailing-doublestar", "build\n!build/out/**\n"),
    Case("doublestar-suffix", "**.log\n"),
    Case("doublestar-slash-ext", "**/*.log\n"),
    Case("star-ext-top-only", "*.log\n"),
    Case("dot-slash", "./a\n./b/\n"),
    Case("leading-slash", "/a\n!/a/keep\n"),
    Case("trailing-slash", "a/\n!a/keep/\n"),
    Case("dotfiles", ".*\n"),
    Case("dotfiles-everywhere", "**/.*\n"),
    Case("class", "ab[cd].txt\n"),
    Case("class-negated", "ab[^c].txt\n"),
    Case("class-bang-is-a-member", "[!a]*\n"),
    Case("question-mark", "ab?.txt\nq?x\n"),
    Case("escapes", "a\\[b\\]\na\\*b\nq\\?x\nk\\\\\n"),
    Case("spaces", "dir with space\n lead \n"),
    Case("file-with-spaces", "dir with space/f g.txt\n"),
    Case("unicode", "caf\u00e9/*\n"),
    Case("dockerfile-and-dockerignore-listed", "Dockerfile\n.dockerignore\n"),
    Case("everything", "*\n"),
    Case("everything-doublestar", "**\n"),
    Case("everything-but-a-dir", "*\n!sub\n"),
    Case("last-match-decides", "abc.txt\n!abc.txt\nabc.txt\nabd.txt\n!abd.txt\n"),
    Case("comments-and-blank-lines", "#a\n # not a comment\n\n\tab\t\n"),
    Case("crlf", "ab\r\nz\r\n"),
    Case("lines-cut-at-newline-only", "ab\x0cx\na\x1c\nq\rr\n\u2028z\n"),
    Case("byte-order-mark", "\ufeffab\n"),
    Case("regexp-metacharacters", "a+b\na(b)\na{1}\na^b\n"),
    Case("regexp-alternation", "q|z\n"),
    Case("regexp-anchor", "^ab\n"),
    Case("backslash-letter", "a\\b\n"),
    Case("hard-link-first-name-left-out", "build\n"),
    Case("special-files", "special/sym\n"),
    Case("dockerfile-in-excluded-dir", "sub\n", "sub/Dockerfile"),
    Case("dockerfile-in-subdir-all-excluded", "*\n", "sub/Dockerfile"),
    Case("dockerfile-reincluded-by-wildcard", "sub\n!*/Dockerfile\n", "sub/Dockerfile"),
]

Member = tuple[str, str]  # (name without trailing "/", tar type)


@dataclass(frozen=True)
class KnownDifference:
    """A case where the docker CLI sends other members than we do, on purpose (see
    wireproto.api.dockerignore): exactly ``cli_only`` more and ``ours_only`` fewer."""

    name: str
    cli_majors: range  # the CLI major versions that differ
    cli_only: frozenset[Member]
    ours_only: frozenset[Member]


def _files(*names: str) -> frozenset[Member]:
    return frozenset((name.rstrip("/"), "5" if name.endswith("/") else "0") for name in names)


ALL, LEGACY = range(0, 1000), range(0, 23)  # 20.10 is the last before 23.0 (patternmatcher)
KNOWN = {
    "backslash-letter": KnownDifference(
        "regexp-escape-of-a-letter", ALL, _files("ab"),
        _files("a/", "a/keep", "a/x/", "a/x/keep", "a/b/", "a/b/c"),
    ),
    "dockerfile-reincluded-by-wildcard": KnownDifference(
        "dockerfile-always-sent", ALL, frozenset(), _files("sub/Dockerfile")
    ),
    "regexp-metacharacters": KnownDifference(
        "legacy-unescaped-regexp-metacharacters", LEGACY,
        _files("a+b", "a(b)", "a{1}", "a^b"),
        _files("ab", "a/", "a/keep", "a/x/", "a/x/keep", "a/b/", "a/b/c"),  # a{1} is "a"
    ),
    "regexp-alternation": KnownDifference(
        "legacy-unescaped-regexp-metacharacters", LEGACY, frozenset(), _files("q?x", "q\rr", "z")
    ),
    "regexp-anchor": KnownDifference(
        "legacy-unescaped-regexp-metacharacters", LEGACY, frozenset(), _files("ab")
    ),
    "doublestar-suffix": KnownDifference(
        "legacy-doublestar-no-suffix-test", LEGACY, _files("n1.log", "d/n2.log"), frozenset()
    ),
    "exception-not-tried-at-parent": KnownDifference(
        "legacy-parent-at-pattern-depth", LEGACY, _files("a/b/", "a/b/c"), frozenset()
    ),
    "doublestar-exception-on-a-shallow-parent": KnownDifference(
        "legacy-parent-at-pattern-depth", LEGACY, frozenset(),
        _files("a/b/", "a/b/c", "a/keep", "a/x/", "a/x/keep"),
    ),
}  # fmt: skip


def find_docker_cli() -> str | None:
    named = os.environ.get("WIREPROTO_DOCKER_CLI")
    if named:
        return shutil.which(named)  # None if it is not there: skip, or fail if required
    return "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")


@pytest.fixture(scope="module")
def docker_cli() -> tuple[str, int]:
    """The docker CLI and its major version; skips without one (fails if required)."""
    cli = find_docker_cli()
    if cli is None:
        message = "no docker CLI (set WIREPROTO_DOCKER_CLI)"
        if os.environ.get("WIREPROTO_REQUIRE_ENGINE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=30)
    found = re.search(r"version (\d+)\.", version.stdout)
    assert found, f"{cli} --version said {version.stdout!r}"
    return cli, int(found.group(1))


def cli_build(cli: str, context: Path, dockerfile: str, scratch: Path) -> tuple[int, str, bytes]:
    """Runs ``docker build`` (classic builder) against the recorder: exit status, stderr,
    and the context tar the CLI sent (b"" if none)."""
    recorder = Recorder(scratch / "rec.sock")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER")}
    env.update(DOCKER_BUILDKIT="0", DOCKER_CONFIG=str(scratch / "cfg"), DOCKER_CLI_HINTS="false")
    command = [cli, "-H", f"unix://{scratch / 'rec.sock'}", "build"]
    command += ["-f", str(context / dockerfile), str(context)]
    try:
        done = subprocess.run(command, capture_output=True, env=env, timeout=120)
    finally:
        recorder.close()
    body = recorder.bodies[0] if recorder.bodies else b""
    return done.returncode, done.stderr.decode(errors="replace"), body


def member_set(stream: bytes) -> set[Member]:
    with tarfile.open(fileobj=io.BytesIO(stream)) as archive:
        return {(m.name.rstrip("/"), m.type.decode()) for m in archive}


def context_dir(tmp_path: Path, ignore: str | None) -> Path:
    context = tmp_path / "ctx"
    context.mkdir()
    parity_tree(context)
    if ignore is not None:
        (context / ".dockerignore").write_text(ignore, encoding="utf-8", newline="")
    return context


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_members_as_the_docker_cli_sends(
    case: Case, docker_cli: tuple[str, int], tmp_path: Path
) -> None:
    cli, major = docker_cli
    context = context_dir(tmp_path, case.ignore)
    status, stderr, body = cli_build(cli, context, case.dockerfile, tmp_path)
    assert status == 0 and body, stderr
    sent = member_set(body)
    ours = member_set(b"".join(tar_context(context, dockerfile=case.dockerfile)))
    known = KNOWN.get(case.name)
    if known is not None and major in known.cli_majors:
        assert (sent - ours, ours - sent) == (set(known.cli_only), set(known.ours_only)), known.name
    else:
        assert (sent - ours, ours - sent) == (set(), set())


@pytest.mark.parametrize(
    ("ignore", "ours_valid"),
    [
        ("!\n", False),
        ("!/\n", False),  # "!/" is cleaned to "!" there
        ("[\n", False),
        ("a/[\n", False),
        ("[]a]\n", False),
        ("a[b-]\n", False),
        ("ab\\\n", False),
        ("a\\x\\y\n", True),  # regexp-escape-of-a-letter: \x and \y are bad regexp escapes there
    ],
)
def test_invalid_patterns_as_the_docker_cli(
    ignore: str, ours_valid: bool, docker_cli: tuple[str, int], tmp_path: Path
) -> None:
    context = context_dir(tmp_path, ignore)
    status, stderr, body = cli_build(docker_cli[0], context, "Dockerfile", tmp_path)
    assert status != 0 and not body
    assert "pattern" in stderr
    if ours_valid:
        b"".join(tar_context(context))
    else:
        with pytest.raises(InvalidPattern, match="line 1"):
            b"".join(tar_context(context))
