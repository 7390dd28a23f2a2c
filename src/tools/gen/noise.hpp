// liprobe-gen noise: interleaves mutated packets (bit flips, truncations, bad lengths,
// overlapping IPv4/IPv6 fragments, TCP SIP segments, absurd SDP, random MKIs and CSRC counts,
// GTP-U, copies of the capture's media) with an existing capture, for the malformed-traffic soak
// (issue 9). The noise cannot belong to the capture's calls, so a run over the noisy capture must
// deliver exactly what a run over the original delivers:
// - every noise frame is checked after mutation and redrawn when it holds, anywhere, the octets
//   of an IP address the capture uses (whatever a parser makes of a mutated header, it cannot
//   find a capture address in it);
// - noise SIP uses its own identities (sip:noise...@noise.invalid, no digits in user parts, so no
//   tel comparison), Call-IDs and addresses, and is built from scratch, never from the capture's
//   SIP;
// - noise frames take the time of the capture frame before them: packet time, and so every
//   timeout of the capture's calls, runs exactly as without the noise;
// - the state noise may create is bounded: deliberate fragments come from one IPv4 and one IPv6
//   source (a source holds at most a quarter of the reassembly table), TCP SIP uses four
//   connections, SIP 32 Call-IDs.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace liprobe::gen {

struct NoiseOptions {
    std::string in_path;   // the capture (Ethernet pcap, as liprobe-gen writes)
    std::string out_path;  // the capture with the noise
    uint64_t packets = 1000000;
    uint64_t seed = 1;
};

struct NoiseResult {
    uint64_t capture_frames = 0;
    uint64_t noise_frames = 0;
    uint64_t redrawn = 0;                     // mutations that hit a capture address
    std::map<std::string, uint64_t> by_kind;  // template kind -> frames
    std::map<std::string, uint64_t> by_mutation;
};

// Throws std::runtime_error (I/O, an empty or non-Ethernet capture).
NoiseResult add_noise(const NoiseOptions& options);

}  // namespace liprobe::gen
