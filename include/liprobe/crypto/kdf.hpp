// Key derivation functions of the TS 33.180 key chain. Control plane only (allocates freely).
// Every function here is deterministic and covered by published vectors in tests/crypto.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace liprobe::crypto {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// TS 33.220 Annex B.2: HMAC-SHA-256(key, FC || P0 || L0 || ... || Pn || Ln).
std::array<uint8_t, 32> kdf_33220(ByteView key, uint8_t fc, std::span<const ByteView> params);

// TS 33.220 B.2.1.3 non-negative integer parameter: shortest big-endian octet string (0 -> 00).
Bytes kdf_integer_param(uint64_t value);

// TS 33.180 F.1.3: the 28 least significant bits of KDF(GMK, FC=0x50, P0 = MC Service user ID).
uint32_t user_salt(ByteView gmk, std::string_view mc_user_id);
// GUK-ID = GMK-ID XOR User Salt (purpose tag preserved); the inverse is the same XOR.
uint32_t guk_id(uint32_t gmk_id, ByteView gmk, std::string_view mc_user_id);
uint32_t gmk_id_from_guk_id(uint32_t guk_id, ByteView gmk, std::string_view mc_user_id);

// TS 33.180 F.2.1: MIKEY-SAKKE UID = SHA-256(FC=0x00 || "MIKEY-SAKKE-UID" || uri || kms_uri ||
// key_period || key_period_offset || current key period number), each with its 2-octet length.
std::array<uint8_t, 32> mikey_sakke_uid(std::string_view uri, std::string_view kms_uri,
                                        uint64_t user_key_period, uint64_t user_key_offset,
                                        uint64_t ntp_seconds_now);

// MIKEY PRF (RFC 3830 4.1.2) with PRF-HMAC-SHA-256 (RFC 6043 6.1): 256-bit inkey chunks.
Bytes mikey_prf_sha256(ByteView inkey, ByteView label, size_t out_len);

// RFC 3830 4.1.3 constants.
inline constexpr uint32_t kMikeyTekConstant = 0x2AD01C64;
inline constexpr uint32_t kMikeySaltConstant = 0x39A2C14B;
inline constexpr uint32_t kMikeyKemacEncConstant = 0x15798CEF;
inline constexpr uint32_t kMikeyKemacAuthConstant = 0x1B5C7973;

// PRF(TGK, constant || cs_id || csb_id || RAND) truncated to out_len (16/32 key, 12 salt).
Bytes mikey_derive(ByteView tgk, uint32_t constant, uint8_t cs_id, uint32_t csb_id, ByteView rand,
                   size_t out_len);
// The same into out[0 .. out_len), allocating nothing (RAND at most 255 octets, as MIKEY's
// one-octet length allows): the key API derives every GMK member's keys this way.
void mikey_derive_into(ByteView tgk, uint32_t constant, uint8_t cs_id, uint32_t csb_id,
                       ByteView rand, uint8_t* out, size_t out_len);

// RFC 3711 4.3 AES-CM PRF with key derivation rate 0. master_salt is 14 octets, or the 12-octet
// AEAD salt, which is padded with two zero octets on the right (RFC 7714 / errata 4938).
// master_key 16 or 32 octets (AES-128/256-CM PRF, RFC 6188).
enum class SrtpKdfLabel : uint8_t {
    rtp_encryption = 0,
    rtp_auth = 1,
    rtp_salt = 2,
    rtcp_encryption = 3,
    rtcp_auth = 4,
    rtcp_salt = 5,
};
Bytes srtp_kdf(ByteView master_key, ByteView master_salt, SrtpKdfLabel label, size_t out_len);
void srtp_kdf_into(ByteView master_key, ByteView master_salt, SrtpKdfLabel label, uint8_t* out,
                   size_t out_len);

// AES-CTR keystream (OpenSSL), exposed for the RFC 3711 B.2 test vector.
Bytes aes_ctr_keystream(ByteView key, const std::array<uint8_t, 16>& iv, size_t out_len);

}  // namespace liprobe::crypto
