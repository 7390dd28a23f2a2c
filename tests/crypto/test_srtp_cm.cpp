// SRTP/SRTCP with AES-CM and HMAC-SHA1 (RFC 3711; RFC 6188 for AES-256) on IPsec-MB: the
// published RFC 3711 Appendix B.2 keystream and B.3 key derivation, and libsrtp2 cross-checks
// of every AES-CM suite in both directions, with and without MKI, across a ROC rollover.
#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libsrtp_sender.hpp"
#include "liprobe/crypto/gcm.hpp"
#include "liprobe/crypto/kdf.hpp"
#include "liprobe/crypto/srtp.hpp"
#include "srtp_packets.hpp"

namespace liprobe::crypto {
namespace {

using test::hex;
using test::make_rtcp;
using test::make_rtp;
using test::payload_size;

GcmEngine& engine() {
    static GcmEngine e;
    return e;
}

// Session keys of one direction from a master key and salt through our RFC 3711 KDF (itself
// checked against Appendix B.3 below and in test_kdf). rtcp picks labels 3/4/5.
std::unique_ptr<SrtpSessionKeys> derive(SrtpProfile profile, const Bytes& mk, const Bytes& ms,
                                        bool rtcp) {
    const SrtpProfileInfo& info = profile_info(profile);
    const auto label = [rtcp](SrtpKdfLabel l) {
        return static_cast<SrtpKdfLabel>(static_cast<uint8_t>(l) + (rtcp ? 3 : 0));
    };
    const Bytes k_e = srtp_kdf(mk, ms, label(SrtpKdfLabel::rtp_encryption), info.key_len);
    const Bytes k_a = srtp_kdf(mk, ms, label(SrtpKdfLabel::rtp_auth), kHmacSha1KeyLen);
    const Bytes k_s = srtp_kdf(mk, ms, label(SrtpKdfLabel::rtp_salt), kCmSaltLen);
    auto keys = std::make_unique<SrtpSessionKeys>();
    EXPECT_TRUE(
        expand_cm_keys(engine(), rtcp ? srtcp_profile(profile) : profile, k_e, k_s, k_a, *keys));
    return keys;
}

// ---------------------------------------------------------------------------------------------
// RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key derivation), copied from the RFC text
// (refs/specs.md section 2.3; RFC 3711 in metta-systems/libsss doc/rfc3711.txt).

// B.2: session key 2B7E1516..., session salt F0F1...FCFD, and the counter block
// F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000: that is the IV of SSRC 0, ROC 0, SEQ 0, so the SRTP
// ciphertext of an all-zero payload is the keystream itself.
TEST(Rfc3711, B2KeystreamThroughIpsecMbCounterMode) {
    auto keys = std::make_unique<SrtpSessionKeys>();
    ASSERT_TRUE(expand_cm_keys(
        engine(), SrtpProfile::aes_cm_128_hmac_sha1_80, hex("2B7E151628AED2A6ABF7158809CF4F3C"),
        hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"), Bytes(kHmacSha1KeyLen, 0x11), *keys));
    uint8_t iv[16];
    cm_srtp_iv(keys->cm.salt, 0, 0, 0, iv);
    EXPECT_EQ(Bytes(iv, iv + 16), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));

    Bytes rtp = {0x80, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};  // SEQ 0, SSRC 0
    rtp.resize(12 + 48);                                           // 48 zero octets of payload
    Bytes out(rtp.size() + 10);
    ASSERT_EQ(srtp_cm_encrypt(engine(), *keys, rtp.data(), rtp.size(), 0, nullptr, 0, out.data()),
              out.size());
    EXPECT_EQ(Bytes(out.begin() + 12, out.begin() + 60), hex("E03EAD0935C95E80E166B16DD92B4EB4"
                                                             "D23513162B02D0F72A43A2FE4A5F97AB"
                                                             "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

// B.3: master key E1F97A0D..., master salt 0EC675AD...; the 14-octet session salt and the first
// 20 octets of the auth key output (the HMAC-SHA1 k_a, n_a = 160) as the RFC lists them.
TEST(Rfc3711, B3SessionKeysForTheCmProfiles) {
    const Bytes mk = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
    const Bytes ms = hex("0EC675AD498AFEEBB6960B3AABE6");
    EXPECT_EQ(srtp_kdf(mk, ms, SrtpKdfLabel::rtp_encryption, 16),
              hex("C61E7A93744F39EE10734AFE3FF7A087"));
    EXPECT_EQ(srtp_kdf(mk, ms, SrtpKdfLabel::rtp_salt, kCmSaltLen),
              hex("30CBBC08863D8C85D49DB34A9AE1"));
    EXPECT_EQ(srtp_kdf(mk, ms, SrtpKdfLabel::rtp_auth, kHmacSha1KeyLen),
              hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

// The allocation-free KDF of SDES keys (derive_session_keys, IPsec-MB AES-CTR) on the B.3 master
// key: its session keys are exactly the ones the vectors above give, expanded.
TEST(Rfc3711, B3ThroughTheAllocationFreeKdf) {
    const Bytes mk = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
    const Bytes ms = hex("0EC675AD498AFEEBB6960B3AABE6");
    SrtpSessionKeys rtp, rtcp;
    ASSERT_TRUE(
        derive_session_keys(engine(), SrtpProfile::aes_cm_128_hmac_sha1_80, mk, ms, rtp, rtcp));
    SrtpSessionKeys want;
    ASSERT_TRUE(expand_cm_keys(engine(), SrtpProfile::aes_cm_128_hmac_sha1_80,
                               hex("C61E7A93744F39EE10734AFE3FF7A087"),
                               hex("30CBBC08863D8C85D49DB34A9AE1"),
                               hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"), want));
    EXPECT_EQ(std::memcmp(&rtp.cm, &want.cm, sizeof(want.cm)), 0);
    EXPECT_EQ(rtp.profile, SrtpProfile::aes_cm_128_hmac_sha1_80);
}

// Every profile: the same session keys as the key model's OpenSSL KDF (srtp_kdf) expanded, for
// RTP and RTCP (whose _32 suites keep an 80-bit tag); wrong lengths are refused.
TEST(Rfc3711, AllocationFreeKdfEqualsTheKeyModelsForEveryProfile) {
    for (size_t pi = 0; pi < kSrtpProfileCount; ++pi) {
        const auto profile = static_cast<SrtpProfile>(pi);
        const SrtpProfileInfo& info = profile_info(profile);
        SCOPED_TRACE(info.name);
        Bytes mk(info.key_len), ms(info.salt_len);
        for (size_t i = 0; i < mk.size(); ++i) mk[i] = static_cast<uint8_t>(0x11 * (i + 1) + pi);
        for (size_t i = 0; i < ms.size(); ++i) ms[i] = static_cast<uint8_t>(0xA0 + i);
        SrtpSessionKeys rtp, rtcp;
        ASSERT_TRUE(derive_session_keys(engine(), profile, mk, ms, rtp, rtcp));
        for (const bool is_rtcp : {false, true}) {
            const SrtpSessionKeys& got = is_rtcp ? rtcp : rtp;
            const auto label = [is_rtcp](SrtpKdfLabel l) {
                return static_cast<SrtpKdfLabel>(static_cast<uint8_t>(l) + (is_rtcp ? 3 : 0));
            };
            const Bytes k_e = srtp_kdf(mk, ms, label(SrtpKdfLabel::rtp_encryption), info.key_len);
            const Bytes k_s = srtp_kdf(mk, ms, label(SrtpKdfLabel::rtp_salt), info.salt_len);
            SrtpSessionKeys want;
            if (info.aead) {
                ASSERT_TRUE(engine().expand_key(k_e, want.key));
                EXPECT_EQ(std::memcmp(&got.key, &want.key, sizeof(want.key)), 0);
                EXPECT_EQ(Bytes(got.salt, got.salt + kAeadSaltLen), k_s);
            } else {
                const Bytes k_a = srtp_kdf(mk, ms, label(SrtpKdfLabel::rtp_auth), kHmacSha1KeyLen);
                ASSERT_TRUE(expand_cm_keys(engine(), is_rtcp ? srtcp_profile(profile) : profile,
                                           k_e, k_s, k_a, want));
                EXPECT_EQ(std::memcmp(&got.cm, &want.cm, sizeof(want.cm)), 0);
            }
        }
        SrtpSessionKeys a, b;
        EXPECT_FALSE(derive_session_keys(engine(), profile, Bytes(info.key_len + 1), ms, a, b));
        EXPECT_FALSE(derive_session_keys(engine(), profile, mk, Bytes(info.salt_len - 1), a, b));
    }
}

TEST(CmProfiles, NamesLengthsAndExpansionChecks) {
    SrtpProfile p{};
    ASSERT_TRUE(profile_from_name("aes_cm_128_hmac_sha1_32", 23, p));
    EXPECT_EQ(p, SrtpProfile::aes_cm_128_hmac_sha1_32);
    EXPECT_EQ(profile_info(p).tag_len, 4u);
    EXPECT_EQ(srtcp_profile(p), SrtpProfile::aes_cm_128_hmac_sha1_80);  // RFC 4568 6.2.2
    EXPECT_EQ(profile_info(SrtpProfile::aes_256_cm_hmac_sha1_80).key_len, 32u);
    EXPECT_FALSE(profile_from_name("aes_cm_128_hmac_sha1", 20, p));
    auto keys = std::make_unique<SrtpSessionKeys>();
    const Bytes k16(16, 1), k32(32, 1), s14(14, 2), s12(12, 2), a20(20, 3);
    EXPECT_FALSE(
        expand_cm_keys(engine(), SrtpProfile::aes_cm_128_hmac_sha1_80, k32, s14, a20, *keys));
    EXPECT_FALSE(
        expand_cm_keys(engine(), SrtpProfile::aes_cm_128_hmac_sha1_80, k16, s12, a20, *keys));
    EXPECT_FALSE(expand_cm_keys(engine(), SrtpProfile::aead_aes_128_gcm, k16, s14, a20, *keys));
    EXPECT_TRUE(
        expand_cm_keys(engine(), SrtpProfile::aes_256_cm_hmac_sha1_32, k32, s14, a20, *keys));
    wipe(*keys);
    for (uint8_t b : keys->cm.enc_keys) ASSERT_EQ(b, 0);
    for (uint8_t b : keys->cm.ipad_hash) ASSERT_EQ(b, 0);
}

// ---------------------------------------------------------------------------------------------
// libsrtp2 cross-checks.

const uint8_t kMki[4] = {0xde, 0xad, 0xbe, 0xef};

struct CrossParams {
    const char* name;
    SrtpProfile profile;
    bool mki;
};

class CmLibsrtpCrossCheck : public ::testing::TestWithParam<CrossParams> {
  protected:
    static void SetUpTestSuite() { ASSERT_EQ(srtp_init(), srtp_err_status_ok); }

    void SetUp() override {
        const SrtpProfileInfo& info = profile_info(GetParam().profile);
        Bytes mk(info.key_len);
        for (size_t i = 0; i < mk.size(); ++i) mk[i] = static_cast<uint8_t>(0x30 + 7 * i);
        const Bytes ms = hex("c0c1c2c3c4c5c6c7c8c9cacbcccd");
        key_and_salt_ = mk;
        key_and_salt_.insert(key_and_salt_.end(), ms.begin(), ms.end());
        rtp_keys_ = derive(GetParam().profile, mk, ms, false);
        rtcp_keys_ = derive(GetParam().profile, mk, ms, true);
    }

    srtp_t create(srtp_ssrc_type_t direction, bool rtcp_auth_only) {
        return liprobe::test::make_libsrtp_session(
            GetParam().profile, direction, key_and_salt_.data(), const_cast<uint8_t*>(kMki),
            GetParam().mki ? sizeof(kMki) : 0, rtcp_auth_only);
    }

    size_t mki_len() const { return GetParam().mki ? sizeof(kMki) : 0; }
    size_t rtp_tag() const { return profile_info(GetParam().profile).tag_len; }
    static constexpr size_t kRtcpTag = 10;

    Bytes key_and_salt_;
    std::unique_ptr<SrtpSessionKeys> rtp_keys_;
    std::unique_ptr<SrtpSessionKeys> rtcp_keys_;
};

constexpr uint32_t kCrossSsrc = 0x11223344;
constexpr int kCrossPackets = 300;
constexpr uint16_t kCrossFirstSeq = 65536 - 150;  // SEQ wraps after 150 packets: ROC 0 -> 1

TEST_P(CmLibsrtpCrossCheck, LibsrtpProtectedRtpDecryptsExactly) {
    srtp_t sender = create(ssrc_any_outbound, false);
    ASSERT_NE(sender, nullptr);
    uint16_t seq = kCrossFirstSeq;
    uint16_t highest_seq = seq;
    uint32_t highest_roc = 0;
    int after_wrap = 0;
    for (int i = 0; i < kCrossPackets; ++i, ++seq) {
        const unsigned cc = static_cast<unsigned>(i % 16);
        const int ext_words = i % 3 == 0 ? i % 5 : -1;
        const Bytes plain = make_rtp(seq, kCrossSsrc, cc, ext_words, payload_size(i));
        Bytes pkt = plain;
        pkt.resize(plain.size() + SRTP_MAX_TRAILER_LEN);
        int len = static_cast<int>(plain.size());
        ASSERT_EQ(GetParam().mki ? srtp_protect_mki(sender, pkt.data(), &len, 1, 0)
                                 : srtp_protect(sender, pkt.data(), &len),
                  srtp_err_status_ok)
            << "packet " << i;
        ASSERT_EQ(static_cast<size_t>(len), plain.size() + rtp_tag() + mki_len());
        pkt.resize(static_cast<size_t>(len));
        if (GetParam().mki) {
            EXPECT_EQ(0, std::memcmp(pkt.data() + plain.size(), kMki, sizeof(kMki)));
        }

        const size_t header_len = rtp_header_length(pkt.data(), pkt.size());
        const uint32_t roc = estimate_roc(highest_seq, highest_roc, seq);
        // A flipped tag bit fails and leaves the packet as it was.
        Bytes tampered = pkt;
        tampered[pkt.size() - 1] ^= 0x01;
        const Bytes tampered_copy = tampered;
        size_t payload_len = 0;
        ASSERT_FALSE(srtp_cm_decrypt(engine(), *rtp_keys_, tampered.data(), tampered.size(),
                                     header_len, mki_len(), roc, &payload_len));
        ASSERT_EQ(tampered, tampered_copy);
        // The wrong ROC fails too (the ROC is authenticated).
        Bytes wrong_roc = pkt;
        ASSERT_FALSE(srtp_cm_decrypt(engine(), *rtp_keys_, wrong_roc.data(), wrong_roc.size(),
                                     header_len, mki_len(), roc + 1, &payload_len));
        ASSERT_EQ(wrong_roc, pkt);

        ASSERT_TRUE(srtp_cm_decrypt(engine(), *rtp_keys_, pkt.data(), pkt.size(), header_len,
                                    mki_len(), roc, &payload_len))
            << "packet " << i << " seq " << seq << " roc " << roc;
        ASSERT_EQ(payload_len, payload_size(i));
        pkt.resize(header_len + payload_len);
        ASSERT_EQ(pkt, plain) << "packet " << i;
        if (roc > highest_roc || (roc == highest_roc && seq > highest_seq)) {
            highest_roc = roc;
            highest_seq = seq;
        }
        if (roc == 1) ++after_wrap;
    }
    EXPECT_EQ(after_wrap, kCrossPackets - 150);
    EXPECT_EQ(srtp_dealloc(sender), srtp_err_status_ok);
}

TEST_P(CmLibsrtpCrossCheck, OurProtectedRtpUnprotectsInLibsrtp) {
    srtp_t receiver = create(ssrc_any_inbound, false);
    ASSERT_NE(receiver, nullptr);
    uint16_t seq = kCrossFirstSeq;
    uint32_t roc = 0;
    for (int i = 0; i < kCrossPackets; ++i, ++seq) {
        const unsigned cc = static_cast<unsigned>((i * 5) % 16);
        const int ext_words = i % 4 == 1 ? i % 7 : -1;
        const Bytes plain = make_rtp(seq, kCrossSsrc, cc, ext_words, payload_size(i));
        Bytes pkt(plain.size() + mki_len() + rtp_tag());
        ASSERT_EQ(srtp_cm_encrypt(engine(), *rtp_keys_, plain.data(), plain.size(), roc, kMki,
                                  mki_len(), pkt.data()),
                  pkt.size());
        int len = static_cast<int>(pkt.size());
        ASSERT_EQ(GetParam().mki ? srtp_unprotect_mki(receiver, pkt.data(), &len, 1)
                                 : srtp_unprotect(receiver, pkt.data(), &len),
                  srtp_err_status_ok)
            << "packet " << i << " seq " << seq;
        pkt.resize(static_cast<size_t>(len));
        ASSERT_EQ(pkt, plain) << "packet " << i;
        if (seq == 65535) ++roc;
    }
    EXPECT_EQ(roc, 1u);
    EXPECT_EQ(srtp_dealloc(receiver), srtp_err_status_ok);
}

TEST_P(CmLibsrtpCrossCheck, LibsrtpProtectedRtcpDecryptsExactly) {
    for (bool auth_only : {false, true}) {
        SCOPED_TRACE(auth_only ? "E=0" : "E=1");
        srtp_t sender = create(ssrc_any_outbound, auth_only);
        ASSERT_NE(sender, nullptr);
        for (int i = 0; i < 40; ++i) {
            const Bytes plain = make_rtcp(kCrossSsrc, static_cast<size_t>(i * 7 % 300));
            Bytes pkt = plain;
            pkt.resize(plain.size() + SRTP_MAX_TRAILER_LEN + 4);
            int len = static_cast<int>(plain.size());
            ASSERT_EQ(GetParam().mki ? srtp_protect_rtcp_mki(sender, pkt.data(), &len, 1, 0)
                                     : srtp_protect_rtcp(sender, pkt.data(), &len),
                      srtp_err_status_ok);
            ASSERT_EQ(static_cast<size_t>(len),
                      plain.size() + kSrtcpIndexLen + mki_len() + kRtcpTag);
            pkt.resize(static_cast<size_t>(len));
            EXPECT_EQ(pkt[plain.size()] & 0x80, auth_only ? 0 : 0x80);

            size_t rtcp_len = 0;
            uint32_t index = 0;
            Bytes tampered = pkt;
            tampered[tampered.size() - kRtcpTag] ^= 0x80;
            const Bytes tampered_copy = tampered;
            ASSERT_FALSE(srtcp_cm_decrypt(engine(), *rtcp_keys_, tampered.data(), tampered.size(),
                                          mki_len(), &rtcp_len, &index));
            ASSERT_EQ(tampered, tampered_copy);
            ASSERT_TRUE(srtcp_cm_decrypt(engine(), *rtcp_keys_, pkt.data(), pkt.size(), mki_len(),
                                         &rtcp_len, &index))
                << "packet " << i;
            EXPECT_EQ(index, static_cast<uint32_t>(i + 1));  // libsrtp's first index is 1
            ASSERT_EQ(rtcp_len, plain.size());
            pkt.resize(rtcp_len);
            ASSERT_EQ(pkt, plain) << "packet " << i;
        }
        EXPECT_EQ(srtp_dealloc(sender), srtp_err_status_ok);
    }
}

// libsrtp2 2.5's srtp_unprotect_rtcp_mki looks for the MKI in front of the *RTP* tag length,
// so with a _32 suite (4-octet RTP tag, 10-octet SRTCP tag) it cannot find the MKI of any
// correctly protected SRTCP packet, its own included. For those two suites the check is then
// that our output equals, octet for octet, what libsrtp2's srtp_protect_rtcp_mki produces for
// the same packet and index (whose layout LibsrtpProtectedRtcpDecryptsExactly decrypts).
bool libsrtp_cannot_unprotect_rtcp_mki(const CrossParams& p) {
    return p.mki && profile_info(p.profile).tag_len != 10;
}

TEST_P(CmLibsrtpCrossCheck, OurProtectedRtcpUnprotectsInLibsrtp) {
    for (bool auth_only : {false, true}) {
        SCOPED_TRACE(auth_only ? "E=0" : "E=1");
        const bool compare = libsrtp_cannot_unprotect_rtcp_mki(GetParam());
        srtp_t receiver = create(compare ? ssrc_any_outbound : ssrc_any_inbound, auth_only);
        ASSERT_NE(receiver, nullptr);
        for (int i = 0; i < 40; ++i) {
            const Bytes plain = make_rtcp(kCrossSsrc, static_cast<size_t>(i * 11 % 300));
            Bytes pkt(plain.size() + kSrtcpIndexLen + mki_len() + kRtcpTag);
            ASSERT_EQ(srtcp_cm_encrypt(engine(), *rtcp_keys_, plain.data(), plain.size(),
                                       static_cast<uint32_t>(i + 1), !auth_only, kMki, mki_len(),
                                       pkt.data()),
                      pkt.size());
            if (compare) {
                Bytes theirs = plain;
                theirs.resize(plain.size() + SRTP_MAX_TRAILER_LEN + 4);
                int len = static_cast<int>(plain.size());
                ASSERT_EQ(srtp_protect_rtcp_mki(receiver, theirs.data(), &len, 1, 0),
                          srtp_err_status_ok);
                theirs.resize(static_cast<size_t>(len));
                ASSERT_EQ(pkt, theirs) << "packet " << i;
                continue;
            }
            int len = static_cast<int>(pkt.size());
            ASSERT_EQ(GetParam().mki ? srtp_unprotect_rtcp_mki(receiver, pkt.data(), &len, 1)
                                     : srtp_unprotect_rtcp(receiver, pkt.data(), &len),
                      srtp_err_status_ok)
                << "packet " << i;
            pkt.resize(static_cast<size_t>(len));
            ASSERT_EQ(pkt, plain) << "packet " << i;
        }
        EXPECT_EQ(srtp_dealloc(receiver), srtp_err_status_ok);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Libsrtp2, CmLibsrtpCrossCheck,
    ::testing::Values(CrossParams{"cm128_80", SrtpProfile::aes_cm_128_hmac_sha1_80, false},
                      CrossParams{"cm128_80_mki4", SrtpProfile::aes_cm_128_hmac_sha1_80, true},
                      CrossParams{"cm128_32", SrtpProfile::aes_cm_128_hmac_sha1_32, false},
                      CrossParams{"cm128_32_mki4", SrtpProfile::aes_cm_128_hmac_sha1_32, true},
                      CrossParams{"cm256_80", SrtpProfile::aes_256_cm_hmac_sha1_80, false},
                      CrossParams{"cm256_80_mki4", SrtpProfile::aes_256_cm_hmac_sha1_80, true},
                      CrossParams{"cm256_32", SrtpProfile::aes_256_cm_hmac_sha1_32, false},
                      CrossParams{"cm256_32_mki4", SrtpProfile::aes_256_cm_hmac_sha1_32, true}),
    [](const auto& info) { return std::string(info.param.name); });

// Malformed inputs: too short for MKI + tag, a GCM key passed to the CM path.
TEST(CmNegative, ShortPacketsAndWrongProfileFail) {
    const Bytes mk(16, 0x42), ms(14, 0x24);
    auto keys = derive(SrtpProfile::aes_cm_128_hmac_sha1_80, mk, ms, false);
    Bytes plain = make_rtp(7, 1, 0, -1, 20);
    Bytes pkt(plain.size() + 10);
    ASSERT_EQ(
        srtp_cm_encrypt(engine(), *keys, plain.data(), plain.size(), 0, nullptr, 0, pkt.data()),
        pkt.size());
    size_t payload_len = 0;
    EXPECT_FALSE(srtp_cm_decrypt(engine(), *keys, pkt.data(), 21, 12, 0, 0, &payload_len));
    EXPECT_FALSE(srtp_cm_decrypt(engine(), *keys, pkt.data(), pkt.size(), 12, 30, 0, &payload_len));
    auto gcm = std::make_unique<SrtpSessionKeys>();
    ASSERT_TRUE(engine().expand_key(Bytes(16, 1), gcm->key));
    EXPECT_FALSE(srtp_cm_decrypt(engine(), *gcm, pkt.data(), pkt.size(), 12, 0, 0, &payload_len));
    uint32_t index = 0;
    size_t rtcp_len = 0;
    EXPECT_FALSE(srtcp_cm_decrypt(engine(), *keys, pkt.data(), 21, 0, &rtcp_len, &index));
    EXPECT_TRUE(srtp_cm_decrypt(engine(), *keys, pkt.data(), pkt.size(), 12, 0, 0, &payload_len));
    pkt.resize(12 + payload_len);
    EXPECT_EQ(pkt, plain);
}

}  // namespace
}  // namespace liprobe::crypto
