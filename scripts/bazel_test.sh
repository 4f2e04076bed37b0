#!/usr/bin/env bash
# Offline Bazel build and test of Arbiter with Debian 12's Bazel 4.2.3.
#
#   scripts/bazel_test.sh [extra bazel flags...]
#
# Installs the Debian packages it needs if they are missing (apt, as root or
# through sudo), runs `bazel build //...` and `bazel test //...` with downloads
# disabled (.bazelrc), prints `bazel: N passed, N failed`, shuts the Bazel
# server down and exits with the status of `bazel test`.
#
# Environment:
#   ARBITER_JOBS    parallel jobs (default: nproc)
#   ARBITER_*       other ARBITER_ variables (test sizes, docs/testing.md)
#                   are passed to the tests with --test_env.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(bazel-bootstrap bazel-rules-java bazel-rules-proto bazel-skylib
  pkg-config g++ protobuf-compiler libprotobuf-dev libabsl-dev libre2-dev rapidjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev libsqlite3-dev libgrpc++-dev
  protobuf-compiler-grpc etcd-server etcd-client)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bazel_test: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || {
      echo "bazel_test: run as root to install: ${missing[*]}" >&2
      exit 2
    }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

# A disk cache shared by every checkout (CI runs in a fresh clone, whose
# Bazel output base starts empty); ARBITER_BAZEL_CACHE= (empty) turns it off.
# Test results are never taken from it: `bazel test` runs every test.
flags=(--jobs="${ARBITER_JOBS:-$(nproc)}")
cache=${ARBITER_BAZEL_CACHE-${HOME:-/tmp}/.cache/arbiter-bazel}
[[ -z $cache ]] || flags+=(--disk_cache="$cache")
for name in $(compgen -e); do
  case $name in
    ARBITER_JOBS | ARBITER_STEPS) ;;
    ARBITER_*) flags+=(--test_env="$name") ;;
  esac
done
flags+=("$@")

trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT

set +e
start=$SECONDS
bazel build "${flags[@]}" //...
build_rc=$?
echo "bazel_test: build took $((SECONDS - start)) s"

# Run the tests even if something failed to build, for the summary line.
log=$(mktemp)
start=$SECONDS
bazel test "${flags[@]}" --nocache_test_results //... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if ((rc == 0 && build_rc != 0)); then
  rc=$build_rc
fi
echo "bazel_test: test took $((SECONDS - start)) s"
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)|FAILED TO BUILD' "$log" || true)
rm -f "$log"
echo "bazel: ${passed} passed, ${failed} failed"
exit "$rc"
