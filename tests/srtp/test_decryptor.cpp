// SrtpDecryptor: MKI location (with and without RCC ROC), candidate trials and the per-stream
// winner cache, ROC estimation and late entry, validity times, and every negative outcome.
// Packets come from libsrtp2 (an independent implementation) where it supports the layout, from
// the published vectors of refs/specs.md, and otherwise from crypto::srtp_encrypt + MKI + ROC.
#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "eal.hpp"
#include "liprobe/crypto/kdf.hpp"
#include "liprobe/keys/key_model.hpp"
#include "liprobe/keys/key_table.hpp"
#include "liprobe/srtp/decryptor.hpp"

namespace liprobe::srtp {
namespace {

using Bytes = std::vector<uint8_t>;
using keys::ContextSpec;
using keys::KeyType;
using keys::SecretBytes;

Bytes hex(std::string_view text) {
    Bytes out;
    for (size_t i = 0; i + 1 < text.size(); i += 2) {
        while (i < text.size() && text[i] == ' ') ++i;
        out.push_back(static_cast<uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes be32(uint32_t v) {
    return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

const crypto::GcmEngine& engine() {
    static crypto::GcmEngine e;
    return e;
}

// Session keys/salts given directly (published or derived by the test).
struct SessionMaterial {
    Bytes rtp_key, rtp_salt, rtcp_key, rtcp_salt;
};

SessionMaterial derive(const Bytes& master_key, const Bytes& master_salt) {
    using crypto::SrtpKdfLabel;
    const size_t n = master_key.size();
    return {crypto::srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtp_encryption, n),
            crypto::srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtp_salt, 12),
            crypto::srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtcp_encryption, n),
            crypto::srtp_kdf(master_key, master_salt, SrtpKdfLabel::rtcp_salt, 12)};
}

ContextSpec spec_from(const std::string& name, const Bytes& mki, const SessionMaterial& m,
                      KeyType type = KeyType::srtp, uint32_t roc_rate = 0) {
    ContextSpec s;
    s.type = type;
    s.key_name = name;
    s.mki = mki;
    s.roc_rate = roc_rate;
    s.rtp_key = SecretBytes(m.rtp_key);
    s.rtp_salt = SecretBytes(m.rtp_salt);
    s.rtcp_key = SecretBytes(m.rtcp_key);
    s.rtcp_salt = SecretBytes(m.rtcp_salt);
    return s;
}

keys::EntryResult entry(std::vector<ContextSpec> specs) {
    keys::EntryResult e;
    e.ok = true;
    e.key_name = specs.front().key_name;
    e.contexts = std::move(specs);
    return e;
}

// Synthetic session material, distinct per seed.
SessionMaterial material(uint8_t seed) {
    SessionMaterial m;
    for (int i = 0; i < 16; ++i) {
        m.rtp_key.push_back(uint8_t(seed * 31 + i));
        m.rtcp_key.push_back(uint8_t(seed * 17 + 3 * i));
    }
    for (int i = 0; i < 12; ++i) {
        m.rtp_salt.push_back(uint8_t(seed ^ (i * 5)));
        m.rtcp_salt.push_back(uint8_t(seed + 11 * i));
    }
    return m;
}

std::unique_ptr<crypto::SrtpSessionKeys> session_keys(const Bytes& key, const Bytes& salt) {
    auto k = std::make_unique<crypto::SrtpSessionKeys>();
    EXPECT_TRUE(engine().expand_key(key, k->key));
    std::memcpy(k->salt, salt.data(), 12);
    return k;
}

Bytes rtp_packet(uint32_t ssrc, uint16_t seq, size_t payload_len, uint8_t fill = 0x30,
                 int csrcs = 0, int ext_words = -1) {
    Bytes p = {uint8_t(0x80 | csrcs | (ext_words >= 0 ? 0x10 : 0)),
               96,
               uint8_t(seq >> 8),
               uint8_t(seq),
               0,
               0,
               0x12,
               0x34};
    p = cat(p, be32(ssrc));
    for (int i = 0; i < csrcs; ++i) p = cat(p, be32(0xc5c00000u + i));
    if (ext_words >= 0) {
        p = cat(p, {0xbe, 0xde, 0, uint8_t(ext_words)});
        for (int i = 0; i < ext_words * 4; ++i) p.push_back(uint8_t(0xe0 + i));
    }
    for (size_t i = 0; i < payload_len; ++i) p.push_back(uint8_t(fill + i * 3 + seq));
    return p;
}

// crypto::srtp_encrypt, then the MKI and (when roc_in_tail) the 4-octet RCC ROC.
Bytes protect(const crypto::SrtpSessionKeys& k, const Bytes& rtp, uint32_t roc, const Bytes& mki,
              bool roc_in_tail) {
    Bytes out(rtp.size() + 16);
    EXPECT_EQ(crypto::srtp_encrypt(engine(), k, rtp.data(), rtp.size(), roc, out.data()),
              out.size());
    out = cat(out, mki);
    if (roc_in_tail) out = cat(out, be32(roc));
    return out;
}

class DecryptorTest : public ::testing::Test {
  protected:
    // Once per process: derived fixtures run this again, and libsrtp2 refuses a second init.
    static void SetUpTestSuite() {
        static const srtp_err_status_t status = srtp_init();
        ASSERT_EQ(status, srtp_err_status_ok);
    }

    void SetUp() override {
        ASSERT_TRUE(liprobe::test::init_eal());
        static int n = 0;
        keys::KeyTableConfig c;
        c.name = "dec_test_" + std::to_string(n++);
        c.capacity = 1024;
        c.max_readers = 2;
        table_ = std::make_unique<keys::KeyTable>(c);
        DecryptorConfig dc;
        dc.max_streams = 1024;
        dec_ = std::make_unique<SrtpDecryptor>(*table_, dc);
    }

    // Every packet handed to the decryptor is counted under exactly one outcome.
    void TearDown() override {
        uint64_t sum = 0;
        for (uint64_t v : dec_->counters().outcome) sum += v;
        EXPECT_EQ(sum, fed_);
        dec_.reset();
        table_->synchronize();
    }

    // Runs packets (in bursts of up to 32) over copies held in buffers of exactly their size.
    std::vector<Packet> run(std::vector<Bytes>& bufs, bool rtcp = false, int64_t time_us = 0,
                            int8_t preferred = -1) {
        std::vector<Packet> out(bufs.size());
        for (size_t i = 0; i < bufs.size(); ++i) {
            out[i].data = bufs[i].data();
            out[i].len = static_cast<uint32_t>(bufs[i].size());
            out[i].is_rtcp = rtcp;
            out[i].time_us = time_us;
            out[i].preferred_cs_id = preferred;
        }
        for (size_t i = 0; i < out.size(); i += kMaxBurst) {
            const uint16_t n = static_cast<uint16_t>(std::min<size_t>(kMaxBurst, out.size() - i));
            dec_->decrypt_burst(out.data() + i, n);
        }
        fed_ += out.size();
        return out;
    }
    Packet run_one(Bytes& buf, bool rtcp = false, int64_t time_us = 0, int8_t preferred = -1) {
        std::vector<Bytes> v{buf};
        Packet p = run(v, rtcp, time_us, preferred)[0];
        buf = v[0];
        p.data = nullptr;  // pointed into v
        return p;
    }
    const Counters& counters() const { return dec_->counters(); }
    uint64_t outcome(Outcome o) const { return counters().outcome[static_cast<size_t>(o)]; }

    std::unique_ptr<keys::KeyTable> table_;
    std::unique_ptr<SrtpDecryptor> dec_;
    uint64_t fed_ = 0;
};

// refs/specs.md 1.6: libsrtp test/srtp_driver.c srtp_validate_gcm() (test_key_gcm). Published
// without an MKI; the MKI is not authenticated by AEAD (refs 1.3), so appending one gives a
// valid packet for a table entry of type srtp with that master key and salt.
const char* kVecMasterKey = "000102030405060708090a0b0c0d0e0f";
const char* kVecMasterSalt = "a0a1a2a3a4a5a6a7a8a9aaab";
const char* kVecRtpIn = "800f1234decafbadcafebabeabababababababababababababababab";
const char* kVecSrtpOut =
    "800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392";
const char* kVecRtcpIn = "81c8000bcafebabeabababababababababababababababab";
const char* kVecSrtcpOut =
    "81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001";

TEST_F(DecryptorTest, LibsrtpPublishedVectorAsSrtpEntry) {
    const SessionMaterial m = derive(hex(kVecMasterKey), hex(kVecMasterSalt));
    // refs 1.6 derived session keys.
    ASSERT_EQ(m.rtp_key, hex("077c6143cb221bc355ff23d5f984a16e"));
    ASSERT_EQ(m.rtp_salt, hex("9af3e95364ebac9c99c5a7c4"));
    ASSERT_EQ(m.rtcp_key, hex("615dcd9042600666f6fd4d9e4fe4519f"));
    ASSERT_EQ(m.rtcp_salt, hex("fcca937b9112a500dac72269"));
    const Bytes mki = hex("c0ffee01");
    ASSERT_EQ(table_->install(entry({spec_from("c0ffee01", mki, m)})), "");

    Bytes srtp = cat(hex(kVecSrtpOut), mki);
    Packet p = run_one(srtp);
    ASSERT_EQ(p.outcome, Outcome::decrypted);
    ASSERT_EQ(p.plain_len, 28u);
    EXPECT_EQ(Bytes(srtp.begin(), srtp.begin() + p.plain_len), hex(kVecRtpIn));
    EXPECT_EQ(p.roc, 0u);
    ASSERT_NE(p.context, nullptr);

    Bytes srtcp = cat(hex(kVecSrtcpOut), mki);
    p = run_one(srtcp, true);
    ASSERT_EQ(p.outcome, Outcome::decrypted);
    ASSERT_EQ(p.plain_len, 24u);
    EXPECT_EQ(Bytes(srtcp.begin(), srtcp.begin() + p.plain_len), hex(kVecRtcpIn));
    EXPECT_EQ(p.roc, 1u);  // SRTCP index
    EXPECT_EQ(outcome(Outcome::decrypted), 2u);
}

// libsrtp2 sender with a 4-octet MKI (srtp_master_key_t), GCM-128: 32 RTP packets in one burst
// (CSRCs, header extensions, empty payloads, SEQ wrapping 65535 -> 0), then SRTCP E=1 and E=0.
class LibsrtpSender {
  public:
    LibsrtpSender(const Bytes& master_key, const Bytes& master_salt, const Bytes& mki,
                  bool rtcp_auth_only = false,
                  crypto::SrtpProfile profile = crypto::SrtpProfile::aead_aes_128_gcm) {
        key_salt_ = cat(master_key, master_salt);
        mki_ = mki;
        srtp_policy_t policy;
        std::memset(&policy, 0, sizeof(policy));
        using P = crypto::SrtpProfile;
        switch (profile) {
            case P::aes_cm_128_hmac_sha1_80:
            case P::aes_cm_128_hmac_sha1_32:
                srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
                srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
                break;
            case P::aes_256_cm_hmac_sha1_80:
            case P::aes_256_cm_hmac_sha1_32:
                srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtp);
                srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtcp);
                break;
            default:
                srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
                srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        }
        // The _32 suites shorten only the SRTP tag (SRTCP keeps 80 bits, RFC 4568 6.2.2).
        if (profile == P::aes_cm_128_hmac_sha1_32) {
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        } else if (profile == P::aes_256_cm_hmac_sha1_32) {
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&policy.rtp);
        }
        if (rtcp_auth_only) policy.rtcp.sec_serv = sec_serv_auth;
        policy.ssrc.type = ssrc_any_outbound;
        master_.key = key_salt_.data();
        master_.mki_id = mki_.data();
        master_.mki_size = static_cast<unsigned>(mki_.size());
        list_[0] = &master_;
        policy.keys = list_;
        policy.num_master_keys = 1;
        policy.window_size = 1024;
        EXPECT_EQ(srtp_create(&session_, &policy), srtp_err_status_ok);
    }
    ~LibsrtpSender() { srtp_dealloc(session_); }
    Bytes protect_rtp(const Bytes& rtp) {
        Bytes buf = rtp;
        buf.resize(rtp.size() + SRTP_MAX_TRAILER_LEN);
        int len = static_cast<int>(rtp.size());
        EXPECT_EQ(srtp_protect_mki(session_, buf.data(), &len, 1, 0), srtp_err_status_ok);
        buf.resize(static_cast<size_t>(len));
        return buf;
    }
    Bytes protect_rtcp(const Bytes& rtcp) {
        Bytes buf = rtcp;
        buf.resize(rtcp.size() + SRTP_MAX_TRAILER_LEN + 4);
        int len = static_cast<int>(rtcp.size());
        EXPECT_EQ(srtp_protect_rtcp_mki(session_, buf.data(), &len, 1, 0), srtp_err_status_ok);
        buf.resize(static_cast<size_t>(len));
        return buf;
    }

  private:
    Bytes key_salt_, mki_;
    srtp_master_key_t master_{};
    srtp_master_key_t* list_[1] = {};
    srtp_t session_ = nullptr;
};

Bytes rtcp_sr(uint32_t ssrc, uint8_t fill) {
    Bytes p = {0x80, 200, 0, 6};
    p = cat(p, be32(ssrc));
    for (int i = 0; i < 20; ++i) p.push_back(uint8_t(fill + i));
    return p;
}

TEST_F(DecryptorTest, LibsrtpBurstWithMki) {
    const Bytes mk = hex("e1f97a0d3e018be0d64fa32c06de4139"), ms = hex("0ec675ad498afeebb6960b3a");
    const Bytes mki = hex("4d4b4931");
    ASSERT_EQ(table_->install(entry({spec_from("4d4b4931", mki, derive(mk, ms))})), "");
    LibsrtpSender sender(mk, ms, mki);

    std::vector<Bytes> plain, bufs;
    for (int i = 0; i < 32; ++i) {
        const uint16_t seq = static_cast<uint16_t>(65520 + i);  // wraps after 16 packets
        plain.push_back(
            rtp_packet(0x5eed0001, seq, size_t(i * 7 % 61), 0x40, i % 3, i % 4 == 0 ? i % 3 : -1));
        bufs.push_back(sender.protect_rtp(plain.back()));
        ASSERT_EQ(bufs.back().size(), plain.back().size() + 16 + 4);
    }
    const auto out = run(bufs);
    for (int i = 0; i < 32; ++i) {
        ASSERT_EQ(out[i].outcome, Outcome::decrypted) << i;
        ASSERT_EQ(out[i].plain_len, plain[i].size()) << i;
        EXPECT_EQ(Bytes(bufs[i].begin(), bufs[i].begin() + out[i].plain_len), plain[i]) << i;
        EXPECT_EQ(out[i].roc, i < 16 ? 0u : 1u) << i;
    }
    EXPECT_EQ(outcome(Outcome::decrypted), 32u);
    EXPECT_EQ(counters().trial_decryptions, 0u);

    std::vector<Bytes> rplain, rbufs;
    for (int i = 0; i < 8; ++i) {
        rplain.push_back(rtcp_sr(0x5eed0001, uint8_t(i)));
        rbufs.push_back(sender.protect_rtcp(rplain.back()));
    }
    const auto rout = run(rbufs, true);
    for (int i = 0; i < 8; ++i) {
        ASSERT_EQ(rout[i].outcome, Outcome::decrypted) << i;
        ASSERT_EQ(rout[i].plain_len, rplain[i].size());
        EXPECT_EQ(Bytes(rbufs[i].begin(), rbufs[i].begin() + rout[i].plain_len), rplain[i]);
        EXPECT_EQ(rout[i].roc, uint32_t(i + 1)) << "SRTCP index";  // libsrtp starts at 1
    }

    LibsrtpSender auth_only(mk, ms, mki, true);
    Bytes sr = rtcp_sr(0x5eed0002, 9);
    Bytes protected_sr = auth_only.protect_rtcp(sr);
    EXPECT_EQ(Bytes(protected_sr.begin(), protected_sr.begin() + sr.size()), sr);  // E=0
    Packet p = run_one(protected_sr, true);
    ASSERT_EQ(p.outcome, Outcome::decrypted);
    EXPECT_EQ(Bytes(protected_sr.begin(), protected_sr.begin() + p.plain_len), sr);
}

// ---- AES-CM / HMAC-SHA1 suites (RFC 3711, RFC 6188), keyed through the key model ----

struct CmCase {
    const char* name;
    crypto::SrtpProfile profile;
};

class DecryptorCmTest : public DecryptorTest, public ::testing::WithParamInterface<CmCase> {
  protected:
    const crypto::SrtpProfileInfo& info() const { return crypto::profile_info(GetParam().profile); }
    Bytes master_key() const {
        Bytes k;
        for (size_t i = 0; i < info().key_len; ++i) k.push_back(uint8_t(0x91 + 13 * i));
        return k;
    }
    // The entry as an operator writes it: type srtp with the profile name and a 14-octet salt.
    void install(const Bytes& mki, const Bytes& mk, const Bytes& ms) {
        const nlohmann::json body = {{"keys",
                                      {{{"type", "srtp"},
                                        {"mki", keys::to_hex(mki.data(), mki.size())},
                                        {"master_key", keys::to_hex(mk.data(), mk.size())},
                                        {"master_salt", keys::to_hex(ms.data(), ms.size())},
                                        {"profile", info().name}}}}};
        const auto results = keys::derive_keys(body);
        ASSERT_EQ(results.size(), 1u);
        ASSERT_TRUE(results[0].ok) << results[0].reason;
        ASSERT_EQ(table_->install(results[0]), "");
    }
};

TEST_P(DecryptorCmTest, LibsrtpBurstsWithMkiRolloverSrtcpAndTampering) {
    const Bytes mk = master_key(), ms = hex("0ec675ad498afeebb6960b3aabe6");
    const Bytes mki = hex("4d4b4932");
    install(mki, mk, ms);
    EXPECT_EQ(table_->profile_mask(), 1u << static_cast<unsigned>(GetParam().profile));
    LibsrtpSender sender(mk, ms, mki, false, GetParam().profile);

    std::vector<Bytes> plain, bufs;
    for (int i = 0; i < 64; ++i) {
        const uint16_t seq = static_cast<uint16_t>(65520 + i);  // wraps after 16 packets
        plain.push_back(
            rtp_packet(0x5eed0003, seq, size_t(i * 7 % 61), 0x40, i % 3, i % 4 == 0 ? i % 3 : -1));
        bufs.push_back(sender.protect_rtp(plain.back()));
        ASSERT_EQ(bufs.back().size(), plain.back().size() + mki.size() + info().tag_len);
    }
    const auto out = run(bufs);
    for (int i = 0; i < 64; ++i) {
        ASSERT_EQ(out[i].outcome, Outcome::decrypted) << i;
        ASSERT_EQ(out[i].plain_len, plain[i].size()) << i;
        EXPECT_EQ(Bytes(bufs[i].begin(), bufs[i].begin() + out[i].plain_len), plain[i]) << i;
        EXPECT_EQ(out[i].roc, i < 16 ? 0u : 1u) << i;
    }
    EXPECT_EQ(outcome(Outcome::decrypted), 64u);
    EXPECT_EQ(counters().trial_decryptions, 0u);

    // A flipped tag bit: auth failure counted, packet delivered unchanged.
    Bytes bad = sender.protect_rtp(rtp_packet(0x5eed0003, 64, 40));
    bad[bad.size() - 1] ^= 0x20;
    const Bytes bad_copy = bad;
    EXPECT_EQ(run_one(bad).outcome, Outcome::auth_failed);
    EXPECT_EQ(bad, bad_copy);
    EXPECT_EQ(outcome(Outcome::auth_failed), 1u);

    std::vector<Bytes> rplain, rbufs;
    for (int i = 0; i < 8; ++i) {
        rplain.push_back(rtcp_sr(0x5eed0003, uint8_t(i)));
        rbufs.push_back(sender.protect_rtcp(rplain.back()));
        ASSERT_EQ(rbufs.back().size(), rplain.back().size() + 4 + mki.size() + 10);
    }
    const auto rout = run(rbufs, true);
    for (int i = 0; i < 8; ++i) {
        ASSERT_EQ(rout[i].outcome, Outcome::decrypted) << i;
        ASSERT_EQ(rout[i].plain_len, rplain[i].size());
        EXPECT_EQ(Bytes(rbufs[i].begin(), rbufs[i].begin() + rout[i].plain_len), rplain[i]);
        EXPECT_EQ(rout[i].roc, uint32_t(i + 1)) << "SRTCP index";
    }

    LibsrtpSender auth_only(mk, ms, mki, true, GetParam().profile);
    Bytes sr = rtcp_sr(0x5eed0004, 9);
    Bytes protected_sr = auth_only.protect_rtcp(sr);
    EXPECT_EQ(protected_sr[sr.size()] & 0x80, 0);  // E=0
    Packet p = run_one(protected_sr, true);
    ASSERT_EQ(p.outcome, Outcome::decrypted);
    EXPECT_EQ(Bytes(protected_sr.begin(), protected_sr.begin() + p.plain_len), sr);

    Bytes bad_sr = sender.protect_rtcp(rtcp_sr(0x5eed0003, 77));
    bad_sr[bad_sr.size() - 10] ^= 0x01;
    EXPECT_EQ(run_one(bad_sr, true).outcome, Outcome::auth_failed);
    EXPECT_EQ(outcome(Outcome::auth_failed), 2u);

    table_->revoke("4d4b4932");
    EXPECT_EQ(table_->profile_mask(), 0u);
}

// The tags of a burst are computed together before decryption (stage 3b) once the layout is
// known: a warm-up burst learns it, then a full burst crosses the SEQ wrap (ROC 0 -> 1).
TEST_P(DecryptorCmTest, BatchedTagsAcrossRocRolloverInOneBurst) {
    const Bytes mk = master_key(), ms = hex("2ec675ad498afeebb6960b3aabe7");
    const Bytes mki = hex("4d4b4933");
    install(mki, mk, ms);
    LibsrtpSender sender(mk, ms, mki, false, GetParam().profile);
    std::vector<Bytes> plain, bufs;
    for (int i = 0; i < 4 + 32; ++i) {
        const uint16_t seq = static_cast<uint16_t>(i < 4 ? 65500 + i : 65520 + (i - 4));
        plain.push_back(rtp_packet(0x5eed0005, seq, size_t(10 + i)));
        bufs.push_back(sender.protect_rtp(plain.back()));
    }
    std::vector<Bytes> warm(bufs.begin(), bufs.begin() + 4), full(bufs.begin() + 4, bufs.end());
    const auto w = run(warm);
    const auto f = run(full);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(w[i].outcome, Outcome::decrypted) << i;
    for (int i = 0; i < 32; ++i) {
        ASSERT_EQ(f[i].outcome, Outcome::decrypted) << i;
        EXPECT_EQ(Bytes(full[i].begin(), full[i].begin() + f[i].plain_len), plain[4 + i]) << i;
        EXPECT_EQ(f[i].roc, i < 16 ? 0u : 1u) << i;
    }
    EXPECT_EQ(outcome(Outcome::decrypted), 36u);
}

INSTANTIATE_TEST_SUITE_P(
    Suites, DecryptorCmTest,
    ::testing::Values(CmCase{"cm128_80", crypto::SrtpProfile::aes_cm_128_hmac_sha1_80},
                      CmCase{"cm128_32", crypto::SrtpProfile::aes_cm_128_hmac_sha1_32},
                      CmCase{"cm256_80", crypto::SrtpProfile::aes_256_cm_hmac_sha1_80},
                      CmCase{"cm256_32", crypto::SrtpProfile::aes_256_cm_hmac_sha1_32}),
    [](const auto& i) { return std::string(i.param.name); });

// Every tail layout in one table and one burst: AEAD with an RCC ROC (4 octets behind the MKI),
// AES_CM_128_HMAC_SHA1_32 (its 4-octet tag there) and _80 (10 octets), MKIs of 4 and 2 octets.
TEST_F(DecryptorTest, AeadAndCmContextsShareOneBurst) {
    const SessionMaterial gcm = material(7);
    const Bytes gcm_mki = hex("aa000001");
    ASSERT_EQ(table_->install(entry({spec_from("aa000001", gcm_mki, gcm, KeyType::srtp, 1)})), "");
    const Bytes ms = hex("101112131415161718191a1b1c1d");
    const Bytes mk32 = hex("202122232425262728292a2b2c2d2e2f"), mki32 = hex("aa000002");
    const Bytes mk80 = hex("303132333435363738393a3b3c3d3e3f"), mki80 = hex("bb01");
    for (const auto& [mki, mk, profile] : {std::tuple{mki32, mk32, "aes_cm_128_hmac_sha1_32"},
                                           std::tuple{mki80, mk80, "aes_cm_128_hmac_sha1_80"}}) {
        const auto r = keys::derive_keys(
            nlohmann::json::array({{{"type", "srtp"},
                                    {"mki", keys::to_hex(mki.data(), mki.size())},
                                    {"master_key", keys::to_hex(mk.data(), mk.size())},
                                    {"master_salt", keys::to_hex(ms.data(), ms.size())},
                                    {"profile", profile}}}));
        ASSERT_TRUE(r.at(0).ok) << r[0].reason;
        ASSERT_EQ(table_->install(r[0]), "");
    }
    LibsrtpSender s32(mk32, ms, mki32, false, crypto::SrtpProfile::aes_cm_128_hmac_sha1_32);
    LibsrtpSender s80(mk80, ms, mki80, false, crypto::SrtpProfile::aes_cm_128_hmac_sha1_80);
    auto gcm_keys = session_keys(gcm.rtp_key, gcm.rtp_salt);

    std::vector<Bytes> plain, bufs;
    for (int i = 0; i < 30; ++i) {
        const uint16_t seq = static_cast<uint16_t>(100 + i / 3);
        plain.push_back(rtp_packet(0x77000000u + uint32_t(i % 3), seq, size_t(20 + i)));
        switch (i % 3) {
            case 0:
                bufs.push_back(protect(*gcm_keys, plain.back(), 0, gcm_mki, true));
                break;
            case 1:
                bufs.push_back(s32.protect_rtp(plain.back()));
                break;
            default:
                bufs.push_back(s80.protect_rtp(plain.back()));
        }
    }
    const auto out = run(bufs);
    for (int i = 0; i < 30; ++i) {
        ASSERT_EQ(out[i].outcome, Outcome::decrypted) << i;
        EXPECT_EQ(Bytes(bufs[i].begin(), bufs[i].begin() + out[i].plain_len), plain[i]) << i;
        EXPECT_EQ(out[i].context->profile, i % 3 == 0 ? crypto::SrtpProfile::aead_aes_128_gcm
                                           : i % 3 == 1
                                               ? crypto::SrtpProfile::aes_cm_128_hmac_sha1_32
                                               : crypto::SrtpProfile::aes_cm_128_hmac_sha1_80)
            << i;
    }
    EXPECT_EQ(counters().rcc_roc_used, 10u);
}

// refs/specs.md 4.4 row 1 session keys (synthetic, computed from the published master key/salt)
// and 4.5 synthetic packet: GMK-ID || GUK-ID MKI, then the RCC ROC (RCCm3, R = 1).
const char* kGmkRtpKey = "ae3bdc371fd9abc25b87f230717e9b4d";
const char* kGmkRtpSalt = "888629f7ce02cd9a9bf1c1e5";
const char* kGmkRtcpKey = "9b9080da8b0165c27ff1414becba454f";
const char* kGmkRtcpSalt = "5a17f1a3088b3d9991e7ca61";
const char* kGmkPacket =
    "8060123400000a0b11223344"
    "9c9621b46681c808e9847e9b554fae975d1c"
    "b10823e906d820f82fb4220c3cea9315"
    "09bf9d3701c8de7b"
    "00000000";

SessionMaterial gmk_row1() {
    return {hex(kGmkRtpKey), hex(kGmkRtpSalt), hex(kGmkRtcpKey), hex(kGmkRtcpSalt)};
}

ContextSpec gmk_member(const Bytes& gmk_id, uint32_t guk_id, const SessionMaterial& m,
                       uint32_t roc_rate) {
    ContextSpec s = spec_from(keys::to_hex(gmk_id.data(), 4), cat(gmk_id, be32(guk_id)), m,
                              KeyType::gmk, roc_rate);
    s.short_mki = gmk_id;
    s.key_id = uint32_t(gmk_id[0]) << 24 | uint32_t(gmk_id[1]) << 16 | uint32_t(gmk_id[2]) << 8 |
               gmk_id[3];
    s.csb_id = guk_id;
    s.cs_id = 4;
    return s;
}

TEST_F(DecryptorTest, GmkWithRccRoc) {
    const Bytes gmk_id = hex("09bf9d37");
    ASSERT_EQ(table_->install(entry({gmk_member(gmk_id, 0x01c8de7b, gmk_row1(), 1)})), "");
    Bytes pkt = hex(kGmkPacket);
    Packet p = run_one(pkt);
    ASSERT_EQ(p.outcome, Outcome::decrypted);
    ASSERT_EQ(p.plain_len, 12u + 18u);
    EXPECT_EQ(std::string(pkt.begin() + 12, pkt.begin() + 30), "MCPTT test payload");
    EXPECT_EQ(p.roc, 0u);
    EXPECT_EQ(p.context->csb_id, 0x01c8de7bu);
    EXPECT_EQ(counters().rcc_roc_used, 1u);

    // 31 more packets, another SSRC at ROC 3, in one burst.
    auto k = session_keys(hex(kGmkRtpKey), hex(kGmkRtpSalt));
    std::vector<Bytes> plain, bufs;
    for (int i = 0; i < 31; ++i) {
        plain.push_back(rtp_packet(0x0a0b0c0d, uint16_t(100 + i), 160, uint8_t(i)));
        bufs.push_back(protect(*k, plain.back(), 3, hex("09bf9d3701c8de7b"), true));
    }
    const auto out = run(bufs);
    for (int i = 0; i < 31; ++i) {
        ASSERT_EQ(out[i].outcome, Outcome::decrypted) << i;
        EXPECT_EQ(out[i].roc, 3u);
        EXPECT_EQ(Bytes(bufs[i].begin(), bufs[i].begin() + out[i].plain_len), plain[i]);
    }
    EXPECT_EQ(counters().rcc_roc_used, 32u);
    EXPECT_EQ(outcome(Outcome::decrypted), 32u);
}

// The same vector, and the refs 4.5 group packet, with the keys given as JSON entries through
// derive_keys (key model + KDF + table + decryptor end to end).
TEST_F(DecryptorTest, DerivedEntriesDecryptPublishedPackets) {
    const auto results = keys::derive_keys_text(R"({"keys": [
        {"type": "srtp", "mki": "C0FFEE01", "master_key": "000102030405060708090a0b0c0d0e0f",
         "master_salt": "a0a1a2a3a4a5a6a7a8a9aaab", "profile": "aead_aes_128_gcm"},
        {"type": "gmk", "key": "fcfe65cd967c58d260b603ccb9a887a9", "key_id": "09bf9d37",
         "rand": "6819e679461120e10ac458cce67b8024",
         "members": ["sip:p25user01@etherstack.com", "sip:p25user02@etherstack.co.jp"]}]})");
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) {
        ASSERT_TRUE(r.ok) << r.reason;
        ASSERT_EQ(table_->install(r), "");
    }
    std::vector<Bytes> bufs = {cat(hex(kVecSrtpOut), hex("c0ffee01")), hex(kGmkPacket)};
    const auto out = run(bufs);
    ASSERT_EQ(out[0].outcome, Outcome::decrypted);
    EXPECT_EQ(Bytes(bufs[0].begin(), bufs[0].begin() + out[0].plain_len), hex(kVecRtpIn));
    ASSERT_EQ(out[1].outcome, Outcome::decrypted);
    EXPECT_EQ(std::string(bufs[1].begin() + 12, bufs[1].begin() + out[1].plain_len),
              "MCPTT test payload");
    EXPECT_EQ(out[1].context->csb_id, 0x01c8de7bu);  // the GUK-ID of sip:p25user01@etherstack.com
}

TEST_F(DecryptorTest, RocRolloverWithoutRcc) {
    const Bytes mki = hex("00c0ffee00");
    const SessionMaterial m = material(5);
    ASSERT_EQ(table_->install(entry({spec_from("roll", mki, m)})), "");
    auto k = session_keys(m.rtp_key, m.rtp_salt);
    std::vector<Bytes> plain, bufs;
    std::vector<uint32_t> rocs;
    // Two bursts: 65530..65535 at ROC 0, then 0..9 at ROC 1, then on to a second wrap.
    for (uint32_t index = 65530; index < 65530 + 16; ++index) {
        plain.push_back(rtp_packet(0x77, uint16_t(index), 40));
        rocs.push_back(index >> 16);
        bufs.push_back(protect(*k, plain.back(), index >> 16, mki, false));
    }
    for (uint32_t index = 2 * 65536 - 3; index < 2 * 65536 + 3; ++index) {
        plain.push_back(rtp_packet(0x77, uint16_t(index), 40));
        rocs.push_back(index >> 16);
        bufs.push_back(protect(*k, plain.back(), index >> 16, mki, false));
    }
    // The gap between the two groups (65546 -> 131069) is more than 32768 SEQs apart in steps of
    // less than 32768: feed intermediate packets so the estimate follows.
    std::vector<Bytes> steps;
    for (uint32_t index = 65546 + 20000; index < 2 * 65536 - 3; index += 20000)
        steps.push_back(protect(*k, rtp_packet(0x77, uint16_t(index), 4), index >> 16, mki, false));
    std::vector<Bytes> first(bufs.begin(), bufs.begin() + 16),
        second(bufs.begin() + 16, bufs.end());
    auto out1 = run(first);
    auto out_steps = run(steps);
    auto out2 = run(second);
    for (size_t i = 0; i < 16; ++i) {
        ASSERT_EQ(out1[i].outcome, Outcome::decrypted) << i;
        EXPECT_EQ(out1[i].roc, rocs[i]) << i;
        EXPECT_EQ(Bytes(first[i].begin(), first[i].begin() + out1[i].plain_len), plain[i]);
    }
    for (const auto& p : out_steps) EXPECT_EQ(p.outcome, Outcome::decrypted);
    for (size_t i = 0; i < second.size(); ++i) {
        ASSERT_EQ(out2[i].outcome, Outcome::decrypted) << i;
        EXPECT_EQ(out2[i].roc, rocs[16 + i]) << i;
        EXPECT_EQ(Bytes(second[i].begin(), second[i].begin() + out2[i].plain_len), plain[16 + i]);
    }
    EXPECT_EQ(counters().rcc_roc_used, 0u);
}

TEST_F(DecryptorTest, LateEntryWithRcc) {
    const Bytes every = hex("0e1447480000aaaa"), fourth = hex("0e1447480000bbbb");
    const SessionMaterial m1 = material(1), m2 = material(2);
    ASSERT_EQ(table_->install(entry({spec_from("every", every, m1, KeyType::gmk, 1)})), "");
    ASSERT_EQ(table_->install(entry({spec_from("fourth", fourth, m2, KeyType::gmk, 4)})), "");
    auto k1 = session_keys(m1.rtp_key, m1.rtp_salt);
    auto k2 = session_keys(m2.rtp_key, m2.rtp_salt);

    // R = 1: joining at ROC 7, SEQ 40000 works from the first packet.
    std::vector<Bytes> plain, bufs;
    for (int i = 0; i < 32; ++i) {
        plain.push_back(rtp_packet(0x1001, uint16_t(40000 + i), 80));
        bufs.push_back(protect(*k1, plain.back(), 7, every, true));
    }
    auto out = run(bufs);
    for (int i = 0; i < 32; ++i) {
        ASSERT_EQ(out[i].outcome, Outcome::decrypted) << i;
        EXPECT_EQ(out[i].roc, 7u);
        EXPECT_EQ(Bytes(bufs[i].begin(), bufs[i].begin() + out[i].plain_len), plain[i]);
    }
    EXPECT_EQ(counters().rcc_roc_used, 32u);

    // R = 4: packets before the first ROC-carrying one cannot be placed (ROC 0 assumed) and are
    // reported auth_failed unchanged; from SEQ 40004 on, the RCC ROC and then the estimate work.
    plain.clear();
    bufs.clear();
    for (int seq = 40001; seq <= 40012; ++seq) {
        plain.push_back(rtp_packet(0x2002, uint16_t(seq), 50));
        bufs.push_back(protect(*k2, plain.back(), 7, fourth, seq % 4 == 0));
    }
    const std::vector<Bytes> original = bufs;
    out = run(bufs);
    for (size_t i = 0; i < out.size(); ++i) {
        if (i < 3) {
            EXPECT_EQ(out[i].outcome, Outcome::auth_failed) << i;
            EXPECT_EQ(bufs[i], original[i]);
        } else {
            ASSERT_EQ(out[i].outcome, Outcome::decrypted) << i;
            EXPECT_EQ(out[i].roc, 7u);
            EXPECT_EQ(Bytes(bufs[i].begin(), bufs[i].begin() + out[i].plain_len), plain[i]);
        }
    }
    EXPECT_EQ(counters().rcc_roc_used, 32u + 3u);  // 40004, 40008, 40012
    EXPECT_EQ(outcome(Outcome::auth_failed), 3u);
}

TEST_F(DecryptorTest, SsrcCollisionAcrossTwoContexts) {
    const Bytes mki_a = hex("aaaa0001"), mki_b = hex("bbbb0002");
    const SessionMaterial ma = material(10), mb = material(11);
    ASSERT_EQ(table_->install(entry({spec_from("a", mki_a, ma)})), "");
    ASSERT_EQ(table_->install(entry({spec_from("b", mki_b, mb)})), "");
    auto ka = session_keys(ma.rtp_key, ma.rtp_salt);
    auto kb = session_keys(mb.rtp_key, mb.rtp_salt);
    std::vector<Bytes> plain, bufs;
    std::vector<uint32_t> rocs;
    for (int i = 0; i < 16; ++i) {  // same SSRC, interleaved; B wraps its SEQ half way
        plain.push_back(rtp_packet(0xc0111de, uint16_t(100 + i), 20, 1));
        rocs.push_back(0);
        bufs.push_back(protect(*ka, plain.back(), 0, mki_a, false));
        const uint32_t index_b = 65528 + i;
        plain.push_back(rtp_packet(0xc0111de, uint16_t(index_b), 24, 2));
        rocs.push_back(index_b >> 16);
        bufs.push_back(protect(*kb, plain.back(), index_b >> 16, mki_b, false));
    }
    const auto out = run(bufs);
    for (size_t i = 0; i < out.size(); ++i) {
        ASSERT_EQ(out[i].outcome, Outcome::decrypted) << i;
        EXPECT_EQ(out[i].context->key_name, i % 2 == 0 ? "a" : "b");
        EXPECT_EQ(out[i].roc, rocs[i]) << i;
        EXPECT_EQ(Bytes(bufs[i].begin(), bufs[i].begin() + out[i].plain_len), plain[i]);
    }
}

TEST_F(DecryptorTest, PckTwoCandidatesResolvedByTrialAndCached) {
    const Bytes pck_id = hex("1000beef");
    const SessionMaterial m0 = material(20), m1 = material(21);
    ContextSpec init = spec_from("1000beef", pck_id, m0, KeyType::pck);
    init.cs_id = 0;
    init.direction = keys::PckDirection::initiator;
    ContextSpec recv = spec_from("1000beef", pck_id, m1, KeyType::pck);
    recv.cs_id = 1;
    recv.direction = keys::PckDirection::receiver;
    ASSERT_EQ(table_->install(entry({init, recv})), "");
    auto k0 = session_keys(m0.rtp_key, m0.rtp_salt);
    auto k1 = session_keys(m1.rtp_key, m1.rtp_salt);

    auto stream = [&](const crypto::SrtpSessionKeys& k, uint32_t ssrc, int count) {
        std::vector<Bytes> bufs;
        for (int i = 0; i < count; ++i)
            bufs.push_back(protect(k, rtp_packet(ssrc, uint16_t(i), 33), 0, pck_id, false));
        return bufs;
    };
    auto receiver = stream(*k1, 0xbbbb, 32);  // the receiver's stream: CS-ID 1, second candidate
    for (const auto& p : run(receiver)) {
        ASSERT_EQ(p.outcome, Outcome::decrypted);
        EXPECT_EQ(p.context->cs_id, 1);
    }
    EXPECT_EQ(counters().trial_decryptions, 1u);  // only the first packet tried CS-ID 0

    auto initiator = stream(*k0, 0xaaaa, 8);
    for (const auto& p : run(initiator)) EXPECT_EQ(p.context->cs_id, 0);
    EXPECT_EQ(counters().trial_decryptions, 1u);

    auto hinted = stream(*k1, 0xcccc, 4);  // dialog direction known: CS-ID 1 first
    for (const auto& p : run(hinted, false, 0, 1)) EXPECT_EQ(p.context->cs_id, 1);
    EXPECT_EQ(counters().trial_decryptions, 1u);

    auto misled = stream(*k1, 0xdddd, 4);  // wrong hint costs one trial, once
    for (const auto& p : run(misled, false, 0, 0)) EXPECT_EQ(p.context->cs_id, 1);
    EXPECT_EQ(counters().trial_decryptions, 2u);
    EXPECT_EQ(outcome(Outcome::decrypted), 48u);

    // SRTCP with the same MKI: its own stream, resolved the same way.
    auto kr = session_keys(m1.rtcp_key, m1.rtcp_salt);
    Bytes sr = rtcp_sr(0xbbbb, 3);
    Bytes srtcp(sr.size() + 20);
    ASSERT_EQ(crypto::srtcp_encrypt(engine(), *kr, sr.data(), sr.size(), 5, true, srtcp.data()),
              srtcp.size());
    srtcp = cat(srtcp, pck_id);
    Packet p = run_one(srtcp, true);
    ASSERT_EQ(p.outcome, Outcome::decrypted);
    EXPECT_EQ(p.context->cs_id, 1);
    EXPECT_EQ(p.roc, 5u);
    EXPECT_EQ(Bytes(srtcp.begin(), srtcp.begin() + p.plain_len), sr);
    EXPECT_EQ(counters().trial_decryptions, 3u);
}

TEST_F(DecryptorTest, ShortGmkMkiResolvedAmongThreeMembers) {
    const Bytes gmk_id = hex("0c0ffee1");
    const uint32_t guk[3] = {0x0111, 0x0222, 0x0333};
    const SessionMaterial m[3] = {material(30), material(31), material(32)};
    std::vector<ContextSpec> specs;
    for (int i = 0; i < 3; ++i) specs.push_back(gmk_member(gmk_id, guk[i], m[i], 1));
    ASSERT_EQ(table_->install(entry(specs)), "");
    auto k3 = session_keys(m[2].rtp_key, m[2].rtp_salt);
    auto k2 = session_keys(m[1].rtp_key, m[1].rtp_salt);

    std::vector<Bytes> plain, bufs;  // the third member sends with the short MKI (GMK-ID)
    for (int i = 0; i < 12; ++i) {
        plain.push_back(rtp_packet(0x3333, uint16_t(500 + i), 100));
        bufs.push_back(protect(*k3, plain.back(), 2, gmk_id, true));
    }
    auto out = run(bufs);
    for (int i = 0; i < 12; ++i) {
        ASSERT_EQ(out[i].outcome, Outcome::decrypted) << i;
        EXPECT_EQ(out[i].context->csb_id, guk[2]);
        EXPECT_EQ(out[i].roc, 2u);
        EXPECT_EQ(Bytes(bufs[i].begin(), bufs[i].begin() + out[i].plain_len), plain[i]);
    }
    EXPECT_EQ(counters().trial_decryptions, 2u);  // first packet: members 1 and 2 failed

    bufs.clear();  // the second member with the full MKI: a single candidate
    for (int i = 0; i < 4; ++i)
        bufs.push_back(
            protect(*k2, rtp_packet(0x2222, uint16_t(i), 10), 0, cat(gmk_id, be32(guk[1])), true));
    for (const auto& p : run(bufs)) {
        ASSERT_EQ(p.outcome, Outcome::decrypted);
        EXPECT_EQ(p.context->csb_id, guk[1]);
    }
    EXPECT_EQ(counters().trial_decryptions, 2u);
}

TEST_F(DecryptorTest, WinnerCacheSurvivesReplacementSafely) {
    const Bytes pck_id = hex("10000001");
    const SessionMaterial m0 = material(40), m1 = material(41), m2 = material(42);
    auto install_pck = [&](const SessionMaterial& a, const SessionMaterial& b) {
        ContextSpec s0 = spec_from("10000001", pck_id, a, KeyType::pck);
        ContextSpec s1 = spec_from("10000001", pck_id, b, KeyType::pck);
        s1.cs_id = 1;
        ASSERT_EQ(table_->install(entry({s0, s1})), "");
    };
    install_pck(m0, m1);
    auto k1 = session_keys(m1.rtp_key, m1.rtp_salt);
    Bytes pkt = protect(*k1, rtp_packet(0x99, 1, 10), 0, pck_id, false);
    EXPECT_EQ(run_one(pkt).outcome, Outcome::decrypted);
    EXPECT_EQ(counters().trial_decryptions, 1u);
    // Re-install with the candidates swapped: the cached winner's id no longer matches, the
    // decryptor trials again instead of trusting the old index.
    install_pck(m1, m2);
    table_->synchronize();
    Bytes pkt2 = protect(*k1, rtp_packet(0x99, 2, 10), 0, pck_id, false);
    Packet p = run_one(pkt2);
    ASSERT_EQ(p.outcome, Outcome::decrypted);
    EXPECT_EQ(p.context->cs_id, 0);
    EXPECT_EQ(counters().trial_decryptions, 1u);  // new CS-ID 0 (= old key) is tried first
}

TEST_F(DecryptorTest, UnknownMkiAndEmptyTable) {
    const SessionMaterial m = material(50);
    auto k = session_keys(m.rtp_key, m.rtp_salt);
    Bytes pkt = protect(*k, rtp_packet(0x42, 7, 30), 0, hex("01020304"), false);
    const Bytes original = pkt;
    EXPECT_EQ(run_one(pkt).outcome, Outcome::unknown_mki);  // nothing registered at all
    EXPECT_EQ(pkt, original);
    ASSERT_EQ(table_->install(entry({spec_from("other", hex("01020305"), m)})), "");
    EXPECT_EQ(run_one(pkt).outcome, Outcome::unknown_mki);
    EXPECT_EQ(pkt, original);
    EXPECT_EQ(outcome(Outcome::unknown_mki), 2u);
    EXPECT_EQ(counters().expired_key, 0u);
}

TEST_F(DecryptorTest, TamperedPacketsFailAndStayUnchanged) {
    const Bytes mki = hex("7a7a7a7a");
    const SessionMaterial m = material(60);
    ASSERT_EQ(table_->install(entry({spec_from("t", mki, m)})), "");
    auto k = session_keys(m.rtp_key, m.rtp_salt);
    const Bytes good = protect(*k, rtp_packet(0x51, 9, 64), 0, mki, false);
    std::vector<Bytes> bufs;
    bufs.push_back(good);
    bufs.back()[good.size() - 4 - 1] ^= 0x01;  // last tag octet
    bufs.push_back(good);
    bufs.back()[12 + 5] ^= 0x80;  // ciphertext
    bufs.push_back(good);
    bufs.back()[1] ^= 0x01;  // header (AAD)
    const std::vector<Bytes> original = bufs;
    const auto out = run(bufs);
    for (size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(out[i].outcome, Outcome::auth_failed) << i;
        EXPECT_EQ(out[i].plain_len, 0u);
        EXPECT_EQ(out[i].context, nullptr);
        EXPECT_EQ(bufs[i], original[i]) << i;
    }
    // SRTCP with a flipped tag.
    auto kr = session_keys(m.rtcp_key, m.rtcp_salt);
    const Bytes sr = rtcp_sr(0x51, 1);
    Bytes srtcp(sr.size() + 20);
    crypto::srtcp_encrypt(engine(), *kr, sr.data(), sr.size(), 1, true, srtcp.data());
    srtcp = cat(srtcp, mki);
    srtcp[sr.size() + 3] ^= 0x10;
    const Bytes srtcp_original = srtcp;
    EXPECT_EQ(run_one(srtcp, true).outcome, Outcome::auth_failed);
    EXPECT_EQ(srtcp, srtcp_original);
    EXPECT_EQ(outcome(Outcome::auth_failed), 4u);
    // The untouched packet still decrypts afterwards (state was not poisoned).
    Bytes fine = good;
    EXPECT_EQ(run_one(fine).outcome, Outcome::decrypted);
}

// Every truncation of a valid packet (in a heap buffer of exactly that size, so AddressSanitizer
// sees any read past the end) is malformed or unknown_mki and left unchanged.
TEST_F(DecryptorTest, TruncatedPacketsAtEveryLength) {
    const Bytes gmk_id = hex("0e144748");
    // Without the short MKI: a packet cut right before its ROC would otherwise legitimately
    // read as a short-MKI packet (GMK-ID then 4 octets of "ROC") and fail authentication.
    ContextSpec member = gmk_member(gmk_id, 0x034db662, gmk_row1(), 1);
    member.short_mki.clear();
    ASSERT_EQ(table_->install(entry({member})), "");
    const Bytes pck = hex("10101010");
    const SessionMaterial m = material(70);
    ASSERT_EQ(table_->install(entry({spec_from("pck", pck, m, KeyType::pck)})), "");
    auto k = session_keys(hex(kGmkRtpKey), hex(kGmkRtpSalt));
    auto kr = session_keys(m.rtcp_key, m.rtcp_salt);

    const Bytes rtp =
        protect(*k, rtp_packet(0x66, 66, 48, 0, 2, 1), 0, cat(gmk_id, be32(0x034db662)), true);
    const Bytes sr = rtcp_sr(0x66, 6);
    Bytes srtcp(sr.size() + 20);
    crypto::srtcp_encrypt(engine(), *kr, sr.data(), sr.size(), 9, true, srtcp.data());
    srtcp = cat(srtcp, pck);

    for (const bool is_rtcp : {false, true}) {
        const Bytes& full = is_rtcp ? srtcp : rtp;
        for (size_t len = 0; len <= full.size(); ++len) {
            std::unique_ptr<uint8_t[]> buf(new uint8_t[len == 0 ? 1 : len]);
            std::memcpy(buf.get(), full.data(), len);
            Packet p;
            p.data = len == 0 ? nullptr : buf.get();
            p.len = static_cast<uint32_t>(len);
            p.is_rtcp = is_rtcp;
            dec_->decrypt_one(p);
            ++fed_;
            if (len == full.size()) {
                EXPECT_EQ(p.outcome, Outcome::decrypted);
            } else {
                EXPECT_TRUE(p.outcome == Outcome::malformed || p.outcome == Outcome::unknown_mki)
                    << "len " << len << ": " << outcome_name(p.outcome);
                EXPECT_EQ(0, std::memcmp(buf.get(), full.data(), len)) << len;
            }
        }
    }
    EXPECT_EQ(outcome(Outcome::decrypted), 2u);
    EXPECT_EQ(outcome(Outcome::auth_failed), 0u);
}

TEST_F(DecryptorTest, MalformedHeaders) {
    const Bytes mki = hex("abcdabcd");
    const SessionMaterial m = material(80);
    ASSERT_EQ(table_->install(entry({spec_from("m", mki, m)})), "");
    auto k = session_keys(m.rtp_key, m.rtp_salt);
    const Bytes good = protect(*k, rtp_packet(0x80, 1, 8), 0, mki, false);
    std::vector<Bytes> bufs(4, good);
    bufs[0][0] = 0x40;         // version 1
    bufs[1][0] = 0x80 | 0x0f;  // 15 CSRCs: the header runs past the packet
    bufs[2][0] = 0x90;         // X=1 with an extension length past the end
    bufs[2][12] = 0xbe;
    bufs[2][13] = 0xde;
    bufs[2][14] = 0xff;
    bufs[2][15] = 0xff;
    bufs[3].resize(5);  // shorter than the fixed header
    const auto out = run(bufs);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].outcome, Outcome::malformed) << i;
    Packet null_packet;  // no data at all
    dec_->decrypt_one(null_packet);
    ++fed_;
    EXPECT_EQ(null_packet.outcome, Outcome::malformed);
    EXPECT_EQ(outcome(Outcome::malformed), 5u);
}

TEST_F(DecryptorTest, ValidityTimes) {
    const Bytes mki = hex("5e5e5e5e");
    const SessionMaterial old_m = material(90), new_m = material(91);
    ContextSpec expired = spec_from("old", mki, old_m);
    expired.not_before_us = 1'000'000;
    expired.not_after_us = 2'000'000;
    ASSERT_EQ(table_->install(entry({expired})), "");
    auto k_old = session_keys(old_m.rtp_key, old_m.rtp_salt);
    Bytes pkt = protect(*k_old, rtp_packet(0x5e, 1, 20), 0, mki, false);
    const Bytes original = pkt;

    Packet p = run_one(pkt, false, 5'000'000);  // after not_after
    EXPECT_EQ(p.outcome, Outcome::unknown_mki);
    EXPECT_EQ(counters().expired_key, 1u);
    EXPECT_EQ(pkt, original);
    p = run_one(pkt, false, 500'000);  // before not_before
    EXPECT_EQ(p.outcome, Outcome::unknown_mki);
    EXPECT_EQ(counters().expired_key, 2u);
    Bytes in_time = original;
    EXPECT_EQ(run_one(in_time, false, 1'500'000).outcome, Outcome::decrypted);

    // A second entry on the same MKI, valid later: the expired context is skipped, no trial.
    ContextSpec later = spec_from("new", mki, new_m);
    later.not_before_us = 3'000'000;
    ASSERT_EQ(table_->install(entry({later})), "");
    auto k_new = session_keys(new_m.rtp_key, new_m.rtp_salt);
    Bytes pkt_new = protect(*k_new, rtp_packet(0x5f, 1, 20), 0, mki, false);
    p = run_one(pkt_new, false, 4'000'000);
    ASSERT_EQ(p.outcome, Outcome::decrypted);
    EXPECT_EQ(p.context->key_name, "new");
    EXPECT_EQ(counters().trial_decryptions, 0u);
    EXPECT_EQ(counters().expired_key, 2u);
}

TEST_F(DecryptorTest, StreamTableEvictsWhenFull) {
    DecryptorConfig dc;
    dc.max_streams = 64;  // the minimum size
    dec_ = std::make_unique<SrtpDecryptor>(*table_, dc);
    const Bytes mki = hex("e0e0");
    const SessionMaterial m = material(100);
    ASSERT_EQ(table_->install(entry({spec_from("e", mki, m)})), "");
    auto k = session_keys(m.rtp_key, m.rtp_salt);
    std::vector<Bytes> bufs;
    for (uint32_t ssrc = 1; ssrc <= 200; ++ssrc)
        bufs.push_back(protect(*k, rtp_packet(ssrc, 10, 12), 0, mki, false));
    for (const auto& p : run(bufs)) EXPECT_EQ(p.outcome, Outcome::decrypted);
    EXPECT_GE(counters().stream_evictions, 200u - 64u);
    EXPECT_LE(counters().stream_evictions, 200u);
}

}  // namespace
}  // namespace liprobe::srtp
