#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the whole suite twice (optimised build,
# then AddressSanitizer+UBSan build), builds the release configuration (program and benchmarks),
# runs every libFuzzer harness briefly (scripts/fuzz.sh, 12 targets x 15 s), exits non-zero on any
# failure. ccache (when installed) shares unchanged objects between runs.
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

echo "== development build (debugoptimized) =="
build_and_test build
echo "== release build (--buildtype=release, what operators deploy): build only =="
if [ ! -f build-release/build.ninja ]; then
  meson setup build-release --buildtype=release -Dtests=false
fi
ninja -C build-release -j "$jobs"
echo "== AddressSanitizer + UBSan build =="
build_and_test build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false
echo "== libFuzzer harnesses (clang, ASan+UBSan): regressions replayed, 15 s of fuzzing each =="
FUZZ_JOBS=$jobs scripts/fuzz.sh all 15
echo "all test suites passed"
