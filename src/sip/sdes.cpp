// RFC 4568 a=crypto parsing (grammar of section 9.1/9.2; suites of RFC 4568 6.2, RFC 6188 and
// RFC 7714 14.2). Zero-copy over the attribute text; the only octets written are the decoded
// keys, inside the caller's SdesCrypto, which is wiped on every error.
#include "liprobe/sip/sdes.hpp"

#include <string.h>  // explicit_bzero

#include <cstring>

namespace liprobe::sip {

namespace {

struct SuiteName {
    std::string_view name;
    crypto::SrtpProfile profile;
    uint8_t key_salt_len;  // master key || master salt
};

constexpr SuiteName kSuites[] = {
    {"AES_CM_128_HMAC_SHA1_80", crypto::SrtpProfile::aes_cm_128_hmac_sha1_80, 16 + 14},
    {"AES_CM_128_HMAC_SHA1_32", crypto::SrtpProfile::aes_cm_128_hmac_sha1_32, 16 + 14},
    {"AES_256_CM_HMAC_SHA1_80", crypto::SrtpProfile::aes_256_cm_hmac_sha1_80, 32 + 14},
    {"AES_256_CM_HMAC_SHA1_32", crypto::SrtpProfile::aes_256_cm_hmac_sha1_32, 32 + 14},
    {"AEAD_AES_128_GCM", crypto::SrtpProfile::aead_aes_128_gcm, 16 + 12},
    {"AEAD_AES_256_GCM", crypto::SrtpProfile::aead_aes_256_gcm, 32 + 12},
};

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Next blank-separated token of s from pos; empty at the end.
std::string_view next_token(std::string_view s, size_t& pos) {
    while (pos < s.size() && is_blank(s[pos])) ++pos;
    const size_t start = pos;
    while (pos < s.size() && !is_blank(s[pos])) ++pos;
    return s.substr(start, pos - start);
}

// 1..max_digits decimal digits, no overflow of uint64_t; false otherwise.
bool parse_decimal(std::string_view s, size_t max_digits, uint64_t& out) {
    if (s.empty() || s.size() > max_digits) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const auto d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// RFC 4648 section 4 base64, with or without its '=' padding. Writes exactly expected octets or
// fails: bad_base64 for a character outside the alphabet or broken padding, wrong_key_length
// when the text decodes to another length.
SdesError decode_key_salt(std::string_view text, uint8_t* out, size_t expected) {
    size_t n = text.size();
    size_t pad = 0;
    while (n > 0 && text[n - 1] == '=' && pad < 2) {
        --n;
        ++pad;
    }
    if (n == 0 || (pad != 0 && text.size() % 4 != 0) || n % 4 == 1) return SdesError::bad_base64;
    for (size_t i = 0; i < n; ++i) {
        if (base64_value(text[i]) < 0) return SdesError::bad_base64;
    }
    if (n * 6 / 8 != expected) return SdesError::wrong_key_length;
    uint32_t acc = 0;
    int bits = 0;
    size_t w = 0;
    for (size_t i = 0; i < n; ++i) {
        acc = (acc << 6) | static_cast<uint32_t>(base64_value(text[i]));
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[w++] = static_cast<uint8_t>(acc >> bits);
        }
    }
    return SdesError::ok;
}

// lifetime = ["2^"] 1*DIGIT (RFC 4568 9.2), kept within [2, 2^48] packets: a lifetime of one
// packet ("2^0", "1") or none is no usable key, more than 2^48 exceeds RFC 3711's limit.
bool parse_lifetime(std::string_view s, uint64_t& out) {
    uint64_t v = 0;
    if (s.size() > 2 && s[0] == '2' && s[1] == '^') {
        uint64_t exp = 0;
        if (!parse_decimal(s.substr(2), 2, exp) || exp > 48) return false;
        v = uint64_t{1} << exp;
    } else if (!parse_decimal(s, 20, v)) {
        return false;
    }
    if (v < 2 || v > kMaxSdesLifetime) return false;
    out = v;
    return true;
}

// mki = mki-value ":" mki-length; mki-value 1*DIGIT, mki-length 1*3DIGIT in 1..128 (octets).
SdesError parse_mki(std::string_view s, SdesKey& key) {
    const size_t colon = s.find(':');
    if (colon == std::string_view::npos) return SdesError::bad_mki;
    uint64_t value = 0, length = 0;
    if (!parse_decimal(s.substr(0, colon), 20, value) ||
        !parse_decimal(s.substr(colon + 1), 3, length) || length == 0 || length > 128) {
        return SdesError::bad_mki;
    }
    if (length > kMaxSdesMkiLen) return SdesError::mki_too_long;
    if (length < 8 && value >> (8 * length) != 0) return SdesError::bad_mki;
    key.mki = value;
    key.mki_len = static_cast<uint8_t>(length);
    return SdesError::ok;
}

// key-param = "inline:" key-salt ["|" lifetime] ["|" mki]
SdesError parse_key_param(std::string_view s, size_t key_salt_len, SdesKey& key) {
    constexpr std::string_view kInline = "inline:";
    if (s.size() < kInline.size() || !iequals(s.substr(0, kInline.size()), kInline)) {
        return SdesError::bad_key_method;
    }
    s.remove_prefix(kInline.size());
    std::string_view fields[3];
    size_t count = 0;
    while (true) {
        const size_t bar = s.find('|');
        if (count == 3) return SdesError::bad_syntax;
        fields[count++] = s.substr(0, bar);
        if (bar == std::string_view::npos) break;
        s.remove_prefix(bar + 1);
    }
    if (SdesError e = decode_key_salt(fields[0], key.key_salt, key_salt_len); e != SdesError::ok)
        return e;
    key.key_salt_len = static_cast<uint8_t>(key_salt_len);
    // One extra field: an MKI when it has the ':' of one, else a lifetime. Two: lifetime, MKI.
    const bool last_is_mki = count > 1 && fields[count - 1].find(':') != std::string_view::npos;
    if (count == 3 && !last_is_mki) return SdesError::bad_mki;
    if (count == 3 || (count == 2 && !last_is_mki)) {
        if (!parse_lifetime(fields[1], key.lifetime)) return SdesError::bad_lifetime;
    }
    if (last_is_mki) return parse_mki(fields[count - 1], key);
    return SdesError::ok;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Session parameter names are ABNF literals, so case-insensitive (RFC 4568 9.2).
SdesError parse_session_param(std::string_view p, SdesCrypto& out) {
    uint64_t v = 0;
    if (iequals(p, "UNENCRYPTED_SRTP")) {
        out.unencrypted_srtp = true;
    } else if (iequals(p, "UNENCRYPTED_SRTCP")) {
        out.unencrypted_srtcp = true;
    } else if (iequals(p, "UNAUTHENTICATED_SRTP")) {
        out.unauthenticated_srtp = true;
    } else if (istarts_with(p, "KDR=")) {
        if (!parse_decimal(p.substr(4), 2, v) || v > 24) return SdesError::bad_session_parameter;
        out.kdr_given = true;
        out.kdr = static_cast<uint8_t>(v);
    } else if (istarts_with(p, "WSH=")) {
        if (!parse_decimal(p.substr(4), 10, v) || v < 64 || v > UINT32_MAX)
            return SdesError::bad_session_parameter;
        out.wsh = static_cast<uint32_t>(v);
    } else if (istarts_with(p, "FEC_ORDER=")) {
        const std::string_view order = p.substr(10);
        if (!iequals(order, "FEC_SRTP") && !iequals(order, "SRTP_FEC"))
            return SdesError::bad_session_parameter;
        out.fec = true;
    } else if (istarts_with(p, "FEC_KEY=")) {
        out.fec = true;  // its key-params are not used: the probe does not decode FEC
    } else if (p.starts_with("-")) {
        // srtp-session-extension = ["-"] 1*VCHAR: a "-" marks a parameter that may be ignored.
    } else {
        return SdesError::unknown_session_parameter;
    }
    return SdesError::ok;
}

SdesError parse(std::string_view s, SdesCrypto& out) {
    while (!s.empty() && (is_blank(s.back()) || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    size_t pos = 0;
    const std::string_view tag = next_token(s, pos);
    const std::string_view suite = next_token(s, pos);
    const std::string_view key_params = next_token(s, pos);
    if (tag.empty()) return SdesError::bad_syntax;
    uint64_t tag_value = 0;
    if (!parse_decimal(tag, 9, tag_value)) return SdesError::bad_tag;
    if (suite.empty() || key_params.empty()) return SdesError::bad_syntax;
    out.tag = static_cast<uint32_t>(tag_value);

    const SuiteName* found = nullptr;
    for (const SuiteName& sn : kSuites) {
        if (iequals(sn.name, suite)) found = &sn;  // ABNF literals: case-insensitive
    }
    if (found == nullptr) return SdesError::unknown_suite;
    out.suite = found->profile;

    std::string_view rest = key_params;
    while (true) {
        const size_t semi = rest.find(';');
        if (out.key_count == kMaxSdesKeys) return SdesError::too_many_keys;
        SdesKey& key = out.keys[out.key_count];
        if (SdesError e = parse_key_param(rest.substr(0, semi), found->key_salt_len, key);
            e != SdesError::ok)
            return e;
        ++out.key_count;
        if (semi == std::string_view::npos) break;
        rest.remove_prefix(semi + 1);
    }
    // Several keys are told apart by their MKIs, which then all have the same length.
    if (out.key_count > 1) {
        for (size_t i = 0; i < out.key_count; ++i) {
            if (out.keys[i].mki_len == 0 || out.keys[i].mki_len != out.keys[0].mki_len)
                return SdesError::mki_inconsistent;
        }
    }

    for (std::string_view p = next_token(s, pos); !p.empty(); p = next_token(s, pos)) {
        if (SdesError e = parse_session_param(p, out); e != SdesError::ok) return e;
    }
    return SdesError::ok;
}

}  // namespace

const char* sdes_error_name(SdesError e) {
    switch (e) {
        case SdesError::ok:
            return "ok";
        case SdesError::bad_syntax:
            return "bad_syntax";
        case SdesError::bad_tag:
            return "bad_tag";
        case SdesError::unknown_suite:
            return "unknown_suite";
        case SdesError::bad_key_method:
            return "bad_key_method";
        case SdesError::bad_base64:
            return "bad_base64";
        case SdesError::wrong_key_length:
            return "wrong_key_length";
        case SdesError::bad_lifetime:
            return "bad_lifetime";
        case SdesError::bad_mki:
            return "bad_mki";
        case SdesError::mki_too_long:
            return "mki_too_long";
        case SdesError::mki_inconsistent:
            return "mki_inconsistent";
        case SdesError::too_many_keys:
            return "too_many_keys";
        case SdesError::bad_session_parameter:
            return "bad_session_parameter";
        case SdesError::unknown_session_parameter:
            return "unknown_session_parameter";
        case SdesError::unsupported_session_parameter:
            return "unsupported_session_parameter";
    }
    return "unknown";
}

SdesError sdes_supported(const SdesCrypto& c) {
    const bool unsupported = c.unencrypted_srtp || c.unencrypted_srtcp || c.unauthenticated_srtp ||
                             (c.kdr_given && c.kdr != 0) || c.fec;
    return unsupported ? SdesError::unsupported_session_parameter : SdesError::ok;
}

SdesError parse_crypto_attribute(std::string_view value, SdesCrypto& out) {
    wipe(out);
    out = SdesCrypto{};
    const SdesError e = parse(value, out);
    if (e != SdesError::ok) wipe(out);
    return e;
}

void wipe(SdesCrypto& c) {
    for (SdesKey& k : c.keys) explicit_bzero(k.key_salt, sizeof(k.key_salt));
    c.key_count = 0;
}

}  // namespace liprobe::sip
