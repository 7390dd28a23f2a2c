// liprobe-gen: writes a sample MCPTT capture (SRTP protected by libsrtp2, an implementation
// independent of ours), the keys a mediation function would hand over, and the plain capture a
// perfect decryptor would produce. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace liprobe::gen {

struct GenOptions {
    std::string out_dir;
    uint64_t seed = 1;
    uint32_t packets_per_stream = 50;
};

// What liprobe-keytool decrypt must report for the written capture.
struct ExpectedCounts {
    uint64_t packets = 0;
    uint64_t decrypted = 0;  // SRTP + SRTCP
    uint64_t decrypted_srtcp = 0;
    uint64_t auth_failed = 0;
    uint64_t unknown_mki = 0;
    uint64_t malformed = 0;
    uint64_t not_srtp = 0;  // UDP whose payload is not RTP/RTCP
    uint64_t other = 0;     // not UDP at all
};

struct GenResult {
    ExpectedCounts expected;
    std::vector<uint16_t> rtp_ports;   // UDP destination ports of the media streams
    std::vector<std::string> summary;  // human-readable lines, no key material
};

// Writes out_dir/capture.pcap, keys.json and expected.pcap. Throws std::runtime_error.
GenResult generate(const GenOptions& options);

}  // namespace liprobe::gen
