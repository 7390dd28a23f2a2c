// The libsrtp2 crypto policies of each SRTP profile liprobe knows: liprobe-gen's senders and the
// tests that check its captures with libsrtp2 (an implementation independent of ours) build
// their sessions the same way.
#pragma once

#include <srtp2/srtp.h>

#include <stdexcept>

#include "liprobe/crypto/srtp.hpp"

namespace liprobe::gen {

// libsrtp2's policy for RTP and for RTCP of a profile. The _32 suites shorten the SRTP tag
// only: their SRTCP keeps the 80-bit tag (RFC 4568 6.2.2, RFC 6188).
inline void set_libsrtp_policy(crypto::SrtpProfile profile, srtp_crypto_policy_t* rtp,
                               srtp_crypto_policy_t* rtcp) {
    using crypto::SrtpProfile;
    switch (profile) {
        case SrtpProfile::aead_aes_128_gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
            return;
        case SrtpProfile::aead_aes_256_gcm:
            srtp_crypto_policy_set_aes_gcm_256_16_auth(rtp);
            srtp_crypto_policy_set_aes_gcm_256_16_auth(rtcp);
            return;
        case SrtpProfile::aes_cm_128_hmac_sha1_80:
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtp);
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
            return;
        case SrtpProfile::aes_cm_128_hmac_sha1_32:
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp);
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
            return;
        case SrtpProfile::aes_256_cm_hmac_sha1_80:
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(rtp);
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(rtcp);
            return;
        case SrtpProfile::aes_256_cm_hmac_sha1_32:
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(rtp);
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(rtcp);
            return;
    }
    throw std::runtime_error("set_libsrtp_policy: unknown profile");
}

}  // namespace liprobe::gen
