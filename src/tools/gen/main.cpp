// liprobe-gen --out DIR [--seed N] [--packets-per-stream N]
// Writes DIR/capture.pcap, DIR/keys.json, DIR/expected.pcap and prints a summary.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "generator.hpp"

namespace {

constexpr const char* kUsage =
    "usage: liprobe-gen --out DIR [--seed N] [--packets-per-stream N]\n"
    "  Writes a sample MCPTT capture protected with libsrtp2 (DIR/capture.pcap), the keys a\n"
    "  mediation function would provide (DIR/keys.json) and the plain packets a perfect\n"
    "  decryptor writes (DIR/expected.pcap). Deterministic for a given seed (default 1).\n";

bool parse_number(const char* text, uint64_t max, uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max) return false;
    out = v;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
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
