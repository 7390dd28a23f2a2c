#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the whole suite twice (optimised build,
# then AddressSanitizer+UBSan build), exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)

build_and_test() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@"
  fi
  ninja -C "$dir" -j "$jobs"
  meson test -C "$dir" --print-errorlogs --num-processes 1 --timeout-multiplier 3
}

echo "== release build (debugoptimized) =="
build_and_test build
echo "== AddressSanitizer + UBSan build =="
build_and_test build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false
echo "all test suites passed"
