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

class LibsrtpSender {
  public:
    // key_salt: master key || master salt; mki empty: no MKI.
    LibsrtpSender(crypto::SrtpProfile profile, const std::vector<uint8_t>& key_salt,
                  const std::vector<uint8_t>& mki = {})
        : key_salt_(key_salt), mki_(mki) {
        static const bool initialised = srtp_init() == srtp_err_status_ok;
        EXPECT_TRUE(initialised);
        srtp_policy_t policy;
        std::memset(&policy, 0, sizeof(policy));
        set_libsrtp_policy(profile, policy);
        policy.ssrc.type = ssrc_any_outbound;
        if (!mki_.empty()) {
            master_ = srtp_master_key_t{key_salt_.data(), mki_.data(),
                                        static_cast<unsigned>(mki_.size())};
            list_[0] = &master_;
            policy.keys = list_;
            policy.num_master_keys = 1;
        } else {
            policy.key = key_salt_.data();
        }
        policy.window_size = 1024;
        EXPECT_EQ(srtp_create(&session_, &policy), srtp_err_status_ok);
    }
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
    srtp_master_key_t master_{};
    srtp_master_key_t* list_[1] = {};
    srtp_t session_ = nullptr;
};

}  // namespace liprobe::test
