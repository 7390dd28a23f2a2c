// liprobe-keytool: the operator's offline tool for key material and captures.
//   liprobe-keytool derive KEYS.json [--show-secrets]
//   liprobe-keytool decrypt --keys KEYS.json IN.pcap OUT.pcap
#include <cstdio>
#include <string>
#include <vector>

#include "keytool.hpp"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  liprobe-keytool derive KEYS.json [--show-secrets]\n"
    "      One JSON line per SRTP context the keys file yields (type, key_id, member or\n"
    "      direction, cs_id, mki). --show-secrets adds master and session keys and salts.\n"
    "  liprobe-keytool decrypt --keys KEYS.json IN.pcap OUT.pcap\n"
    "      Writes every packet of IN.pcap to OUT.pcap, SRTP/SRTCP packets whose key is known\n"
    "      replaced by the plain RTP/RTCP (lengths and checksums fixed); prints counts.\n"
    "KEYS.json has the body of POST /v1/keys: {\"keys\": [{\"type\": \"gmk\"|\"pck\"|\"srtp\", "
    "...}]}.\n";

int usage_error(const char* what) {
    std::fprintf(stderr, "liprobe-keytool: %s\n%s", what, kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) return usage_error("missing command");
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (args[0] == "derive") {
        std::string keys;
        bool secrets = false;
        for (size_t i = 1; i < args.size(); ++i) {
            if (args[i] == "--show-secrets") {
                secrets = true;
            } else if (keys.empty() && !args[i].starts_with("--")) {
                keys = args[i];
            } else {
                return usage_error(("derive: unexpected argument '" + args[i] + "'").c_str());
            }
        }
        if (keys.empty()) return usage_error("derive: missing KEYS.json");
        return liprobe::keytool::run_derive(keys, secrets);
    }
    if (args[0] == "decrypt") {
        std::string keys;
        std::vector<std::string> files;
        for (size_t i = 1; i < args.size(); ++i) {
            if (args[i] == "--keys" && i + 1 < args.size()) {
                keys = args[++i];
            } else if (!args[i].starts_with("--") && files.size() < 2) {
                files.push_back(args[i]);
            } else {
                return usage_error(("decrypt: unexpected argument '" + args[i] + "'").c_str());
            }
        }
        if (keys.empty()) return usage_error("decrypt: missing --keys KEYS.json");
        if (files.size() != 2) return usage_error("decrypt: need IN.pcap and OUT.pcap");
        if (files[0] == files[1]) return usage_error("decrypt: IN and OUT must differ");
        return liprobe::keytool::run_decrypt(keys, files[0], files[1]);
    }
    return usage_error(("unknown command '" + args[0] + "'").c_str());
}
