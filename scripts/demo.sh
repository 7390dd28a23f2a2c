#!/usr/bin/env bash
# The liprobe demo: builds the tools, generates a sample MCPTT capture (a private call and a group
# call, SRTP AEAD_AES_128_GCM protected by libsrtp2) with the keys a mediation function would hand
# over, and decrypts it offline with liprobe-keytool into a pcap that Wireshark's RTP player plays.
# Usage: scripts/demo.sh [--seed N] [--packets-per-stream N]   (output in out/demo/)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${LIPROBE_BUILD_DIR:-build}  # override to reuse another build directory
OUT=out/demo
GEN_ARGS=("$@")

echo "== 1/5 dependencies"
scripts/install-deps.sh

echo "== 2/5 build (liprobe-gen, liprobe-keytool)"
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" >/dev/null
fi
ninja -C "$BUILD" src/tools/gen/liprobe-gen src/tools/keytool/liprobe-keytool >/dev/null
GEN="$BUILD/src/tools/gen/liprobe-gen"
KEYTOOL="$BUILD/src/tools/keytool/liprobe-keytool"

echo "== 3/5 generate a capture and its keys"
rm -rf "$OUT"
mkdir -p "$OUT"
"$GEN" --out "$OUT" "${GEN_ARGS[@]}" | tee "$OUT/generator.txt"

echo
echo "== 4/5 the SRTP contexts the keys yield (liprobe-keytool derive; no secrets shown)"
"$KEYTOOL" derive "$OUT/keys.json"

echo
echo "== 5/5 decrypt (liprobe-keytool decrypt)"
"$KEYTOOL" decrypt --keys "$OUT/keys.json" "$OUT/capture.pcap" "$OUT/decrypted.pcap" |
  tee "$OUT/keytool.txt"

echo
if cmp -s "$OUT/decrypted.pcap" "$OUT/expected.pcap"; then
  echo "decrypted.pcap is byte-identical to the generator's plaintext (expected.pcap)."
else
  echo "WARNING: decrypted.pcap differs from expected.pcap" >&2
fi

if command -v tshark >/dev/null 2>&1; then
  decode_as=()
  for port in $(sed -n 's/^rtp_ports: //p' "$OUT/generator.txt"); do
    decode_as+=(-d "udp.port==$port,rtp")
  done
  echo
  echo "RTP streams Wireshark finds in the decrypted capture (the forged packet stays encrypted"
  echo "in alice's stream, hence its extra packet):"
  tshark -n -r "$OUT/decrypted.pcap" "${decode_as[@]}" -q -z rtp,streams 2>/dev/null |
    grep -v '^=' || true
fi

echo
echo "Playable capture: $OUT/decrypted.pcap"
echo "  (Wireshark: Telephony > RTP > RTP Streams > Play; the streams are G.711 mu-law tones)"
echo "Encrypted input:  $OUT/capture.pcap    keys: $OUT/keys.json"
