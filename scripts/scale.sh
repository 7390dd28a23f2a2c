#!/usr/bin/env bash
# Worker scaling of the pipeline benchmark (issue 8): bench/pipeline_bench at 1, 2, 4, 8 and 16
# workers (override: WORKERS=1,2,4), release build, on a machine with a free core per worker.
# Prints the benchmark output; the "scaling" table at its end is the result.
# Usage: scripts/scale.sh [extra Google Benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${WORKERS:-1,2,4,8,16}
if [ ! -f build-release/build.ninja ]; then
  meson setup build-release --buildtype=release -Dtests=false
fi
ninja -C build-release bench/pipeline_bench
lscpu | grep -E 'Model name|^CPU\(s\)|Thread|MHz' || true
LIPROBE_BENCH_WORKERS=$workers build-release/bench/pipeline_bench \
  --benchmark_filter='^pipeline/' --benchmark_min_time=1 \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
