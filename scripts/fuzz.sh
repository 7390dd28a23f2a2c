#!/bin/bash
# Runs the libFuzzer harnesses (tests/fuzz): scripts/fuzz.sh [TARGET|all] [SECONDS]
#   builds build-fuzz with clang + ASan/UBSan if needed, runs one or all targets for SECONDS
#   each (default 60), corpus in $FUZZ_WORK/<target> (default build-fuzz/fuzz-work), seeded from
#   tests/fuzz/corpus/<target>; crashes are saved as $FUZZ_WORK/<target>/crash-* and the script
#   exits non-zero. Before fuzzing, every input in tests/fuzz/regressions/<target> is replayed.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
seconds=${2:-60}
build=${FUZZ_BUILD:-build-fuzz}
work=${FUZZ_WORK:-$build/fuzz-work}
targets=(parse reassembly srtp sip sdp mikey mcptt_info key_json config lemf_decode x1 sdes)

if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dtests=false -Dbenchmarks=false
fi
if [ "$target" != all ]; then targets=("$target"); fi
ninja -C "$build" -j"${FUZZ_JOBS:-2}" "${targets[@]/#/tests/fuzz/fuzz_}"

failed=0
for t in "${targets[@]}"; do
    bin=$build/tests/fuzz/fuzz_$t
    if [ -d "tests/fuzz/regressions/$t" ] && [ -n "$(ls -A "tests/fuzz/regressions/$t")" ]; then
        echo "== $t: replaying regressions"
        "$bin" -runs=0 "tests/fuzz/regressions/$t"/* || failed=1
    fi
    mkdir -p "$work/$t"
    seeds=()
    if [ -d "tests/fuzz/corpus/$t" ]; then seeds=("tests/fuzz/corpus/$t"); fi
    echo "== $t: fuzzing for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$t/" "$work/$t" "${seeds[@]}" 2>"$work/$t.log"; then
        echo "!! $t: crash, see $work/$t.log and $work/$t/crash-*"
        tail -40 "$work/$t.log"
        failed=1
    else
        grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$work/$t.log" || true
    fi
done
exit $failed
