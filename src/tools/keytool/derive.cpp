#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "keytool.hpp"
#include "liprobe/keys/key_model.hpp"

namespace liprobe::keytool {
namespace {

// SecretBytes and MkiBytes alike.
template <typename Octets>
std::string hex(const Octets& b) {
    return keys::to_hex(b.data(), b.size());
}

std::string key_id_text(const keys::ContextSpec& c) {
    if (c.type == keys::KeyType::srtp) return c.key_name;
    const uint8_t id[4] = {static_cast<uint8_t>(c.key_id >> 24),
                           static_cast<uint8_t>(c.key_id >> 16),
                           static_cast<uint8_t>(c.key_id >> 8), static_cast<uint8_t>(c.key_id)};
    return keys::to_hex(id, 4);
}

}  // namespace

std::string describe_refusal(const keys::EntryResult& r) {
    std::string label = "entry " + std::to_string(r.index);
    if (!r.type.empty() || !r.key_name.empty()) {
        label += " (";
        label += r.type;
        if (!r.type.empty() && !r.key_name.empty()) label += " ";
        label += r.key_name;
        label += ")";
    }
    return label + ": " + r.reason;
}

bool read_text_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) return false;
    out = s.str();
    return true;
}

int run_derive(const std::string& keys_path, bool show_secrets) {
    std::string text;
    if (!read_text_file(keys_path, text)) {
        std::fprintf(stderr, "liprobe-keytool: cannot read %s\n", keys_path.c_str());
        return 2;
    }
    const std::vector<keys::EntryResult> results = keys::derive_keys_text(text);
    bool refused = false;
    for (const keys::EntryResult& r : results) {
        if (!r.ok) {
            refused = true;
            std::fprintf(stderr, "liprobe-keytool: %s: %s\n", keys_path.c_str(),
                         describe_refusal(r).c_str());
            continue;
        }
        for (const keys::ContextSpec& c : r.contexts) {
            nlohmann::ordered_json line;
            line["type"] = keys::key_type_name(c.type);
            line["key_id"] = key_id_text(c);
            if (c.type == keys::KeyType::gmk) line["member"] = c.member;
            if (c.type == keys::KeyType::pck) {
                line["direction"] =
                    c.direction == keys::PckDirection::initiator ? "initiator" : "receiver";
            }
            if (c.type != keys::KeyType::srtp) line["cs_id"] = c.cs_id;
            line["mki"] = hex(c.mki);
            if (!c.short_mki.empty()) line["short_mki"] = hex(c.short_mki);
            line["profile"] = crypto::profile_info(c.profile).name;
            line["roc_rate"] = c.roc_rate;
            if (c.not_before_us != 0) line["not_before_us"] = c.not_before_us;
            if (c.not_after_us != 0) line["not_after_us"] = c.not_after_us;
            if (show_secrets) {
                line["master_key"] = hex(c.master_key);
                line["master_salt"] = hex(c.master_salt);
                line["rtp_session_key"] = hex(c.rtp_key);
                line["rtp_session_salt"] = hex(c.rtp_salt);
                line["rtcp_session_key"] = hex(c.rtcp_key);
                line["rtcp_session_salt"] = hex(c.rtcp_salt);
                if (!c.rtp_auth.bytes().empty()) {
                    line["rtp_session_auth_key"] = hex(c.rtp_auth);
                    line["rtcp_session_auth_key"] = hex(c.rtcp_auth);
                }
            }
            std::printf("%s\n", line.dump().c_str());
        }
    }
    std::fflush(stdout);
    return refused ? 1 : 0;
}

}  // namespace liprobe::keytool
