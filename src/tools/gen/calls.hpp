// liprobe-gen calls: complete calls (SIP signalling, SRTP media encrypted with libsrtp2), the keys
// a mediation function would provide (keys.json, the body of POST /v1/keys), a liprobe config
// that runs on the capture (liprobe.toml) and a manifest of what a LEMF must receive
// (manifest.json, expected/<stream>.bin). Deterministic for a given seed and option set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace liprobe::gen {

struct CallsOptions {
    std::string out_dir;
    uint64_t seed = 1;
    uint32_t private_calls = 1;
    uint32_t group_calls = 1;
    uint32_t ims_calls = 1;
    uint32_t background = 1;  // non-target calls, and as many DNS, UDP and TCP exchanges
    uint32_t packets_per_stream = 50;
    std::vector<std::string> scenarios;
    std::string lemf = "127.0.0.1:6543";  // [[destination]] address
    std::string pki_dir;                  // cert/key/ca of the destination; empty: tls = false
};

struct CallsResult {
    uint64_t frames = 0;
    uint64_t calls = 0;
    std::vector<std::string> summary;  // no key material
};

// The scenario names --scenario accepts.
const std::vector<std::string>& scenario_names();
// Floods change the config's table bounds and add thousands of frames.
bool is_flood_scenario(const std::string& name);
// What "all" means: every scenario but the floods and sdes_disabled (its warrant option is the
// one thing it tests: run on its own).
bool is_in_all(const std::string& name);

// Throws std::runtime_error (unknown scenario, bad option, I/O).
CallsResult generate_calls(const CallsOptions& options);

}  // namespace liprobe::gen
