#!/usr/bin/env bash
# The test command: installs what is missing, then
#   build          debugoptimized (gcc): everything but the benchmarks, every suite;
#   build-release  --buildtype=release (gcc): the programs and the benchmarks, build only;
#   build-fuzz     clang, ASan + UBSan, libFuzzer instrumentation: every suite again, then every
#                  libFuzzer harness (scripts/fuzz.sh, 12 targets x 15 s, one per core at a time).
# Every build is warning-free (-Werror). Exits non-zero on any failure. ccache (when installed)
# shares unchanged objects between runs.
# One sanitizer build serves the suites and the fuzzers (it used to be a gcc ASan build for the
# suites plus the clang one for the fuzzers); the benchmarks are compiled once, in build-release,
# which is where they are run (`ninja -C build` still builds them in build/ too).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)

# One suite per core at a time (the live ones, is_parallel : false, still run alone): a suite
# keeps about one core busy, so on 2 cores two side by side finish in a bit over half the time.
run_suites() {
  meson test -C "$1" --print-errorlogs --num-processes "$jobs" --timeout-multiplier 3
}

echo "== development build (debugoptimized): every suite =="
if [ ! -f build/build.ninja ]; then
  meson setup build
fi
# Every target but those defined in bench/meson.build (ninja names outputs relative to the build).
mapfile -t dev_targets < <(meson introspect build --targets | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if os.path.basename(os.path.dirname(t["defined_in"])) != "bench":
        for f in t["filename"]:
            print(os.path.relpath(f, "build"))')
ninja -C build -j "$jobs" "${dev_targets[@]}"
run_suites build

echo "== release build (--buildtype=release, what operators deploy): programs and benchmarks =="
if [ ! -f build-release/build.ninja ]; then
  meson setup build-release --buildtype=release -Dtests=false
fi
ninja -C build-release -j "$jobs"

echo "== clang ASan + UBSan build (build-fuzz): every suite again, then the libFuzzer harnesses =="
scripts/fuzz.sh --setup
ninja -C build-fuzz -j "$jobs"
# Any sanitizer report fails the suite that made it (ASan stops anyway; UBSan would print and go on).
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} run_suites build-fuzz
FUZZ_JOBS=$jobs FUZZ_PARALLEL=$jobs scripts/fuzz.sh all 15
echo "all test suites passed"
