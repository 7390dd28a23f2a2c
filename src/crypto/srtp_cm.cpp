// RFC 3711 SRTP/SRTCP with AES-CM and HMAC-SHA1 (AES_CM_128_HMAC_SHA1_80/32, RFC 6188's
// AES_256_CM_HMAC_SHA1_80/32) on Intel IPsec-MB: the keystream is its AES-CTR (IMB_CIPHER_CNTR)
// and the tag its HMAC-SHA1, both through the synchronous burst API. Every access is preceded by
// a length check against the bounds the caller passes; nothing here allocates.
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <cstring>

#include "byte_order.hpp"
#include "imb_jobs.hpp"
#include "liprobe/crypto/srtp.hpp"

namespace liprobe::crypto {

namespace {

using detail::kSrtcpEBit;
using detail::kSrtcpIndexMask;
using detail::load_be16;
using detail::load_be32;
using detail::store_be32;

static_assert(IMB_SHA1_DIGEST_SIZE_IN_BYTES <= sizeof(CmHmacKey::ipad_hash));

constexpr SrtpProfileInfo kProfiles[kSrtpProfileCount] = {
    {"aead_aes_128_gcm", 16, kAeadSaltLen, 0, kGcmTagLen, true},
    {"aead_aes_256_gcm", 32, kAeadSaltLen, 0, kGcmTagLen, true},
    {"aes_cm_128_hmac_sha1_80", 16, kCmSaltLen, kHmacSha1KeyLen, 10, false},
    {"aes_cm_128_hmac_sha1_32", 16, kCmSaltLen, kHmacSha1KeyLen, 4, false},
    {"aes_256_cm_hmac_sha1_80", 32, kCmSaltLen, kHmacSha1KeyLen, 10, false},
    {"aes_256_cm_hmac_sha1_32", 32, kCmSaltLen, kHmacSha1KeyLen, 4, false},
};

constexpr size_t kCmIvLen = 16;

static_assert(kHmacSha1Len == IMB_SHA1_DIGEST_SIZE_IN_BYTES);

void hmac_job(IMB_JOB& job, const CmHmacKey& k, const uint8_t* msg, size_t len, uint8_t* mac) {
    detail::hmac_job(job, IMB_AUTH_HMAC_SHA_1, k.ipad_hash, k.opad_hash, msg, len, mac,
                     IMB_SHA1_DIGEST_SIZE_IN_BYTES);
}

// HMAC-SHA1 over msg[0 .. len) with the precomputed pad states; the full 20-octet MAC to mac.
// Returns false when IPsec-MB refused the job (mac then holds no MAC).
bool hmac_sha1(IMB_MGR* mgr, const CmHmacKey& k, const uint8_t* msg, size_t len,
               uint8_t mac[IMB_SHA1_DIGEST_SIZE_IN_BYTES]) {
    IMB_JOB job;
    hmac_job(job, k, msg, len, mac);
    const uint32_t done = IMB_SUBMIT_HASH_BURST(mgr, &job, 1, IMB_AUTH_HMAC_SHA_1);
    return done == 1 && job.status == IMB_STATUS_COMPLETED;
}

// AES-CTR over buf[0 .. len) in place with the 16-octet counter block iv.
bool aes_cm(IMB_MGR* mgr, const CmHmacKey& k, const uint8_t iv[kCmIvLen], uint8_t* buf,
            size_t len) {
    return detail::aes_ctr(mgr, k.enc_keys, k.key_len, iv, buf, len);
}

// Computes the MAC of msg[0 .. len) || roc (SRTP, with_roc) or of msg[0 .. len) (SRTCP).
// For the ROC the four octets behind the message are borrowed and restored: they are the
// packet's own MKI or tag.
bool packet_mac(IMB_MGR* mgr, const CmHmacKey& k, uint8_t* msg, size_t len, bool with_roc,
                uint32_t roc, uint8_t mac[IMB_SHA1_DIGEST_SIZE_IN_BYTES]) {
    if (!with_roc) return hmac_sha1(mgr, k, msg, len, mac);
    uint8_t saved[4];
    std::memcpy(saved, msg + len, 4);
    store_be32(msg + len, roc);
    const bool ok = hmac_sha1(mgr, k, msg, len + 4, mac);
    std::memcpy(msg + len, saved, 4);
    return ok;
}

// Constant-time comparison of the received tag with the computed MAC's first tag_len octets.
bool tag_matches(const uint8_t* received, const uint8_t* mac, size_t tag_len, bool mac_ok) {
    const bool same = CRYPTO_memcmp(received, mac, tag_len) == 0;
    return mac_ok && same;
}

}  // namespace

const SrtpProfileInfo& profile_info(SrtpProfile p) {
    const auto i = static_cast<size_t>(p);
    return kProfiles[i < kSrtpProfileCount ? i : 0];
}

bool profile_from_name(const char* name, size_t len, SrtpProfile& out) {
    for (size_t i = 0; i < kSrtpProfileCount; ++i) {
        if (std::strlen(kProfiles[i].name) == len &&
            std::memcmp(kProfiles[i].name, name, len) == 0) {
            out = static_cast<SrtpProfile>(i);
            return true;
        }
    }
    return false;
}

bool expand_cm_keys(const GcmEngine& engine, SrtpProfile profile, std::span<const uint8_t> k_e,
                    std::span<const uint8_t> k_s, std::span<const uint8_t> k_a,
                    SrtpSessionKeys& out) {
    const SrtpProfileInfo& info = profile_info(profile);
    if (static_cast<size_t>(profile) >= kSrtpProfileCount || info.aead ||
        k_e.size() != info.key_len || k_s.size() != kCmSaltLen || k_a.size() != kHmacSha1KeyLen) {
        return false;
    }
    IMB_MGR* mgr = engine.manager();
    out.cm = CmHmacKey{};
    alignas(16) uint8_t dec_keys[16 * 15];
    if (k_e.size() == 32) {
        IMB_AES_KEYEXP_256(mgr, k_e.data(), out.cm.enc_keys, dec_keys);
    } else {
        IMB_AES_KEYEXP_128(mgr, k_e.data(), out.cm.enc_keys, dec_keys);
    }
    OPENSSL_cleanse(dec_keys, sizeof(dec_keys));
    // HMAC (RFC 2104) with a 20-octet key: the key padded to one SHA-1 block, XOR ipad / opad,
    // each compressed once; IPsec-MB's HMAC jobs start from these two states.
    detail::hmac_pad_states<IMB_SHA1_BLOCK_SIZE>(
        k_a.data(), k_a.size(), out.cm.ipad_hash, out.cm.opad_hash,
        [mgr](const uint8_t* block, uint8_t* state) { IMB_SHA1_ONE_BLOCK(mgr, block, state); });
    std::memcpy(out.cm.salt, k_s.data(), kCmSaltLen);
    out.cm.key_len = static_cast<uint8_t>(info.key_len);
    out.cm.tag_len = static_cast<uint8_t>(info.tag_len);
    OPENSSL_cleanse(out.salt, sizeof(out.salt));
    out.profile = profile;
    return true;
}

namespace {

// RFC 3711 4.3.1 labels: RTP k_e, k_a, k_s, then the same for RTCP.
enum KdfLabel : uint8_t { kRtpKe = 0, kRtpKa, kRtpKs, kRtcpKe, kRtcpKa, kRtcpKs };

// One session key: the AES-CM keystream of the master key under IV = (salt XOR label << 48) || 00
// 00 (r = 0), i.e. AES-CTR over zeros.
bool kdf_keystream(IMB_MGR* mgr, const CmHmacKey& master, const uint8_t salt[kCmSaltLen],
                   uint8_t label, uint8_t* out, size_t len) {
    alignas(16) uint8_t iv[kCmIvLen] = {};
    std::memcpy(iv, salt, kCmSaltLen);
    iv[7] ^= label;
    std::memset(out, 0, len);
    const bool ok = aes_cm(mgr, master, iv, out, len);
    OPENSSL_cleanse(iv, sizeof(iv));
    return ok;
}

// One direction (labels base .. base + 2): expanded as the fast path wants it.
bool derive_direction(const GcmEngine& engine, SrtpProfile profile, const CmHmacKey& master,
                      const uint8_t salt[kCmSaltLen], uint8_t base, SrtpSessionKeys& out) {
    const SrtpProfileInfo& info = profile_info(profile);
    IMB_MGR* mgr = engine.manager();
    uint8_t k_e[32], k_a[kHmacSha1KeyLen], k_s[kCmSaltLen];
    bool ok = kdf_keystream(mgr, master, salt, base, k_e, info.key_len) &&
              kdf_keystream(mgr, master, salt, static_cast<uint8_t>(base + 2), k_s, info.salt_len);
    if (ok && info.aead) {
        ok = engine.expand_key(std::span<const uint8_t>(k_e, info.key_len), out.key);
        std::memcpy(out.salt, k_s, kAeadSaltLen);
        out.profile = profile;
    } else if (ok) {
        ok = kdf_keystream(mgr, master, salt, static_cast<uint8_t>(base + 1), k_a, sizeof(k_a)) &&
             expand_cm_keys(engine, profile, std::span<const uint8_t>(k_e, info.key_len),
                            std::span<const uint8_t>(k_s, kCmSaltLen), k_a, out);
    }
    OPENSSL_cleanse(k_e, sizeof(k_e));
    OPENSSL_cleanse(k_a, sizeof(k_a));
    OPENSSL_cleanse(k_s, sizeof(k_s));
    return ok;
}

}  // namespace

bool derive_session_keys(const GcmEngine& engine, SrtpProfile profile,
                         std::span<const uint8_t> master_key, std::span<const uint8_t> master_salt,
                         SrtpSessionKeys& rtp, SrtpSessionKeys& rtcp) {
    if (static_cast<size_t>(profile) >= kSrtpProfileCount) return false;
    const SrtpProfileInfo& info = profile_info(profile);
    if (master_key.size() != info.key_len || master_salt.size() != info.salt_len) return false;
    IMB_MGR* mgr = engine.manager();
    CmHmacKey master;
    alignas(16) uint8_t dec_keys[16 * 15];
    if (master_key.size() == 32) {
        IMB_AES_KEYEXP_256(mgr, master_key.data(), master.enc_keys, dec_keys);
    } else {
        IMB_AES_KEYEXP_128(mgr, master_key.data(), master.enc_keys, dec_keys);
    }
    master.key_len = static_cast<uint8_t>(master_key.size());
    uint8_t salt[kCmSaltLen] = {};
    std::memcpy(salt, master_salt.data(), master_salt.size());
    const bool ok = derive_direction(engine, profile, master, salt, kRtpKe, rtp) &&
                    derive_direction(engine, srtcp_profile(profile), master, salt, kRtcpKe, rtcp);
    OPENSSL_cleanse(dec_keys, sizeof(dec_keys));
    OPENSSL_cleanse(&master, sizeof(master));
    OPENSSL_cleanse(salt, sizeof(salt));
    return ok;
}

void cm_srtp_iv(const uint8_t salt[kCmSaltLen], uint32_t ssrc, uint32_t roc, uint16_t seq,
                uint8_t iv[16]) {
    std::memcpy(iv, salt, kCmSaltLen);
    iv[14] = 0;
    iv[15] = 0;
    iv[4] ^= static_cast<uint8_t>(ssrc >> 24);
    iv[5] ^= static_cast<uint8_t>(ssrc >> 16);
    iv[6] ^= static_cast<uint8_t>(ssrc >> 8);
    iv[7] ^= static_cast<uint8_t>(ssrc);
    iv[8] ^= static_cast<uint8_t>(roc >> 24);
    iv[9] ^= static_cast<uint8_t>(roc >> 16);
    iv[10] ^= static_cast<uint8_t>(roc >> 8);
    iv[11] ^= static_cast<uint8_t>(roc);
    iv[12] ^= static_cast<uint8_t>(seq >> 8);
    iv[13] ^= static_cast<uint8_t>(seq);
}

void cm_srtcp_iv(const uint8_t salt[kCmSaltLen], uint32_t ssrc, uint32_t srtcp_index,
                 uint8_t iv[16]) {
    // The 31-bit index as a 48-bit i: its top 16 bits are zero.
    cm_srtp_iv(salt, ssrc, (srtcp_index & kSrtcpIndexMask) >> 16,
               static_cast<uint16_t>(srtcp_index), iv);
}

namespace {

// The bounds every SRTP AES-CM decryption checks; false when the packet cannot be one.
bool srtp_cm_bounds(const SrtpSessionKeys& keys, const uint8_t* pkt, size_t srtp_len,
                    size_t header_len, size_t mki_len) {
    const size_t tag_len = keys.cm.tag_len;
    return pkt != nullptr && !profile_info(keys.profile).aead && tag_len >= kMinTagLen &&
           tag_len <= kMaxCmTagLen && header_len >= kRtpFixedHeaderLen && header_len <= srtp_len &&
           srtp_len - header_len >= mki_len + tag_len;
}

// Tag check against mac (constant time), then the payload decrypted in place.
bool srtp_cm_finish(IMB_MGR* mgr, const CmHmacKey& k, uint8_t* pkt, size_t srtp_len,
                    size_t header_len, size_t mki_len, uint32_t roc, const uint8_t* mac,
                    bool mac_ok, size_t* payload_len) {
    const size_t auth_len = srtp_len - mki_len - k.tag_len;  // header | ciphertext
    if (!tag_matches(pkt + srtp_len - k.tag_len, mac, k.tag_len, mac_ok)) return false;
    uint8_t iv[kCmIvLen];
    cm_srtp_iv(k.salt, load_be32(pkt + 8), roc, load_be16(pkt + 2), iv);
    if (!aes_cm(mgr, k, iv, pkt + header_len, auth_len - header_len)) return false;
    if (payload_len != nullptr) *payload_len = auth_len - header_len;
    return true;
}

}  // namespace

bool srtp_cm_decrypt(const GcmEngine& engine, const SrtpSessionKeys& keys, uint8_t* pkt,
                     size_t srtp_len, size_t header_len, size_t mki_len, uint32_t roc,
                     size_t* payload_len) {
    if (!srtp_cm_bounds(keys, pkt, srtp_len, header_len, mki_len)) return false;
    const CmHmacKey& k = keys.cm;
    const size_t auth_len = srtp_len - mki_len - k.tag_len;
    uint8_t mac[IMB_SHA1_DIGEST_SIZE_IN_BYTES];
    // packet_mac restores the octets it borrows (the tag's, without MKI) before the comparison.
    const bool mac_ok = packet_mac(engine.manager(), k, pkt, auth_len, true, roc, mac);
    const bool ok = srtp_cm_finish(engine.manager(), k, pkt, srtp_len, header_len, mki_len, roc,
                                   mac, mac_ok, payload_len);
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

bool srtp_cm_decrypt_with_mac(const GcmEngine& engine, const SrtpSessionKeys& keys, uint8_t* pkt,
                              size_t srtp_len, size_t header_len, size_t mki_len, uint32_t roc,
                              const uint8_t mac[kHmacSha1Len], size_t* payload_len) {
    if (!srtp_cm_bounds(keys, pkt, srtp_len, header_len, mki_len)) return false;
    return srtp_cm_finish(engine.manager(), keys.cm, pkt, srtp_len, header_len, mki_len, roc, mac,
                          true, payload_len);
}

void srtp_cm_macs(const GcmEngine& engine, CmMacJob* jobs, size_t n) {
    if (n > kMaxCmMacBatch) n = kMaxCmMacBatch;
    IMB_JOB imb[kMaxCmMacBatch];
    uint8_t saved[kMaxCmMacBatch][4];
    size_t m = 0;  // jobs handed to IPsec-MB, in order; the others are not ok
    size_t which[kMaxCmMacBatch];
    for (size_t i = 0; i < n; ++i) {
        CmMacJob& j = jobs[i];
        j.ok = false;
        if (j.pkt == nullptr || j.keys == nullptr || profile_info(j.keys->profile).aead) continue;
        // header | ciphertext | ROC: the ROC borrows the four octets behind the ciphertext (MKI
        // or tag, at least four octets are there: the caller's bounds), restored below.
        std::memcpy(saved[m], j.pkt + j.auth_len, 4);
        store_be32(j.pkt + j.auth_len, j.roc);
        hmac_job(imb[m], j.keys->cm, j.pkt, j.auth_len + 4, j.mac);
        which[m++] = i;
    }
    if (m == 0) return;
    const uint32_t done =
        IMB_SUBMIT_HASH_BURST(engine.manager(), imb, static_cast<uint32_t>(m), IMB_AUTH_HMAC_SHA_1);
    for (size_t k = 0; k < m; ++k) {
        CmMacJob& j = jobs[which[k]];
        std::memcpy(j.pkt + j.auth_len, saved[k], 4);
        j.ok = done == m && imb[k].status == IMB_STATUS_COMPLETED;
    }
}

bool srtcp_cm_decrypt(const GcmEngine& engine, const SrtpSessionKeys& keys, uint8_t* pkt,
                      size_t srtcp_len, size_t mki_len, size_t* rtcp_len, uint32_t* srtcp_index) {
    const CmHmacKey& k = keys.cm;
    const size_t tag_len = k.tag_len;
    if (pkt == nullptr || keys.profile == SrtpProfile::aead_aes_128_gcm ||
        keys.profile == SrtpProfile::aead_aes_256_gcm || tag_len < kMinTagLen ||
        tag_len > kMaxCmTagLen || srtcp_len < kRtcpHeaderLen + kSrtcpIndexLen + mki_len + tag_len) {
        return false;
    }
    const size_t auth_len = srtcp_len - mki_len - tag_len;  // compound | E||index
    const size_t compound_len = auth_len - kSrtcpIndexLen;
    uint8_t mac[IMB_SHA1_DIGEST_SIZE_IN_BYTES];
    const bool mac_ok = packet_mac(engine.manager(), k, pkt, auth_len, false, 0, mac);
    const bool ok = tag_matches(pkt + srtcp_len - tag_len, mac, tag_len, mac_ok);
    OPENSSL_cleanse(mac, sizeof(mac));
    if (!ok) return false;
    const uint32_t trailer = load_be32(pkt + compound_len);
    const uint32_t index = trailer & kSrtcpIndexMask;
    if ((trailer & kSrtcpEBit) != 0) {
        uint8_t iv[kCmIvLen];
        cm_srtcp_iv(k.salt, load_be32(pkt + 4), index, iv);
        if (!aes_cm(engine.manager(), k, iv, pkt + kRtcpHeaderLen, compound_len - kRtcpHeaderLen))
            return false;
    }
    if (rtcp_len != nullptr) *rtcp_len = compound_len;
    if (srtcp_index != nullptr) *srtcp_index = index;
    return true;
}

size_t srtp_cm_encrypt(const GcmEngine& engine, const SrtpSessionKeys& keys, const uint8_t* rtp,
                       size_t len, uint32_t roc, const uint8_t* mki, size_t mki_len, uint8_t* out) {
    const CmHmacKey& k = keys.cm;
    const size_t header_len = rtp_header_length(rtp, len);
    if (header_len == 0 || out == nullptr || (mki_len != 0 && mki == nullptr) ||
        profile_info(keys.profile).aead) {
        return 0;
    }
    if (out != rtp) std::memmove(out, rtp, len);
    uint8_t iv[kCmIvLen];
    cm_srtp_iv(k.salt, load_be32(rtp + 8), roc, load_be16(rtp + 2), iv);
    if (!aes_cm(engine.manager(), k, iv, out + header_len, len - header_len)) return 0;
    // MAC over header | ciphertext | ROC: write the ROC where the MKI goes, then the MKI.
    uint8_t mac[IMB_SHA1_DIGEST_SIZE_IN_BYTES];
    store_be32(out + len, roc);
    if (!hmac_sha1(engine.manager(), k, out, len + 4, mac)) return 0;
    if (mki_len != 0) std::memcpy(out + len, mki, mki_len);
    std::memcpy(out + len + mki_len, mac, k.tag_len);
    OPENSSL_cleanse(mac, sizeof(mac));
    return len + mki_len + k.tag_len;
}

size_t srtcp_cm_encrypt(const GcmEngine& engine, const SrtpSessionKeys& keys, const uint8_t* rtcp,
                        size_t len, uint32_t srtcp_index, bool encrypt, const uint8_t* mki,
                        size_t mki_len, uint8_t* out) {
    const CmHmacKey& k = keys.cm;
    if (rtcp == nullptr || out == nullptr || len < kRtcpHeaderLen ||
        (srtcp_index & kSrtcpEBit) != 0 || (mki_len != 0 && mki == nullptr) ||
        profile_info(keys.profile).aead) {
        return 0;
    }
    if (out != rtcp) std::memmove(out, rtcp, len);
    if (encrypt) {
        uint8_t iv[kCmIvLen];
        cm_srtcp_iv(k.salt, load_be32(rtcp + 4), srtcp_index, iv);
        if (!aes_cm(engine.manager(), k, iv, out + kRtcpHeaderLen, len - kRtcpHeaderLen)) return 0;
    }
    store_be32(out + len, srtcp_index | (encrypt ? kSrtcpEBit : 0));
    uint8_t mac[IMB_SHA1_DIGEST_SIZE_IN_BYTES];
    if (!hmac_sha1(engine.manager(), k, out, len + kSrtcpIndexLen, mac)) return 0;
    if (mki_len != 0) std::memcpy(out + len + kSrtcpIndexLen, mki, mki_len);
    std::memcpy(out + len + kSrtcpIndexLen + mki_len, mac, k.tag_len);
    OPENSSL_cleanse(mac, sizeof(mac));
    return len + kSrtcpIndexLen + mki_len + k.tag_len;
}

}  // namespace liprobe::crypto
