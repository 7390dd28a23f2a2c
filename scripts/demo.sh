#!/usr/bin/env bash
# The liprobe demo (the README's main command):
#   1. installs what is missing and builds the four programs it needs;
#   2. generates a capture of MCPTT private and group calls and IMS calls, some of them of
#      warrant targets, SRTP-protected by libsrtp2, with the keys a mediation function hands over
#      and a liprobe configuration (liprobe-gen calls);
#   3. starts liprobe-lemf on loopback with throwaway certificates (config/demo/) and runs
#      liprobe --pcap on the capture, delivering over mutual TLS as ETSI TS 102 232 PS-PDUs;
#   4. prints what was intercepted per LIID and call, and where the Wireshark-playable pcaps are;
#   5. decrypts a capture offline with liprobe-keytool (the operator's tool for captures that come
#      with their keys).
# Usage: scripts/demo.sh [--seed N]          Output: out/demo/
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${LIPROBE_BUILD_DIR:-build}  # override to reuse another build directory
OUT=out/demo
SEED=1
if [ "${1:-}" = "--seed" ] && [ -n "${2:-}" ]; then SEED=$2; fi

echo "== 1/5 dependencies and build"
scripts/install-deps.sh
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" >/dev/null
fi
ninja -C "$BUILD" src/app/liprobe src/tools/lemf/liprobe-lemf src/tools/gen/liprobe-gen \
  src/tools/keytool/liprobe-keytool >/dev/null
LIPROBE="$BUILD/src/app/liprobe"
LEMF="$BUILD/src/tools/lemf/liprobe-lemf"
GEN="$BUILD/src/tools/gen/liprobe-gen"
KEYTOOL="$BUILD/src/tools/keytool/liprobe-keytool"

rm -rf "$OUT"
mkdir -p "$OUT/lemf" "$OUT/capture" "$OUT/offline"
chmod 600 config/demo/*.key 2>/dev/null || true

echo "== 2/5 start liprobe-lemf (mutual TLS, throwaway demo PKI) on loopback"
"$LEMF" --listen 127.0.0.1:0 --cert config/demo/lemf.pem --key config/demo/lemf.key \
  --ca config/demo/ca.pem --format etsi102232 --out "$OUT/lemf" >"$OUT/lemf.log" 2>&1 &
LEMF_PID=$!
stop_lemf() { kill -TERM "$LEMF_PID" 2>/dev/null || true; wait "$LEMF_PID" 2>/dev/null || true; }
trap stop_lemf EXIT
PORT=""
for _ in $(seq 1 100); do
  PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/lemf.log")
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "liprobe-lemf did not start:" >&2; cat "$OUT/lemf.log" >&2; exit 1; }
echo "liprobe-lemf listening on 127.0.0.1:$PORT"

echo
echo "== 3/5 generate calls (liprobe-gen calls): capture, keys, liprobe config"
"$GEN" calls --out "$OUT/capture" --seed "$SEED" --private 2 --group 1 --ims 2 --background 20 \
  --scenario missing_key,tampered,fragmented_invite,tcp_split,ipv6,vlan \
  --pki config/demo --lemf "127.0.0.1:$PORT"

echo
echo "== 4/5 liprobe --pcap (offline run on packet time)"
"$LIPROBE" --config "$OUT/capture/liprobe.toml" --pcap "$OUT/capture/capture.pcap" 2>&1 |
  grep -v '^TELEMETRY' | tee "$OUT/liprobe.txt"
stop_lemf
trap - EXIT
echo
echo "What the LEMF received (liprobe-lemf, per LIID, CIN and stream; sequence numbers checked):"
grep -E 'CIN|PDUs|missing|duplicate' "$OUT/lemf.log" | grep -v '^listening' || cat "$OUT/lemf.log"

echo
echo "== 5/5 offline decryption of a capture with its keys (liprobe-keytool)"
"$GEN" --out "$OUT/offline" --seed "$SEED" >"$OUT/offline/generator.txt"
"$KEYTOOL" decrypt --keys "$OUT/offline/keys.json" "$OUT/offline/capture.pcap" \
  "$OUT/offline/decrypted.pcap" | tee "$OUT/offline/keytool.txt"
if cmp -s "$OUT/offline/decrypted.pcap" "$OUT/offline/expected.pcap"; then
  echo "decrypted.pcap is byte-identical to the generator's plaintext (expected.pcap)."
else
  echo "WARNING: decrypted.pcap differs from expected.pcap" >&2
fi

echo
echo "Per-call pcaps the LEMF wrote (decrypted RTP in synthetic IPv4/UDP; encrypted CC as"
echo "the original packets):"
ls "$OUT/lemf"/*.pcap | sed 's/^/  /'
echo "Open one in Wireshark, enable the rtp_udp heuristic (Analyze > Enabled Protocols), then"
echo "Telephony > RTP > RTP Streams > Play (G.711 mu-law tones)."
echo "Also: $OUT/offline/decrypted.pcap (keytool output), $OUT/capture/manifest.json (what was sent)."
