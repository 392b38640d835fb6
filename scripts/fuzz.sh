#!/usr/bin/env bash
# Builds the libFuzzer target for the C demuxer and runs it.
#
#   scripts/fuzz.sh [SECONDS]      (default 60)
#
# Needs clang with the libFuzzer/sanitizer runtimes (Debian/Ubuntu:
# `apt-get install -y clang libclang-rt-14-dev`).  CC overrides the compiler.
# The target is built into native/build/fuzz/ (git-ignored); it runs over a
# temporary copy of native/fuzz/corpus/ so the committed seeds stay as they
# are.  Crash reproducers go to native/build/fuzz/artifacts/.  Exits non-zero
# on any crash, leak, sanitizer report or invariant failure.
set -euo pipefail

seconds=${1:-60}
case $seconds in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/native/build/fuzz
cc=${CC:-clang}
# Several chunks of 16 KiB streams: big enough for frames above the 1 KiB
# merging threshold and many frames per chunk, small enough for fast runs.
max_len=${FUZZ_MAX_LEN:-16384}

# Only demux.c gets coverage instrumentation (-fsanitize=fuzzer), so the
# fuzzer is guided by, and the reported coverage counts, the code under test;
# the harness gets the sanitizers alone and libFuzzer's main at link time.
flags=(-g -O1 -std=c99 -Wall -Wextra -Werror -I "$root/native"
       -fsanitize=address,undefined -fno-sanitize-recover=undefined)
mkdir -p "$build/artifacts"
"$cc" "${flags[@]}" -fsanitize=fuzzer -c "$root/native/demux.c" -o "$build/demux.o"
"$cc" "${flags[@]}" -c "$root/native/fuzz/fuzz_demux.c" -o "$build/fuzz_demux.o"
"$cc" "${flags[@]}" -fsanitize=fuzzer "$build/fuzz_demux.o" "$build/demux.o" \
  -o "$build/fuzz_demux"

# Source coverage of demux.c by the corpus the run ended with, when llvm-cov
# is there (Debian: the llvm package, which clang recommends).
source_coverage() {
  local profdata cov
  profdata=$(command -v llvm-profdata-14 || command -v llvm-profdata || true)
  cov=$(command -v llvm-cov-14 || command -v llvm-cov || true)
  if [ -z "$profdata" ] || [ -z "$cov" ]; then
    echo "(no llvm-profdata/llvm-cov: source coverage skipped)"
    return
  fi
  "$cc" -O1 -std=c99 -I "$root/native" -fprofile-instr-generate -fcoverage-mapping \
    -fsanitize=fuzzer "$root/native/fuzz/fuzz_demux.c" "$root/native/demux.c" \
    -o "$build/fuzz_demux_cov"
  LLVM_PROFILE_FILE="$build/cov.profraw" "$build/fuzz_demux_cov" -runs=0 "$work" \
    >/dev/null 2>&1
  "$profdata" merge -o "$build/cov.profdata" "$build/cov.profraw"
  echo "source coverage of native/demux.c by the final corpus:"
  "$cov" report "$build/fuzz_demux_cov" -instr-profile="$build/cov.profdata" \
    "$root/native/demux.c" | sed -n '1,2p;$p'
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root"/native/fuzz/corpus/* "$work/"

log=$build/last-run.log
set +e
"$build/fuzz_demux" "$work" \
  -max_len="$max_len" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$build/artifacts/" 2>&1 \
  | tee "$log" | grep --line-buffered -E '^#[0-9]+.*(INITED|pulse|DONE)'
rc=${PIPESTATUS[0]}
set -e

echo "---"
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
echo "executions: ${execs:-?}  (${seconds}s, max_len=$max_len)"
echo "coverage:   $(grep -oE 'cov: [0-9]+ ft: [0-9]+' <<<"$last" || echo '?')" \
  "(libFuzzer edges/features in demux.c, sanitizer branches included)" \
  " corpus: $(grep -oE 'corp: [^ ]+' <<<"$last" || echo '?')"
if [ "$rc" != 0 ]; then
  grep -E 'ERROR|invariant failed|SUMMARY|Test unit written' "$log" | head -n 20 >&2
  echo "FUZZ FAILED (exit $rc); full log: $log" >&2
  exit "$rc"
fi
echo "no crash"
source_coverage
