// SRTP/SRTCP AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714) on one packet whose session keys are
// known. Packet-layout helpers never read outside [pkt, pkt + len). No allocation, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "liprobe/crypto/gcm.hpp"

namespace liprobe::crypto {

// Session keys of one direction of one crypto context (RTP or RTCP): k_e expanded, k_s.
struct SrtpSessionKeys {
    GcmKey key;
    uint8_t salt[kAeadSaltLen] = {};
};

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

}  // namespace liprobe::crypto
