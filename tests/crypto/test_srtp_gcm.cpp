// Tests of src/crypto/gcm.cpp and src/crypto/srtp.cpp: RFC 7714 published vectors, the libsrtp
// end-to-end GCM vector, cross-checks against libsrtp2 in both directions, negative cases and
// truncation at every length (meant to run under AddressSanitizer as well).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libsrtp_sender.hpp"
#include "liprobe/crypto/gcm.hpp"
#include "liprobe/crypto/srtp.hpp"
#include "srtp_packets.hpp"

namespace liprobe::crypto {
namespace {

using test::hex;
using test::make_rtcp;
using test::make_rtp;
using test::payload_size;

using Bytes = std::vector<uint8_t>;

std::string to_hex(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}
std::string to_hex(const Bytes& b) {
    return to_hex(b.data(), b.size());
}

std::unique_ptr<SrtpSessionKeys> make_keys(const GcmEngine& gcm, const Bytes& key,
                                           const Bytes& salt) {
    auto keys = std::make_unique<SrtpSessionKeys>();
    EXPECT_TRUE(gcm.expand_key(key, keys->key));
    EXPECT_EQ(salt.size(), kAeadSaltLen);
    std::memcpy(keys->salt, salt.data(), kAeadSaltLen);
    return keys;
}

GcmEngine& engine() {
    static GcmEngine gcm;
    return gcm;
}

// ---------------------------------------------------------------------------------------------
// RFC 7714 §16/§17 vectors, copied from /work/shared/refs/specs.md section 1.5 (which quotes the
// SharpSRTP TestRFC7714 tests, a Rust SRTP test module and pion's Go tests).
const char* kRfcKey128 = "000102030405060708090a0b0c0d0e0f";
const char* kRfcKey256 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const char* kRfcSalt = "517569642070726f2071756f";  // "Quid pro quo"
const char* kRfcRtp =
    "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973"
    "20646976 69736120 696e2070 61727465 73207472 6573";
const char* kRfcRtcp =
    "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930"
    "4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";
constexpr uint32_t kRfcSrtcpIndex = 0x000005d4;
// §16.1 AEAD_AES_128_GCM SRTP
const char* kRfc16_1 =
    "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5"
    "0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce";
// §16.2 AEAD_AES_256_GCM SRTP
const char* kRfc16_2 =
    "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238"
    "9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13";
// §17.1 AEAD_AES_128_GCM SRTCP, E=1
const char* kRfc17_1 =
    "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d"
    "c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872"
    "45d9eade 800005d4";
// §17.2 AEAD_AES_256_GCM SRTCP, E=1
const char* kRfc17_2 =
    "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50"
    "a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c"
    "b26ac3be 800005d4";
// §17.3 AEAD_AES_128_GCM SRTCP, E=0 (authentication only)
const char* kRfc17_3 =
    "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
    "deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790"
    "125f62b3 000005d4";
// §17.4 AEAD_AES_256_GCM SRTCP, E=0
const char* kRfc17_4 =
    "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
    "deadbeef deadbeef deadbeef deadbeef deadbeef 91db4afb feee5a97 8fab4393"
    "ed2615fe 000005d4";

const char* kIvRtp = "51753c6580c2726f20718414";   // refs 1.2 / 1.5, RFC 7714 §16
const char* kIvRtcp = "517524055203726f207170bb";  // refs 1.4 / 1.5, RFC 7714 §17

// refs 1.6: libsrtp test/srtp_driver.c srtp_validate_gcm() (test_key_gcm), with the session
// keys derived there (published in refs 1.6; hard-coded so this test needs no KDF code).
const char* kLibsrtpRtpKe = "077c6143cb221bc355ff23d5f984a16e";
const char* kLibsrtpRtpKs = "9af3e95364ebac9c99c5a7c4";
const char* kLibsrtpRtcpKe = "615dcd9042600666f6fd4d9e4fe4519f";
const char* kLibsrtpRtcpKs = "fcca937b9112a500dac72269";
const char* kLibsrtpRtpIn = "800f1234 decafbad cafebabe abababab abababab abababab abababab";
const char* kLibsrtpSrtpOut =
    "800f1234decafbadcafebabe c5002ede04cfdd2eb91159e0880aa06e"
    "d2976826f796b201df3131a127e8a392";
const char* kLibsrtpRtcpIn = "81c8000b cafebabe abababab abababab abababab abababab";
const char* kLibsrtpSrtcpOut =
    "81c8000bcafebabe c98b8b5df0392a55852b6c21ac8e7025"
    "c52c6fbea2b3b446ea31123ba88ce61e 80000001";
// Master key and salt of that vector (refs 1.6), used for the libsrtp2 cross-checks.
const char* kLibsrtpMasterKey128 = "000102030405060708090a0b0c0d0e0f";
const char* kLibsrtpMasterKey256 =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const char* kLibsrtpMasterSalt = "a0a1a2a3a4a5a6a7a8a9aaab";

// ---------------------------------------------------------------------------------------------
// GcmEngine

TEST(GcmEngine, ReportsArchitectureAndRejectsBadKeyLengths) {
    const std::string arch = engine().architecture();
    EXPECT_TRUE(arch == "AVX512" || arch == "AVX2" || arch == "AVX" || arch == "SSE" ||
                arch == "NO-AESNI")
        << arch;
    auto key = std::make_unique<GcmKey>();
    EXPECT_FALSE(engine().expand_key(Bytes(24, 1), *key));
    EXPECT_FALSE(engine().expand_key(Bytes(), *key));
    EXPECT_FALSE(engine().expand_key(Bytes(15, 1), *key));
    ASSERT_TRUE(engine().expand_key(Bytes(16, 1), *key));
    EXPECT_EQ(key->profile, AeadProfile::aes_128_gcm);
    ASSERT_TRUE(engine().expand_key(Bytes(32, 1), *key));
    EXPECT_EQ(key->profile, AeadProfile::aes_256_gcm);
}

TEST(GcmEngine, WipeZeroesKeysAndSalt) {
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    wipe(*keys);
    for (uint8_t b : keys->key.expanded) ASSERT_EQ(b, 0);
    for (uint8_t b : keys->salt) ASSERT_EQ(b, 0);
}

// A failed in-place decrypt must leave the ciphertext intact so another candidate key can be
// tried on the same packet; out of place, no unauthenticated plaintext may be left behind.
TEST(GcmEngine, FailedDecryptLeavesNoPlaintext) {
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    const Bytes srtp = hex(kRfc16_1);
    const Bytes iv = hex(kIvRtp);
    const size_t ct_len = srtp.size() - 12 - kGcmTagLen;
    Bytes tag(srtp.end() - kGcmTagLen, srtp.end());
    tag[5] ^= 0x01;

    Bytes in_place = srtp;
    EXPECT_FALSE(engine().decrypt(keys->key, iv.data(), in_place.data(), 12, in_place.data() + 12,
                                  in_place.data() + 12, ct_len, tag.data()));
    EXPECT_EQ(in_place, srtp);

    Bytes out(ct_len, 0xaa);
    EXPECT_FALSE(engine().decrypt(keys->key, iv.data(), srtp.data(), 12, srtp.data() + 12,
                                  out.data(), ct_len, tag.data()));
    EXPECT_EQ(out, Bytes(ct_len, 0));

    tag[5] ^= 0x01;
    ASSERT_TRUE(engine().decrypt(keys->key, iv.data(), srtp.data(), 12, srtp.data() + 12,
                                 out.data(), ct_len, tag.data()));
    const Bytes rtp = hex(kRfcRtp);
    EXPECT_EQ(out, Bytes(rtp.begin() + 12, rtp.end()));
}

// ---------------------------------------------------------------------------------------------
// RFC 7714 published vectors (refs 1.5), session keys used directly.

TEST(Rfc7714, IvsMatchPublishedValues) {
    const Bytes salt = hex(kRfcSalt);
    uint8_t iv[kGcmIvLen];
    srtp_iv(salt.data(), 0x5501a0b2, 0, 0xf17b, iv);
    EXPECT_EQ(to_hex(iv, sizeof(iv)), kIvRtp);
    srtcp_iv(salt.data(), 0x4d617273, kRfcSrtcpIndex, iv);
    EXPECT_EQ(to_hex(iv, sizeof(iv)), kIvRtcp);
    // The E bit never reaches the IV (RFC 7714 §9.1: 0 || 31-bit index).
    srtcp_iv(salt.data(), 0x4d617273, kRfcSrtcpIndex | 0x80000000u, iv);
    EXPECT_EQ(to_hex(iv, sizeof(iv)), kIvRtcp);
}

struct SrtpVector {
    const char* name;
    const char* key;
    const char* protected_packet;
};

class Rfc7714Srtp : public ::testing::TestWithParam<SrtpVector> {};

TEST_P(Rfc7714Srtp, EncryptAndDecryptGivePublishedBytes) {
    auto keys = make_keys(engine(), hex(GetParam().key), hex(kRfcSalt));
    const Bytes rtp = hex(kRfcRtp);
    const Bytes expected = hex(GetParam().protected_packet);
    ASSERT_EQ(expected.size(), rtp.size() + kGcmTagLen);

    Bytes out(rtp.size() + kGcmTagLen);
    ASSERT_EQ(srtp_encrypt(engine(), *keys, rtp.data(), rtp.size(), 0, out.data()), out.size());
    EXPECT_EQ(to_hex(out), to_hex(expected));

    Bytes pkt = expected;
    const size_t header_len = rtp_header_length(pkt.data(), pkt.size());
    ASSERT_EQ(header_len, 12u);
    size_t payload_len = 0;
    ASSERT_TRUE(srtp_decrypt(engine(), *keys, pkt.data(), pkt.size(), header_len, 0, &payload_len));
    ASSERT_EQ(payload_len, rtp.size() - 12);
    pkt.resize(header_len + payload_len);
    EXPECT_EQ(to_hex(pkt), to_hex(rtp));

    // In-place encryption gives the same bytes.
    Bytes in_place = rtp;
    in_place.resize(rtp.size() + kGcmTagLen);
    ASSERT_EQ(srtp_encrypt(engine(), *keys, in_place.data(), rtp.size(), 0, in_place.data()),
              expected.size());
    EXPECT_EQ(in_place, expected);
}

INSTANTIATE_TEST_SUITE_P(Published, Rfc7714Srtp,
                         ::testing::Values(SrtpVector{"s16_1_aes128", kRfcKey128, kRfc16_1},
                                           SrtpVector{"s16_2_aes256", kRfcKey256, kRfc16_2}),
                         [](const auto& info) { return std::string(info.param.name); });

struct SrtcpVector {
    const char* name;
    const char* key;
    bool encrypt;
    const char* protected_packet;
};

class Rfc7714Srtcp : public ::testing::TestWithParam<SrtcpVector> {};

TEST_P(Rfc7714Srtcp, EncryptAndDecryptGivePublishedBytes) {
    auto keys = make_keys(engine(), hex(GetParam().key), hex(kRfcSalt));
    const Bytes rtcp = hex(kRfcRtcp);
    const Bytes expected = hex(GetParam().protected_packet);
    ASSERT_EQ(expected.size(), rtcp.size() + kGcmTagLen + kSrtcpIndexLen);

    Bytes out(expected.size());
    ASSERT_EQ(srtcp_encrypt(engine(), *keys, rtcp.data(), rtcp.size(), kRfcSrtcpIndex,
                            GetParam().encrypt, out.data()),
              out.size());
    EXPECT_EQ(to_hex(out), to_hex(expected));

    Bytes pkt = expected;
    size_t rtcp_len = 0;
    uint32_t index = 0;
    ASSERT_TRUE(srtcp_decrypt(engine(), *keys, pkt.data(), pkt.size(), &rtcp_len, &index));
    EXPECT_EQ(index, kRfcSrtcpIndex);
    ASSERT_EQ(rtcp_len, rtcp.size());
    pkt.resize(rtcp_len);
    EXPECT_EQ(to_hex(pkt), to_hex(rtcp));

    Bytes in_place = rtcp;
    in_place.resize(expected.size());
    ASSERT_EQ(srtcp_encrypt(engine(), *keys, in_place.data(), rtcp.size(), kRfcSrtcpIndex,
                            GetParam().encrypt, in_place.data()),
              expected.size());
    EXPECT_EQ(in_place, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Published, Rfc7714Srtcp,
    ::testing::Values(SrtcpVector{"s17_1_aes128_e1", kRfcKey128, true, kRfc17_1},
                      SrtcpVector{"s17_2_aes256_e1", kRfcKey256, true, kRfc17_2},
                      SrtcpVector{"s17_3_aes128_e0", kRfcKey128, false, kRfc17_3},
                      SrtcpVector{"s17_4_aes256_e0", kRfcKey256, false, kRfc17_4}),
    [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// libsrtp end-to-end GCM vector (refs 1.6) with its published session keys.

TEST(LibsrtpVector, SrtpWithDerivedSessionKeys) {
    auto keys = make_keys(engine(), hex(kLibsrtpRtpKe), hex(kLibsrtpRtpKs));
    const Bytes rtp = hex(kLibsrtpRtpIn);
    const Bytes expected = hex(kLibsrtpSrtpOut);
    Bytes out(rtp.size() + kGcmTagLen);
    ASSERT_EQ(srtp_encrypt(engine(), *keys, rtp.data(), rtp.size(), 0, out.data()),
              expected.size());
    EXPECT_EQ(to_hex(out), to_hex(expected));

    size_t payload_len = 0;
    ASSERT_TRUE(srtp_decrypt(engine(), *keys, out.data(), out.size(), 12, 0, &payload_len));
    out.resize(12 + payload_len);
    EXPECT_EQ(out, rtp);
}

TEST(LibsrtpVector, SrtcpWithDerivedSessionKeys) {
    auto keys = make_keys(engine(), hex(kLibsrtpRtcpKe), hex(kLibsrtpRtcpKs));
    const Bytes rtcp = hex(kLibsrtpRtcpIn);
    const Bytes expected = hex(kLibsrtpSrtcpOut);
    Bytes out(rtcp.size() + kGcmTagLen + kSrtcpIndexLen);
    ASSERT_EQ(srtcp_encrypt(engine(), *keys, rtcp.data(), rtcp.size(), 1, true, out.data()),
              expected.size());
    EXPECT_EQ(to_hex(out), to_hex(expected));

    size_t rtcp_len = 0;
    uint32_t index = 0;
    ASSERT_TRUE(srtcp_decrypt(engine(), *keys, out.data(), out.size(), &rtcp_len, &index));
    EXPECT_EQ(index, 1u);
    out.resize(rtcp_len);
    EXPECT_EQ(out, rtcp);
}

// ---------------------------------------------------------------------------------------------
// Cross-checks against libsrtp2.

// RFC 3711 §4.3 AES-CM KDF with KDR = 0 and the 12-octet GCM master salt padded on the right with
// two zero octets (refs 2.1, 2.2), on OpenSSL AES-CTR. Test-local, so this test does not depend
// on src/crypto/kdf.cpp; checked against the published libsrtp session keys (refs 1.6) below.
Bytes test_kdf(const Bytes& master_key, const Bytes& master_salt, uint8_t label, size_t n) {
    uint8_t iv[16] = {};
    std::memcpy(iv, master_salt.data(), master_salt.size());  // salt12 || 00 00 || block 00 00
    iv[7] ^= label;
    const EVP_CIPHER* cipher = master_key.size() == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    const Bytes zeros(n, 0);
    Bytes out(n);
    int out_len = 0;
    EXPECT_EQ(EVP_EncryptInit_ex(ctx, cipher, nullptr, master_key.data(), iv), 1);
    EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &out_len, zeros.data(), static_cast<int>(n)), 1);
    EVP_CIPHER_CTX_free(ctx);
    EXPECT_EQ(static_cast<size_t>(out_len), n);
    return out;
}

TEST(LibsrtpCrossCheckKdf, TestKdfReproducesPublishedSessionKeys) {
    const Bytes mk = hex(kLibsrtpMasterKey128);
    const Bytes ms = hex(kLibsrtpMasterSalt);
    EXPECT_EQ(to_hex(test_kdf(mk, ms, 0, 16)), kLibsrtpRtpKe);
    EXPECT_EQ(to_hex(test_kdf(mk, ms, 2, 12)), kLibsrtpRtpKs);
    EXPECT_EQ(to_hex(test_kdf(mk, ms, 3, 16)), kLibsrtpRtcpKe);
    EXPECT_EQ(to_hex(test_kdf(mk, ms, 5, 12)), kLibsrtpRtcpKs);
}

uint8_t kMki[4] = {0xde, 0xad, 0xbe, 0xef};

struct CrossParams {
    const char* name;
    bool aes256;
    bool mki;
};

class LibsrtpCrossCheck : public ::testing::TestWithParam<CrossParams> {
  protected:
    static void SetUpTestSuite() { ASSERT_EQ(srtp_init(), srtp_err_status_ok); }

    void SetUp() override {
        const Bytes mk = hex(GetParam().aes256 ? kLibsrtpMasterKey256 : kLibsrtpMasterKey128);
        const Bytes ms = hex(kLibsrtpMasterSalt);
        key_and_salt_ = mk;
        key_and_salt_.insert(key_and_salt_.end(), ms.begin(), ms.end());
        rtp_keys_ = make_keys(engine(), test_kdf(mk, ms, 0, mk.size()), test_kdf(mk, ms, 2, 12));
        rtcp_keys_ = make_keys(engine(), test_kdf(mk, ms, 3, mk.size()), test_kdf(mk, ms, 5, 12));
    }

    srtp_t create(srtp_ssrc_type_t direction, bool rtcp_auth_only) {
        return liprobe::test::make_libsrtp_session(
            GetParam().aes256 ? liprobe::crypto::SrtpProfile::aead_aes_256_gcm
                              : liprobe::crypto::SrtpProfile::aead_aes_128_gcm,
            direction, key_and_salt_.data(), const_cast<uint8_t*>(kMki),
            GetParam().mki ? sizeof(kMki) : 0, rtcp_auth_only);
    }

    size_t mki_len() const { return GetParam().mki ? sizeof(kMki) : 0; }

    // Removes and checks the MKI libsrtp appended (after the tag, or after E|index for SRTCP).
    void strip_mki(Bytes& pkt) {
        if (!GetParam().mki) return;
        ASSERT_GE(pkt.size(), sizeof(kMki));
        EXPECT_EQ(0, std::memcmp(pkt.data() + pkt.size() - sizeof(kMki), kMki, sizeof(kMki)));
        pkt.resize(pkt.size() - sizeof(kMki));
    }

    Bytes key_and_salt_;
    std::unique_ptr<SrtpSessionKeys> rtp_keys_;
    std::unique_ptr<SrtpSessionKeys> rtcp_keys_;
};

constexpr uint32_t kCrossSsrc = 0x11223344;
constexpr int kCrossPackets = 300;
constexpr uint16_t kCrossFirstSeq = 65536 - 150;  // SEQ wraps after 150 packets: ROC 0 -> 1

TEST_P(LibsrtpCrossCheck, LibsrtpProtectedRtpDecryptsExactly) {
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
        ASSERT_EQ(static_cast<size_t>(len), plain.size() + kGcmTagLen + mki_len());
        pkt.resize(static_cast<size_t>(len));
        strip_mki(pkt);

        const size_t header_len = rtp_header_length(pkt.data(), pkt.size());
        ASSERT_EQ(header_len, 12 + 4 * cc + (ext_words >= 0 ? 4 + 4 * ext_words : 0));
        const uint32_t roc = estimate_roc(highest_seq, highest_roc, seq);
        size_t payload_len = 0;
        ASSERT_TRUE(srtp_decrypt(engine(), *rtp_keys_, pkt.data(), pkt.size(), header_len, roc,
                                 &payload_len))
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

TEST_P(LibsrtpCrossCheck, OurProtectedRtpUnprotectsInLibsrtp) {
    srtp_t receiver = create(ssrc_any_inbound, false);
    ASSERT_NE(receiver, nullptr);
    uint16_t seq = kCrossFirstSeq;
    uint32_t roc = 0;
    for (int i = 0; i < kCrossPackets; ++i, ++seq) {
        const unsigned cc = static_cast<unsigned>((i * 5) % 16);
        const int ext_words = i % 4 == 1 ? i % 7 : -1;
        const Bytes plain = make_rtp(seq, kCrossSsrc, cc, ext_words, payload_size(i));
        Bytes pkt(plain.size() + kGcmTagLen);
        ASSERT_EQ(srtp_encrypt(engine(), *rtp_keys_, plain.data(), plain.size(), roc, pkt.data()),
                  pkt.size());
        if (GetParam().mki) pkt.insert(pkt.end(), kMki, kMki + sizeof(kMki));
        int len = static_cast<int>(pkt.size());
        ASSERT_EQ(GetParam().mki ? srtp_unprotect_mki(receiver, pkt.data(), &len, 1)
                                 : srtp_unprotect(receiver, pkt.data(), &len),
                  srtp_err_status_ok)
            << "packet " << i << " seq " << seq;
        pkt.resize(static_cast<size_t>(len));
        ASSERT_EQ(pkt, plain) << "packet " << i;
        if (seq == 65535) ++roc;  // the sender's ROC counts SEQ wraps
    }
    EXPECT_EQ(roc, 1u);
    EXPECT_EQ(srtp_dealloc(receiver), srtp_err_status_ok);
}

TEST_P(LibsrtpCrossCheck, LibsrtpProtectedRtcpDecryptsExactly) {
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
                      plain.size() + kGcmTagLen + kSrtcpIndexLen + mki_len());
            pkt.resize(static_cast<size_t>(len));
            strip_mki(pkt);
            EXPECT_EQ(pkt[pkt.size() - 4] & 0x80, auth_only ? 0 : 0x80);

            size_t rtcp_len = 0;
            uint32_t index = 0;
            ASSERT_TRUE(
                srtcp_decrypt(engine(), *rtcp_keys_, pkt.data(), pkt.size(), &rtcp_len, &index))
                << "packet " << i;
            EXPECT_EQ(index, static_cast<uint32_t>(i + 1));  // libsrtp's first index is 1
            ASSERT_EQ(rtcp_len, plain.size());
            pkt.resize(rtcp_len);
            ASSERT_EQ(pkt, plain) << "packet " << i;
        }
        EXPECT_EQ(srtp_dealloc(sender), srtp_err_status_ok);
    }
}

TEST_P(LibsrtpCrossCheck, OurProtectedRtcpUnprotectsInLibsrtp) {
    for (bool auth_only : {false, true}) {
        SCOPED_TRACE(auth_only ? "E=0" : "E=1");
        srtp_t receiver = create(ssrc_any_inbound, auth_only);
        ASSERT_NE(receiver, nullptr);
        for (int i = 0; i < 40; ++i) {
            const Bytes plain = make_rtcp(kCrossSsrc, static_cast<size_t>(i * 11 % 300));
            Bytes pkt(plain.size() + kGcmTagLen + kSrtcpIndexLen);
            ASSERT_EQ(srtcp_encrypt(engine(), *rtcp_keys_, plain.data(), plain.size(),
                                    static_cast<uint32_t>(i + 1), !auth_only, pkt.data()),
                      pkt.size());
            if (GetParam().mki) pkt.insert(pkt.end(), kMki, kMki + sizeof(kMki));
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

INSTANTIATE_TEST_SUITE_P(Libsrtp2, LibsrtpCrossCheck,
                         ::testing::Values(CrossParams{"aes128", false, false},
                                           CrossParams{"aes128_mki4", false, true},
                                           CrossParams{"aes256", true, false},
                                           CrossParams{"aes256_mki4", true, true}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Negative cases. Every failed decrypt must also leave the packet unchanged.

TEST(Negative, SrtpTamperingAndWrongRocFail) {
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    const Bytes good = hex(kRfc16_1);
    size_t payload_len = 0;
    struct Flip {
        const char* what;
        size_t offset;
        uint8_t mask;
    };
    const Flip flips[] = {
        {"header (AAD) bit", 1, 0x01},
        {"SSRC bit", 9, 0x80},
        {"first ciphertext bit", 12, 0x80},
        {"last ciphertext bit", good.size() - 17, 0x01},
        {"first tag bit", good.size() - 16, 0x80},
        {"last tag bit", good.size() - 1, 0x01},
    };
    for (const Flip& f : flips) {
        Bytes pkt = good;
        pkt[f.offset] ^= f.mask;
        const Bytes tampered = pkt;
        EXPECT_FALSE(srtp_decrypt(engine(), *keys, pkt.data(), pkt.size(), 12, 0, &payload_len))
            << f.what;
        EXPECT_EQ(pkt, tampered) << f.what;
    }
    for (uint32_t wrong_roc : {1u, 0x80000000u, 0xffffffffu}) {
        Bytes pkt = good;
        EXPECT_FALSE(
            srtp_decrypt(engine(), *keys, pkt.data(), pkt.size(), 12, wrong_roc, &payload_len));
        EXPECT_EQ(pkt, good);
    }
    auto wrong_salt = make_keys(engine(), hex(kRfcKey128), hex("517569642070726f2071756e"));
    Bytes pkt = good;
    EXPECT_FALSE(srtp_decrypt(engine(), *wrong_salt, pkt.data(), pkt.size(), 12, 0, &payload_len));
    // The right key still works on the untouched packet.
    EXPECT_TRUE(srtp_decrypt(engine(), *keys, pkt.data(), pkt.size(), 12, 0, &payload_len));
}

TEST(Negative, SrtpBadLengthArguments) {
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    Bytes pkt = hex(kRfc16_1);
    size_t payload_len = 0;
    EXPECT_FALSE(srtp_decrypt(engine(), *keys, pkt.data(), pkt.size(), 11, 0, &payload_len));
    EXPECT_FALSE(
        srtp_decrypt(engine(), *keys, pkt.data(), pkt.size(), pkt.size() - 15, 0, &payload_len));
    EXPECT_FALSE(
        srtp_decrypt(engine(), *keys, pkt.data(), pkt.size(), pkt.size() + 1, 0, &payload_len));
    EXPECT_FALSE(srtp_decrypt(engine(), *keys, nullptr, pkt.size(), 12, 0, &payload_len));
    EXPECT_EQ(pkt, hex(kRfc16_1));
    Bytes out(64);
    const Bytes bad_version = hex("4040f17b 8041f8d3 5501a0b2 4761");
    EXPECT_EQ(srtp_encrypt(engine(), *keys, bad_version.data(), bad_version.size(), 0, out.data()),
              0u);
}

TEST(Negative, SrtcpTamperingFails) {
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    for (const char* vector : {kRfc17_1, kRfc17_3}) {
        const Bytes good = hex(vector);
        const size_t n = good.size();
        const size_t offsets[] = {0, 5, 8, n / 2, n - 21, n - 20, n - 5, n - 4, n - 1};
        for (size_t offset : offsets) {
            Bytes pkt = good;
            pkt[offset] ^= offset == n - 4 ? 0x80 : 0x01;  // n - 4: the E flag itself
            const Bytes tampered = pkt;
            size_t rtcp_len = 0;
            uint32_t index = 0;
            EXPECT_FALSE(srtcp_decrypt(engine(), *keys, pkt.data(), pkt.size(), &rtcp_len, &index))
                << "offset " << offset;
            EXPECT_EQ(pkt, tampered) << "offset " << offset;
        }
    }
}

TEST(Negative, SrtcpShorterThanMinimumFails) {
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    // The shortest valid SRTCP packet: 8-octet RTCP header + SSRC, tag, E|index (8 + 16 + 4).
    const Bytes rtcp = hex("80c90001 4d617273");
    for (bool encrypt : {true, false}) {
        Bytes pkt(28);
        ASSERT_EQ(srtcp_encrypt(engine(), *keys, rtcp.data(), rtcp.size(), 7, encrypt, pkt.data()),
                  28u);
        size_t rtcp_len = 0;
        uint32_t index = 0;
        Bytes copy = pkt;
        ASSERT_TRUE(srtcp_decrypt(engine(), *keys, copy.data(), copy.size(), &rtcp_len, &index));
        EXPECT_EQ(rtcp_len, 8u);
        EXPECT_EQ(index, 7u);
        EXPECT_EQ(Bytes(copy.begin(), copy.begin() + 8), rtcp);
        for (size_t len = 0; len < 28; ++len) {
            // The packet minus its first octets: same trailer, too short.
            Bytes shorter(pkt.begin() + static_cast<long>(28 - len), pkt.end());
            EXPECT_FALSE(
                srtcp_decrypt(engine(), *keys, shorter.data(), shorter.size(), &rtcp_len, &index))
                << len;
        }
    }
    Bytes out(64);
    EXPECT_EQ(srtcp_encrypt(engine(), *keys, rtcp.data(), 7, 1, true, out.data()), 0u);
    EXPECT_EQ(srtcp_encrypt(engine(), *keys, rtcp.data(), 8, 0x80000000u, true, out.data()), 0u);
}

TEST(RtpHeaderLength, ValidAndMalformedHeaders) {
    const Bytes fixed = make_rtp(1, 2, 0, -1, 0);
    EXPECT_EQ(rtp_header_length(fixed.data(), fixed.size()), 12u);
    EXPECT_EQ(rtp_header_length(fixed.data(), 11), 0u);
    EXPECT_EQ(rtp_header_length(nullptr, 12), 0u);
    for (uint8_t version : {0, 1, 3}) {
        Bytes p = fixed;
        p[0] = static_cast<uint8_t>((p[0] & 0x3f) | version << 6);
        EXPECT_EQ(rtp_header_length(p.data(), p.size()), 0u) << int{version};
    }
    // Bogus CSRC count: CC = 15 claims 60 octets of CSRCs.
    Bytes bogus_cc = make_rtp(1, 2, 0, -1, 59);
    bogus_cc[0] |= 0x0f;
    EXPECT_EQ(rtp_header_length(bogus_cc.data(), bogus_cc.size()), 0u);
    bogus_cc.push_back(0);
    EXPECT_EQ(rtp_header_length(bogus_cc.data(), bogus_cc.size()), 72u);

    const Bytes with_ext = make_rtp(1, 2, 2, 3, 0);  // 12 + 8 + 4 + 12
    EXPECT_EQ(rtp_header_length(with_ext.data(), with_ext.size()), 36u);
    for (size_t len = 0; len < with_ext.size(); ++len) {
        EXPECT_EQ(rtp_header_length(with_ext.data(), len), 0u) << len;
    }
    // Extension length past the end of the packet.
    Bytes long_ext = make_rtp(1, 2, 0, 1, 100);
    long_ext[14] = 0xff;
    long_ext[15] = 0xff;
    EXPECT_EQ(rtp_header_length(long_ext.data(), long_ext.size()), 0u);
    long_ext[14] = 0;
    long_ext[15] = 27;  // 12 + 4 + 108 = 124 > 120 octets
    EXPECT_EQ(rtp_header_length(long_ext.data(), long_ext.size()), 0u);
    long_ext[15] = 26;  // 12 + 4 + 104 = 120: exactly fits
    EXPECT_EQ(rtp_header_length(long_ext.data(), long_ext.size()), 120u);
}

// Each truncated copy is heap-allocated with exactly its length, so AddressSanitizer reports
// any read past the end.
std::unique_ptr<uint8_t[]> exact_copy(const Bytes& src, size_t len) {
    std::unique_ptr<uint8_t[]> p(new uint8_t[len]);
    if (len != 0) std::memcpy(p.get(), src.data(), len);
    return p;
}

TEST(Truncation, SrtpAtEveryLength) {
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    const Bytes plain = make_rtp(1000, 0xabcdef01, 3, 2, 50);
    const size_t full_header = 12 + 12 + 4 + 8;
    Bytes full(plain.size() + kGcmTagLen);
    ASSERT_EQ(srtp_encrypt(engine(), *keys, plain.data(), plain.size(), 0, full.data()),
              full.size());
    int decrypted = 0;
    for (size_t len = 0; len <= full.size(); ++len) {
        auto pkt = exact_copy(full, len);
        const size_t header_len = rtp_header_length(pkt.get(), len);
        ASSERT_EQ(header_len, len >= full_header ? full_header : 0u) << len;
        if (header_len == 0) continue;
        size_t payload_len = 0;
        const bool ok = srtp_decrypt(engine(), *keys, pkt.get(), len, header_len, 0, &payload_len);
        EXPECT_EQ(ok, len == full.size()) << len;
        decrypted += ok;
    }
    EXPECT_EQ(decrypted, 1);
}

TEST(Truncation, SrtcpAtEveryLength) {
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    for (const char* vector : {kRfc17_1, kRfc17_3}) {
        const Bytes full = hex(vector);
        int decrypted = 0;
        for (size_t len = 0; len <= full.size(); ++len) {
            auto pkt = exact_copy(full, len);
            size_t rtcp_len = 0;
            uint32_t index = 0;
            const bool ok = srtcp_decrypt(engine(), *keys, pkt.get(), len, &rtcp_len, &index);
            EXPECT_EQ(ok, len == full.size()) << len;
            decrypted += ok;
        }
        EXPECT_EQ(decrypted, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 3711 Appendix A ROC estimation (refs 2.3).

struct RocCase {
    uint16_t s_l;
    uint32_t roc;
    uint16_t seq;
    uint32_t expected;
};

TEST(EstimateRoc, Table) {
    const RocCase cases[] = {
        {100, 5, 101, 5},            // next packet
        {100, 5, 50, 5},             // late packet, same cycle
        {0, 5, 32768, 5},            // s_l < 32768: SEQ - s_l = 32768 is not > 32768
        {0, 5, 32769, 4},            // ... 32769 is: a late packet of the previous cycle
        {65535, 5, 0, 6},            // rollover 65535 -> 0
        {65535, 5, 65534, 5},        // late packet just before the wrap
        {65500, 5, 10, 6},           // a few packets lost across the wrap
        {65500, 5, 32731, 6},        // s_l - 32768 = 32732 > 32731
        {65500, 5, 32732, 5},        // ... not > 32732
        {32768, 5, 0, 5},            // s_l - 32768 = 0 is not > 0
        {32769, 5, 0, 6},            // ... 1 > 0
        {3, 6, 2, 6},                // after the wrap, late packet of the new cycle
        {3, 6, 65533, 5},            // after the wrap, late packet from before it
        {3, 6, 32771, 6},            // SEQ - s_l = 32768: same cycle
        {3, 6, 32772, 5},            // SEQ - s_l = 32769: previous cycle
        {5, 0, 65000, 0},            // ROC 0 has no previous cycle (as libsrtp: no 0xffffffff)
        {65535, 0xffffffffu, 0, 0},  // the 32-bit ROC itself wraps modulo 2^32
    };
    for (const RocCase& c : cases) {
        EXPECT_EQ(estimate_roc(c.s_l, c.roc, c.seq), c.expected)
            << "s_l " << c.s_l << " roc " << c.roc << " seq " << c.seq;
    }
}

TEST(EstimateRoc, RolloverStreamDecryptsWithEstimatedRoc) {
    // SEQ 65530..65535, 0..5 with one late packet from before the wrap arriving after it; the
    // estimator must pick the ROC the sender used for each.
    auto keys = make_keys(engine(), hex(kRfcKey128), hex(kRfcSalt));
    struct Sent {
        uint16_t seq;
        uint32_t roc;
    };
    const Sent order[] = {{65530, 7}, {65531, 7}, {65533, 7}, {65534, 7}, {65535, 7},
                          {0, 8},     {1, 8},     {65532, 7}, {2, 8},     {3, 8}};
    uint16_t highest_seq = 65529;
    uint32_t highest_roc = 7;
    for (const Sent& s : order) {
        const Bytes plain = make_rtp(s.seq, 0x01020304, 0, -1, 20);
        Bytes pkt(plain.size() + kGcmTagLen);
        ASSERT_EQ(srtp_encrypt(engine(), *keys, plain.data(), plain.size(), s.roc, pkt.data()),
                  pkt.size());
        const uint32_t roc = estimate_roc(highest_seq, highest_roc, s.seq);
        EXPECT_EQ(roc, s.roc) << s.seq;
        size_t payload_len = 0;
        EXPECT_TRUE(srtp_decrypt(engine(), *keys, pkt.data(), pkt.size(), 12, roc, &payload_len))
            << s.seq;
        if (roc > highest_roc || (roc == highest_roc && s.seq > highest_seq)) {
            highest_roc = roc;
            highest_seq = s.seq;
        }
    }
    EXPECT_EQ(highest_roc, 8u);
    EXPECT_EQ(highest_seq, 3);
}

}  // namespace
}  // namespace liprobe::crypto
