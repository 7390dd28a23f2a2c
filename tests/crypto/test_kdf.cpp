// Published vectors for the key chain (refs/specs.md sections 1.6, 2.3, 3.3, 4.4; TS 33.180
// F.2.1.2 in seeds/003), plus a libsrtp2 cross-check of the AES-256 PRF path.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "liprobe/crypto/kdf.hpp"

namespace liprobe::crypto {
namespace {

Bytes hex(std::string_view text) {
    Bytes out;
    std::string digits;
    for (char c : text) {
        if (c != ' ') digits.push_back(c);
    }
    EXPECT_EQ(digits.size() % 2, 0u) << text;
    for (size_t i = 0; i + 1 < digits.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
    return out;
}

template <size_t N>
Bytes to_vec(const std::array<uint8_t, N>& a) {
    return Bytes(a.begin(), a.end());
}

std::array<uint8_t, 16> block(std::string_view text) {
    const Bytes b = hex(text);
    std::array<uint8_t, 16> out{};
    EXPECT_EQ(b.size(), out.size());
    std::copy(b.begin(), b.begin() + std::min(b.size(), out.size()), out.begin());
    return out;
}

// ---- RFC 3711 Appendix B.3 (refs 2.3; RFC text in metta-systems/libsss doc/rfc3711.txt) ----
const Bytes kB3MasterKey = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
const Bytes kB3MasterSalt = hex("0EC675AD498AFEEBB6960B3AABE6");

TEST(SrtpKdf, Rfc3711B3CipherKey) {
    EXPECT_EQ(srtp_kdf(kB3MasterKey, kB3MasterSalt, SrtpKdfLabel::rtp_encryption, 16),
              hex("C61E7A93744F39EE10734AFE3FF7A087"));
}

TEST(SrtpKdf, Rfc3711B3CipherSalt) {
    EXPECT_EQ(srtp_kdf(kB3MasterKey, kB3MasterSalt, SrtpKdfLabel::rtp_salt, 14),
              hex("30CBBC08863D8C85D49DB34A9AE1"));
}

TEST(SrtpKdf, Rfc3711B3AuthKey94Octets) {
    EXPECT_EQ(srtp_kdf(kB3MasterKey, kB3MasterSalt, SrtpKdfLabel::rtp_auth, 94),
              hex("CEBE321F6FF7716B6FD4AB49AF256A15"
                  "6D38BAA48F0A0ACF3C34E2359E6CDBCE"
                  "E049646C43D9327AD175578EF7227098"
                  "6371C10C9A369AC2F94A8C5FBCDDDC25"
                  "6D6E919A48B610EF17C2041E47403576"
                  "6B68642C59BBFC2F34DB60DBDFB2"));
}

// RFC 3711 Appendix B.2 AES-CM keystream, first three blocks (refs 2.3).
TEST(AesCtr, Rfc3711B2Keystream) {
    EXPECT_EQ(aes_ctr_keystream(hex("2B7E151628AED2A6ABF7158809CF4F3C"),
                                block("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), 48),
              hex("E03EAD0935C95E80E166B16DD92B4EB4"
                  "D23513162B02D0F72A43A2FE4A5F97AB"
                  "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

// ---- libsrtp test/srtp_driver.c srtp_validate_gcm() test_key_gcm (refs 1.6) ----
const Bytes kLibsrtpGcmKey = hex("000102030405060708090a0b0c0d0e0f");
const Bytes kLibsrtpGcmSalt = hex("a0a1a2a3a4a5a6a7a8a9aaab");

TEST(SrtpKdf, LibsrtpGcmSessionKeysWithTwelveOctetSalt) {
    EXPECT_EQ(srtp_kdf(kLibsrtpGcmKey, kLibsrtpGcmSalt, SrtpKdfLabel::rtp_encryption, 16),
              hex("077c6143cb221bc355ff23d5f984a16e"));
    EXPECT_EQ(srtp_kdf(kLibsrtpGcmKey, kLibsrtpGcmSalt, SrtpKdfLabel::rtp_salt, 12),
              hex("9af3e95364ebac9c99c5a7c4"));
    EXPECT_EQ(srtp_kdf(kLibsrtpGcmKey, kLibsrtpGcmSalt, SrtpKdfLabel::rtcp_encryption, 16),
              hex("615dcd9042600666f6fd4d9e4fe4519f"));
    EXPECT_EQ(srtp_kdf(kLibsrtpGcmKey, kLibsrtpGcmSalt, SrtpKdfLabel::rtcp_salt, 12),
              hex("fcca937b9112a500dac72269"));
}

// refs 2.2: padding the 12-octet salt on the LEFT gives the wrong k_e 521005d2...; the right
// padding must not produce it, while explicitly left-padded input must (so the check can fail).
TEST(SrtpKdf, TwelveOctetSaltIsPaddedOnTheRight) {
    const Bytes wrong_k_e = hex("521005d29b97ebd6966b8b96e3fbeede");
    EXPECT_NE(srtp_kdf(kLibsrtpGcmKey, kLibsrtpGcmSalt, SrtpKdfLabel::rtp_encryption, 16),
              wrong_k_e);
    Bytes left_padded = {0, 0};
    left_padded.insert(left_padded.end(), kLibsrtpGcmSalt.begin(), kLibsrtpGcmSalt.end());
    EXPECT_EQ(srtp_kdf(kLibsrtpGcmKey, left_padded, SrtpKdfLabel::rtp_encryption, 16), wrong_k_e);
    Bytes right_padded = kLibsrtpGcmSalt;
    right_padded.insert(right_padded.end(), {0, 0});
    EXPECT_EQ(srtp_kdf(kLibsrtpGcmKey, right_padded, SrtpKdfLabel::rtp_encryption, 16),
              hex("077c6143cb221bc355ff23d5f984a16e"));
}

TEST(SrtpKdf, RejectsBadLengths) {
    EXPECT_THROW(
        srtp_kdf(kLibsrtpGcmKey, hex("a0a1a2a3a4a5a6a7a8a9aa"), SrtpKdfLabel::rtp_salt, 12),
        std::invalid_argument);
    EXPECT_THROW(srtp_kdf(hex("0001020304"), kLibsrtpGcmSalt, SrtpKdfLabel::rtp_salt, 12),
                 std::invalid_argument);
}

// AES-256-CM PRF (RFC 6188) checked against libsrtp2 itself: libsrtp2 protects an RTP packet
// with AEAD_AES_256_GCM from a 32-octet master key and 12-octet salt; OpenSSL AES-GCM with our
// derived session key and salt must open it (RFC 7714 IV, refs 1.2). The 128-bit run proves the
// harness against the vector above.
class LibsrtpCrossCheck : public ::testing::TestWithParam<size_t> {
  protected:
    static void SetUpTestSuite() { ASSERT_EQ(srtp_init(), srtp_err_status_ok); }
    static void TearDownTestSuite() { srtp_shutdown(); }
};

TEST_P(LibsrtpCrossCheck, SessionKeysOpenLibsrtpPacket) {
    const size_t key_len = GetParam();
    Bytes master_key(key_len);
    for (size_t i = 0; i < key_len; ++i) master_key[i] = static_cast<uint8_t>(0x30 + 7 * i);
    const Bytes master_salt = hex("c0c1c2c3c4c5c6c7c8c9cacb");
    Bytes key_and_salt = master_key;
    key_and_salt.insert(key_and_salt.end(), master_salt.begin(), master_salt.end());

    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof(policy));
    if (key_len == 32) {
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
    } else {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    }
    policy.ssrc.type = ssrc_any_outbound;
    policy.key = key_and_salt.data();
    policy.window_size = 128;
    srtp_t session = nullptr;
    ASSERT_EQ(srtp_create(&session, &policy), srtp_err_status_ok);

    const Bytes rtp = hex("800f1234 decafbad cafebabe 0102030405060708090a0b0c0d0e0f10");
    std::vector<uint8_t> packet(rtp.size() + SRTP_MAX_TRAILER_LEN);
    std::copy(rtp.begin(), rtp.end(), packet.begin());
    int len = static_cast<int>(rtp.size());
    ASSERT_EQ(srtp_protect(session, packet.data(), &len), srtp_err_status_ok);
    srtp_dealloc(session);
    ASSERT_EQ(static_cast<size_t>(len), rtp.size() + 16);

    const Bytes k_e = srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtp_encryption, key_len);
    const Bytes k_s = srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtp_salt, 12);
    // IV = (00 00 || SSRC || ROC=0 || SEQ) XOR k_s.
    uint8_t iv[12] = {0, 0, 0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0, 0x12, 0x34};
    for (size_t i = 0; i < 12; ++i) iv[i] ^= k_s[i];

    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ASSERT_NE(ctx, nullptr);
    const EVP_CIPHER* cipher = key_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
    const size_t header_len = 12;
    const size_t body_len = rtp.size() - header_len;
    std::vector<uint8_t> plain(body_len);
    int out_len = 0;
    bool ok = EVP_DecryptInit_ex(ctx, cipher, nullptr, k_e.data(), iv) == 1 &&
              EVP_DecryptUpdate(ctx, nullptr, &out_len, packet.data(), header_len) == 1 &&
              EVP_DecryptUpdate(ctx, plain.data(), &out_len, packet.data() + header_len,
                                static_cast<int>(body_len)) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                                  packet.data() + header_len + body_len) == 1;
    int final_len = 0;
    ok = ok && EVP_DecryptFinal_ex(ctx, plain.data() + out_len, &final_len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    EXPECT_TRUE(ok);
    EXPECT_EQ(plain, Bytes(rtp.begin() + header_len, rtp.end()));
}

INSTANTIATE_TEST_SUITE_P(KeyLengths, LibsrtpCrossCheck, ::testing::Values(16, 32));

// ---- MIKEY PRF: Streamwide sw_mikey_sakke unit_tests/test_key_deriv.cc (refs 3.3) ----
const Bytes kStreamwideSsv = hex("A27B7D578EEB9B1EE7705E385996D300");
const Bytes kStreamwideRand = hex("4339F62F55AAC86348846A482C893802");

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

TEST(MikeyPrf, StreamwideCsId4EncrAndSalt) {
    const Bytes out = concat(
        mikey_derive(kStreamwideSsv, kMikeyKemacEncConstant, 4, 0x05A85C16, kStreamwideRand, 16),
        mikey_derive(kStreamwideSsv, kMikeySaltConstant, 4, 0x05A85C16, kStreamwideRand, 12));
    EXPECT_EQ(out, hex("3924935940c154ccbc3c2ad05c8f5181 1725869b80f370cc9f24e13b"));
}

TEST(MikeyPrf, StreamwideCsId0EncrAndSalt) {
    const Bytes out = concat(
        mikey_derive(kStreamwideSsv, kMikeyKemacEncConstant, 0, 0x05A85C16, kStreamwideRand, 16),
        mikey_derive(kStreamwideSsv, kMikeySaltConstant, 0, 0x05A85C16, kStreamwideRand, 12));
    EXPECT_EQ(out, hex("f17c80a8d2f9befa47cf712603d7229a c3b7b561a291a1d3abef482b"));
}

TEST(MikeyPrf, StreamwideCsId4TekAndSalt) {
    const Bytes out = concat(
        mikey_derive(kStreamwideSsv, kMikeyTekConstant, 4, 0x0633F457, kStreamwideRand, 16),
        mikey_derive(kStreamwideSsv, kMikeySaltConstant, 4, 0x0633F457, kStreamwideRand, 12));
    EXPECT_EQ(out, hex("59aaa49ebb54813602b7cc165961b4e8 745eb4df7d155c473114a799"));
}

TEST(MikeyPrf, LabelLayoutMatchesDerive) {
    // label = constant || cs_id || csb_id (BE32) || RAND (RFC 3830 4.1.3, refs 3.2).
    const Bytes label = concat(hex("2AD01C64 04 0633F457"), kStreamwideRand);
    EXPECT_EQ(mikey_prf_sha256(kStreamwideSsv, label, 16), hex("59aaa49ebb54813602b7cc165961b4e8"));
}

TEST(MikeyPrf, LongOutputIsPrefixConsistent) {
    // m = 2 blocks: the first 32 octets do not depend on the requested length.
    const Bytes label = hex("0102030405");
    const Bytes long_out = mikey_prf_sha256(kStreamwideSsv, label, 48);
    ASSERT_EQ(long_out.size(), 48u);
    EXPECT_EQ(Bytes(long_out.begin(), long_out.begin() + 16),
              mikey_prf_sha256(kStreamwideSsv, label, 16));
}

// ---- TS 33.180 F.1.3 User Salt / GUK-ID: Streamwide unit_tests/test_guk.cc
// "test_vector_etherstack" (refs 4.4). GMK-ID "9bf9d37" in the file is 09bf9d37; cs_id 4. ----
const Bytes kEtherstackGmk = hex("fcfe65cd967c58d260b603ccb9a887a9");
constexpr uint32_t kEtherstackGmkId = 0x09bf9d37;
const Bytes kEtherstackRand = hex("6819e679461120e10ac458cce67b8024");

struct EtherstackRow {
    const char* id;
    uint32_t user_salt;  // refs 4.4 intermediate values [R]
    uint32_t guk_id;
    const char* master_salt;
    const char* master_key;
};

const EtherstackRow kEtherstackRows[] = {
    {"sip:p25user01@etherstack.com", 0x877434c, 0x01c8de7b, "8b2f081ce8e8bdab1f8d9eb8",
     "64837d2b4d69a266e4489d3807353ad9"},
    {"sip:p25user02@etherstack.co.jp", 0x301f4e7, 0x0abe69d0, "750ea7422b4d5a8ff475c6d5",
     "de81b70c4ae0ff3f79364df586c2e0ce"},
    {"sip:92100002447@att.com", 0x5fb0a10, 0x0c449727, "97a154fb24efbfb353a265e2",
     "f097ac3325f1f784bc8ba4112c5e5f88"},
};

TEST(GukId, EtherstackUserSalts) {
    for (const EtherstackRow& row : kEtherstackRows) {
        EXPECT_EQ(user_salt(kEtherstackGmk, row.id), row.user_salt) << row.id;
    }
}

TEST(GukId, EtherstackGukIdsAndInverse) {
    for (const EtherstackRow& row : kEtherstackRows) {
        EXPECT_EQ(guk_id(kEtherstackGmkId, kEtherstackGmk, row.id), row.guk_id) << row.id;
        EXPECT_EQ(gmk_id_from_guk_id(row.guk_id, kEtherstackGmk, row.id), kEtherstackGmkId)
            << row.id;
    }
}

TEST(GukId, EtherstackMasterKeysAndSalts) {
    for (const EtherstackRow& row : kEtherstackRows) {
        EXPECT_EQ(
            mikey_derive(kEtherstackGmk, kMikeyTekConstant, 4, row.guk_id, kEtherstackRand, 16),
            hex(row.master_key))
            << row.id;
        EXPECT_EQ(
            mikey_derive(kEtherstackGmk, kMikeySaltConstant, 4, row.guk_id, kEtherstackRand, 12),
            hex(row.master_salt))
            << row.id;
    }
}

TEST(GukId, UserSaltIsKdf33220Fc50WithRealLength) {
    // F.1.3: 28 LSBs of HMAC-SHA-256(GMK, 0x50 || ID || BE16(len ID)).
    const std::string id = kEtherstackRows[0].id;
    const ByteView params[] = {as_bytes(id)};
    const auto out = kdf_33220(kEtherstackGmk, 0x50, params);
    const uint32_t last =
        (uint32_t{out[28]} << 24) | (uint32_t{out[29]} << 16) | (uint32_t{out[30]} << 8) | out[31];
    EXPECT_EQ(last & 0x0FFFFFFF, 0x877434cu);
}

TEST(GukId, PurposeTagIsPreserved) {
    // Upper 4 bits of the GMK-ID survive whatever the salt is.
    for (uint32_t tag = 0; tag < 16; ++tag) {
        const uint32_t id = (tag << 28) | 0x0123456;
        EXPECT_EQ(guk_id(id, kEtherstackGmk, "sip:p25user01@etherstack.com") >> 28, tag);
    }
}

// CSK vector (refs 4.4): cs_id 6, CSB ID = CSK-ID, no GUK.
TEST(GukId, CskVector) {
    const Bytes csk = hex("28ba74447f037dcc09ad7f2576dc2def");
    const Bytes rand = hex("30333032343661303730646133333265");
    EXPECT_EQ(mikey_derive(csk, kMikeySaltConstant, 6, 0x1c5f7886, rand, 12),
              hex("d1d648b2a0040633a3dd72e5"));
    EXPECT_EQ(mikey_derive(csk, kMikeyTekConstant, 6, 0x1c5f7886, rand, 16),
              hex("185d08cb5a226d19d71679adf5e415be"));
}

// Further GUK-only vectors (refs 4.4).
TEST(GukId, StreamwideUsServerVector) {
    EXPECT_EQ(guk_id(0x03f3453d, hex("52079f77690731437e407a5b4845aab3"),
                     "sip:P25SU-00003002000531@server-dev43-ws.streamwideus.com"),
              0x0e0e03f2u);
}

TEST(GukId, StreamwideTestVectorsTest1) {
    // StreamwideTestVectors.md Test 1: responder sip:alice@streamwide.com.
    EXPECT_EQ(
        guk_id(0x0e144748, hex("ead9e20459a5cbe881607f643a6f5ca5"), "sip:alice@streamwide.com"),
        0x034db662u);
}

// Session keys of Etherstack row 1 (refs 4.4, [R] computed from the published master key/salt).
TEST(GukId, EtherstackRow1SessionKeys) {
    const Bytes master_key = hex("64837d2b4d69a266e4489d3807353ad9");
    const Bytes master_salt = hex("8b2f081ce8e8bdab1f8d9eb8");
    EXPECT_EQ(srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtp_encryption, 16),
              hex("ae3bdc371fd9abc25b87f230717e9b4d"));
    EXPECT_EQ(srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtp_salt, 12),
              hex("888629f7ce02cd9a9bf1c1e5"));
    EXPECT_EQ(srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtcp_encryption, 16),
              hex("9b9080da8b0165c27ff1414becba454f"));
    EXPECT_EQ(srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtcp_salt, 12),
              hex("5a17f1a3088b3d9991e7ca61"));
}

// ---- TS 33.220 B.2.1.3 integer parameters (values of the F.2.1.2 example) ----
TEST(Kdf33220, IntegerParamIsShortestBigEndian) {
    EXPECT_EQ(kdf_integer_param(0), hex("00"));
    EXPECT_EQ(kdf_integer_param(1388), hex("056c"));
    EXPECT_EQ(kdf_integer_param(2592000), hex("278d00"));
    EXPECT_EQ(kdf_integer_param(0xFFFFFFFFFFFFFFFFull), hex("ffffffffffffffff"));
    EXPECT_EQ(kdf_integer_param(0x100), hex("0100"));
}

TEST(Kdf33220, RejectsOverlongParameter) {
    const Bytes big(0x10000, 0x41);
    const ByteView params[] = {big};
    EXPECT_THROW(kdf_33220(kEtherstackGmk, 0x50, params), std::invalid_argument);
}

// ---- TS 33.180 F.2.1.2 example UID (seeds/003, clause F.2.1.2) ----
TEST(MikeySakkeUid, Ts33180F212Example) {
    // TIME 3599719634 = 2014-01-26T10:07:14Z (NTP), 4-week period, offset 0 -> P5 = 1388.
    const auto uid =
        mikey_sakke_uid("sip:user@example.org", "kms.example.org", 2592000, 0, 3599719634ull);
    EXPECT_EQ(to_vec(uid), hex("3a81fb14c3b1d0fe43c9c577104d55a6d81788bfd2f09743c4557746a5a0353b"));
}

TEST(MikeySakkeUid, SameKeyPeriodGivesSameUid) {
    // 1388 * 2592000 = 3597696000 starts period 1388; one second earlier is period 1387.
    const auto a =
        mikey_sakke_uid("sip:user@example.org", "kms.example.org", 2592000, 0, 3597696000ull);
    const auto b =
        mikey_sakke_uid("sip:user@example.org", "kms.example.org", 2592000, 0, 3599719634ull);
    const auto c =
        mikey_sakke_uid("sip:user@example.org", "kms.example.org", 2592000, 0, 3597695999ull);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_THROW(mikey_sakke_uid("a", "b", 0, 0, 1), std::invalid_argument);
    EXPECT_THROW(mikey_sakke_uid("a", "b", 10, 5, 4), std::invalid_argument);
}

}  // namespace
}  // namespace liprobe::crypto
