#!/usr/bin/env bash
# End-to-end load test (issue 8; a benchmark, never a test): liprobe live on net_ring RX rings fed
# by a generator thread at a set rate (liprobe --load-test), delivering to liprobe-lemf on
# loopback. Searches for the highest offered rate with zero loss and reports the latency from
# packet to exporter ring (p50, p99) at each step.
#
# Traffic: liprobe-gen calls (target SRTP calls: MCPTT private/PCK and group/GMK with RCC, IMS;
# non-target calls, DNS, UDP and TCP background). Its SIP is sent once (without BYE/CANCEL, so
# the calls stay up), then the media and other UDP in a loop at the offered rate.
#
# Zero loss at a step: no frame missed at the RX rings (the NIC's imissed), none without an mbuf,
# no dropped outcome (except tcp_not_sip: the background's non-SIP TCP, sent once in the set-up),
# no record lost on the way to the LEMF, every received packet accounted.
# The search doubles the rate from START_RATE until a step loses, then bisects BISECT times; it
# stops early when the generator thread cannot offer the rate (it shares the CPUs).
#
# Usage: scripts/loadtest.sh        (about a minute on 2 vCPUs)
# Environment: BUILD (build-release; configured as a release build when absent), WORKERS (1),
#   STEP_SECONDS (3), START_RATE (250000), MAX_RATE (32000000), BISECT (3), RX_DESCRIPTORS (4096),
#   CALLS ("--private 4 --group 4 --ims 4 --background 40 --packets-per-stream 400"),
#   OUT (out/loadtest).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
WORKERS=${WORKERS:-1}
STEP_SECONDS=${STEP_SECONDS:-3}
START_RATE=${START_RATE:-250000}
MAX_RATE=${MAX_RATE:-32000000}
BISECT=${BISECT:-3}
CALLS=${CALLS:---private 4 --group 4 --ims 4 --background 40 --packets-per-stream 400}
OUT=${OUT:-out/loadtest}
RX_DESCRIPTORS=${RX_DESCRIPTORS:-4096}

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --buildtype=release -Dtests=false
fi
ninja -C "$BUILD" src/app/liprobe src/tools/lemf/liprobe-lemf src/tools/gen/liprobe-gen >/dev/null
LIPROBE="$BUILD/src/app/liprobe"
LEMF="$BUILD/src/tools/lemf/liprobe-lemf"
GEN="$BUILD/src/tools/gen/liprobe-gen"

rm -rf "$OUT"
mkdir -p "$OUT/lemf"
"$LEMF" --listen 127.0.0.1:0 --plain --format etsi102232 --out "$OUT/lemf" >"$OUT/lemf.log" 2>&1 &
LEMF_PID=$!
stop_lemf() { kill -TERM "$LEMF_PID" 2>/dev/null || true; wait "$LEMF_PID" 2>/dev/null || true; }
trap stop_lemf EXIT
PORT=""
for _ in $(seq 50); do
  PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/lemf.log")
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "liprobe-lemf did not start:" >&2; cat "$OUT/lemf.log" >&2; exit 1; }

# shellcheck disable=SC2086  # CALLS is a list of options
"$GEN" calls --out "$OUT/gen" --plain --lemf "127.0.0.1:$PORT" $CALLS >"$OUT/gen.log"
# A NIC's deepest usual RX ring (4096 descriptors): on a shared machine the worker thread can be
# descheduled for tens of milliseconds, which a 1024-deep ring does not absorb at 50,000 pps.
sed -i "s/^workers = 1$/workers = $WORKERS\nrx_descriptors = $RX_DESCRIPTORS\nmbufs = 65535/" \
  "$OUT/gen/liprobe.toml"
# Live packet time is now: the keys' validity windows (around the capture's time) are dropped.
python3 - "$OUT/gen/keys.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for k in doc["keys"]:
    k.pop("not_before", None)
    k.pop("not_after", None)
json.dump(doc, open(sys.argv[1], "w"), indent=1)
PY
CONFIG="$OUT/gen/liprobe.toml"
CAPTURE="$OUT/gen/capture.pcap"

lscpu | grep -E 'Model name|^CPU\(s\)' | sed 's/  */ /g' || true
echo "liprobe $($LIPROBE --version | cut -d' ' -f2), $WORKERS worker(s), $STEP_SECONDS s per step, build $BUILD"
grep -E '^(calls|streams|background|wrote)' "$OUT/gen.log" || tail -3 "$OUT/gen.log"

# One step: prints "ok|loss|short offered sent missed nombuf dropped lost p50 p99 intercepted".
step() {
  local rate=$1 log="$OUT/step-$1.log"
  "$LIPROBE" --config "$CONFIG" --load-test "$CAPTURE" --rate "$rate" --seconds "$STEP_SECONDS" \
    >"$log" 2>&1 || true
  awk -v rate="$rate" '
    /^  load test/ {
      for (i = 1; i <= NF; ++i) {
        if ($i == "offered") offered = $(i + 1)
        if ($i == "sent") { sent = $(i + 1); sub(",", "", sent) }
        if ($i == "missed") missed = $(i + 1)
        if ($i == "mbuf") { nombuf = $(i + 1); sub(",", "", nombuf) }
        if ($i == "lag") { lag = $(i + 1); sub(";", "", lag) }
        if ($i == "set-up") setup = $(i + 1)
      }
    }
    /^  packets received/ { received = $3 }
    /^    dropped / { dropped = $2 }
    /^      tcp_not_sip / { dropped -= $2 }  # the background TCP of the set-up: not loss
    /^    media_intercepted / { media = $2 }
    /^  lost / { lost = $2 }
    /^  accounting/ { balanced = ($0 ~ /balanced/) }
    /^  export latency/ {
      for (i = 1; i <= NF; ++i) {
        if ($i == "p50") p50 = $(i + 1)
        if ($i == "p99") p99 = $(i + 1)
      }
    }
    END {
      if (offered == "") { print "error"; exit }
      loss = missed + nombuf + dropped + lost
      status = (loss == 0 && balanced && received == sent + setup) ? "ok" : "loss"
      if (status == "ok" && offered < 0.95 * rate) status = "short"
      printf "%s %d %d %d %d %d %d %s %s %d\n", status, offered, sent, missed, nombuf, dropped, \
        lost, (p50 == "" ? "-" : p50), (p99 == "" ? "-" : p99), media
    }' "$log"
}

printf '%-10s %-10s %-6s %-10s %-9s %-8s %-8s %-6s %-9s %-9s %s\n' set_pps offered result sent \
  missed no_mbuf dropped lost p50_us p99_us media_intercepted
run_step() {
  local r
  r=$(step "$1")
  if [ "$r" = error ]; then
    echo "step at $1 pps failed:" >&2
    tail -20 "$OUT/step-$1.log" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  set -- "$1" $r
  printf '%-10s %-10s %-6s %-10s %-9s %-8s %-8s %-6s %-9s %-9s %s\n' "$1" "$3" "$2" "$4" "$5" \
    "$6" "$7" "$8" "$9" "${10}" "${11}"
  RESULT=$2 OFFERED=$3 P50=$9 P99=${10}
}

good=0 good_offered=0 good_p50=- good_p99=- bad=0
rate=$START_RATE
while [ "$rate" -le "$MAX_RATE" ]; do
  run_step "$rate"
  if [ "$RESULT" = ok ]; then
    good=$rate good_offered=$OFFERED good_p50=$P50 good_p99=$P99
    rate=$((rate * 2))
  elif [ "$RESULT" = short ]; then
    echo "the generator could not offer $rate pps on this machine: search stopped"
    break
  else
    bad=$rate
    break
  fi
done
if [ "$bad" -gt 0 ] && [ "$good" -gt 0 ]; then
  for _ in $(seq "$BISECT"); do
    mid=$(((good + bad) / 2))
    run_step "$mid"
    if [ "$RESULT" = ok ]; then
      good=$mid good_offered=$OFFERED good_p50=$P50 good_p99=$P99
    elif [ "$RESULT" = short ]; then
      break
    else
      bad=$mid
    fi
  done
fi
echo
if [ "$good" -gt 0 ]; then
  echo "highest zero-loss rate: set $good pps, offered $good_offered pps, export latency p50 ${good_p50} us, p99 ${good_p99} us ($WORKERS worker(s))"
else
  echo "no zero-loss step (lowest tried: $START_RATE pps); see $OUT/step-*.log"
fi
[ "$bad" -gt 0 ] && echo "first losing rate: $bad pps (see $OUT/step-$bad.log)"
exit 0
