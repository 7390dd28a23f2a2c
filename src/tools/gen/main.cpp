// liprobe-gen --out DIR [--seed N] [--packets-per-stream N]
//   Writes DIR/capture.pcap, DIR/keys.json, DIR/expected.pcap and prints a summary.
// liprobe-gen calls --out DIR [options]
//   Complete calls with SIP: DIR/capture.pcap, keys.json, liprobe.toml, manifest.json, expected/.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "calls.hpp"
#include "generator.hpp"

namespace {

constexpr const char* kUsage =
    "usage: liprobe-gen --out DIR [--seed N] [--packets-per-stream N]\n"
    "  Writes a sample MCPTT capture protected with libsrtp2 (DIR/capture.pcap), the keys a\n"
    "  mediation function would provide (DIR/keys.json) and the plain packets a perfect\n"
    "  decryptor writes (DIR/expected.pcap). Deterministic for a given seed (default 1).\n"
    "\n"
    "usage: liprobe-gen calls --out DIR [--seed N] [--private N] [--group N] [--ims N]\n"
    "           [--background N] [--packets-per-stream N] [--scenario NAME ...]\n"
    "           [--lemf HOST:PORT] [--plain | --pki DIR]\n"
    "  Complete calls with SIP signalling: MCPTT private (MIKEY-SAKKE in the SDP offer, PCK),\n"
    "  MCPTT group (GMK, three members, RCC), IMS (plain RTP or SRTP) and non-target\n"
    "  background. Writes DIR/capture.pcap, DIR/keys.json (POST /v1/keys body),\n"
    "  DIR/liprobe.toml (run: liprobe --config DIR/liprobe.toml --pcap DIR/capture.pcap),\n"
    "  DIR/manifest.json and DIR/expected/<stream>.bin. Defaults: 1 call of each kind, 1\n"
    "  background unit, 50 packets per stream, --lemf 127.0.0.1:6543, --plain (tls = false).\n"
    "  Scenarios (repeatable or comma-separated): rollover missing_key tampered ipv6 vlan\n"
    "  fragmented_invite tcp_split uri_normalisation csrc_ext malformed, or all; and the\n"
    "  floods (not in all; they set small table bounds in liprobe.toml): fragment_flood\n"
    "  invite_flood.\n";

bool parse_number(const char* text, uint64_t max, uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max) return false;
    out = v;
    return true;
}

}  // namespace

int calls_main(int argc, char** argv) {
    liprobe::gen::CallsOptions options;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        uint64_t value = 0;
        auto count = [&](uint64_t max, uint32_t& out) {
            if (!parse_number(argv[++i], max, value)) {
                std::fprintf(stderr, "liprobe-gen: %s needs an integer 0..%llu\n", arg.c_str(),
                             static_cast<unsigned long long>(max));
                return false;
            }
            out = static_cast<uint32_t>(value);
            return true;
        };
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "--out" && has_value) {
            options.out_dir = argv[++i];
        } else if (arg == "--seed" && has_value) {
            if (!parse_number(argv[++i], UINT64_MAX, value)) {
                std::fprintf(stderr, "liprobe-gen: --seed needs a non-negative integer\n");
                return 2;
            }
            options.seed = value;
        } else if (arg == "--private" && has_value) {
            if (!count(20000, options.private_calls)) return 2;
        } else if (arg == "--group" && has_value) {
            if (!count(20000, options.group_calls)) return 2;
        } else if (arg == "--ims" && has_value) {
            if (!count(20000, options.ims_calls)) return 2;
        } else if (arg == "--background" && has_value) {
            if (!count(20000, options.background)) return 2;
        } else if (arg == "--packets-per-stream" && has_value) {
            if (!count(100000, options.packets_per_stream)) return 2;
            if (options.packets_per_stream == 0) {
                std::fprintf(stderr, "liprobe-gen: --packets-per-stream needs 1..100000\n");
                return 2;
            }
        } else if (arg == "--scenario" && has_value) {
            std::string list = argv[++i];
            size_t start = 0;
            while (start <= list.size()) {
                const size_t comma = std::min(list.find(',', start), list.size());
                const std::string name = list.substr(start, comma - start);
                start = comma + 1;
                if (name.empty()) continue;
                if (name == "all") {
                    for (const auto& s : liprobe::gen::scenario_names()) {
                        if (!liprobe::gen::is_flood_scenario(s)) options.scenarios.push_back(s);
                    }
                    continue;
                }
                const auto& names = liprobe::gen::scenario_names();
                if (std::find(names.begin(), names.end(), name) == names.end()) {
                    std::fprintf(stderr, "liprobe-gen: unknown scenario '%s'\n%s", name.c_str(),
                                 kUsage);
                    return 2;
                }
                options.scenarios.push_back(name);
            }
        } else if (arg == "--lemf" && has_value) {
            options.lemf = argv[++i];
        } else if (arg == "--pki" && has_value) {
            options.pki_dir = argv[++i];
        } else if (arg == "--plain") {
            options.pki_dir.clear();
        } else {
            std::fprintf(stderr, "liprobe-gen: unexpected argument '%s'\n%s", arg.c_str(), kUsage);
            return 2;
        }
    }
    if (options.out_dir.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    try {
        const liprobe::gen::CallsResult r = liprobe::gen::generate_calls(options);
        for (const auto& line : r.summary) std::printf("%s\n", line.c_str());
        std::printf("wrote %s/capture.pcap (%llu frames), keys.json, liprobe.toml, manifest.json\n",
                    options.out_dir.c_str(), static_cast<unsigned long long>(r.frames));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "liprobe-gen: %s\n", e.what());
        return 1;
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "calls") return calls_main(argc, argv);
    liprobe::gen::GenOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        uint64_t value = 0;
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "--out" && has_value) {
            options.out_dir = argv[++i];
        } else if (arg == "--seed" && has_value) {
            if (!parse_number(argv[++i], UINT64_MAX, value)) {
                std::fprintf(stderr, "liprobe-gen: --seed needs a non-negative integer\n");
                return 2;
            }
            options.seed = value;
        } else if (arg == "--packets-per-stream" && has_value) {
            if (!parse_number(argv[++i], 1000000, value) || value == 0) {
                std::fprintf(stderr, "liprobe-gen: --packets-per-stream needs 1..1000000\n");
                return 2;
            }
            options.packets_per_stream = static_cast<uint32_t>(value);
        } else {
            std::fprintf(stderr, "liprobe-gen: unexpected argument '%s'\n%s", arg.c_str(), kUsage);
            return 2;
        }
    }
    if (options.out_dir.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    try {
        const liprobe::gen::GenResult r = liprobe::gen::generate(options);
        for (const auto& line : r.summary) std::printf("%s\n", line.c_str());
        const auto& x = r.expected;
        std::printf("wrote %s/capture.pcap (%llu packets), %s/keys.json, %s/expected.pcap\n",
                    options.out_dir.c_str(), static_cast<unsigned long long>(x.packets),
                    options.out_dir.c_str(), options.out_dir.c_str());
        std::printf("rtp_ports:");
        for (uint16_t p : r.rtp_ports) std::printf(" %u", p);
        std::printf("\n");
        std::printf(
            "expected: decrypted %llu (srtcp %llu) auth_failed %llu unknown_mki %llu "
            "malformed %llu not_srtp %llu other %llu\n",
            static_cast<unsigned long long>(x.decrypted),
            static_cast<unsigned long long>(x.decrypted_srtcp),
            static_cast<unsigned long long>(x.auth_failed),
            static_cast<unsigned long long>(x.unknown_mki),
            static_cast<unsigned long long>(x.malformed),
            static_cast<unsigned long long>(x.not_srtp), static_cast<unsigned long long>(x.other));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "liprobe-gen: %s\n", e.what());
        return 1;
    }
    return 0;
}
