// The key provisioning model of design.md 3.3: JSON entries (gmk, pck, srtp) turned into SRTP
// context specifications. Control plane; a bad entry is refused with a precise reason and never
// affects the others. Secrets are held in SecretBytes, cleansed when destroyed.
#pragma once

#include <cstdint>
#include <cstring>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "liprobe/keys/context.hpp"

namespace liprobe::keys {

// Secret octets (a key, salt or TGK of at most kCapacity octets) held inline, so that deriving a
// context allocates nothing for its nine secrets; OPENSSL_cleanse()d when destroyed, reassigned
// or moved from.
class SecretBytes {
  public:
    static constexpr size_t kCapacity = 32;  // AES-256 keys; salts are 12/14, auth keys 20

    SecretBytes() = default;
    // Takes the octets of v and cleanses v; throws std::length_error above kCapacity.
    explicit SecretBytes(std::vector<uint8_t> v);
    SecretBytes(const SecretBytes& o) { copy_from(o); }
    SecretBytes& operator=(const SecretBytes& o);
    SecretBytes(SecretBytes&& o) noexcept;
    SecretBytes& operator=(SecretBytes&& o) noexcept;
    ~SecretBytes() { wipe(); }
    std::span<const uint8_t> bytes() const { return {bytes_, size_}; }
    const uint8_t* data() const { return bytes_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // Drops the old content and returns room for n octets (n <= kCapacity) for the caller to
    // write: how the derivation fills a secret in place.
    uint8_t* overwrite(size_t n);

  private:
    void wipe();
    void copy_from(const SecretBytes& o);
    uint8_t bytes_[kCapacity] = {};
    uint8_t size_ = 0;
};

// An MKI's octets (at most kMaxMkiLen) held inline: every derived GMK member carries two, and as
// vectors they were two allocations per member of every key POST. Reads like the vector it
// replaced; growing past kMaxMkiLen throws std::length_error.
class MkiBytes {
  public:
    MkiBytes() = default;
    MkiBytes(const std::vector<uint8_t>& v) { assign(v.data(), v.data() + v.size()); }  // NOLINT
    MkiBytes& operator=(const std::vector<uint8_t>& v) {
        assign(v.data(), v.data() + v.size());
        return *this;
    }
    void assign(const uint8_t* first, const uint8_t* last) {
        const auto n = static_cast<size_t>(last - first);
        if (n > kMaxMkiLen) throw std::length_error("MKI longer than 16 octets");
        if (n != 0) std::memcpy(octets_, first, n);
        len_ = static_cast<uint8_t>(n);
    }
    void assign(size_t n, uint8_t value) {
        if (n > kMaxMkiLen) throw std::length_error("MKI longer than 16 octets");
        std::memset(octets_, value, n);
        len_ = static_cast<uint8_t>(n);
    }
    void push_back(uint8_t v) {
        if (len_ >= kMaxMkiLen) throw std::length_error("MKI longer than 16 octets");
        octets_[len_++] = v;
    }
    void clear() { len_ = 0; }
    const uint8_t* data() const { return octets_; }
    uint8_t* data() { return octets_; }
    size_t size() const { return len_; }
    bool empty() const { return len_ == 0; }
    const uint8_t* begin() const { return octets_; }
    const uint8_t* end() const { return octets_ + len_; }
    uint8_t operator[](size_t i) const { return octets_[i]; }
    std::vector<uint8_t> to_vector() const { return {begin(), end()}; }
    bool operator==(const MkiBytes& o) const {
        return len_ == o.len_ && std::memcmp(octets_, o.octets_, len_) == 0;
    }

  private:
    uint8_t octets_[kMaxMkiLen] = {};
    uint8_t len_ = 0;
};

// One SRTP crypto context, fully derived, before key expansion.
struct ContextSpec {
    KeyType type = KeyType::srtp;
    std::string key_name;  // the entry's key_id text (gmk/pck) or MKI hex (srtp)
    uint32_t key_id = 0;   // GMK-ID / PCK-ID
    uint32_t csb_id = 0;   // GUK-ID (gmk) or PCK-ID (pck)
    uint8_t cs_id = 0;
    std::string member;  // gmk: the member's MC Service user ID
    PckDirection direction = PckDirection::none;
    MkiBytes mki;        // full MKI (gmk: GMK-ID || GUK-ID; pck: PCK-ID; srtp: given)
    MkiBytes short_mki;  // gmk only: GMK-ID, shared by all members (trial)
    crypto::SrtpProfile profile = crypto::SrtpProfile::aead_aes_128_gcm;  // of the RTP; SRTCP:
                                                                          // srtcp_profile()
    uint32_t roc_rate = 0;
    int64_t not_before_us = 0;
    int64_t not_after_us = 0;
    SecretBytes master_key, master_salt;  // 16/32 and 12 (AEAD) or 14 (AES-CM) octets
    // RFC 3711 KDF output: keys 16/32, salts 12 or 14, auth keys 20 (AES-CM only, else empty).
    SecretBytes rtp_key, rtp_salt, rtp_auth, rtcp_key, rtcp_salt, rtcp_auth;
};

struct EntryResult {
    size_t index = 0;      // position in the request's "keys" array
    std::string key_name;  // key_id or MKI text when readable, else ""
    std::string type;
    bool ok = false;
    std::string reason;  // empty when ok; names the field and the problem, never key material
    std::vector<ContextSpec> contexts;
};

// Parses {"keys": [...]} (or a bare array) and derives every entry. Never throws for bad entries;
// a body that is not JSON at all gives one failed EntryResult with index 0.
//
// This is the whole validation of one batch (a preload file, one POST /v1/keys body): every
// caller (the run's preload, --check, the HTTPS key API, liprobe-keytool) calls it and then
// KeyTable::install() for each entry that is ok, so they all accept and refuse the same entries.
// Duplicates, the rule a mediation function can rely on:
// - Within one batch, entries are taken in order and an entry is refused when its key_id (for
//   srtp: its MKI, the name DELETE /v1/keys/{key_id} uses) is that of an earlier accepted entry
//   ("key_id: duplicate of keys[i]", srtp: "mki: ..."), or when it produces an MKI an earlier
//   accepted entry produces ("MKI: duplicate of an MKI of keys[i]"). The first one stays.
// - Across batches, installing a key_id that is already in the key table replaces that entry
//   (a re-POST is an update; KeyTable::install).
// An ok entry has also passed the key table's structural checks (install_problem()).
std::vector<EntryResult> derive_keys(const nlohmann::json& body);
std::vector<EntryResult> derive_keys_text(const std::string& json_text);

// What KeyTable::install() would refuse in a derived entry ("" when installable): MKI and
// session key lengths. Needs no EAL, so --check runs it too.
std::string install_problem(const EntryResult& entry);

// RFC 3339 time to Unix microseconds; nullopt when malformed.
std::optional<int64_t> parse_rfc3339_us(const std::string& text);

// Hex helpers (case-insensitive input, lowercase output).
std::optional<std::vector<uint8_t>> parse_hex(std::string_view text);
std::string to_hex(const uint8_t* data, size_t len);

}  // namespace liprobe::keys
