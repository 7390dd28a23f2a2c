#!/usr/bin/env bash
# Malformed-traffic soak (issue 9, docs/security.md):
#   scripts/soak.sh [PACKETS] [SEED]      defaults 1000000 and 1
# liprobe-gen calls writes calls of every scenario; liprobe-gen noise interleaves PACKETS mutated
# packets (deterministic for SEED); the offline probe runs on the capture with and without the
# noise into two liprobe-lemf instances. It passes when both runs exit 0, the accounting lines
# balance with the exact counts and every LEMF output file is byte-identical
# (tests/dataplane/test_soak.cpp; CI runs the same test with 20,000 packets).
# BUILD_DIR selects the build (default build; build-fuzz, clang ASan + UBSan, for the sanitizers).
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
seed=${2:-1}
build=${BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build"
fi
ninja -C "$build"
echo "soak: $packets noise packets, seed $seed, build $build"
# In a sanitizer build any report ends the process that made it, so the soak fails.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
LIPROBE_SOAK_PACKETS=$packets LIPROBE_SOAK_SEED=$seed "$build/tests/dataplane/test_soak"
