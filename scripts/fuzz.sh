#!/usr/bin/env bash
# Arbiter's libFuzzer targets: every fuzz/*_fuzzer.cc, built with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/ (the `fuzz`
# preset of CMakePresets.json). Each target has a checked-in seed corpus in
# fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh smoke                 CI: build, replay every corpus, then
#                                         run each target for ARBITER_FUZZ_RUNS
#                                         executions (default 20000), at most
#                                         ARBITER_FUZZ_SMOKE_SECONDS (60) each
#   scripts/fuzz.sh long SECONDS [T...]   run each target (or the named ones),
#                                         one at a time, for SECONDS each;
#                                         prints exec/s and coverage
#   scripts/fuzz.sh replay [T...]         replay the corpora only
#   scripts/fuzz.sh merge [T...]          add the inputs found by `long` runs
#                                         (build-fuzz/corpus/T) that reach new
#                                         coverage to fuzz/corpus/T
#   scripts/fuzz.sh repro T FILE...       run target T on the given inputs
#   scripts/fuzz.sh build                 configure and build only
#   scripts/fuzz.sh list                  print the target names
#
# A crash, leak, sanitizer report or timeout fails the run; the input is saved
# as build-fuzz/artifacts/T/crash-* (or leak-*, timeout-*) and the command to
# reproduce it is printed. Add a fixed reproducer to fuzz/corpus/T/ so the
# replay keeps it fixed.
#
# Environment:
#   ARBITER_FUZZ_BUILD_DIR  build tree (default build-fuzz)
#   ARBITER_FUZZ_RUNS       executions per target in smoke mode (default 20000)
#   ARBITER_FUZZ_SMOKE_SECONDS  time cap per target in smoke mode (default 60)
#   ARBITER_FUZZ_MAX_LEN    largest generated input, bytes (default 8192)
#   ARBITER_FUZZ_TIMEOUT    seconds before one input counts as a hang (25)
#   ARBITER_FUZZ_RSS_MB     memory limit per target, MiB (default 2048)
#   ARBITER_JOBS            build parallelism (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${ARBITER_FUZZ_BUILD_DIR:-build-fuzz}
RUNS=${ARBITER_FUZZ_RUNS:-20000}
SMOKE_SECONDS=${ARBITER_FUZZ_SMOKE_SECONDS:-60}
MAX_LEN=${ARBITER_FUZZ_MAX_LEN:-8192}
TIMEOUT=${ARBITER_FUZZ_TIMEOUT:-25}
RSS_MB=${ARBITER_FUZZ_RSS_MB:-2048}
JOBS=${ARBITER_JOBS:-$(nproc)}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'fuzz.sh: %s\n' "$*" >&2; exit 2; }

all_targets() {
  local f
  for f in fuzz/*_fuzzer.cc; do
    [[ -e $f ]] || continue
    f=${f##*/}
    echo "${f%.cc}"
  done
}

# The targets named on the command line, or all of them.
select_targets() {
  if (($#)); then
    local t
    for t in "$@"; do
      [[ -f fuzz/$t.cc ]] || die "unknown target: $t (see scripts/fuzz.sh list)"
      echo "$t"
    done
  else
    all_targets
  fi
}

build() {
  command -v clang++ >/dev/null || die "clang++ is needed (apt-get install clang)"
  local targets
  mapfile -t targets < <(all_targets)
  ((${#targets[@]})) || die "no fuzz/*_fuzzer.cc"
  log "build: ${targets[*]} (clang, ASan+UBSan, $BUILD)"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja \
    -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DARBITER_BUILD_FUZZERS=ON \
    -DARBITER_SANITIZE=address,undefined \
    -DARBITER_BUILD_TESTS=OFF \
    -DARBITER_BUILD_BENCHMARKS=OFF \
    -DARBITER_BUILD_EXAMPLES=OFF \
    -DARBITER_INSTALL=OFF >/dev/null
  cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"
}

binary() { echo "$BUILD/fuzz/$1"; }

# The last libFuzzer status line's field, e.g. `field cov: <log>`.
field() {
  grep -E '^#[0-9]+' "$2" | grep -F " $1 " | tail -n 1 |
    sed -E "s/.* $1 ([^ ]+).*/\\1/"
}
final_stat() { sed -nE "s/^stat::$1: *([0-9]+).*/\\1/p" "$2" | tail -n 1; }

SUMMARY=()
FAILED=()
PHASE=

# run_target TARGET LOG ARGS...: runs the fuzzer, records a summary line.
run_target() {
  local t=$1 out=$2
  shift 2
  local start=$SECONDS rc=0
  "$(binary "$t")" "$@" >"$out" 2>&1 || rc=$?
  local secs=$((SECONDS - start))
  local runs execs cov ft corp
  runs=$(final_stat number_of_executed_units "$out")
  execs=$(final_stat average_exec_per_sec "$out")
  cov=$(field cov: "$out")
  ft=$(field ft: "$out")
  corp=$(field corp: "$out")
  SUMMARY+=("$(printf '%-24s %-7s %9s %8s %8s %8s %12s %6ss  %s' "$t" "$PHASE" "${runs:--}" \
    "${execs:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$secs" \
    "$( ((rc == 0)) && echo ok || echo "FAILED (exit $rc)")")")
  if ((rc != 0)); then
    FAILED+=("$t")
    echo "---- $t failed (exit $rc); the end of its log ($out):" >&2
    tail -n 60 "$out" >&2
    local a
    for a in "$BUILD/artifacts/$t"/*; do
      [[ -e $a ]] || continue
      echo "reproduce: scripts/fuzz.sh repro $t $a" >&2
    done
  fi
}

print_summary() {
  printf '\n%-24s %-7s %9s %8s %8s %8s %12s %7s  %s\n' target phase runs exec/s cov ft corp time result
  local line
  for line in "${SUMMARY[@]}"; do echo "$line"; done
  if ((${#FAILED[@]})); then
    echo "failed: ${FAILED[*]}" >&2
    exit 1
  fi
}

common_flags() {  # target
  mkdir -p "$BUILD/artifacts/$1"
  echo "-artifact_prefix=$BUILD/artifacts/$1/" "-timeout=$TIMEOUT" \
    "-rss_limit_mb=$RSS_MB" -print_final_stats=1
}

replay() {  # targets...
  local t
  PHASE=replay
  for t in "$@"; do
    local corpus=fuzz/corpus/$t
    [[ -d $corpus ]] || die "$t has no seed corpus ($corpus)"
    log "replay $t: $(find "$corpus" -type f | wc -l) inputs"
    # -runs=0: execute every corpus input once, then stop.
    # shellcheck disable=SC2046
    run_target "$t" "$BUILD/logs/$t.replay.log" $(common_flags "$t") -runs=0 "$corpus"
  done
}

smoke() {
  local t
  PHASE=fuzz
  for t in "$@"; do
    log "fuzz $t: $RUNS runs (at most ${SMOKE_SECONDS}s)"
    local scratch
    scratch=$(mktemp -d)
    # New inputs go to a scratch directory; the checked-in corpus is only read.
    # shellcheck disable=SC2046
    run_target "$t" "$BUILD/logs/$t.smoke.log" $(common_flags "$t") -seed=1 \
      -runs="$RUNS" -max_total_time="$SMOKE_SECONDS" -max_len="$MAX_LEN" \
      "$scratch" "fuzz/corpus/$t"
    rm -rf "$scratch"
  done
}

long() {  # seconds, targets...
  local seconds=$1 t
  shift
  PHASE=long
  for t in "$@"; do
    log "fuzz $t for ${seconds}s (corpus kept in $BUILD/corpus/$t)"
    mkdir -p "$BUILD/corpus/$t"
    # shellcheck disable=SC2046
    run_target "$t" "$BUILD/logs/$t.long.log" $(common_flags "$t") \
      -max_total_time="$seconds" -max_len="$MAX_LEN" \
      "$BUILD/corpus/$t" "fuzz/corpus/$t"
    grep -E '^#[0-9]+[[:space:]]+DONE|^Done|^stat::' "$BUILD/logs/$t.long.log" || true
  done
}

merge() {
  local t
  for t in "$@"; do
    [[ -d $BUILD/corpus/$t ]] || { echo "nothing to merge for $t"; continue; }
    log "merge $BUILD/corpus/$t into fuzz/corpus/$t"
    "$(binary "$t")" -merge=1 "fuzz/corpus/$t" "$BUILD/corpus/$t"
  done
}

mode=${1:-}
(($#)) && shift
case $mode in
  list) all_targets ;;
  build) build ;;
  smoke)
    build
    mkdir -p "$BUILD/logs"
    mapfile -t targets < <(all_targets)
    replay "${targets[@]}"
    smoke "${targets[@]}"
    print_summary
    ;;
  replay)
    build
    mkdir -p "$BUILD/logs"
    mapfile -t targets < <(select_targets "$@")
    replay "${targets[@]}"
    print_summary
    ;;
  long)
    [[ ${1:-} =~ ^[0-9]+$ ]] || die "usage: scripts/fuzz.sh long SECONDS [TARGET...]"
    seconds=$1
    shift
    build
    mkdir -p "$BUILD/logs"
    mapfile -t targets < <(select_targets "$@")
    long "$seconds" "${targets[@]}"
    print_summary
    ;;
  merge)
    build
    mapfile -t targets < <(select_targets "$@")
    merge "${targets[@]}"
    ;;
  repro)
    (($# >= 2)) || die "usage: scripts/fuzz.sh repro TARGET FILE..."
    t=$1
    shift
    build
    "$(binary "$t")" "$@"
    ;;
  *)
    sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
