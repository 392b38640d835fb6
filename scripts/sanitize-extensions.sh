#!/usr/bin/env bash
# Builds the two CPython extensions (native/pieces.c -> wireproto._pieces,
# native/jsonfeed.c -> wireproto._jsonfeed) with AddressSanitizer and
# UndefinedBehaviorSanitizer into a throwaway copy of the tree, and runs their
# tests there (the differential tests against the pure-Python paths included):
#
#   scripts/sanitize-extensions.sh
#
# libFuzzer cannot drive them (they need an interpreter), so the Hypothesis
# tests are their fuzzers.  The sanitizer runtimes are preloaded into Python;
# leak checking is off (the interpreter keeps memory until exit on purpose).
# Needs gcc with libasan and libubsan (Debian: gcc).  Exits non-zero on any
# test failure or sanitizer report.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git -C "$root" archive --format=tar HEAD | tar -x -C "$work"
cd "$work"
# The package built as pip builds it (its own, current setuptools: the interpreter's may be
# older than the project's metadata needs), then put back in the tree the tests run from.
"$python" -m pip install --quiet --no-deps --target "$work/built" "$work"
rm -rf "$work/wireproto"
mv "$work/built/wireproto" "$work/wireproto"
include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
suffix=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
for module in pieces jsonfeed; do
  rm -f wireproto/_"$module".*
  gcc -shared -fPIC -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
    -fno-sanitize-recover=undefined -Wall -Wextra -Werror -I native -I "$include" \
    "native/$module.c" -o "wireproto/_$module$suffix"
done

export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONPATH=$work WIREPROTO_BACKEND=native
"$python" - <<'EOF'
import wireproto._jsonfeed, wireproto._pieces
for module in (wireproto._jsonfeed, wireproto._pieces):
    print("sanitized:", module.__file__)
EOF
"$python" -m pytest -q -p no:cacheprovider tests/core/test_mux_pieces.py \
  tests/core/test_mux_differential.py tests/core/test_mux_frames.py \
  tests/core/test_jsonstream_native.py tests/core/test_progress_decoder.py
