// The libsrtp2 anchor's sessions, built the one way both benchmarks use them: one srtp_t per
// stream (ssrc_specific), one master key under its MKI, replay window 1024.
#pragma once

#include <srtp2/srtp.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace liprobe::bench {

// AES-128-GCM (salt_len 12) or AES_CM_128_HMAC_SHA1_80 (salt_len 14). master: 16 + salt_len
// octets of scratch for the key || salt (srtp_create copies it).
inline srtp_t libsrtp_session(uint32_t ssrc, const uint8_t* key, const uint8_t* salt,
                              size_t salt_len, const uint8_t* mki, size_t mki_len,
                              uint8_t* master) {
    std::memcpy(master, key, 16);
    std::memcpy(master + 16, salt, salt_len);
    srtp_master_key_t mk{master, const_cast<uint8_t*>(mki), static_cast<unsigned>(mki_len)};
    srtp_master_key_t* keys[1] = {&mk};
    srtp_policy_t policy{};
    if (salt_len == 14) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    } else {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    }
    policy.ssrc.type = ssrc_specific;
    policy.ssrc.value = ssrc;
    policy.keys = keys;
    policy.num_master_keys = 1;
    policy.window_size = 1024;
    srtp_t session = nullptr;
    if (srtp_create(&session, &policy) != srtp_err_status_ok) std::abort();
    return session;
}

}  // namespace liprobe::bench
