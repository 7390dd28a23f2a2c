// The key provisioning model (design.md 3.3): published key-chain vectors through JSON entries,
// and every kind of bad entry refused with its reason while good entries still derive.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../src/keys/key_json.hpp"
#include "liprobe/crypto/kdf.hpp"
#include "liprobe/keys/key_model.hpp"

namespace liprobe::keys {
namespace {

using nlohmann::json;

// Vectors, SecretBytes and MkiBytes alike.
template <typename Octets>
std::string hex_of(const Octets& b) {
    return to_hex(b.data(), b.size());
}

// ---- Etherstack vectors: Streamwide sw_mikey_sakke unit_tests/test_guk.cc (refs 4.4) ----
constexpr const char* kGmk = "fcfe65cd967c58d260b603ccb9a887a9";
constexpr const char* kGmkId = "09bf9d37";  // "9bf9d37" in the file, left-padded
constexpr const char* kGmkRand = "6819e679461120e10ac458cce67b8024";

struct Row {
    const char* member;
    const char* guk_id;
    const char* master_salt;
    const char* master_key;
};
const Row kRows[] = {
    {"sip:p25user01@etherstack.com", "01c8de7b", "8b2f081ce8e8bdab1f8d9eb8",
     "64837d2b4d69a266e4489d3807353ad9"},
    {"sip:p25user02@etherstack.co.jp", "0abe69d0", "750ea7422b4d5a8ff475c6d5",
     "de81b70c4ae0ff3f79364df586c2e0ce"},
    {"sip:92100002447@att.com", "0c449727", "97a154fb24efbfb353a265e2",
     "f097ac3325f1f784bc8ba4112c5e5f88"},
};

json etherstack_gmk_entry() {
    return {{"type", "gmk"},
            {"key", kGmk},
            {"key_id", kGmkId},
            {"rand", kGmkRand},
            {"members", {kRows[0].member, kRows[1].member, kRows[2].member}}};
}

TEST(KeyModel, EtherstackGmkEntry) {
    const auto results = derive_keys(json{{"keys", {etherstack_gmk_entry()}}});
    ASSERT_EQ(results.size(), 1u);
    const EntryResult& r = results[0];
    ASSERT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.index, 0u);
    EXPECT_EQ(r.type, "gmk");
    EXPECT_EQ(r.key_name, "09bf9d37");
    EXPECT_EQ(r.reason, "");
    ASSERT_EQ(r.contexts.size(), 3u);  // one per member, default cs_ids [4]
    for (size_t i = 0; i < 3; ++i) {
        const ContextSpec& c = r.contexts[i];
        SCOPED_TRACE(kRows[i].member);
        EXPECT_EQ(c.type, KeyType::gmk);
        EXPECT_EQ(c.key_name, "09bf9d37");
        EXPECT_EQ(c.key_id, 0x09bf9d37u);
        EXPECT_EQ(c.csb_id, std::stoul(kRows[i].guk_id, nullptr, 16));
        EXPECT_EQ(c.cs_id, 4);
        EXPECT_EQ(c.member, kRows[i].member);
        EXPECT_EQ(c.direction, PckDirection::none);
        EXPECT_EQ(hex_of(c.mki), std::string(kGmkId) + kRows[i].guk_id);  // GMK-ID || GUK-ID
        EXPECT_EQ(hex_of(c.short_mki), kGmkId);
        EXPECT_EQ(c.profile, crypto::SrtpProfile::aead_aes_128_gcm);
        EXPECT_EQ(c.roc_rate, 1u);  // TS 33.180 group default: ROC in every packet
        EXPECT_EQ(c.not_before_us, 0);
        EXPECT_EQ(c.not_after_us, 0);
        EXPECT_EQ(hex_of(c.master_key), kRows[i].master_key);
        EXPECT_EQ(hex_of(c.master_salt), kRows[i].master_salt);
        EXPECT_EQ(c.rtp_key.size(), 16u);
        EXPECT_EQ(c.rtp_salt.size(), 12u);
        EXPECT_EQ(c.rtcp_key.size(), 16u);
        EXPECT_EQ(c.rtcp_salt.size(), 12u);
    }
    // Row-1 session keys (refs 4.4, computed from the published master key/salt).
    EXPECT_EQ(hex_of(r.contexts[0].rtp_key), "ae3bdc371fd9abc25b87f230717e9b4d");
    EXPECT_EQ(hex_of(r.contexts[0].rtp_salt), "888629f7ce02cd9a9bf1c1e5");
    EXPECT_EQ(hex_of(r.contexts[0].rtcp_key), "9b9080da8b0165c27ff1414becba454f");
    EXPECT_EQ(hex_of(r.contexts[0].rtcp_salt), "5a17f1a3088b3d9991e7ca61");
}

TEST(KeyModel, GmkUppercaseHexAndOptionsPerCsId) {
    json e = etherstack_gmk_entry();
    std::string upper_key = kGmk, upper_rand = kGmkRand;
    std::transform(upper_key.begin(), upper_key.end(), upper_key.begin(), ::toupper);
    std::transform(upper_rand.begin(), upper_rand.end(), upper_rand.begin(), ::toupper);
    e["key"] = upper_key;
    e["rand"] = upper_rand;
    e["key_id"] = "09BF9D37";
    e["members"] = {kRows[0].member};
    e["cs_ids"] = {4, 5};
    e["group_id"] = "sip:group1@etherstack.com";
    e["roc_rate"] = 0;
    e["not_before"] = "2024-01-01T00:00:00Z";
    e["not_after"] = "2024-02-29T12:00:00.25Z";
    const auto results = derive_keys(json{{"keys", {e}}});
    ASSERT_EQ(results.size(), 1u);
    ASSERT_TRUE(results[0].ok) << results[0].reason;
    EXPECT_EQ(results[0].key_name, "09bf9d37");  // canonical lowercase
    const auto& cs = results[0].contexts;
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[0].cs_id, 4);
    EXPECT_EQ(cs[1].cs_id, 5);
    EXPECT_EQ(hex_of(cs[0].master_key), kRows[0].master_key);
    EXPECT_EQ(hex_of(cs[0].master_salt), kRows[0].master_salt);
    // CS-ID 5 (MCVideo group): synthetic, computed with Python hmac (MIKEY PRF, refs 3.1).
    EXPECT_EQ(hex_of(cs[1].master_key), "937bb0aa44c401e5c54488eb90678e54");
    EXPECT_EQ(hex_of(cs[1].master_salt), "250c6094446c9c5ee5b911f5");
    EXPECT_EQ(hex_of(cs[1].mki), "09bf9d3701c8de7b");
    for (const auto& c : cs) {
        EXPECT_EQ(c.roc_rate, 0u);
        EXPECT_EQ(c.not_before_us, 1704067200LL * 1000000);
        EXPECT_EQ(c.not_after_us, 1709208000LL * 1000000 + 250000);
    }
}

// PCK: PCK-ID 1c5f7886 (purpose tag 1), key and RAND of the CSK vector of refs 4.4. The expected
// values are synthetic, computed with Python hmac/cryptography (refs 3.1 and 2.1 algorithms).
TEST(KeyModel, PckEntryYieldsBothDirections) {
    const json e = {{"type", "pck"},
                    {"key", "28ba74447f037dcc09ad7f2576dc2def"},
                    {"key_id", "1c5f7886"},
                    {"rand", "30333032343661303730646133333265"},
                    {"initiator", "sip:alice@example.org"},
                    {"receiver", "sip:bob@example.org"}};
    const auto results = derive_keys(json{{"keys", {e}}});
    ASSERT_EQ(results.size(), 1u);
    ASSERT_TRUE(results[0].ok) << results[0].reason;
    EXPECT_EQ(results[0].type, "pck");
    EXPECT_EQ(results[0].key_name, "1c5f7886");
    const auto& cs = results[0].contexts;
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[0].cs_id, 0);
    EXPECT_EQ(cs[0].direction, PckDirection::initiator);
    EXPECT_EQ(cs[0].member, "sip:alice@example.org");
    EXPECT_EQ(cs[1].cs_id, 1);
    EXPECT_EQ(cs[1].direction, PckDirection::receiver);
    EXPECT_EQ(cs[1].member, "sip:bob@example.org");
    for (const auto& c : cs) {
        EXPECT_EQ(c.type, KeyType::pck);
        EXPECT_EQ(c.key_name, "1c5f7886");
        EXPECT_EQ(c.key_id, 0x1c5f7886u);
        EXPECT_EQ(c.csb_id, 0x1c5f7886u);      // CSB ID = PCK-ID
        EXPECT_EQ(hex_of(c.mki), "1c5f7886");  // MKI = PCK-ID
        EXPECT_TRUE(c.short_mki.empty());
        EXPECT_EQ(c.roc_rate, 0u);
        EXPECT_EQ(c.profile, crypto::SrtpProfile::aead_aes_128_gcm);
    }
    EXPECT_EQ(hex_of(cs[0].master_key), "c7f2448b8825d41f3ef89e4c2a6690fe");
    EXPECT_EQ(hex_of(cs[0].master_salt), "acdaabbc7c465a755784773e");
    EXPECT_EQ(hex_of(cs[0].rtp_key), "4549d551bf153b52adaa650f2089ac0e");
    EXPECT_EQ(hex_of(cs[0].rtp_salt), "6a8917e6a4d41c47d784f8ca");
    EXPECT_EQ(hex_of(cs[0].rtcp_key), "8569511543ec100da1068a0d75e84118");
    EXPECT_EQ(hex_of(cs[0].rtcp_salt), "6c818595e7a2c25189f877e9");
    EXPECT_EQ(hex_of(cs[1].master_key), "7fd466e80a77a21c43734b3c4b139381");
    EXPECT_EQ(hex_of(cs[1].master_salt), "d334757ae785513a0f1fe9d4");
    EXPECT_EQ(hex_of(cs[1].rtp_key), "930a132ce6d8736d9c1d676625705898");
    EXPECT_EQ(hex_of(cs[1].rtp_salt), "36f13995f7bbce8a989a4df7");
    EXPECT_EQ(hex_of(cs[1].rtcp_key), "6f5edcd84a7e26de83aff2ebb740e5ae");
    EXPECT_EQ(hex_of(cs[1].rtcp_salt), "438e3088b08951555cccd304");
}

// libsrtp test/srtp_driver.c srtp_validate_gcm() test_key_gcm (refs 1.6).
TEST(KeyModel, SrtpEntryLibsrtpVector) {
    const json body = json::array({{{"type", "srtp"},
                                    {"mki", "0A0B0C0D"},
                                    {"master_key", "000102030405060708090a0b0c0d0e0f"},
                                    {"master_salt", "a0a1a2a3a4a5a6a7a8a9aaab"}}});
    const auto results = derive_keys(body);  // a bare array is accepted too
    ASSERT_EQ(results.size(), 1u);
    ASSERT_TRUE(results[0].ok) << results[0].reason;
    EXPECT_EQ(results[0].type, "srtp");
    EXPECT_EQ(results[0].key_name, "0a0b0c0d");
    ASSERT_EQ(results[0].contexts.size(), 1u);
    const ContextSpec& c = results[0].contexts[0];
    EXPECT_EQ(c.type, KeyType::srtp);
    EXPECT_EQ(c.key_name, "0a0b0c0d");
    EXPECT_EQ(hex_of(c.mki), "0a0b0c0d");
    EXPECT_TRUE(c.short_mki.empty());
    EXPECT_EQ(c.profile, crypto::SrtpProfile::aead_aes_128_gcm);
    EXPECT_EQ(c.roc_rate, 0u);
    EXPECT_EQ(c.key_id, 0u);
    EXPECT_EQ(hex_of(c.master_key), "000102030405060708090a0b0c0d0e0f");
    EXPECT_EQ(hex_of(c.master_salt), "a0a1a2a3a4a5a6a7a8a9aaab");
    EXPECT_EQ(hex_of(c.rtp_key), "077c6143cb221bc355ff23d5f984a16e");
    EXPECT_EQ(hex_of(c.rtp_salt), "9af3e95364ebac9c99c5a7c4");
    EXPECT_EQ(hex_of(c.rtcp_key), "615dcd9042600666f6fd4d9e4fe4519f");
    EXPECT_EQ(hex_of(c.rtcp_salt), "fcca937b9112a500dac72269");
}

// AES-256: the session key is 32 octets (RFC 6188 AES_256_CM_PRF). Synthetic, computed with
// Python cryptography AES-256-CTR (refs 2.1 layout); test_kdf cross-checks this path with libsrtp2.
TEST(KeyModel, SrtpEntryAes256) {
    const json e = {
        {"type", "srtp"},
        {"mki", "01"},
        {"master_key", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
        {"master_salt", "a0a1a2a3a4a5a6a7a8a9aaab"},
        {"profile", "aead_aes_256_gcm"},
        {"roc_rate", 16}};
    const auto results = derive_keys(json{{"keys", {e}}});
    ASSERT_TRUE(results.at(0).ok) << results[0].reason;
    const ContextSpec& c = results[0].contexts.at(0);
    EXPECT_EQ(c.profile, crypto::SrtpProfile::aead_aes_256_gcm);
    EXPECT_EQ(c.roc_rate, 16u);
    EXPECT_EQ(hex_of(c.rtp_key),
              "b7a435ce454463b760dc82c838468a115c699625af4b93a0f8220a2a6119c5d0");
    EXPECT_EQ(hex_of(c.rtp_salt), "944bd21c268a962cd09c674a");
    EXPECT_EQ(hex_of(c.rtcp_key),
              "3c90f52a0a13ff8a853397cadc245b9eac76b36edb4a6062bf624aa1174eebf2");
    EXPECT_EQ(hex_of(c.rtcp_salt), "258c540cf38ddd40848ceaed");
}

// AES-CM profiles (RFC 3711, RFC 4568 suites): 14-octet master salt, 14-octet session salts and
// 20-octet HMAC-SHA1 keys. Values: RFC 3711 Appendix B.3 (k_e, k_s and the first 20 octets of
// k_a for the RTP labels), copied from the RFC text as in tests/crypto/test_kdf.cpp.
TEST(KeyModel, SrtpEntryAesCmProfiles) {
    for (const char* profile : {"aes_cm_128_hmac_sha1_80", "aes_cm_128_hmac_sha1_32"}) {
        SCOPED_TRACE(profile);
        const json e = {{"type", "srtp"},
                        {"mki", "02"},
                        {"master_key", "E1F97A0D3E018BE0D64FA32C06DE4139"},
                        {"master_salt", "0EC675AD498AFEEBB6960B3AABE6"},
                        {"profile", profile}};
        const auto results = derive_keys(json{{"keys", {e}}});
        ASSERT_TRUE(results.at(0).ok) << results[0].reason;
        const ContextSpec& c = results[0].contexts.at(0);
        EXPECT_EQ(crypto::profile_info(c.profile).name, std::string(profile));
        EXPECT_EQ(hex_of(c.rtp_key), "c61e7a93744f39ee10734afe3ff7a087");
        EXPECT_EQ(hex_of(c.rtp_salt), "30cbbc08863d8c85d49db34a9ae1");
        EXPECT_EQ(hex_of(c.rtp_auth), "cebe321f6ff7716b6fd4ab49af256a156d38baa4");
        EXPECT_EQ(c.rtcp_key.size(), 16u);
        EXPECT_EQ(c.rtcp_salt.size(), 14u);
        EXPECT_EQ(c.rtcp_auth.size(), 20u);
        EXPECT_NE(hex_of(c.rtcp_auth), hex_of(c.rtp_auth));
        EXPECT_EQ(install_problem(results[0]), "");
    }
    const json e256 = {{"type", "srtp"},
                       {"mki", "03"},
                       {"master_key", std::string(64, 'a')},
                       {"master_salt", std::string(28, 'b')},
                       {"profile", "aes_256_cm_hmac_sha1_80"}};
    const auto r = derive_keys(json::array({e256}));
    ASSERT_TRUE(r.at(0).ok) << r[0].reason;
    EXPECT_EQ(r[0].contexts.at(0).rtp_key.size(), 32u);
    EXPECT_EQ(r[0].contexts.at(0).rtp_auth.size(), 20u);
    // AEAD entries derive no auth keys.
    const auto gcm = derive_keys(json::array({{{"type", "srtp"},
                                               {"mki", "04"},
                                               {"master_key", std::string(32, 'c')},
                                               {"master_salt", std::string(24, 'd')}}}));
    ASSERT_TRUE(gcm.at(0).ok) << gcm[0].reason;
    EXPECT_TRUE(gcm[0].contexts.at(0).rtp_auth.bytes().empty());
}

// ---- Bad entries ----

struct BadCase {
    json entry;
    std::string reason;
};

json with(json e, const std::string& field, json value) {
    e[field] = std::move(value);
    return e;
}
json without(json e, const std::string& field) {
    e.erase(field);
    return e;
}

json good_pck() {
    return {{"type", "pck"},
            {"key", "28ba74447f037dcc09ad7f2576dc2def"},
            {"key_id", "1c5f7886"},
            {"rand", "30333032343661303730646133333265"}};
}
json good_srtp() {
    return {{"type", "srtp"},
            {"mki", "0a0b0c0d"},
            {"master_key", "000102030405060708090a0b0c0d0e0f"},
            {"master_salt", "a0a1a2a3a4a5a6a7a8a9aaab"}};
}

std::vector<BadCase> bad_cases() {
    const json g = etherstack_gmk_entry();
    const json p = good_pck();
    const json s = good_srtp();
    return {
        {42, "entry: expected a JSON object"},
        {without(g, "type"), "type: missing"},
        {with(g, "type", 7), "type: expected a string"},
        {with(g, "type", "gmk2"), "type: unknown type (expected gmk, pck or srtp)"},
        {with(g, "key_id", "19bf9d37"),
         "key_id: purpose tag 1 does not match type gmk (expected 0)"},
        {with(p, "key_id", "0c5f7886"),
         "key_id: purpose tag 0 does not match type pck (expected 1)"},
        {with(g, "key_id", "09bf9d"), "key_id: expected 4 octets, got 3"},
        {with(g, "key_id", "09bf9d3"), "key_id: not a hex string"},
        {without(g, "key_id"), "key_id: missing"},
        {with(g, "key", "fcfe65cd967c58d260b603ccb9a887"), "key: expected 16 octets, got 15"},
        {with(g, "key", "fcfe65cd967c58d260b603ccb9a887zz"), "key: not a hex string"},
        {with(g, "key", 12345), "key: expected a string"},
        {without(p, "key"), "key: missing"},
        {without(g, "rand"), "rand: missing"},
        {with(g, "rand", ""), "rand: expected 1 to 255 octets, got 0"},
        {without(g, "members"), "members: missing"},
        {with(g, "members", json::array()), "members: empty"},
        {with(g, "members", "sip:p25user01@etherstack.com"),
         "members: expected an array of MC Service user IDs"},
        {with(g, "members", {kRows[0].member, kRows[1].member, kRows[0].member}),
         "members[2]: duplicate member"},
        {with(g, "members", {kRows[0].member, 5}), "members[1]: expected a string"},
        {with(g, "members", {""}), "members[0]: empty"},
        {with(g, "cs_ids", {256}), "cs_ids[0]: out of range 0..255"},
        {with(g, "cs_ids", {4, -1}), "cs_ids[1]: out of range 0..255"},
        {with(g, "cs_ids", {4, 4}), "cs_ids[1]: duplicate CS-ID 4"},
        {with(g, "cs_ids", {4.5}), "cs_ids[0]: expected an integer"},
        {with(g, "cs_ids", 4), "cs_ids: expected an array of integers"},
        {with(g, "cs_ids", json::array()), "cs_ids: empty"},
        {with(p, "cs_ids", {0, 6}), "cs_ids[1]: CS-ID 6 is not a private-call CS-ID (0 to 3)"},
        {with(g, "roc_rate", 65536), "roc_rate: out of range 0..65535"},
        {with(p, "roc_rate", -1), "roc_rate: out of range 0..65535"},
        {with(s, "roc_rate", "1"), "roc_rate: expected an integer"},
        {with(with(g, "not_before", "2024-02-01T00:00:00Z"), "not_after", "2024-01-31T23:59:59Z"),
         "not_after: earlier than not_before"},
        {with(g, "not_before", "2024-02-30T00:00:00Z"), "not_before: not a valid RFC 3339 time"},
        {with(g, "not_after", 1700000000), "not_after: expected an RFC 3339 time string"},
        {with(g, "group_id", 3), "group_id: expected a string"},
        {with(p, "initiator", ""), "initiator: empty"},
        {with(g, "not_afer", "2024-01-01T00:00:00Z"), "\"not_afer\": unknown field for type gmk"},
        {with(s, "members", {"sip:a@b"}), "\"members\": unknown field for type srtp"},
        {with(s, "mki", "000102030405060708090a0b0c0d0e0f10"),
         "mki: expected 1 to 16 octets, got 17"},
        {with(s, "mki", ""), "mki: expected 1 to 16 octets, got 0"},
        {without(s, "mki"), "mki: missing"},
        {with(s, "master_key", "000102030405060708090a0b0c0d0e0f1011121314151617"),
         "master_key: expected 16 or 32 octets, got 24"},
        {with(s, "master_salt", "a0a1a2a3a4a5a6a7a8a9aaabacad"),
         "master_salt: expected 12 octets, got 14"},
        {with(s, "profile", "aead_aes_256_gcm"),
         "master_key: 16 octets does not match profile aead_aes_256_gcm (32)"},
        {with(s, "profile", "aes_cm_128_hmac_sha1_64"),
         "profile: unknown profile (expected aead_aes_128_gcm, aead_aes_256_gcm, "
         "aes_cm_128_hmac_sha1_80, aes_cm_128_hmac_sha1_32, aes_256_cm_hmac_sha1_80 or "
         "aes_256_cm_hmac_sha1_32)"},
        {with(s, "profile", 80), "profile: expected a string"},
        {with(s, "profile", "aes_cm_128_hmac_sha1_80"), "master_salt: expected 14 octets, got 12"},
        {with(with(s, "profile", "aes_256_cm_hmac_sha1_32"), "master_salt",
              "a0a1a2a3a4a5a6a7a8a9aaabacad"),
         "master_key: 16 octets does not match profile aes_256_cm_hmac_sha1_32 (32)"},
        {with(with(with(s, "profile", "aes_cm_128_hmac_sha1_32"), "master_salt",
                   "a0a1a2a3a4a5a6a7a8a9aaabacad"),
              "roc_rate", 1),
         "roc_rate: ROC carrying is not supported with profile aes_cm_128_hmac_sha1_32"},
    };
}

TEST(KeyModel, EveryBadEntryIsRefusedWithItsReasonAndGoodOnesStillDerive) {
    const std::vector<BadCase> cases = bad_cases();
    json entries = json::array();
    std::vector<size_t> bad_index;
    // Good entries interleaved with the bad ones (each its own MKI: one batch refuses repeats).
    entries.push_back(etherstack_gmk_entry());
    for (const BadCase& c : cases) {
        bad_index.push_back(entries.size());
        entries.push_back(c.entry);
        const uint8_t n = static_cast<uint8_t>(entries.size());
        entries.push_back(with(good_srtp(), "mki", "0a0b0c" + to_hex(&n, 1)));
    }
    entries.push_back(good_pck());
    const std::string body = json{{"keys", entries}}.dump();
    const auto results = derive_keys_text(body);
    ASSERT_EQ(results.size(), entries.size());
    for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].index, i);

    size_t ok_count = 0;
    for (const auto& r : results) ok_count += r.ok ? 1 : 0;
    EXPECT_EQ(ok_count, 2 + cases.size());

    for (size_t k = 0; k < cases.size(); ++k) {
        const EntryResult& r = results[bad_index[k]];
        EXPECT_FALSE(r.ok) << cases[k].reason;
        EXPECT_EQ(r.reason, cases[k].reason) << "case " << k;
        EXPECT_TRUE(r.contexts.empty()) << cases[k].reason;
        // The good srtp entry right after each bad one derived the libsrtp session key.
        const EntryResult& next = results[bad_index[k] + 1];
        ASSERT_TRUE(next.ok) << next.reason;
        EXPECT_EQ(hex_of(next.contexts.at(0).rtp_key), "077c6143cb221bc355ff23d5f984a16e");
    }
    EXPECT_TRUE(results.front().ok);
    EXPECT_EQ(results.front().contexts.size(), 3u);
    EXPECT_EQ(hex_of(results.front().contexts[2].master_key), kRows[2].master_key);
    EXPECT_TRUE(results.back().ok);
    EXPECT_EQ(results.back().contexts.size(), 2u);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

TEST(KeyModel, ReasonsNeverContainKeyMaterialOrMembers) {
    const std::vector<std::string> secrets = {
        kGmk,
        kGmkRand,
        "28ba74447f037dcc09ad7f2576dc2def",
        "000102030405060708090a0b0c0d0e0f",
        "a0a1a2a3a4a5a6a7a8a9aaab",
        "fcfe65cd967c58d260b603ccb9a887",
        "fcfe65cd",
        "etherstack",
        "p25user",
        "att.com",
    };
    for (const BadCase& c : bad_cases()) {
        const auto results = derive_keys(json{{"keys", {c.entry}}});
        ASSERT_EQ(results.size(), 1u);
        ASSERT_FALSE(results[0].ok);
        const std::string reason = lower(results[0].reason);
        for (const std::string& secret : secrets) {
            EXPECT_EQ(reason.find(lower(secret)), std::string::npos)
                << "reason \"" << reason << "\" contains secret text";
        }
    }
}

// The batch rule (key_model.hpp): the first entry with a key_id or MKI stays, later ones are
// refused naming the earlier entry; a refused entry reserves nothing.
TEST(KeyModel, DuplicatesInOneBatchAreRefused) {
    const json pck_again = with(good_pck(), "key", "00112233445566778899aabbccddeeff");
    const json full_mki_of_gmk = with(good_srtp(), "mki", std::string(kGmkId) + kRows[0].guk_id);
    const json gmk_id_as_mki = with(good_srtp(), "mki", kGmkId);
    const json bad_pck = with(with(good_pck(), "key_id", "1d000001"), "key",
                              "00112233445566778899aabbccddee");  // 15 octets
    const json late_pck = with(good_pck(), "key_id", "1d000001");
    const auto results =
        derive_keys(json{{"keys",
                          {etherstack_gmk_entry(), good_pck(), pck_again, full_mki_of_gmk,
                           gmk_id_as_mki, good_srtp(), bad_pck, late_pck}}});
    ASSERT_EQ(results.size(), 8u);
    const char* expected[] = {"",
                              "",
                              "key_id: duplicate of keys[1]",
                              "MKI: duplicate of an MKI of keys[0]",
                              "mki: duplicate of keys[0]",
                              "",
                              "key: expected 16 octets, got 15",
                              ""};
    for (size_t i = 0; i < results.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(results[i].index, i);
        EXPECT_EQ(results[i].reason, expected[i]);
        EXPECT_EQ(results[i].ok, expected[i][0] == '\0');
        EXPECT_EQ(results[i].contexts.empty(), !results[i].ok);
        EXPECT_EQ(install_problem(results[i]), results[i].ok ? "" : "entry has no contexts");
    }
}

TEST(KeyModel, BadBodies) {
    auto one_failure = [](const std::vector<EntryResult>& r, const std::string& reason) {
        ASSERT_EQ(r.size(), 1u);
        EXPECT_FALSE(r[0].ok);
        EXPECT_EQ(r[0].index, 0u);
        EXPECT_EQ(r[0].reason, reason);
        EXPECT_TRUE(r[0].contexts.empty());
    };
    one_failure(derive_keys_text("{\"keys\": [ {\"type\": \"srtp\""), "body: not valid JSON");
    one_failure(derive_keys_text(""), "body: not valid JSON");
    one_failure(derive_keys_text("{\"keys\": 5}"), "keys: expected an array");
    one_failure(derive_keys_text("{\"key\": []}"), "keys: missing");
    one_failure(derive_keys_text("\"keys\""),
                "body: expected {\"keys\": [...]} or an array of entries");
    EXPECT_TRUE(derive_keys_text("{\"keys\": []}").empty());
}

TEST(KeyModel, KeyNameIsReportedForReadableKeyIdOnFailure) {
    const auto r = derive_keys(json{{"keys", {with(good_pck(), "key", "00")}}});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].ok);
    EXPECT_EQ(r[0].key_name, "1c5f7886");
    EXPECT_EQ(r[0].type, "pck");
    EXPECT_EQ(r[0].reason, "key: expected 16 octets, got 1");
}

// ---- helpers ----

TEST(Rfc3339, ValidTimes) {
    EXPECT_EQ(parse_rfc3339_us("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_rfc3339_us("1970-01-01T00:00:00.5Z"), 500000);
    EXPECT_EQ(parse_rfc3339_us("2024-01-01T00:00:00Z"), 1704067200LL * 1000000);
    EXPECT_EQ(parse_rfc3339_us("2024-01-01T01:30:00+01:30"), 1704067200LL * 1000000);
    EXPECT_EQ(parse_rfc3339_us("2023-12-31T19:00:00-05:00"), 1704067200LL * 1000000);
    EXPECT_EQ(parse_rfc3339_us("2024-02-29T12:00:00.123456789Z"), 1709208000LL * 1000000 + 123456);
    EXPECT_EQ(parse_rfc3339_us("2024-02-29t12:00:00.1z"), 1709208000LL * 1000000 + 100000);
    EXPECT_EQ(parse_rfc3339_us("1969-12-31T23:59:59Z"), -1000000);
    // TS 33.180 F.2.1.2: 2014-01-26T10:07:14Z is NTP 3599719634 = Unix 1390730834.
    EXPECT_EQ(parse_rfc3339_us("2014-01-26T10:07:14Z"), 1390730834LL * 1000000);
}

TEST(Rfc3339, InvalidTimes) {
    for (const char* bad :
         {"", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01T00:00Z", "2024-1-01T00:00:00Z",
          "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-01T24:00:00Z",
          "2024-01-01T00:60:00Z", "2024-01-01T00:00:61Z", "2024-01-01T00:00:00.Z",
          "2024-01-01T00:00:00+0100", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00Zjunk",
          "2024-01-01X00:00:00Z", "2024-01-00T00:00:00Z", "abcd-01-01T00:00:00Z"}) {
        EXPECT_FALSE(parse_rfc3339_us(bad).has_value()) << bad;
    }
}

TEST(Hex, ParseAndFormat) {
    EXPECT_EQ(parse_hex("00aBcDeF"), (std::vector<uint8_t>{0x00, 0xab, 0xcd, 0xef}));
    EXPECT_EQ(parse_hex(""), std::vector<uint8_t>{});
    EXPECT_FALSE(parse_hex("abc").has_value());
    EXPECT_FALSE(parse_hex("0g").has_value());
    EXPECT_FALSE(parse_hex(" 00").has_value());
    const uint8_t bytes[] = {0x00, 0x0f, 0xa0, 0xff};
    EXPECT_EQ(to_hex(bytes, sizeof(bytes)), "000fa0ff");
    EXPECT_EQ(to_hex(bytes, 0), "");
}

TEST(SecretBytes, CopyMoveAndAssign) {
    SecretBytes a(std::vector<uint8_t>{1, 2, 3});
    SecretBytes b(a);
    EXPECT_EQ(hex_of(b), "010203");
    SecretBytes c(std::move(a));
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from must be empty
    SecretBytes d(std::vector<uint8_t>{9, 9});
    d = b;
    EXPECT_EQ(hex_of(d), "010203");
    d = std::move(c);
    EXPECT_EQ(hex_of(d), "010203");
    EXPECT_EQ(c.size(), 0u);  // NOLINT(bugprone-use-after-move)
    SecretBytes& alias = d;
    d = alias;  // self-assignment keeps the contents
    EXPECT_EQ(d.size(), 3u);
}

// The octets live inline: a moved-from or reassigned SecretBytes keeps no copy of its old secret,
// and overwrite() hands out exactly the room asked for.
TEST(SecretBytes, WipesInlineStorageAndBoundsItsSize) {
    SecretBytes a(std::vector<uint8_t>(32, 0xAB));
    const uint8_t* storage = a.data();
    SecretBytes b(std::move(a));
    for (size_t i = 0; i < SecretBytes::kCapacity; ++i)
        ASSERT_EQ(storage[i], 0) << "moved-from octet " << i;  // NOLINT(bugprone-use-after-move)
    uint8_t* room = b.overwrite(12);
    EXPECT_EQ(b.size(), 12u);
    for (size_t i = 0; i < 12; ++i)
        ASSERT_EQ(room[i], 0) << "overwrite starts from a wiped buffer, " << i;
    EXPECT_THROW(b.overwrite(33), std::length_error);
    EXPECT_THROW(SecretBytes(std::vector<uint8_t>(33, 1)), std::length_error);
}

// ---- The request document (src/keys/key_json.hpp): nlohmann's SAX events into a flat tree ----

TEST(KeyJson, ReadsValuesAsNlohmannsTreeWould) {
    detail::KeyJson doc;
    ASSERT_TRUE(doc.parse(R"({"a":1,"b":[true,null,"x\u00e9",-7,2.5,{}],"a":-2,"c":{"d":"e"}})"));
    const detail::JsonValue root = doc.root();
    ASSERT_TRUE(root.is_object());
    EXPECT_EQ(root.size(), 4u);  // members as written, the repeated "a" included
    ASSERT_TRUE(root.find("a").has_value());
    EXPECT_EQ(root.find("a")->as_int64(), -2);  // the last of a repeated name, as a tree keeps
    EXPECT_FALSE(root.find("a")->is_number_unsigned());
    EXPECT_FALSE(root.find("z").has_value());
    const detail::JsonValue b = *root.find("b");
    ASSERT_TRUE(b.is_array());
    std::vector<detail::JsonKind> kinds;
    for (const detail::JsonValue v : b) kinds.push_back(v.kind());
    EXPECT_EQ(kinds, (std::vector<detail::JsonKind>{
                         detail::JsonKind::boolean, detail::JsonKind::null,
                         detail::JsonKind::string, detail::JsonKind::integer,
                         detail::JsonKind::floating, detail::JsonKind::object}));
    auto third = b.begin();
    ++third;
    ++third;
    EXPECT_EQ((*third).str(), "x\xc3\xa9");  // decoded UTF-8
    EXPECT_EQ(root.find("c")->find("d")->str(), "e");
    EXPECT_EQ(root.find("c")->find("d")->key(), "d");
    EXPECT_TRUE(doc.parse("[18446744073709551615]"));
    EXPECT_TRUE((*doc.root().begin()).is_number_unsigned());
    EXPECT_EQ((*doc.root().begin()).as_uint64(), UINT64_MAX);
    for (const char* bad : {"", "{", "{\"a\":1} x", "[1,]", "{\"a\" 1}", "nul"})
        EXPECT_FALSE(doc.parse(bad)) << bad;
    EXPECT_TRUE(doc.parse("7"));  // a scalar is a document too; derive_keys refuses it
}

// The arena holds every decoded string of a batch, key hex among them: after derive_keys_text
// nothing of it is left, whether the batch was accepted or refused.
TEST(KeyJson, ArenaIsWipedAfterEveryBatch) {
    const std::string key_hex = "5ac0ffee11223344556677889900aabb";
    const std::string salt_hex = "a1b2c3d4e5f60718293a4b5c";
    for (const std::string& body :
         {R"({"keys":[{"type":"srtp","mki":"01","master_key":")" + key_hex +
              R"(","master_salt":")" + salt_hex + R"("}]})",
          R"({"keys":[{"type":"srtp","mki":"01","master_key":")" + key_hex +
              R"(","master_salt":")" + salt_hex + R"(","bogus":1}]})",
          R"({"keys":[{"type":"srtp","master_key":")" + key_hex + R"("}] trailing)"}) {
        (void)derive_keys_text(body);
        const std::string_view arena = detail::KeyJson::for_this_thread().arena();
        ASSERT_GE(arena.size(), body.size() / 2);
        EXPECT_EQ(arena.find(key_hex), std::string_view::npos);
        EXPECT_EQ(arena.find(salt_hex), std::string_view::npos);
        EXPECT_TRUE(std::all_of(arena.begin(), arena.end(), [](char c) { return c == 0; }))
            << "arena not wiped after: " << body.substr(0, 40);
    }
}

}  // namespace
}  // namespace liprobe::keys
