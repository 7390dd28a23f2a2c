// The key provisioning model of design.md 3.3: JSON entries (gmk, pck, srtp) turned into SRTP
// context specifications. Control plane; a bad entry is refused with a precise reason and never
// affects the others. Secrets are held in SecretBytes, cleansed when destroyed.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "liprobe/keys/context.hpp"

namespace liprobe::keys {

// A byte vector that OPENSSL_cleanse()s its contents when destroyed or reassigned.
class SecretBytes {
  public:
    SecretBytes() = default;
    explicit SecretBytes(std::vector<uint8_t> v) : bytes_(std::move(v)) {}
    SecretBytes(const SecretBytes&) = default;
    SecretBytes& operator=(const SecretBytes& o);
    SecretBytes(SecretBytes&& o) noexcept;
    SecretBytes& operator=(SecretBytes&& o) noexcept;
    ~SecretBytes();
    const std::vector<uint8_t>& bytes() const { return bytes_; }
    const uint8_t* data() const { return bytes_.data(); }
    size_t size() const { return bytes_.size(); }

  private:
    void wipe();
    std::vector<uint8_t> bytes_;
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
    std::vector<uint8_t> mki;        // full MKI (gmk: GMK-ID || GUK-ID; pck: PCK-ID; srtp: given)
    std::vector<uint8_t> short_mki;  // gmk only: GMK-ID, shared by all members (trial)
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
