// A libsrtp2 sender for any SRTP profile the probe decrypts: an implementation independent of
// ours protects the packets the tests feed (one master key, with or without an MKI).
#pragma once

#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "libsrtp_policy.hpp"
#include "liprobe/crypto/srtp.hpp"

namespace liprobe::test {

// libsrtp2's policies for a profile (the _32 suites keep an 80-bit SRTCP tag, RFC 4568 6.2.2):
// liprobe-gen's table, so that the tests and the generator's captures agree.
inline void set_libsrtp_policy(crypto::SrtpProfile profile, srtp_policy_t& policy) {
    gen::set_libsrtp_policy(profile, &policy.rtp, &policy.rtcp);
}

// A libsrtp2 session of one master key (key || salt; with an MKI when mki_len > 0), replay window
// 1024. rtcp_auth_only: SRTCP authenticated but not encrypted (E = 0). srtp_create copies the key
// material, so the caller's buffers need not outlive the call.
// liprobe-gen's builder (libsrtp_policy.hpp); a refused session is a test failure (nullptr).
inline srtp_t make_libsrtp_session(crypto::SrtpProfile profile, srtp_ssrc_type_t direction,
                                   uint8_t* key_salt, uint8_t* mki, size_t mki_len,
                                   bool rtcp_auth_only = false, uint32_t ssrc = 0) {
    // Once per process; a suite may have initialised libsrtp2 already (a second srtp_init then
    // fails harmlessly). A real failure shows as srtp_create's.
    static const srtp_err_status_t init_status = srtp_init();
    (void)init_status;
    try {
        return gen::libsrtp_session(profile, srtp_ssrc_t{direction, ssrc}, key_salt, mki, mki_len,
                                    rtcp_auth_only);
    } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        return nullptr;
    }
}

class LibsrtpSender {
  public:
    // key_salt: master key || master salt; mki empty: no MKI.
    LibsrtpSender(crypto::SrtpProfile profile, const std::vector<uint8_t>& key_salt,
                  const std::vector<uint8_t>& mki = {})
        : key_salt_(key_salt),
          mki_(mki),
          session_(make_libsrtp_session(profile, ssrc_any_outbound, key_salt_.data(), mki_.data(),
                                        mki_.size())) {}
    ~LibsrtpSender() {
        if (session_ != nullptr) srtp_dealloc(session_);
    }
    LibsrtpSender(const LibsrtpSender&) = delete;
    LibsrtpSender& operator=(const LibsrtpSender&) = delete;

    std::vector<uint8_t> protect_rtp(std::vector<uint8_t> p) {
        return protect(std::move(p), false);
    }
    std::vector<uint8_t> protect_rtcp(std::vector<uint8_t> p) {
        return protect(std::move(p), true);
    }

  private:
    std::vector<uint8_t> protect(std::vector<uint8_t> p, bool rtcp) {
        int len = static_cast<int>(p.size());
        p.resize(p.size() + SRTP_MAX_TRAILER_LEN + 16);
        const bool mki = !mki_.empty();
        const srtp_err_status_t st =
            rtcp ? (mki ? srtp_protect_rtcp_mki(session_, p.data(), &len, 1, 0)
                        : srtp_protect_rtcp(session_, p.data(), &len))
                 : (mki ? srtp_protect_mki(session_, p.data(), &len, 1, 0)
                        : srtp_protect(session_, p.data(), &len));
        EXPECT_EQ(st, srtp_err_status_ok);
        p.resize(static_cast<size_t>(len));
        return p;
    }
    std::vector<uint8_t> key_salt_, mki_;
    srtp_t session_ = nullptr;
};

}  // namespace liprobe::test
