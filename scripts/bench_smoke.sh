#!/usr/bin/env bash
# CI smoke run of the benchmarks (scripts/dev test, step "bench"): builds every
# benchmarks/*_benchmark binary and runs each of its benchmarks for a moment
# on the S and M workloads, so the benchmarks never rot. Fails if a binary
# fails to build, exits non-zero or reports an error. The timings mean
# nothing; for real figures run scripts/run_benchmarks.sh (BENCHMARKS.md).
#
# Environment:
#   ARBITER_BENCH_SMOKE_BUILD_DIR  build tree (default build, the tree the
#                                  cmake step of scripts/dev builds)
#   ARBITER_BENCH_SMOKE_SIZES      workload sizes (default S,M)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${ARBITER_BENCH_SMOKE_BUILD_DIR:-build}
SIZES=${ARBITER_BENCH_SMOKE_SIZES:-S,M}

mapfile -t BINARIES < <(cd benchmarks && ls ./*_benchmark.cc | sed 's|^\./||; s|\.cc$||')
((${#BINARIES[@]})) || { echo "no benchmarks/*_benchmark.cc" >&2; exit 1; }

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  # As the cmake step of scripts/dev configures it: with the store and the
  # etcd backend, whose benchmarks are among benchmarks/*_benchmark.cc.
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DARBITER_WITH_STORE=ON -DARBITER_WITH_ETCD=ON >/dev/null
fi
cmake --build "$BUILD" --target "${BINARIES[@]}"

failed=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for bin in "${BINARIES[@]}"; do
  start=$SECONDS
  if ARBITER_BENCH_SIZES=$SIZES "$BUILD/benchmarks/$bin" \
      --benchmark_min_time=0.001 >"$log" 2>&1 &&
      ! grep -q 'ERROR OCCURRED' "$log"; then
    echo "ok    $bin ($(grep -c '^BM_' "$log") benchmarks, $((SECONDS - start)) s)"
  else
    echo "FAIL  $bin"
    cat "$log"
    failed+=("$bin")
  fi
done
if ((${#failed[@]})); then
  echo "benchmark smoke run failed: ${failed[*]}" >&2
  exit 1
fi
echo "benchmark smoke run passed (${#BINARIES[@]} binaries)"
