#!/bin/bash
# Runs the libFuzzer harnesses (tests/fuzz): scripts/fuzz.sh [TARGET|all] [SECONDS]
#   builds build-fuzz with clang + ASan/UBSan if needed, runs one or all targets for SECONDS
#   each (default 60), corpus in $FUZZ_WORK/<target> (default build-fuzz/fuzz-work), seeded from
#   tests/fuzz/corpus/<target>; crashes are saved as $FUZZ_WORK/<target>/crash-* and the script
#   exits non-zero. Before fuzzing, every input in tests/fuzz/regressions/<target> is replayed.
#   FUZZ_PARALLEL=N runs N targets at a time (default 1). scripts/fuzz.sh --setup only configures
#   build-fuzz, the clang ASan + UBSan build where scripts/test.sh also runs the test suites.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
seconds=${2:-60}
build=${FUZZ_BUILD:-build-fuzz}
work=${FUZZ_WORK:-$build/fuzz-work}
targets=(parse reassembly srtp sip sdp mikey mcptt_info key_json config lemf_decode x1 sdes)

# The test suites are configured too: scripts/test.sh runs them in this build (its sanitizer
# pass), so the libraries and programs are compiled once for both. Only what is asked is built.
if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dtests=true -Dbenchmarks=false
fi
# --setup: only that (a build-fuzz made before the suites ran here gets them).
if [ "$target" = --setup ]; then
    meson configure "$build" -Dtests=true
    exit 0
fi
if [ "$target" != all ]; then targets=("$target"); fi
ninja -C "$build" -j"${FUZZ_JOBS:-2}" "${targets[@]/#/tests/fuzz/fuzz_}"

# One target: replay its regressions, then fuzz; non-zero when either fails.
fuzz_one() {
    local t=$1 bin=$build/tests/fuzz/fuzz_$1 rc=0
    if [ -d "tests/fuzz/regressions/$t" ] && [ -n "$(ls -A "tests/fuzz/regressions/$t")" ]; then
        echo "== $t: replaying regressions"
        "$bin" -runs=0 "tests/fuzz/regressions/$t"/* || rc=1
    fi
    mkdir -p "$work/$t"
    local seeds=()
    if [ -d "tests/fuzz/corpus/$t" ]; then seeds=("tests/fuzz/corpus/$t"); fi
    echo "== $t: fuzzing for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$t/" "$work/$t" "${seeds[@]}" 2>"$work/$t.log"; then
        echo "!! $t: crash, see $work/$t.log and $work/$t/crash-*"
        tail -40 "$work/$t.log"
        rc=1
    else
        grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$work/$t.log" || true
    fi
    return $rc
}

# FUZZ_PARALLEL targets at a time (default 1; scripts/test.sh: one per core). A libFuzzer process
# uses one core, so each target still gets its full SECONDS of fuzzing. Each target's output is
# printed as a block when it ends.
parallel=${FUZZ_PARALLEL:-1}
mkdir -p "$work"
declare -A running=()
failed=0
reap() {
    local pid rc=0
    wait -n -p pid "${!running[@]}" || rc=$?
    cat "$work/${running[$pid]}.out"
    if [ "$rc" -ne 0 ]; then failed=1; fi
    unset "running[$pid]"
}
for t in "${targets[@]}"; do
    if [ "${#running[@]}" -ge "$parallel" ]; then reap; fi
    fuzz_one "$t" >"$work/$t.out" 2>&1 &
    running[$!]=$t
done
while [ "${#running[@]}" -gt 0 ]; do reap; done
exit $failed
