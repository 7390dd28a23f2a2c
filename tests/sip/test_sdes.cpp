// RFC 4568 a=crypto parsing: the RFC's own example lines (section 4 and 6.1, "PS1uQCVe..." and
// "NzB4d1BI..." keys), every suite, several keys with MKIs, session parameters, and bad lines
// (bad base64, wrong key length, unknown suite, lifetimes, MKIs), each refused with its reason
// and leaving no key material behind.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "liprobe/sip/sdes.hpp"

namespace liprobe::sip {
namespace {

std::string hex(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

bool all_zero(const SdesCrypto& c) {
    for (const SdesKey& k : c.keys)
        for (uint8_t b : k.key_salt)
            if (b != 0) return false;
    return true;
}

// RFC 4568 section 4 (the offer's first line): 30 octets of key||salt, lifetime 2^20, MKI 1 of
// 4 octets. The expected octets are the base64 decoding of the RFC's text.
TEST(Sdes, Rfc4568ExampleLine) {
    SdesCrypto c;
    ASSERT_EQ(
        parse_crypto_attribute(
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
            c),
        SdesError::ok);
    EXPECT_EQ(c.tag, 1u);
    EXPECT_EQ(c.suite, crypto::SrtpProfile::aes_cm_128_hmac_sha1_80);
    ASSERT_EQ(c.key_count, 1u);
    EXPECT_EQ(c.keys[0].key_salt_len, 30u);
    EXPECT_EQ(hex(c.keys[0].key_salt, 30),
              "3d2d6e40255e7821426a75667239293f2c2335685c603d265d7b71695051");
    EXPECT_EQ(c.keys[0].lifetime, uint64_t{1} << 20);
    EXPECT_EQ(c.keys[0].mki, 1u);
    EXPECT_EQ(c.keys[0].mki_len, 4u);
    EXPECT_FALSE(c.kdr_given);
    wipe(c);
    EXPECT_TRUE(all_zero(c));
}

TEST(Sdes, MinimalLineEverySuiteAndBlanks) {
    struct Case {
        const char* suite;
        const char* key;  // base64 of octets 00 01 02 ...
        crypto::SrtpProfile profile;
        size_t len;
    };
    const char* k30 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
    const char* k46 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ==";
    const char* k28 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==";
    const char* k44 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=";
    const Case cases[] = {
        {"AES_CM_128_HMAC_SHA1_80", k30, crypto::SrtpProfile::aes_cm_128_hmac_sha1_80, 30},
        {"AES_CM_128_HMAC_SHA1_32", k30, crypto::SrtpProfile::aes_cm_128_hmac_sha1_32, 30},
        {"AES_256_CM_HMAC_SHA1_80", k46, crypto::SrtpProfile::aes_256_cm_hmac_sha1_80, 46},
        {"AES_256_CM_HMAC_SHA1_32", k46, crypto::SrtpProfile::aes_256_cm_hmac_sha1_32, 46},
        {"AEAD_AES_128_GCM", k28, crypto::SrtpProfile::aead_aes_128_gcm, 28},
        {"AEAD_AES_256_GCM", k44, crypto::SrtpProfile::aead_aes_256_gcm, 44},
    };
    for (const Case& k : cases) {
        SCOPED_TRACE(k.suite);
        SdesCrypto c;
        const std::string line = std::string("  42\t") + k.suite + "  inline:" + k.key + " \r\n";
        ASSERT_EQ(parse_crypto_attribute(line, c), SdesError::ok);
        EXPECT_EQ(c.tag, 42u);
        EXPECT_EQ(c.suite, k.profile);
        ASSERT_EQ(c.keys[0].key_salt_len, k.len);
        for (size_t i = 0; i < k.len; ++i) ASSERT_EQ(c.keys[0].key_salt[i], i);
        EXPECT_EQ(c.keys[0].lifetime, 0u);
        EXPECT_EQ(c.keys[0].mki_len, 0u);
    }
}

TEST(Sdes, SeveralKeysLifetimesAndSessionParameters) {
    SdesCrypto c;
    ASSERT_EQ(
        parse_crypto_attribute("2 AES_CM_128_HMAC_SHA1_32 "
                               "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4;"
                               "inline:QUJjZGVmZ2hpSktMbW9QcXJzVHV2d3h5ejEyMzQ1|1048576|2:4 "
                               "KDR=0 WSH=128 UNENCRYPTED_SRTCP -X_VENDOR_PARAM FEC_ORDER=FEC_SRTP",
                               c),
        SdesError::ok);
    EXPECT_EQ(c.tag, 2u);
    ASSERT_EQ(c.key_count, 2u);
    EXPECT_EQ(c.keys[0].mki, 1u);
    EXPECT_EQ(c.keys[1].mki, 2u);
    EXPECT_EQ(c.keys[1].lifetime, 1048576u);
    EXPECT_EQ(hex(c.keys[0].key_salt, 30),
              "37307877504835402f2c4c3a53317759227e3d27457067542528695f5663");
    EXPECT_TRUE(c.kdr_given);
    EXPECT_EQ(c.kdr, 0u);
    EXPECT_EQ(c.wsh, 128u);
    EXPECT_TRUE(c.unencrypted_srtcp);
    EXPECT_FALSE(c.unencrypted_srtp);
    EXPECT_TRUE(c.fec);

    // An MKI alone (no lifetime), and the largest lifetime and MKI values allowed.
    ASSERT_EQ(
        parse_crypto_attribute(
            "3 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|255:1", c),
        SdesError::ok);
    EXPECT_EQ(c.keys[0].mki, 255u);
    EXPECT_EQ(c.keys[0].lifetime, 0u);
    ASSERT_EQ(
        parse_crypto_attribute(
            "3 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^48|7:16",
            c),
        SdesError::ok);
    EXPECT_EQ(c.keys[0].lifetime, uint64_t{1} << 48);
    EXPECT_EQ(c.keys[0].mki_len, 16u);

    // Suite and parameter names are ABNF literals: case-insensitive.
    ASSERT_EQ(parse_crypto_attribute("4 aes_cm_128_hmac_sha1_32 "
                                     "INLINE:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR kdr=0",
                                     c),
              SdesError::ok);
    EXPECT_EQ(c.suite, crypto::SrtpProfile::aes_cm_128_hmac_sha1_32);
    EXPECT_TRUE(c.kdr_given);
}

struct Bad {
    std::string line;
    SdesError error;
};

TEST(Sdes, BadLinesAreRefusedWithTheirReasonAndNoKeyLeft) {
    const std::string good_key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
    const std::string cm80 = "1 AES_CM_128_HMAC_SHA1_80 inline:";
    const std::vector<Bad> cases = {
        {"", SdesError::bad_syntax},
        {"1", SdesError::bad_syntax},
        {"1 AES_CM_128_HMAC_SHA1_80", SdesError::bad_syntax},
        {"x1 AES_CM_128_HMAC_SHA1_80 inline:" + good_key, SdesError::bad_tag},
        {"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + good_key, SdesError::bad_tag},
        {"1 AES_CM_128_HMAC_SHA1_64 inline:" + good_key, SdesError::unknown_suite},
        {"1 F8_128_HMAC_SHA1_80 inline:" + good_key, SdesError::unknown_suite},
        {"1 AES_192_CM_HMAC_SHA1_80 inline:" + good_key, SdesError::unknown_suite},
        {"1 AES_CM_128_HMAC_SHA1_80 uri:http://example.org/key", SdesError::bad_key_method},
        {cm80 + "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV!R", SdesError::bad_base64},
        {cm80 + "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB=R", SdesError::bad_base64},
        {cm80 + "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRA", SdesError::bad_base64},
        {cm80, SdesError::bad_base64},
        {cm80 + "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtx", SdesError::wrong_key_length},
        {cm80 + good_key + "AAAA", SdesError::wrong_key_length},
        {"1 AES_256_CM_HMAC_SHA1_80 inline:" + good_key, SdesError::wrong_key_length},
        {"1 AEAD_AES_128_GCM inline:" + good_key, SdesError::wrong_key_length},
        {cm80 + good_key + "|2^0", SdesError::bad_lifetime},
        {cm80 + good_key + "|1", SdesError::bad_lifetime},
        {cm80 + good_key + "|0", SdesError::bad_lifetime},
        {cm80 + good_key + "|2^49", SdesError::bad_lifetime},
        {cm80 + good_key + "|281474976710657", SdesError::bad_lifetime},
        {cm80 + good_key + "|2^", SdesError::bad_lifetime},
        {cm80 + good_key + "|forever", SdesError::bad_lifetime},
        {cm80 + good_key + "|1:0", SdesError::bad_mki},
        {cm80 + good_key + "|1:129", SdesError::bad_mki},
        {cm80 + good_key + "|256:1", SdesError::bad_mki},
        {cm80 + good_key + "|:4", SdesError::bad_mki},
        {cm80 + good_key + "|2^20|2^20", SdesError::bad_mki},
        {cm80 + good_key + "|1:32", SdesError::mki_too_long},
        {cm80 + good_key + "|2^20|1:4|x", SdesError::bad_syntax},
        {cm80 + good_key + ";inline:" + good_key, SdesError::mki_inconsistent},
        {cm80 + good_key + "|1:4;inline:" + good_key + "|2:2", SdesError::mki_inconsistent},
        {cm80 + good_key + "|1:1;inline:" + good_key + "|2:1;inline:" + good_key +
             "|3:1;inline:" + good_key + "|4:1;inline:" + good_key + "|5:1",
         SdesError::too_many_keys},
        {cm80 + good_key + " KDR=25", SdesError::bad_session_parameter},
        {cm80 + good_key + " KDR=x", SdesError::bad_session_parameter},
        {cm80 + good_key + " WSH=10", SdesError::bad_session_parameter},
        {cm80 + good_key + " FEC_ORDER=NONE", SdesError::bad_session_parameter},
        {cm80 + good_key + " NEW_MANDATORY_PARAM", SdesError::unknown_session_parameter},
    };
    for (const Bad& b : cases) {
        SCOPED_TRACE(b.line);
        SdesCrypto c;
        EXPECT_EQ(parse_crypto_attribute(b.line, c), b.error) << sdes_error_name(b.error);
        EXPECT_TRUE(all_zero(c));
        EXPECT_EQ(c.key_count, 0u);
        EXPECT_STRNE(sdes_error_name(b.error), "unknown");
    }
}

// Every prefix of a good line parses or fails cleanly (no read past the end: run under ASan).
TEST(Sdes, EveryTruncationIsHandled) {
    const std::string line =
        "7 AES_256_CM_HMAC_SHA1_32 "
        "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ==|2^31|65535:2 "
        "KDR=0 UNENCRYPTED_SRTP";
    for (size_t n = 0; n <= line.size(); ++n) {
        const std::string prefix = line.substr(0, n);
        SdesCrypto c;
        const SdesError e = parse_crypto_attribute(prefix, c);
        if (e != SdesError::ok) {
            EXPECT_TRUE(all_zero(c)) << n;
        }
    }
    SdesCrypto c;
    ASSERT_EQ(parse_crypto_attribute(line, c), SdesError::ok);
    EXPECT_EQ(c.keys[0].mki, 65535u);
    EXPECT_TRUE(c.unencrypted_srtp);
}

}  // namespace
}  // namespace liprobe::sip
