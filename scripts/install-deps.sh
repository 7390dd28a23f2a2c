#!/usr/bin/env bash
# Installs every Debian 12 package that the build, the tests, the demo and the benchmarks need.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential meson ninja-build pkg-config clang-format ccache
  dpdk-dev libdpdk-dev libipsec-mb-dev libhyperscan-dev libssl-dev openssl
  libpcap-dev nlohmann-json3-dev libtoml11-dev libcpp-httplib-dev libpugixml-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsrtp2-dev
  tshark sip-tester iproute2 tcpdump python3 curl python3-prometheus-client dpdk
  clang libclang-rt-14-dev  # scripts/fuzz.sh: clang 14 with libFuzzer and ASan/UBSan
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer does not matter here.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
