// The key provisioning model of design.md 3.3: JSON entries of type gmk, pck and srtp validated
// and derived into SRTP context specifications through the TS 33.180 key chain
// (crypto/kdf.hpp). Reasons name the field and the problem, never key material or identities.
#include "liprobe/keys/key_model.hpp"

#include <openssl/crypto.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory_resource>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "key_json.hpp"
#include "liprobe/crypto/kdf.hpp"

namespace liprobe::keys {

// ---------------------------------------------------------------------------------------------
// SecretBytes

SecretBytes::SecretBytes(std::vector<uint8_t> v) {
    if (v.size() > kCapacity) {
        OPENSSL_cleanse(v.data(), v.size());
        throw std::length_error("SecretBytes: more than 32 octets");
    }
    if (!v.empty()) std::memcpy(bytes_, v.data(), v.size());
    size_ = static_cast<uint8_t>(v.size());
    if (!v.empty()) OPENSSL_cleanse(v.data(), v.size());
}

void SecretBytes::copy_from(const SecretBytes& o) {
    std::memcpy(bytes_, o.bytes_, o.size_);
    size_ = o.size_;
}

SecretBytes& SecretBytes::operator=(const SecretBytes& o) {
    if (this != &o) {
        wipe();
        copy_from(o);
    }
    return *this;
}

SecretBytes::SecretBytes(SecretBytes&& o) noexcept {
    copy_from(o);
    o.wipe();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
        wipe();
        copy_from(o);
        o.wipe();
    }
    return *this;
}

uint8_t* SecretBytes::overwrite(size_t n) {
    if (n > kCapacity) throw std::length_error("SecretBytes: more than 32 octets");
    wipe();
    size_ = static_cast<uint8_t>(n);
    return bytes_;
}

void SecretBytes::wipe() {
    if (size_ != 0) OPENSSL_cleanse(bytes_, size_);
    size_ = 0;
}

// ---------------------------------------------------------------------------------------------
// Hex and time helpers

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Parses exactly `width` decimal digits at text[pos]; advances pos.
bool parse_digits(std::string_view text, size_t& pos, size_t width, int& out) {
    if (pos + width > text.size()) return false;
    int value = 0;
    for (size_t i = 0; i < width; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    pos += width;
    out = value;
    return true;
}

bool expect_char(std::string_view text, size_t& pos, char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
}

bool is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::optional<std::vector<uint8_t>> parse_hex(std::string_view text) {
    if (text.size() % 2 != 0) return std::nullopt;
    std::vector<uint8_t> out(text.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_value(text[2 * i]);
        const int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(out.data(), out.size());  // may already hold part of a key
            return std::nullopt;
        }
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return out;
}

std::string to_hex(const uint8_t* data, size_t len) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(len * 2, '0');
    for (size_t i = 0; i < len; ++i) {
        out[2 * i] = kDigits[data[i] >> 4];
        out[2 * i + 1] = kDigits[data[i] & 0x0F];
    }
    return out;
}

// RFC 3339 section 5.6 date-time: full-date "T" full-time, time-offset "Z" or +/-hh:mm, optional
// fractional seconds (digits beyond microseconds are truncated). "t"/"z" and a space separator
// are accepted as the RFC's note allows. A leap second (:60) counts as the next second.
std::optional<int64_t> parse_rfc3339_us(const std::string& text) {
    const std::string_view s(text);
    size_t pos = 0;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!parse_digits(s, pos, 4, year) || !expect_char(s, pos, '-') ||
        !parse_digits(s, pos, 2, month) || !expect_char(s, pos, '-') ||
        !parse_digits(s, pos, 2, day)) {
        return std::nullopt;
    }
    if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
    ++pos;
    if (!parse_digits(s, pos, 2, hour) || !expect_char(s, pos, ':') ||
        !parse_digits(s, pos, 2, minute) || !expect_char(s, pos, ':') ||
        !parse_digits(s, pos, 2, second)) {
        return std::nullopt;
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 60) {
        return std::nullopt;
    }
    int64_t micros = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        size_t digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 6) micros = micros * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (size_t i = digits; i < 6; ++i) micros *= 10;
    }
    int64_t offset_seconds = 0;
    if (pos >= s.size()) return std::nullopt;
    if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
        const bool negative = s[pos] == '-';
        ++pos;
        int off_h = 0, off_m = 0;
        if (!parse_digits(s, pos, 2, off_h) || !expect_char(s, pos, ':') ||
            !parse_digits(s, pos, 2, off_m) || off_h > 23 || off_m > 59) {
            return std::nullopt;
        }
        offset_seconds = (off_h * 60 + off_m) * 60;
        if (negative) offset_seconds = -offset_seconds;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;

    const int64_t days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
    return seconds * 1000000 + micros;
}

// ---------------------------------------------------------------------------------------------
// Entry validation and derivation

namespace {

using crypto::ByteView;
using crypto::SrtpKdfLabel;
using nlohmann::json;
using Value = detail::JsonValue;

constexpr size_t kKeyIdLen = 4;
constexpr size_t kTgkLen = 16;            // TS 33.180: GMK and PCK are 16 octets
constexpr size_t kMaxRandLen = 255;       // RFC 3830 RAND payload: 1-octet length
constexpr size_t kMaxUserIdLen = 0xFFFF;  // TS 33.220 B.2 parameter length field
constexpr uint32_t kPurposeGmk = 0;
constexpr uint32_t kPurposePck = 1;
constexpr int64_t kMaxRocRate = 65535;

// Failure with its reason; carried by exception inside one entry only.
struct EntryError {
    std::string reason;
};

[[noreturn]] void fail(std::string reason) {
    throw EntryError{std::move(reason)};
}

std::string_view require_string(Value entry, const char* name) {
    const std::optional<Value> v = entry.find(name);
    if (!v) fail(std::string(name) + ": missing");
    if (!v->is_string()) fail(std::string(name) + ": expected a string");
    return v->str();
}

// Hex field of an allowed length range; the value itself never appears in a reason.
std::vector<uint8_t> require_hex(Value entry, const char* name, size_t min_len, size_t max_len) {
    const std::string_view text = require_string(entry, name);
    std::optional<std::vector<uint8_t>> bytes = parse_hex(text);
    if (!bytes) fail(std::string(name) + ": not a hex string");
    if (bytes->size() < min_len || bytes->size() > max_len) {
        const size_t got = bytes->size();
        OPENSSL_cleanse(bytes->data(), bytes->size());
        std::string expected = min_len == max_len
                                   ? std::to_string(min_len)
                                   : std::to_string(min_len) + " to " + std::to_string(max_len);
        fail(std::string(name) + ": expected " + expected + " octets, got " + std::to_string(got));
    }
    return std::move(*bytes);
}

SecretBytes require_secret_hex(Value entry, const char* name, size_t min_len, size_t max_len) {
    return SecretBytes(require_hex(entry, name, min_len, max_len));
}

// Integer in [min, max]; `what` names the field (e.g. "cs_ids[2]").
int64_t require_integer(Value v, const std::string& what, int64_t min, int64_t max) {
    if (!v.is_number_integer()) fail(what + ": expected an integer");
    if (v.is_number_unsigned()) {
        const uint64_t u = v.as_uint64();
        if (u > static_cast<uint64_t>(max)) {
            fail(what + ": out of range " + std::to_string(min) + ".." + std::to_string(max));
        }
        return static_cast<int64_t>(u);
    }
    const int64_t i = v.as_int64();
    if (i < min || i > max) {
        fail(what + ": out of range " + std::to_string(min) + ".." + std::to_string(max));
    }
    return i;
}

uint32_t be32(const std::vector<uint8_t>& b) {
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

void put_be32(uint32_t v, uint8_t* out) {
    out[0] = static_cast<uint8_t>(v >> 24);
    out[1] = static_cast<uint8_t>(v >> 16);
    out[2] = static_cast<uint8_t>(v >> 8);
    out[3] = static_cast<uint8_t>(v);
}

// Rejects fields the type does not define: a misspelt "not_after" must not silently mean
// "valid forever". The field name is the client's own text, shortened.
void check_known_fields(Value entry, KeyType type) {
    static const std::unordered_set<std::string_view> kCommon = {"type", "roc_rate", "not_before",
                                                                 "not_after"};
    static const std::unordered_set<std::string_view> kGmk = {"key",     "key_id", "rand",
                                                              "members", "cs_ids", "group_id"};
    static const std::unordered_set<std::string_view> kPck = {"key",    "key_id",    "rand",
                                                              "cs_ids", "initiator", "receiver"};
    static const std::unordered_set<std::string_view> kSrtp = {"mki", "master_key", "master_salt",
                                                               "profile"};
    const auto& specific = type == KeyType::gmk ? kGmk : type == KeyType::pck ? kPck : kSrtp;
    // The first unknown name in sorted order is reported (as an nlohmann object, sorted by
    // name, would list them), whatever the client's order.
    std::optional<std::string_view> unknown;
    for (const Value member : entry) {
        const std::string_view name = member.key();
        if (kCommon.count(name) == 0 && specific.count(name) == 0 && (!unknown || name < *unknown))
            unknown = name;
    }
    if (unknown) {
        std::string shown(unknown->size() > 40 ? unknown->substr(0, 40) : *unknown);
        if (unknown->size() > 40) shown += "...";
        for (char& c : shown) {
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
        }
        fail("\"" + shown + "\": unknown field for type " + key_type_name(type));
    }
}

// Fields shared by all types: validity and RCCm3 rate.
struct CommonFields {
    int64_t not_before_us = 0;
    int64_t not_after_us = 0;
    uint32_t roc_rate = 0;
};

int64_t optional_time(Value entry, const char* name) {
    const std::optional<Value> v = entry.find(name);
    if (!v || v->is_null()) return 0;
    if (!v->is_string()) fail(std::string(name) + ": expected an RFC 3339 time string");
    const std::optional<int64_t> us = parse_rfc3339_us(std::string(v->str()));
    if (!us) fail(std::string(name) + ": not a valid RFC 3339 time");
    return *us;
}

CommonFields parse_common(Value entry, uint32_t default_roc_rate) {
    CommonFields c;
    c.not_before_us = optional_time(entry, "not_before");
    c.not_after_us = optional_time(entry, "not_after");
    if (entry.find("not_before").has_value() && entry.find("not_after").has_value() &&
        c.not_before_us > c.not_after_us) {
        fail("not_after: earlier than not_before");
    }
    c.roc_rate = default_roc_rate;
    if (const std::optional<Value> v = entry.find("roc_rate"); v) {
        c.roc_rate = static_cast<uint32_t>(require_integer(*v, "roc_rate", 0, kMaxRocRate));
    }
    return c;
}

// GMK-ID / PCK-ID with its purpose tag checked against the type.
uint32_t parse_key_id(Value entry, KeyType type, uint32_t expected_tag) {
    const uint32_t id = be32(require_hex(entry, "key_id", kKeyIdLen, kKeyIdLen));
    const uint32_t tag = id >> 28;
    if (tag != expected_tag) {
        fail("key_id: purpose tag " + std::to_string(tag) + " does not match type " +
             key_type_name(type) + " (expected " + std::to_string(expected_tag) + ")");
    }
    return id;
}

std::vector<uint8_t> parse_cs_ids(Value entry, std::vector<uint8_t> defaults) {
    const std::optional<Value> v = entry.find("cs_ids");
    if (!v) return defaults;
    if (!v->is_array()) fail("cs_ids: expected an array of integers");
    if (v->empty()) fail("cs_ids: empty");
    std::vector<uint8_t> out;
    out.reserve(v->size());
    size_t i = 0;
    for (const Value cs_value : *v) {
        const std::string what = "cs_ids[" + std::to_string(i++) + "]";
        const auto cs = static_cast<uint8_t>(require_integer(cs_value, what, 0, 255));
        for (uint8_t seen : out) {
            if (seen == cs) fail(what + ": duplicate CS-ID " + std::to_string(cs));
        }
        out.push_back(cs);
    }
    return out;
}

// Optional MC Service user ID field (pck initiator/receiver, gmk group_id).
std::string optional_user_id(Value entry, const char* name) {
    const std::optional<Value> v = entry.find(name);
    if (!v || v->is_null()) return {};
    if (!v->is_string()) fail(std::string(name) + ": expected a string");
    const std::string_view s = v->str();
    if (s.empty()) fail(std::string(name) + ": empty");
    if (s.size() > kMaxUserIdLen) fail(std::string(name) + ": longer than 65535 octets");
    return std::string(s);
}

// Session keys of one context from its master key and salt (RFC 3711 KDF, KDR 0).
// The profile gives the lengths: AEAD salts are 12 octets (RFC 7714) and there is no auth key;
// AES-CM takes a 14-octet salt and a 20-octet HMAC-SHA1 key (RFC 3711 4.3.3, n_a = 160).
void derive_session_keys(ContextSpec& spec) {
    const ByteView mk = spec.master_key.bytes();
    const ByteView ms = spec.master_salt.bytes();
    const size_t key_len = mk.size();
    const crypto::SrtpProfileInfo& info = crypto::profile_info(spec.profile);
    auto derive = [&](SecretBytes& out, SrtpKdfLabel label, size_t len) {
        crypto::srtp_kdf_into(mk, ms, label, out.overwrite(len), len);
    };
    derive(spec.rtp_key, SrtpKdfLabel::rtp_encryption, key_len);
    derive(spec.rtp_salt, SrtpKdfLabel::rtp_salt, info.salt_len);
    derive(spec.rtcp_key, SrtpKdfLabel::rtcp_encryption, key_len);
    derive(spec.rtcp_salt, SrtpKdfLabel::rtcp_salt, info.salt_len);
    if (info.auth_key_len != 0) {
        derive(spec.rtp_auth, SrtpKdfLabel::rtp_auth, info.auth_key_len);
        derive(spec.rtcp_auth, SrtpKdfLabel::rtcp_auth, info.auth_key_len);
    }
}

// Master key (16) and salt (12) from a TGK (GMK/PCK) by the MIKEY PRF (TS 33.180 7.4).
void derive_master(ContextSpec& spec, ByteView tgk, ByteView rand) {
    crypto::mikey_derive_into(tgk, crypto::kMikeyTekConstant, spec.cs_id, spec.csb_id, rand,
                              spec.master_key.overwrite(kTgkLen), kTgkLen);
    crypto::mikey_derive_into(tgk, crypto::kMikeySaltConstant, spec.cs_id, spec.csb_id, rand,
                              spec.master_salt.overwrite(crypto::kAeadSaltLen),
                              crypto::kAeadSaltLen);
}

void derive_gmk(Value entry, EntryResult& result) {
    check_known_fields(entry, KeyType::gmk);
    const uint32_t gmk_id = parse_key_id(entry, KeyType::gmk, kPurposeGmk);
    std::vector<uint8_t> short_mki(kKeyIdLen);  // MKI = GMK-ID, shared by all members
    put_be32(gmk_id, short_mki.data());
    result.key_name = to_hex(short_mki.data(), short_mki.size());
    const SecretBytes gmk = require_secret_hex(entry, "key", kTgkLen, kTgkLen);
    const std::vector<uint8_t> rand = require_hex(entry, "rand", 1, kMaxRandLen);

    const std::optional<Value> members = entry.find("members");
    if (!members) fail("members: missing");
    if (!members->is_array()) fail("members: expected an array of MC Service user IDs");
    if (members->empty()) fail("members: empty");
    // Node allocations from the stack: this runs for every GMK of every key POST.
    alignas(std::max_align_t) std::byte arena_buffer[8 * 1024];
    std::pmr::monotonic_buffer_resource arena(arena_buffer, sizeof(arena_buffer));
    std::pmr::unordered_set<std::string_view> seen(&arena);
    seen.reserve(members->size());
    size_t i = 0;
    for (const Value m : *members) {
        const std::string what = "members[" + std::to_string(i++) + "]";
        if (!m.is_string()) fail(what + ": expected a string");
        const std::string_view id = m.str();
        if (id.empty()) fail(what + ": empty");
        if (id.size() > kMaxUserIdLen) fail(what + ": longer than 65535 octets");
        if (!seen.insert(id).second) fail(what + ": duplicate member");
    }
    const std::vector<uint8_t> cs_ids = parse_cs_ids(entry, {4});
    (void)optional_user_id(entry, "group_id");  // validated; not needed for derivation
    const CommonFields common = parse_common(entry, 1);

    const ByteView gmk_view(gmk.bytes());
    result.contexts.reserve(members->size() * cs_ids.size());
    for (const Value m : *members) {
        const std::string_view id = m.str();
        // TS 33.180 F.1.3: GUK-ID = GMK-ID XOR User Salt; the sender puts it in its MKI.
        const uint32_t guk = crypto::guk_id(gmk_id, gmk_view, id);
        for (const uint8_t cs : cs_ids) {
            ContextSpec& spec = result.contexts.emplace_back();
            spec.type = KeyType::gmk;
            spec.key_name = result.key_name;
            spec.key_id = gmk_id;
            spec.csb_id = guk;  // TS 33.180 7.4: CSB ID = GUK-ID for group calls
            spec.cs_id = cs;
            spec.member = id;
            spec.mki.assign(2 * kKeyIdLen, 0);  // GMK-ID || GUK-ID
            put_be32(gmk_id, spec.mki.data());
            put_be32(guk, spec.mki.data() + kKeyIdLen);
            spec.short_mki = short_mki;
            spec.profile = crypto::SrtpProfile::aead_aes_128_gcm;
            spec.roc_rate = common.roc_rate;
            spec.not_before_us = common.not_before_us;
            spec.not_after_us = common.not_after_us;
            derive_master(spec, gmk_view, rand);
            derive_session_keys(spec);
        }
    }
}

void derive_pck(Value entry, EntryResult& result) {
    check_known_fields(entry, KeyType::pck);
    const uint32_t pck_id = parse_key_id(entry, KeyType::pck, kPurposePck);
    std::vector<uint8_t> mki(kKeyIdLen);
    put_be32(pck_id, mki.data());
    result.key_name = to_hex(mki.data(), mki.size());
    const SecretBytes pck = require_secret_hex(entry, "key", kTgkLen, kTgkLen);
    const std::vector<uint8_t> rand = require_hex(entry, "rand", 1, kMaxRandLen);
    const std::vector<uint8_t> cs_ids = parse_cs_ids(entry, {0, 1});
    // TS 33.180 E.1.3: even CS-IDs protect the initiator's stream (0 MCPTT, 2 MCVideo), odd the
    // receiver's (1, 3); other CS-IDs are not private-call media.
    for (size_t i = 0; i < cs_ids.size(); ++i) {
        if (cs_ids[i] > 3) {
            fail("cs_ids[" + std::to_string(i) + "]: CS-ID " + std::to_string(cs_ids[i]) +
                 " is not a private-call CS-ID (0 to 3)");
        }
    }
    const std::string initiator = optional_user_id(entry, "initiator");
    const std::string receiver = optional_user_id(entry, "receiver");
    const CommonFields common = parse_common(entry, 0);

    const ByteView pck_view(pck.bytes());
    result.contexts.reserve(cs_ids.size());
    for (const uint8_t cs : cs_ids) {
        ContextSpec& spec = result.contexts.emplace_back();
        const bool from_initiator = cs % 2 == 0;
        spec.type = KeyType::pck;
        spec.key_name = result.key_name;
        spec.key_id = pck_id;
        spec.csb_id = pck_id;  // TS 33.180 7.4: CSB ID = PCK-ID, MKI = PCK-ID
        spec.cs_id = cs;
        spec.direction = from_initiator ? PckDirection::initiator : PckDirection::receiver;
        spec.member = from_initiator ? initiator : receiver;  // the stream's sender, if known
        spec.mki = mki;
        spec.profile = crypto::SrtpProfile::aead_aes_128_gcm;
        spec.roc_rate = common.roc_rate;
        spec.not_before_us = common.not_before_us;
        spec.not_after_us = common.not_after_us;
        derive_master(spec, pck_view, rand);
        derive_session_keys(spec);
    }
}

void derive_srtp(Value entry, EntryResult& result) {
    check_known_fields(entry, KeyType::srtp);
    std::vector<uint8_t> mki = require_hex(entry, "mki", 1, kMaxMkiLen);
    result.key_name = to_hex(mki.data(), mki.size());
    // The profile first: it gives the lengths of the master key and salt.
    crypto::SrtpProfile profile = crypto::SrtpProfile::aead_aes_128_gcm;
    if (const std::optional<Value> v = entry.find("profile"); v) {
        if (!v->is_string()) fail("profile: expected a string");
        const std::string_view p = v->str();
        if (!crypto::profile_from_name(p.data(), p.size(), profile)) {
            fail(
                "profile: unknown profile (expected aead_aes_128_gcm, aead_aes_256_gcm, "
                "aes_cm_128_hmac_sha1_80, aes_cm_128_hmac_sha1_32, aes_256_cm_hmac_sha1_80 or "
                "aes_256_cm_hmac_sha1_32)");
        }
    }
    const crypto::SrtpProfileInfo& info = crypto::profile_info(profile);
    std::vector<uint8_t> master_key_octets = require_hex(entry, "master_key", 0, SIZE_MAX);
    if (master_key_octets.size() != 16 && master_key_octets.size() != 32) {
        const size_t got = master_key_octets.size();
        OPENSSL_cleanse(master_key_octets.data(), got);
        fail("master_key: expected 16 or 32 octets, got " + std::to_string(got));
    }
    SecretBytes master_key(std::move(master_key_octets));
    SecretBytes master_salt =
        require_secret_hex(entry, "master_salt", info.salt_len, info.salt_len);
    if (info.key_len != master_key.size()) {
        fail(std::string("master_key: ") + std::to_string(master_key.size()) +
             " octets does not match profile " + info.name + " (" + std::to_string(info.key_len) +
             ")");
    }
    const CommonFields common = parse_common(entry, 0);
    if (common.roc_rate != 0 && !info.aead) {
        // RFC 4771 RCC modes carry the ROC in the tag field; only the TS 33.180 AEAD layout
        // (RCCm3) is implemented.
        fail(std::string("roc_rate: ROC carrying is not supported with profile ") + info.name);
    }

    ContextSpec& spec = result.contexts.emplace_back();
    spec.type = KeyType::srtp;
    spec.key_name = result.key_name;
    spec.mki = std::move(mki);
    spec.profile = profile;
    spec.roc_rate = common.roc_rate;
    spec.not_before_us = common.not_before_us;
    spec.not_after_us = common.not_after_us;
    spec.master_key = std::move(master_key);
    spec.master_salt = std::move(master_salt);
    derive_session_keys(spec);
}

EntryResult derive_entry(Value entry, size_t index) {
    EntryResult result;
    result.index = index;
    try {
        if (!entry.is_object()) fail("entry: expected a JSON object");
        const std::string_view type = require_string(entry, "type");
        if (type == "gmk") {
            result.type = type;
            derive_gmk(entry, result);
        } else if (type == "pck") {
            result.type = type;
            derive_pck(entry, result);
        } else if (type == "srtp") {
            result.type = type;
            derive_srtp(entry, result);
        } else {
            fail("type: unknown type (expected gmk, pck or srtp)");
        }
        result.ok = true;
    } catch (const EntryError& e) {
        result.reason = e.reason;
    } catch (const std::exception&) {
        // Never e.what(): keep any library text (and whatever it might quote) out of replies.
        result.reason = "internal: key derivation failed";
    }
    if (!result.ok) result.contexts.clear();  // SecretBytes wipe themselves
    return result;
}

EntryResult body_failure(std::string reason) {
    EntryResult r;
    r.reason = std::move(reason);
    return r;
}

// The batch rule of key_model.hpp: the first entry with a key_id or MKI stays, later ones are
// refused. Reasons name the earlier entry's index, never the key_id or MKI itself.
void refuse_duplicates(std::vector<EntryResult>& results) {
    // An MKI (1..16 octets) as two zero-padded words and its length: no allocation per MKI.
    struct MkiKey {
        uint64_t words[2];
        size_t len;
        bool operator==(const MkiKey& o) const {
            return len == o.len && words[0] == o.words[0] && words[1] == o.words[1];
        }
    };
    struct MkiKeyHash {
        size_t operator()(const MkiKey& k) const {
            return std::hash<uint64_t>()(k.words[0] * 0x9E3779B97F4A7C15ull ^ k.words[1] ^ k.len);
        }
    };
    auto mki_key = [](const MkiBytes& m) {
        MkiKey k{{0, 0}, m.size()};
        load_mki_words(m.data(), m.size(), k.words);
        return k;
    };
    // Node allocations from the stack (and beyond it, the heap), freed at once.
    alignas(std::max_align_t) std::byte arena_buffer[48 * 1024];
    std::pmr::monotonic_buffer_resource arena(arena_buffer, sizeof(arena_buffer));
    std::pmr::unordered_map<std::string_view, size_t> names(&arena);
    std::pmr::unordered_map<MkiKey, size_t, MkiKeyHash> mkis(&arena);
    names.reserve(results.size());
    for (EntryResult& r : results) {
        if (!r.ok) continue;
        if (const auto it = names.find(r.key_name); it != names.end()) {
            r.ok = false;
            // srtp entries are named by their MKI (there is no key_id field).
            r.reason = std::string(r.type == "srtp" ? "mki" : "key_id") + ": duplicate of keys[" +
                       std::to_string(it->second) + "]";
        } else {
            for (const ContextSpec& spec : r.contexts) {
                for (const auto* mki : {&spec.mki, &spec.short_mki}) {
                    if (mki->empty() || mki->size() > kMaxMkiLen) continue;
                    const auto found = mkis.find(mki_key(*mki));
                    if (found != mkis.end() && found->second != r.index) {
                        r.ok = false;
                        r.reason = "MKI: duplicate of an MKI of keys[" +
                                   std::to_string(found->second) + "]";
                    }
                }
            }
        }
        if (!r.ok) {
            r.contexts.clear();  // SecretBytes wipe themselves
            continue;
        }
        // results is not resized from here on: the view stays valid while names is used.
        names.emplace(r.key_name, r.index);
        for (const ContextSpec& spec : r.contexts) {
            if (spec.mki.size() <= kMaxMkiLen) mkis.emplace(mki_key(spec.mki), r.index);
            if (!spec.short_mki.empty() && spec.short_mki.size() <= kMaxMkiLen)
                mkis.emplace(mki_key(spec.short_mki), r.index);
        }
    }
}

}  // namespace

std::string install_problem(const EntryResult& entry) {
    if (entry.contexts.empty()) return "entry has no contexts";
    const std::string& name = entry.contexts.front().key_name;
    for (const ContextSpec& s : entry.contexts) {
        if (s.key_name != name) return "contexts of one entry must share its key name";
        if (static_cast<size_t>(s.profile) >= crypto::kSrtpProfileCount) return "unknown profile";
        const crypto::SrtpProfileInfo& info = crypto::profile_info(s.profile);
        if (s.mki.empty() || s.mki.size() > kMaxMkiLen) return "MKI length must be 1..16 octets";
        if (s.short_mki.size() > kMaxMkiLen) return "short MKI longer than 16 octets";
        if (s.rtp_key.size() != info.key_len || s.rtcp_key.size() != info.key_len)
            return "session key length does not match the profile";
        if (s.rtp_salt.size() != info.salt_len || s.rtcp_salt.size() != info.salt_len)
            return "session salt length does not match the profile";
        if (s.rtp_auth.size() != info.auth_key_len || s.rtcp_auth.size() != info.auth_key_len)
            return "session auth key length does not match the profile";
        if (s.roc_rate > 0xFFFF) return "roc_rate above 65535";
        if (s.roc_rate != 0 && !info.aead) return "ROC carrying needs an AEAD profile";
    }
    return "";
}

namespace {

std::vector<EntryResult> derive_document(Value body) {
    std::optional<Value> entries;
    if (body.is_array()) {
        entries = body;
    } else if (body.is_object()) {
        entries = body.find("keys");
        if (!entries) return {body_failure("keys: missing")};
        if (!entries->is_array()) return {body_failure("keys: expected an array")};
    } else {
        return {body_failure("body: expected {\"keys\": [...]} or an array of entries")};
    }
    std::vector<EntryResult> results;
    results.reserve(entries->size());
    size_t i = 0;
    for (const Value entry : *entries) {
        results.push_back(derive_entry(entry, i++));
        EntryResult& r = results.back();
        if (r.ok) {
            if (std::string why = install_problem(r); !why.empty()) {
                r.ok = false;
                r.reason = "internal: " + why;
                r.contexts.clear();
            }
        }
    }
    refuse_duplicates(results);
    return results;
}

}  // namespace

std::vector<EntryResult> derive_keys_text(const std::string& json_text) {
    detail::KeyJson& doc = detail::KeyJson::for_this_thread();
    // The document's arena holds the batch's key hex: wiped however derivation ends.
    struct WipeAtExit {
        detail::KeyJson& doc;
        ~WipeAtExit() { doc.wipe(); }
    } wipe_at_exit{doc};
    if (!doc.parse(json_text)) return {body_failure("body: not valid JSON")};
    return derive_document(doc.root());
}

std::vector<EntryResult> derive_keys(const json& body) {
    std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
    std::vector<EntryResult> results = derive_keys_text(text);
    OPENSSL_cleanse(text.data(), text.size());
    return results;
}

}  // namespace liprobe::keys
