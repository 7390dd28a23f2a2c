// RFC 7714 SRTP/SRTCP AEAD transforms over GcmEngine. Every access is preceded by a length check
// against the packet bounds the caller passes; nothing here allocates.
#include "liprobe/crypto/srtp.hpp"

#include <openssl/crypto.h>

#include <cstring>

#include "byte_order.hpp"

namespace liprobe::crypto {

namespace {

using detail::kSrtcpEBit;
using detail::kSrtcpIndexMask;
using detail::load_be16;
using detail::load_be32;
using detail::store_be32;

constexpr size_t kSrtcpMinLen = kRtcpHeaderLen + kGcmTagLen + kSrtcpIndexLen;

}  // namespace

void wipe(SrtpSessionKeys& keys) {
    wipe(keys.key);
    OPENSSL_cleanse(&keys.cm, sizeof(keys.cm));  // shares the storage; cleansed on its own too
    OPENSSL_cleanse(keys.salt, sizeof(keys.salt));
}

size_t rtp_header_length(const uint8_t* pkt, size_t len) {
    if (pkt == nullptr || len < kRtpFixedHeaderLen) return 0;
    if ((pkt[0] >> 6) != 2) return 0;
    size_t hdr = kRtpFixedHeaderLen + 4 * size_t{pkt[0] & 0x0fu};
    if (hdr > len) return 0;
    if ((pkt[0] & 0x10u) != 0) {  // X: 4-octet extension header, then length * 4 octets
        if (len - hdr < 4) return 0;
        const size_t ext_words = load_be16(pkt + hdr + 2);
        hdr += 4 + 4 * ext_words;
        if (hdr > len) return 0;
    }
    return hdr;
}

uint32_t estimate_roc(uint16_t s_l, uint32_t roc, uint16_t seq) {
    // RFC 3711 Appendix A. With ROC 0 there is no earlier cycle a late packet could belong to,
    // so the "ROC - 1" branch stays at 0 instead of wrapping to 2^32 - 1.
    const int32_t diff = static_cast<int32_t>(seq) - static_cast<int32_t>(s_l);
    if (s_l < 32768) {
        if (diff > 32768 && roc != 0) return roc - 1;
        return roc;
    }
    if (static_cast<int32_t>(s_l) - 32768 > static_cast<int32_t>(seq)) return roc + 1;
    return roc;
}

void srtp_iv(const uint8_t salt[kAeadSaltLen], uint32_t ssrc, uint32_t roc, uint16_t seq,
             uint8_t iv[kGcmIvLen]) {
    uint8_t in[kGcmIvLen] = {0, 0};
    store_be32(in + 2, ssrc);
    store_be32(in + 6, roc);
    in[10] = static_cast<uint8_t>(seq >> 8);
    in[11] = static_cast<uint8_t>(seq);
    for (size_t i = 0; i < kGcmIvLen; ++i) iv[i] = in[i] ^ salt[i];
}

void srtcp_iv(const uint8_t salt[kAeadSaltLen], uint32_t ssrc, uint32_t srtcp_index,
              uint8_t iv[kGcmIvLen]) {
    uint8_t in[kGcmIvLen] = {0, 0};
    store_be32(in + 2, ssrc);
    in[6] = 0;
    in[7] = 0;
    store_be32(in + 8, srtcp_index & kSrtcpIndexMask);
    for (size_t i = 0; i < kGcmIvLen; ++i) iv[i] = in[i] ^ salt[i];
}

bool srtp_decrypt(const GcmEngine& gcm, const SrtpSessionKeys& keys, uint8_t* pkt, size_t srtp_len,
                  size_t header_len, uint32_t roc, size_t* payload_len) {
    if (pkt == nullptr || header_len < kRtpFixedHeaderLen || header_len > srtp_len ||
        srtp_len - header_len < kGcmTagLen) {
        return false;
    }
    uint8_t iv[kGcmIvLen];
    srtp_iv(keys.salt, load_be32(pkt + 8), roc, load_be16(pkt + 2), iv);
    const size_t ct_len = srtp_len - header_len - kGcmTagLen;
    uint8_t* body = pkt + header_len;
    if (!gcm.decrypt(keys.key, iv, pkt, header_len, body, body, ct_len, body + ct_len)) {
        return false;
    }
    if (payload_len != nullptr) *payload_len = ct_len;
    return true;
}

bool srtcp_decrypt(const GcmEngine& gcm, const SrtpSessionKeys& keys, uint8_t* pkt,
                   size_t srtcp_len, size_t* rtcp_len, uint32_t* srtcp_index) {
    if (pkt == nullptr || srtcp_len < kSrtcpMinLen) return false;
    const size_t compound_len = srtcp_len - kSrtcpIndexLen - kGcmTagLen;
    uint8_t* tag_p = pkt + compound_len;
    uint8_t* trailer_p = tag_p + kGcmTagLen;
    const uint32_t trailer = load_be32(trailer_p);
    const uint32_t index = trailer & kSrtcpIndexMask;
    uint8_t iv[kGcmIvLen];
    srtcp_iv(keys.salt, load_be32(pkt + 4), index, iv);

    bool ok;
    if ((trailer & kSrtcpEBit) != 0) {
        // RFC 7714 §9: AAD = first 8 octets (header + SSRC) || E|index; the rest is encrypted.
        uint8_t aad[kRtcpHeaderLen + kSrtcpIndexLen];
        std::memcpy(aad, pkt, kRtcpHeaderLen);
        std::memcpy(aad + kRtcpHeaderLen, trailer_p, kSrtcpIndexLen);
        uint8_t* ct = pkt + kRtcpHeaderLen;
        ok = gcm.decrypt(keys.key, iv, aad, sizeof(aad), ct, ct, compound_len - kRtcpHeaderLen,
                         tag_p);
    } else {
        // E=0: AAD = whole compound || E|index, empty plaintext. The tag sits between the two
        // AAD parts, so move the trailer over the tag to make the AAD contiguous, and put both
        // back should authentication fail (the packet must stay intact for another key).
        uint8_t tag[kGcmTagLen];
        std::memcpy(tag, tag_p, kGcmTagLen);
        std::memmove(tag_p, trailer_p, kSrtcpIndexLen);
        ok =
            gcm.decrypt(keys.key, iv, pkt, compound_len + kSrtcpIndexLen, nullptr, nullptr, 0, tag);
        if (!ok) {
            store_be32(trailer_p, trailer);
            std::memcpy(tag_p, tag, kGcmTagLen);
        }
    }
    if (!ok) return false;
    if (rtcp_len != nullptr) *rtcp_len = compound_len;
    if (srtcp_index != nullptr) *srtcp_index = index;
    return true;
}

size_t srtp_encrypt(const GcmEngine& gcm, const SrtpSessionKeys& keys, const uint8_t* rtp,
                    size_t len, uint32_t roc, uint8_t* out) {
    const size_t header_len = rtp_header_length(rtp, len);
    if (header_len == 0 || out == nullptr) return 0;
    if (out != rtp) std::memmove(out, rtp, header_len);
    uint8_t iv[kGcmIvLen];
    srtp_iv(keys.salt, load_be32(rtp + 8), roc, load_be16(rtp + 2), iv);
    const size_t pt_len = len - header_len;
    gcm.encrypt(keys.key, iv, out, header_len, rtp + header_len, out + header_len, pt_len,
                out + len);
    return len + kGcmTagLen;
}

size_t srtcp_encrypt(const GcmEngine& gcm, const SrtpSessionKeys& keys, const uint8_t* rtcp,
                     size_t len, uint32_t srtcp_index, bool encrypt, uint8_t* out) {
    if (rtcp == nullptr || out == nullptr || len < kRtcpHeaderLen ||
        (srtcp_index & kSrtcpEBit) != 0) {
        return 0;
    }
    const uint32_t trailer = srtcp_index | (encrypt ? kSrtcpEBit : 0);
    uint8_t iv[kGcmIvLen];
    srtcp_iv(keys.salt, load_be32(rtcp + 4), srtcp_index, iv);
    if (out != rtcp) std::memmove(out, rtcp, encrypt ? kRtcpHeaderLen : len);
    uint8_t* tag_p = out + len;
    uint8_t* trailer_p = tag_p + kGcmTagLen;
    if (encrypt) {
        uint8_t aad[kRtcpHeaderLen + kSrtcpIndexLen];
        std::memcpy(aad, out, kRtcpHeaderLen);
        store_be32(aad + kRtcpHeaderLen, trailer);
        gcm.encrypt(keys.key, iv, aad, sizeof(aad), rtcp + kRtcpHeaderLen, out + kRtcpHeaderLen,
                    len - kRtcpHeaderLen, tag_p);
    } else {
        // AAD = compound || trailer: write the trailer right after the compound first, then
        // move it behind the tag.
        uint8_t tag[kGcmTagLen];
        store_be32(tag_p, trailer);
        gcm.encrypt(keys.key, iv, out, len + kSrtcpIndexLen, nullptr, nullptr, 0, tag);
        std::memcpy(tag_p, tag, kGcmTagLen);
    }
    store_be32(trailer_p, trailer);
    return len + kGcmTagLen + kSrtcpIndexLen;
}

}  // namespace liprobe::crypto
