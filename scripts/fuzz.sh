#!/usr/bin/env bash
# Builds the libFuzzer targets for the C hot paths and runs them in turn:
#   fuzz_demux    the multiplexed-stream demuxer (native/demux.c)
#   fuzz_chunked  the chunked decoder and fused chunked demuxer
#                 (native/chunked.c over native/demux.c)
#   fuzz_json     wp_json_open, the open-value check of a cut JSON line
#                 (native/jsonscan.h, used by native/jsonfeed.c)
#
#   scripts/fuzz.sh [SECONDS]      (default 60)
#
# SECONDS is the total: it is split evenly between the three targets (the
# first ones get the seconds left over; each gets at least one).  Needs clang
# with the libFuzzer/sanitizer runtimes (Debian/Ubuntu:
# `apt-get install -y clang libclang-rt-14-dev`).  CC overrides the compiler.
# The targets are built into native/build/fuzz/ (git-ignored); each runs over
# a temporary copy of its seeds (native/fuzz/corpus/, corpus_chunked/;
# fuzz_json has none and starts from an empty corpus) so the committed seeds
# stay as they are.  Crash reproducers go to native/build/fuzz/artifacts/.
# Exits non-zero on any crash, leak, sanitizer report or invariant failure in
# any target (all run regardless).
set -euo pipefail

seconds=${1:-60}
case $seconds in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
targets=3
#   share INDEX: the seconds of the INDEX-th target (from 0)
share() {
  local secs=$((seconds / targets))
  [ "$1" -ge $((seconds % targets)) ] || secs=$((secs + 1))
  [ "$secs" -ge 1 ] || secs=1
  echo "$secs"
}

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/native/build/fuzz
cc=${CC:-clang}
# Demux: several reads of 16 KiB streams: big enough for frames above the
# 1 KiB merging threshold and many frames per read, small enough for fast
# runs.  Chunked: room for a trailer section over its 16 KiB limit.  JSON:
# each input is also checked at its last 64 prefixes, so shorter inputs keep
# the runs many; 4 KiB still nests far past the usual depth limits.
demux_max_len=${FUZZ_MAX_LEN:-16384}
chunked_max_len=${FUZZ_CHUNKED_MAX_LEN:-24576}
json_max_len=${FUZZ_JSON_MAX_LEN:-4096}

# Only the code under test gets coverage instrumentation (-fsanitize=fuzzer),
# so the fuzzer is guided by, and the reported coverage counts, that code;
# the harnesses get the sanitizers alone and libFuzzer's main at link time.
flags=(-g -O1 -std=c99 -Wall -Wextra -Werror -I "$root/native"
       -fsanitize=address,undefined -fno-sanitize-recover=undefined)
mkdir -p "$build/artifacts"
for src in demux chunked; do
  "$cc" "${flags[@]}" -fsanitize=fuzzer -c "$root/native/$src.c" -o "$build/$src.o"
done
"$cc" "${flags[@]}" -c "$root/native/fuzz/fuzz_demux.c" -o "$build/fuzz_demux.o"
"$cc" "${flags[@]}" -fsanitize=fuzzer "$build/fuzz_demux.o" "$build/demux.o" \
  -o "$build/fuzz_demux"
"$cc" "${flags[@]}" -c "$root/native/fuzz/fuzz_chunked.c" -o "$build/fuzz_chunked.o"
"$cc" "${flags[@]}" -fsanitize=fuzzer "$build/fuzz_chunked.o" "$build/chunked.o" \
  "$build/demux.o" -o "$build/fuzz_chunked"
# jsonscan.h is header-only, so its harness is one translation unit: the
# allowlist instruments only the functions that run the code under test.
printf '%s\n' 'src:*' 'fun:under_test' 'fun:wp_json_open' >"$build/json-coverage.allow"
"$cc" "${flags[@]}" -fsanitize=fuzzer \
  -fsanitize-coverage-allowlist="$build/json-coverage.allow" \
  "$root/native/fuzz/fuzz_json.c" -o "$build/fuzz_json"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Source coverage of the code under test by the corpus a run ended with,
# when llvm-cov is there (Debian: the llvm package, which clang recommends).
#   source_coverage TARGET CORPUS_DIR SOURCE...
source_coverage() {
  local target=$1 corpus=$2 profdata cov src
  shift 2
  profdata=$(command -v llvm-profdata-14 || command -v llvm-profdata || true)
  cov=$(command -v llvm-cov-14 || command -v llvm-cov || true)
  if [ -z "$profdata" ] || [ -z "$cov" ]; then
    echo "(no llvm-profdata/llvm-cov: source coverage skipped)"
    return
  fi
  local sources=() units=()
  for src in "$@"; do
    sources+=("$root/native/$src")
    # A header is compiled in its harness, and only reported on.
    [[ $src == *.h ]] || units+=("$root/native/$src")
  done
  "$cc" -O1 -std=c99 -I "$root/native" -fprofile-instr-generate -fcoverage-mapping \
    -fsanitize=fuzzer "$root/native/fuzz/$target.c" "${units[@]}" \
    -o "$build/${target}_cov"
  LLVM_PROFILE_FILE="$build/$target.profraw" "$build/${target}_cov" -runs=0 "$corpus" \
    >/dev/null 2>&1
  "$profdata" merge -o "$build/$target.profdata" "$build/$target.profraw"
  echo "source coverage of native/{$(IFS=,; echo "$*")} by the final corpus:"
  "$cov" report "$build/${target}_cov" -instr-profile="$build/$target.profdata" \
    "${sources[@]}" | grep -vE '^-+$'
}

#   run_target TARGET SEEDS_DIR SECONDS MAX_LEN SOURCE...   (returns its exit code)
# SEEDS_DIR is under native/fuzz/, or '' for a target with no seeds.
run_target() {
  local target=$1 seeds=$2 secs=$3 max_len=$4 rc last execs
  shift 4
  local corpus=$work/$target log=$build/$target-last-run.log
  mkdir -p "$corpus"
  [ -z "$seeds" ] || cp "$root/native/fuzz/$seeds"/* "$corpus/"
  echo "=== $target (${secs}s) ==="
  set +e
  "$build/$target" "$corpus" \
    -max_len="$max_len" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$target-" 2>&1 \
    | tee "$log" | grep --line-buffered -E '^#[0-9]+.*(INITED|pulse|DONE)'
  rc=${PIPESTATUS[0]}
  set -e
  echo "--- $target"
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "executions: ${execs:-?}  (${secs}s, max_len=$max_len)"
  echo "coverage:   $(grep -oE 'cov: [0-9]+ ft: [0-9]+' <<<"$last" || echo '?')" \
    "(libFuzzer edges/features in $*, sanitizer branches included)" \
    " corpus: $(grep -oE 'corp: [^ ]+' <<<"$last" || echo '?')"
  if [ "$rc" != 0 ]; then
    grep -E 'ERROR|invariant failed|SUMMARY|Test unit written' "$log" | head -n 20 >&2
    echo "FUZZ FAILED: $target (exit $rc); full log: $log" >&2
    return "$rc"
  fi
  echo "no crash"
  source_coverage "$target" "$corpus" "$@"
}

status=0
run_target fuzz_demux corpus "$(share 0)" "$demux_max_len" demux.c || status=$?
echo
run_target fuzz_chunked corpus_chunked "$(share 1)" "$chunked_max_len" chunked.c demux.c \
  || status=$?
echo
run_target fuzz_json '' "$(share 2)" "$json_max_len" jsonscan.h || status=$?
exit "$status"
