// SRTP/SRTCP AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714) on one packet whose session keys are
// known. Packet-layout helpers never read outside [pkt, pkt + len). No allocation, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "liprobe/crypto/gcm.hpp"

namespace liprobe::crypto {

// The SRTP protection profiles a context may use (RFC 7714 AEAD; RFC 3711 / RFC 6188 AES-CM
// with HMAC-SHA1). Values are stable (counters, masks: bit 1 << value).
enum class SrtpProfile : uint8_t {
    aead_aes_128_gcm = 0,
    aead_aes_256_gcm = 1,
    aes_cm_128_hmac_sha1_80 = 2,
    aes_cm_128_hmac_sha1_32 = 3,
    aes_256_cm_hmac_sha1_80 = 4,
    aes_256_cm_hmac_sha1_32 = 5,
};
inline constexpr size_t kSrtpProfileCount = 6;

struct SrtpProfileInfo {
    const char* name;     // key model / SDP-style lowercase name, e.g. "aes_cm_128_hmac_sha1_80"
    size_t key_len;       // master and session encryption key
    size_t salt_len;      // master and session salt: 12 (AEAD) or 14 (AES-CM)
    size_t auth_key_len;  // session authentication key: 0 (AEAD) or 20 (HMAC-SHA1)
    size_t tag_len;       // 16 (GCM tag), 10 or 4 (truncated HMAC-SHA1)
    bool aead;
};
const SrtpProfileInfo& profile_info(SrtpProfile p);
// Looks a profile up by its name; false when unknown.
bool profile_from_name(const char* name, size_t len, SrtpProfile& out);
// The transform of a context's SRTCP: the profile itself, except that the _32 suites keep an
// 80-bit SRTCP tag (RFC 4568 6.2.2 and RFC 6188 for the AES-256 suites; libsrtp2 likewise).
inline SrtpProfile srtcp_profile(SrtpProfile p) {
    if (p == SrtpProfile::aes_cm_128_hmac_sha1_32) return SrtpProfile::aes_cm_128_hmac_sha1_80;
    if (p == SrtpProfile::aes_256_cm_hmac_sha1_32) return SrtpProfile::aes_256_cm_hmac_sha1_80;
    return p;
}

inline constexpr size_t kCmSaltLen = 14;       // RFC 3711: 112-bit session salt
inline constexpr size_t kHmacSha1KeyLen = 20;  // RFC 3711 4.3: n_a = 160 bits
inline constexpr size_t kMaxCmTagLen = 10;
inline constexpr size_t kMinTagLen = 4;  // the shortest tag of any profile (HMAC-SHA1-32)

// AES-CM + HMAC-SHA1 session keys, expanded for IPsec-MB: AES encryption round keys (CNTR) and
// the SHA-1 states after the HMAC inner and outer key blocks.
struct alignas(64) CmHmacKey {
    alignas(16) uint8_t enc_keys[16 * 15] = {};  // AES-128 or AES-256 round keys
    alignas(16) uint8_t ipad_hash[32] = {};      // SHA-1 state after (k_a ^ ipad), 20 used
    alignas(16) uint8_t opad_hash[32] = {};      // SHA-1 state after (k_a ^ opad), 20 used
    uint8_t salt[kCmSaltLen] = {};               // k_s
    uint8_t key_len = 16;
    uint8_t tag_len = 10;
};

// Session keys of one direction of one crypto context (RTP or RTCP). AEAD profiles use key
// (k_e expanded) and salt (k_s); AES-CM profiles use cm. Never both: they share the storage.
struct SrtpSessionKeys {
    SrtpSessionKeys() : key() {}
    union {
        GcmKey key;
        CmHmacKey cm;
    };
    uint8_t salt[kAeadSaltLen] = {};
    SrtpProfile profile = SrtpProfile::aead_aes_128_gcm;
};
static_assert(sizeof(CmHmacKey) <= sizeof(GcmKey));

void wipe(SrtpSessionKeys& keys);

inline constexpr size_t kRtpFixedHeaderLen = 12;
inline constexpr size_t kRtcpHeaderLen = 8;
inline constexpr size_t kSrtcpIndexLen = 4;
inline constexpr size_t kRccRocLen = 4;

// RTP header length (fixed + CSRCs + extension). Returns 0 when the packet is malformed:
// version != 2, or the CSRC list / extension runs past len.
size_t rtp_header_length(const uint8_t* pkt, size_t len);

// RFC 3711 Appendix A: the ROC v to use for SEQ given the highest SEQ s_l and its ROC.
// With roc == 0 the "ROC - 1" case yields 0 (there is no earlier cycle).
uint32_t estimate_roc(uint16_t s_l, uint32_t roc, uint16_t seq);

// RFC 7714 §8.1 / §9.1 GCM IVs: (00 00 || SSRC || ROC || SEQ) and (00 00 || SSRC || 00 00 ||
// 0 || index), each XOR the 12-octet session salt.
void srtp_iv(const uint8_t salt[kAeadSaltLen], uint32_t ssrc, uint32_t roc, uint16_t seq,
             uint8_t iv[kGcmIvLen]);
void srtcp_iv(const uint8_t salt[kAeadSaltLen], uint32_t ssrc, uint32_t srtcp_index,
              uint8_t iv[kGcmIvLen]);

// Decrypts an SRTP packet laid out as header | ciphertext | tag (the MKI and any RCC ROC already
// cut off by the caller: srtp_len ends with the tag). On success the plaintext payload replaces
// the ciphertext in place and *payload_len is set; the packet then is header | payload.
// On failure the packet is left unchanged, so another candidate key can be tried.
bool srtp_decrypt(const GcmEngine& gcm, const SrtpSessionKeys& keys, uint8_t* pkt, size_t srtp_len,
                  size_t header_len, uint32_t roc, size_t* payload_len);

// Decrypts/authenticates an SRTCP packet laid out as compound | tag | E||index (MKI cut off).
// On success the plain compound RTCP packet is at pkt[0 .. *rtcp_len). On failure the packet is
// left unchanged.
bool srtcp_decrypt(const GcmEngine& gcm, const SrtpSessionKeys& keys, uint8_t* pkt,
                   size_t srtcp_len, size_t* rtcp_len, uint32_t* srtcp_index);

// Encryption counterparts (tests, generator, benchmarks). out must hold len + 16 (+4 for SRTCP)
// and either equal the input or not overlap it. Return 0 on a malformed input (bad RTP header,
// RTCP shorter than 8, index >= 2^31), else the protected length (without MKI; the caller
// appends MKI and RCC ROC).
size_t srtp_encrypt(const GcmEngine& gcm, const SrtpSessionKeys& keys, const uint8_t* rtp,
                    size_t len, uint32_t roc, uint8_t* out);
size_t srtcp_encrypt(const GcmEngine& gcm, const SrtpSessionKeys& keys, const uint8_t* rtcp,
                     size_t len, uint32_t srtcp_index, bool encrypt, uint8_t* out);

// ---- AES-CM + HMAC-SHA1 (RFC 3711 4.1.1, 4.2.1; RFC 6188 for AES-256) on IPsec-MB ----

// Control plane: fills keys for an AES-CM profile from the KDF outputs (k_e 16/32 octets, k_s 14,
// k_a 20). Returns false when the profile is AEAD or a length does not match it.
bool expand_cm_keys(const GcmEngine& engine, SrtpProfile profile, std::span<const uint8_t> k_e,
                    std::span<const uint8_t> k_s, std::span<const uint8_t> k_a,
                    SrtpSessionKeys& out);

// RFC 3711 4.3.1 key derivation with a key derivation rate of 0, allocation-free on IPsec-MB's
// AES-CTR: the RTP and RTCP session keys of a context, expanded for the fast path, from its master
// key and salt (14 octets; an AEAD profile's 12-octet salt is padded with 00 00, RFC 7714 11).
// For keys that arrive on a worker (SDES in an intercepted SDP); the key model derives through
// OpenSSL (srtp_kdf) and must give the same keys. False when a length does not fit the profile.
bool derive_session_keys(const GcmEngine& engine, SrtpProfile profile,
                         std::span<const uint8_t> master_key, std::span<const uint8_t> master_salt,
                         SrtpSessionKeys& rtp, SrtpSessionKeys& rtcp);

// RFC 3711 4.1.1 IVs: (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), i = ROC || SEQ for SRTP and
// the 31-bit SRTCP index for SRTCP.
void cm_srtp_iv(const uint8_t salt[kCmSaltLen], uint32_t ssrc, uint32_t roc, uint16_t seq,
                uint8_t iv[16]);
void cm_srtcp_iv(const uint8_t salt[kCmSaltLen], uint32_t ssrc, uint32_t srtcp_index,
                 uint8_t iv[16]);

// Authenticates and decrypts an SRTP packet laid out as header | ciphertext | MKI | tag
// (srtp_len covers all of it, the RCC-free RFC 3711 layout; mki_len may be 0). The HMAC over
// header | ciphertext | ROC is checked in constant time before anything is decrypted; on success
// the payload is decrypted in place and *payload_len set. On failure the packet is unchanged.
bool srtp_cm_decrypt(const GcmEngine& engine, const SrtpSessionKeys& keys, uint8_t* pkt,
                     size_t srtp_len, size_t header_len, size_t mki_len, uint32_t roc,
                     size_t* payload_len);

// The HMACs of up to kMaxCmMacBatch SRTP packets in one IPsec-MB hash burst (its multi-buffer
// SHA-1 fills its lanes with the whole batch instead of running one lane per packet). Each job
// names the packet, its authenticated length (header | ciphertext), its ROC and keys; on return
// mac holds the full 20-octet HMAC and ok says whether IPsec-MB completed the job. The packets
// are left as they were. For srtp_cm_decrypt_with_mac.
inline constexpr size_t kMaxCmMacBatch = 32;
inline constexpr size_t kHmacSha1Len = 20;
struct CmMacJob {
    uint8_t* pkt = nullptr;
    size_t auth_len = 0;
    uint32_t roc = 0;
    const SrtpSessionKeys* keys = nullptr;
    uint8_t mac[kHmacSha1Len] = {};
    bool ok = false;
};
void srtp_cm_macs(const GcmEngine& engine, CmMacJob* jobs, size_t n);

// srtp_cm_decrypt with the packet's HMAC computed beforehand (srtp_cm_macs, with this ROC and
// these keys): the same checks and result.
bool srtp_cm_decrypt_with_mac(const GcmEngine& engine, const SrtpSessionKeys& keys, uint8_t* pkt,
                              size_t srtp_len, size_t header_len, size_t mki_len, uint32_t roc,
                              const uint8_t mac[kHmacSha1Len], size_t* payload_len);

// SRTCP: compound | E||index | MKI | tag. The tag covers compound | E||index; with E set the
// compound after its first 8 octets is decrypted in place. On failure the packet is unchanged.
bool srtcp_cm_decrypt(const GcmEngine& engine, const SrtpSessionKeys& keys, uint8_t* pkt,
                      size_t srtcp_len, size_t mki_len, size_t* rtcp_len, uint32_t* srtcp_index);

// Encryption counterparts (tests, generator, benchmarks): out must hold len + mki_len + tag
// (+4 for SRTCP) and equal rtp or not overlap it. Return 0 on a malformed input, else the
// protected length (MKI and tag included).
size_t srtp_cm_encrypt(const GcmEngine& engine, const SrtpSessionKeys& keys, const uint8_t* rtp,
                       size_t len, uint32_t roc, const uint8_t* mki, size_t mki_len, uint8_t* out);
size_t srtcp_cm_encrypt(const GcmEngine& engine, const SrtpSessionKeys& keys, const uint8_t* rtcp,
                        size_t len, uint32_t srtcp_index, bool encrypt, const uint8_t* mki,
                        size_t mki_len, uint8_t* out);

}  // namespace liprobe::crypto
