#!/usr/bin/env bash
# Runs Arbiter's benchmarks the way BENCHMARKS.md reports them, in one command:
#
#   scripts/run_benchmarks.sh [extra Google Benchmark flags]
#
# Builds a Release tree (-O3 -DNDEBUG) in build-release/, then runs every
# benchmarks/*_benchmark binary with 5 repetitions (medians reported) and JSON
# output into bench-results/<UTC time>-<commit>/, one <binary>.json each, plus
# machine.txt (CPU, compiler, commit, load). bench-results/latest points at the
# newest run. If python3 is present it prints the Markdown tables of
# BENCHMARKS.md (scripts/compare_benchmarks.py table).
#
# Environment:
#   ARBITER_BENCH_SIZES        workload sizes (default S,M,L,XL; XL is skipped
#                              with a message when memory is short)
#   ARBITER_BENCH_REPETITIONS  repetitions per benchmark (default 5)
#   ARBITER_BENCH_BUILD_DIR    build tree (default build-release)
#   ARBITER_BENCH_OUT          output directory (default bench-results/...)
#   ARBITER_BENCH_SKIP_BUILD   1: run the binaries already in the build tree
#
# Compare two runs:  scripts/compare_benchmarks.py compare OLD_DIR NEW_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${ARBITER_BENCH_BUILD_DIR:-build-release}
SIZES=${ARBITER_BENCH_SIZES:-S,M,L,XL}
REPS=${ARBITER_BENCH_REPETITIONS:-5}
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- 2>/dev/null; then REV="$REV-dirty"; fi
OUT=${ARBITER_BENCH_OUT:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)-$REV}

mapfile -t BINARIES < <(cd benchmarks && ls ./*_benchmark.cc | sed 's|^\./||; s|\.cc$||')
((${#BINARIES[@]})) || { echo "no benchmarks/*_benchmark.cc" >&2; exit 1; }

if [[ ${ARBITER_BENCH_SKIP_BUILD:-0} != 1 ]]; then
  echo "==> building ${BINARIES[*]} in $BUILD (Release)"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" --target "${BINARIES[@]}"
fi

mkdir -p "$OUT"
{
  echo "commit: $REV"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "sizes: $SIZES  repetitions: $REPS"
  echo "compiler: $(${CXX:-c++} --version | head -1)"
  echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
  echo "memory: $(grep MemTotal /proc/meminfo 2>/dev/null)"
  lscpu 2>/dev/null | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|L1d|L2|L3|CPU max MHz)' || true
} >"$OUT/machine.txt"
cat "$OUT/machine.txt"

for bin in "${BINARIES[@]}"; do
  echo "==> $bin"
  ARBITER_BENCH_SIZES=$SIZES "$BUILD/benchmarks/$bin" \
    --benchmark_repetitions="$REPS" \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT/$bin.json" --benchmark_out_format=json "$@"
done
if [[ -z ${ARBITER_BENCH_OUT:-} ]]; then ln -sfn "$(basename "$OUT")" bench-results/latest; fi

echo "==> results in $OUT"
if command -v python3 >/dev/null; then
  python3 scripts/compare_benchmarks.py table "$OUT" | tee "$OUT/tables.md"
else
  echo "(install python3 to print the tables: scripts/compare_benchmarks.py table $OUT)"
fi
