// libsrtp2 sessions for each SRTP profile liprobe knows: liprobe-gen's senders and the tests
// that cross-check against libsrtp2 (an implementation independent of ours) build their
// sessions the same way, from the same policy table.
#pragma once

#include <srtp2/srtp.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

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

// A libsrtp2 session of one master key (key || salt; with an MKI when mki_len > 0), replay
// window 1024, for the SSRCs ssrc names (ssrc_specific: that one stream, created at once, so
// srtp_set_stream_roc works before its first packet). rtcp_auth_only: SRTCP authenticated but
// not encrypted (E = 0). srtp_create copies the key material. libsrtp2 must be initialised
// (srtp_init); throws std::runtime_error when it refuses the session.
inline srtp_t libsrtp_session(crypto::SrtpProfile profile, srtp_ssrc_t ssrc, uint8_t* key_salt,
                              uint8_t* mki, size_t mki_len, bool rtcp_auth_only = false) {
    srtp_policy_t policy{};
    set_libsrtp_policy(profile, &policy.rtp, &policy.rtcp);
    if (rtcp_auth_only) policy.rtcp.sec_serv = sec_serv_auth;
    policy.ssrc = ssrc;
    srtp_master_key_t master{key_salt, mki, static_cast<unsigned>(mki_len)};
    srtp_master_key_t* list[1] = {&master};
    if (mki_len > 0) {
        policy.keys = list;
        policy.num_master_keys = 1;
    } else {
        policy.key = key_salt;
    }
    policy.window_size = 1024;
    srtp_t session = nullptr;
    const srtp_err_status_t status = srtp_create(&session, &policy);
    if (status != srtp_err_status_ok) {
        throw std::runtime_error("libsrtp2 srtp_create failed: status " +
                                 std::to_string(static_cast<int>(status)));
    }
    return session;
}

}  // namespace liprobe::gen
