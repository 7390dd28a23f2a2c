// liprobe-gen --out DIR [--seed N] [--packets-per-stream N]
//   Writes DIR/capture.pcap, DIR/keys.json, DIR/expected.pcap and prints a summary.
// liprobe-gen calls --out DIR [options]
//   Complete calls with SIP: DIR/capture.pcap, keys.json, liprobe.toml, manifest.json, expected/.
// liprobe-gen noise --in CAPTURE --out NOISY [--packets N] [--seed N]
//   The capture with mutated packets interleaved (malformed-traffic soak).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "calls.hpp"
#include "generator.hpp"
#include "noise.hpp"

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
    "  fragmented_invite tcp_split uri_normalisation csrc_ext malformed; SDES calls (RFC 4568\n"
    "  a=crypto keys in the SDP only, none in keys.json; SRTCP both ways): sdes (one call per\n"
    "  suite: AES_CM_128_HMAC_SHA1_80/32, AES_256_CM_HMAC_SHA1_80/32, AEAD_AES_128_GCM,\n"
    "  AEAD_AES_256_GCM), sdes_mki (the same with MKIs), sdes_rekey (new keys by re-INVITE\n"
    "  mid-call), sdes_bad_crypto (bad lines: media expected encrypted); or all. Not in all:\n"
    "  sdes_disabled (the warrant sets sdes = false: media expected encrypted) and the floods\n"
    "  (they set small table bounds in liprobe.toml):\n"
    "  fragment_flood invite_flood.\n"
    "\n"
    "usage: liprobe-gen noise --in CAPTURE --out NOISY.pcap [--packets N] [--seed N]\n"
    "  Copies CAPTURE with N mutated packets (default 1000000) spread evenly between its\n"
    "  frames, each in the time of the frame before it: bit flips, truncations, bad lengths,\n"
    "  overlapping IPv4/IPv6 fragments, TCP SIP segments, absurd SDP, random MKIs and CSRC\n"
    "  counts, GTP-U, garbage. None holds an address of CAPTURE or a SIP identity or Call-ID of\n"
    "  its calls: a probe must deliver the same CC and IRI for both (scripts/soak.sh).\n";

bool parse_number(const char* text, uint64_t max, uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max) return false;
    out = v;
    return true;
}

// One pass over argv for every mode: --help, --out and --seed are handled here, the rest by the
// mode's handler, which returns false for an argument it does not know.
class Args {
  public:
    Args(int argc, char** argv, int first) : argc_(argc), argv_(argv), i_(first) {}

    // The next argument, or false at the end.
    bool next(std::string& arg) {
        if (++i_ >= argc_) return false;
        arg = argv_[i_];
        return true;
    }
    bool has_value() const { return i_ + 1 < argc_; }
    const char* value() { return argv_[++i_]; }
    // The value of arg as an integer min..max; false (with a message) otherwise.
    bool number(const std::string& arg, uint64_t min, uint64_t max, uint64_t& out) {
        if (parse_number(value(), max, out) && out >= min) return true;
        std::fprintf(stderr, "liprobe-gen: %s needs an integer %llu..%llu\n", arg.c_str(),
                     static_cast<unsigned long long>(min), static_cast<unsigned long long>(max));
        return false;
    }

  private:
    int argc_;
    char** argv_;
    int i_;
};

enum class Parsed { ok, help, error };

// Parses the arguments: out_dir and seed directly, everything else through mode(arg),
// which returns 0 when it took arg, 1 for an unknown argument, 2 for a bad value (it printed
// why). --out is required.
template <typename Mode>
Parsed parse_args(Args& args, std::string& out_dir, uint64_t& seed, Mode mode) {
    std::string arg;
    while (args.next(arg)) {
        int took = 1;
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return Parsed::help;
        } else if (arg == "--out" && args.has_value()) {
            out_dir = args.value();
            took = 0;
        } else if (arg == "--seed" && args.has_value()) {
            took = args.number(arg, 0, UINT64_MAX, seed) ? 0 : 2;
        } else {
            took = mode(arg);
        }
        if (took == 2) return Parsed::error;
        if (took == 1) {
            std::fprintf(stderr, "liprobe-gen: unexpected argument '%s'\n%s", arg.c_str(), kUsage);
            return Parsed::error;
        }
    }
    if (out_dir.empty()) {
        std::fputs(kUsage, stderr);
        return Parsed::error;
    }
    return Parsed::ok;
}

// --scenario LIST: comma-separated names, "all" for every scenario but the floods and
// sdes_disabled.
bool add_scenarios(const std::string& list, std::vector<std::string>& scenarios) {
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string name = list.substr(start, comma - start);
        start = comma + 1;
        if (name.empty()) continue;
        if (name == "all") {
            for (const auto& s : liprobe::gen::scenario_names()) {
                if (liprobe::gen::is_in_all(s)) scenarios.push_back(s);
            }
            continue;
        }
        const auto& names = liprobe::gen::scenario_names();
        if (std::find(names.begin(), names.end(), name) == names.end()) {
            std::fprintf(stderr, "liprobe-gen: unknown scenario '%s'\n%s", name.c_str(), kUsage);
            return false;
        }
        scenarios.push_back(name);
    }
    return true;
}

}  // namespace

int calls_main(int argc, char** argv) {
    liprobe::gen::CallsOptions options;
    Args args(argc, argv, 1);
    auto count = [&](const std::string& arg, uint32_t& out, uint64_t min, uint64_t max) {
        uint64_t v = 0;
        if (!args.number(arg, min, max, v)) return 2;
        out = static_cast<uint32_t>(v);
        return 0;
    };
    const Parsed parsed =
        parse_args(args, options.out_dir, options.seed, [&](const std::string& arg) {
            if (arg == "--plain") return (options.pki_dir.clear(), 0);
            if (!args.has_value()) return 1;
            if (arg == "--private") return count(arg, options.private_calls, 0, 20000);
            if (arg == "--group") return count(arg, options.group_calls, 0, 20000);
            if (arg == "--ims") return count(arg, options.ims_calls, 0, 20000);
            if (arg == "--background") return count(arg, options.background, 0, 20000);
            if (arg == "--packets-per-stream")
                return count(arg, options.packets_per_stream, 1, 100000);
            if (arg == "--scenario") return add_scenarios(args.value(), options.scenarios) ? 0 : 2;
            if (arg == "--lemf") return (options.lemf = args.value(), 0);
            if (arg == "--pki") return (options.pki_dir = args.value(), 0);
            return 1;
        });
    if (parsed != Parsed::ok) return parsed == Parsed::help ? 0 : 2;
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

// liprobe-gen noise: --out is the noisy capture's path.
int noise_main(int argc, char** argv) {
    liprobe::gen::NoiseOptions options;
    Args args(argc, argv, 1);
    const Parsed parsed =
        parse_args(args, options.out_path, options.seed, [&](const std::string& arg) {
            if (!args.has_value()) return 1;
            if (arg == "--in") return (options.in_path = args.value(), 0);
            if (arg == "--packets") return args.number(arg, 0, 100000000, options.packets) ? 0 : 2;
            return 1;
        });
    if (parsed != Parsed::ok) return parsed == Parsed::help ? 0 : 2;
    if (options.in_path.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    try {
        const liprobe::gen::NoiseResult r = liprobe::gen::add_noise(options);
        std::printf(
            "wrote %s: %llu capture frames, %llu noise frames (%llu mutations redrawn: "
            "they held a capture address)\n",
            options.out_path.c_str(), static_cast<unsigned long long>(r.capture_frames),
            static_cast<unsigned long long>(r.noise_frames),
            static_cast<unsigned long long>(r.redrawn));
        std::printf("noise kinds:");
        for (const auto& [k, n] : r.by_kind)
            std::printf(" %s %llu", k.c_str(), static_cast<unsigned long long>(n));
        std::printf("\nmutations:");
        for (const auto& [k, n] : r.by_mutation)
            std::printf(" %s %llu", k.c_str(), static_cast<unsigned long long>(n));
        std::printf("\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "liprobe-gen: %s\n", e.what());
        return 1;
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "calls") return calls_main(argc, argv);
    if (argc > 1 && std::string(argv[1]) == "noise") return noise_main(argc, argv);
    liprobe::gen::GenOptions options;
    Args args(argc, argv, 0);
    const Parsed parsed =
        parse_args(args, options.out_dir, options.seed, [&](const std::string& arg) {
            if (arg != "--packets-per-stream" || !args.has_value()) return 1;
            uint64_t v = 0;
            if (!args.number(arg, 1, 1000000, v)) return 2;
            options.packets_per_stream = static_cast<uint32_t>(v);
            return 0;
        });
    if (parsed != Parsed::ok) return parsed == Parsed::help ? 0 : 2;
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
