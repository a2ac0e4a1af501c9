#!/usr/bin/env bash
# The test command (README): installs what is missing, builds, and runs the
# whole suite twice, as built for use and with AddressSanitizer +
# UndefinedBehaviorSanitizer, then the libFuzzer harnesses for a fixed number
# of executions (scripts/fuzz.sh), then the container tests and the
# fresh-machine check (both README commands in a pristine Debian 12
# container). Idempotent.
#   COMPACT_SKIP_SANITIZE=1    skip the sanitizer pass (quicker local runs)
#   COMPACT_SKIP_FUZZ=1        skip the fuzz pass (its clang build and about a minute)
#   COMPACT_SKIP_CONTAINERS=1  skip the container, Kubernetes and fresh-machine tests
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

jobs=$(nproc)
build() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOMPACT_WERROR=ON -DCOMPACT_TESTS=ON -DCOMPACT_ASSERTS=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
}
run_ctest() {
  (cd "$1" && ctest --output-on-failure --timeout 900 -j2)
}

echo "== style =="
scripts/format.sh --check

# The dashboard's browser test (tests/integration/test_dashboard.py) drives
# chromium with playwright-core, installed here from tests/browser's lock file.
echo "== npm ci (tests/browser) =="
if ! command -v npm >/dev/null 2>&1; then
  echo "test.sh: npm is missing (scripts/deps.sh test installs Debian's nodejs and npm" >&2
  echo "         when no node is on PATH; a machine with its own node needs its npm too)" >&2
  exit 1
fi
if ! (cd tests/browser && npm ci --no-audit --no-fund); then
  echo "test.sh: npm ci in tests/browser failed: the dashboard test cannot run" >&2
  exit 1
fi

echo "== build and test =="
build build
run_ctest build

if [ "${COMPACT_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== build and test with AddressSanitizer and UndefinedBehaviorSanitizer =="
  build build-asan -DCOMPACT_SANITIZE=ON
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_ctest build-asan
fi

if [ "${COMPACT_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== libFuzzer harnesses (clang, AddressSanitizer, UndefinedBehaviorSanitizer) =="
  scripts/fuzz.sh
fi

if [ "${COMPACT_SKIP_CONTAINERS:-0}" != 1 ]; then
  echo "== containers and Kubernetes manifests =="
  bash scripts/container-test.sh
  echo "== a fresh Debian 12 machine: both README commands =="
  bash scripts/fresh-machine-test.sh
fi
echo "all tests passed"
