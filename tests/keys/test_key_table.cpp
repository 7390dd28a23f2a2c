// Key table: install / lookup / replace / revoke, candidate lists (PCK, short GMK MKI, shared
// MKIs), MKI length mask, list() without secrets, RCU-deferred zeroisation, and concurrent
// lookups while another thread adds and revokes 100,000 keys.
#include <gtest/gtest.h>
#include <rte_pause.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <span>
#include <thread>

#include "eal.hpp"
#include "liprobe/keys/key_model.hpp"
#include "liprobe/keys/key_table.hpp"

namespace liprobe::keys {
namespace {

std::vector<uint8_t> be32(uint32_t v) {
    return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

// A spec whose key and salts encode the MKI, so that a reader can tell a context that belongs
// to the MKI it looked up from a torn or recycled one: salt = mki_len, mki..., seed repeated.
ContextSpec make_spec(const std::string& name, const std::vector<uint8_t>& mki, uint8_t seed,
                      KeyType type = KeyType::srtp) {
    ContextSpec s;
    s.type = type;
    s.key_name = name;
    s.mki = mki;
    std::vector<uint8_t> key(16), salt(12, seed);
    for (size_t i = 0; i < key.size(); ++i) key[i] = uint8_t(seed * 7 + i);
    salt[0] = uint8_t(mki.size());
    for (size_t i = 0; i < mki.size() && i + 1 < salt.size(); ++i) salt[i + 1] = mki[i];
    s.master_key = SecretBytes(key);
    s.master_salt = SecretBytes(salt);
    s.rtp_key = SecretBytes(key);
    s.rtp_salt = SecretBytes(salt);
    s.rtcp_key = SecretBytes(key);
    s.rtcp_salt = SecretBytes(salt);
    return s;
}

EntryResult make_entry(std::vector<ContextSpec> specs, const std::string& type = "srtp") {
    EntryResult e;
    e.ok = true;
    e.type = type;
    e.key_name = specs.front().key_name;
    e.contexts = std::move(specs);
    return e;
}

bool salt_matches(const SrtpContext& c, const uint8_t* mki, size_t len) {
    if (c.mki_len != len || std::memcmp(c.mki, mki, len) != 0) return false;
    if (c.rtp.salt[0] != len || c.rtcp.salt[0] != len) return false;
    for (size_t i = 0; i < len && i + 1 < crypto::kAeadSaltLen; ++i)
        if (c.rtp.salt[i + 1] != mki[i] || c.rtcp.salt[i + 1] != mki[i]) return false;
    return c.id != 0;
}

const MkiCandidates* lookup(const KeyTable& t, std::span<const uint8_t> mki) {
    return t.lookup(mki.data(), mki.size());
}

class KeyTableTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(liprobe::test::init_eal()); }
    static KeyTableConfig config(const std::string& name, uint32_t capacity = 1024) {
        KeyTableConfig c;
        c.name = name;
        c.capacity = capacity;
        c.max_readers = 4;
        return c;
    }
};

TEST_F(KeyTableTest, InstallLookupRevoke) {
    KeyTable t(config("kt_basic"));
    const std::vector<uint8_t> mki = {0xde, 0xad, 0xbe, 0xef};
    ContextSpec spec = make_spec("deadbeef", mki, 3);
    spec.roc_rate = 5;
    spec.not_before_us = 1000;
    spec.not_after_us = 2000;
    ASSERT_EQ(t.install(make_entry({spec})), "");
    EXPECT_EQ(t.context_count(), 1u);
    EXPECT_EQ(t.mki_length_mask(), 1u << 4);

    const MkiCandidates* c = lookup(t, mki);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->count, 1u);
    const SrtpContext& ctx = *c->contexts[0];
    EXPECT_TRUE(salt_matches(ctx, mki.data(), mki.size()));
    EXPECT_EQ(ctx.roc_rate, 5u);
    EXPECT_EQ(ctx.not_before_us, 1000);
    EXPECT_EQ(ctx.not_after_us, 2000);
    EXPECT_EQ(ctx.key_name, "deadbeef");
    EXPECT_EQ(ctx.type, KeyType::srtp);
    EXPECT_EQ(ctx.rtp.key.profile, crypto::AeadProfile::aes_128_gcm);

    // Other lengths or bytes of the same prefix are different MKIs.
    EXPECT_EQ(lookup(t, std::vector<uint8_t>{0xde, 0xad, 0xbe}), nullptr);
    EXPECT_EQ(lookup(t, std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef, 0x00}), nullptr);
    EXPECT_EQ(lookup(t, std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xee}), nullptr);
    EXPECT_EQ(t.lookup(mki.data(), 0), nullptr);
    EXPECT_EQ(t.lookup(mki.data(), 17), nullptr);

    EXPECT_TRUE(t.revoke("deadbeef"));
    EXPECT_FALSE(t.revoke("deadbeef"));
    EXPECT_EQ(lookup(t, mki), nullptr);
    EXPECT_EQ(t.context_count(), 0u);
    EXPECT_EQ(t.mki_length_mask(), 0u);
    t.synchronize();
}

TEST_F(KeyTableTest, GmkFullAndShortMkis) {
    KeyTable t(config("kt_gmk"));
    const std::vector<uint8_t> gmk_id = {0x09, 0xbf, 0x9d, 0x37};
    const uint32_t guk_ids[3] = {0x01c8de7b, 0x0abe69d0, 0x0c449727};
    std::vector<ContextSpec> specs;
    for (int m = 0; m < 3; ++m) {
        std::vector<uint8_t> mki = gmk_id;
        auto g = be32(guk_ids[m]);
        mki.insert(mki.end(), g.begin(), g.end());
        ContextSpec s = make_spec("09bf9d37", mki, uint8_t(10 + m), KeyType::gmk);
        s.short_mki = gmk_id;
        s.key_id = 0x09bf9d37;
        s.csb_id = guk_ids[m];
        s.cs_id = 4;
        s.roc_rate = 1;
        s.member = "sip:member" + std::to_string(m) + "@example.org";
        specs.push_back(s);
    }
    ASSERT_EQ(t.install(make_entry(specs, "gmk")), "");
    EXPECT_EQ(t.context_count(), 3u);
    EXPECT_EQ(t.mki_length_mask(), (1u << 4) | (1u << 8));

    for (int m = 0; m < 3; ++m) {
        const MkiCandidates* c = lookup(t, {specs[m].mki.data(), specs[m].mki.size()});
        ASSERT_NE(c, nullptr);
        ASSERT_EQ(c->count, 1u);
        EXPECT_EQ(c->contexts[0]->csb_id, guk_ids[m]);
    }
    const MkiCandidates* shorts = lookup(t, gmk_id);
    ASSERT_NE(shorts, nullptr);
    ASSERT_EQ(shorts->count, 3u);
    for (int m = 0; m < 3; ++m) EXPECT_EQ(shorts->contexts[m]->csb_id, guk_ids[m]);
    // Ids are unique.
    EXPECT_NE(shorts->contexts[0]->id, shorts->contexts[1]->id);
    EXPECT_NE(shorts->contexts[1]->id, shorts->contexts[2]->id);

    ASSERT_EQ(t.list().size(), 1u);
    const KeyInfo info = t.list()[0];
    EXPECT_EQ(info.key_name, "09bf9d37");
    EXPECT_EQ(info.type, KeyType::gmk);
    EXPECT_EQ(info.contexts, 3u);
    EXPECT_EQ(info.mkis_hex, (std::vector<std::string>{"09bf9d3701c8de7b", "09bf9d37",
                                                       "09bf9d370abe69d0", "09bf9d370c449727"}));
    ASSERT_TRUE(t.revoke("09bf9d37"));
    EXPECT_EQ(lookup(t, gmk_id), nullptr);
    EXPECT_EQ(t.mki_length_mask(), 0u);
    t.synchronize();
}

TEST_F(KeyTableTest, PckTwoCsIdsShareTheMki) {
    KeyTable t(config("kt_pck"));
    const std::vector<uint8_t> pck_id = {0x10, 0x00, 0x00, 0x42};
    ContextSpec init = make_spec("10000042", pck_id, 1, KeyType::pck);
    init.cs_id = 0;
    init.direction = PckDirection::initiator;
    ContextSpec recv = make_spec("10000042", pck_id, 2, KeyType::pck);
    recv.cs_id = 1;
    recv.direction = PckDirection::receiver;
    ASSERT_EQ(t.install(make_entry({init, recv}, "pck")), "");
    const MkiCandidates* c = lookup(t, pck_id);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->count, 2u);
    EXPECT_EQ(c->contexts[0]->cs_id, 0);
    EXPECT_EQ(c->contexts[0]->direction, PckDirection::initiator);
    EXPECT_EQ(c->contexts[1]->cs_id, 1);
    EXPECT_EQ(c->contexts[1]->direction, PckDirection::receiver);
    EXPECT_EQ(c->contexts[1]->rtp.salt[11], 2);
    ASSERT_EQ(t.list().size(), 1u);
    EXPECT_EQ(t.list()[0].mkis_hex, std::vector<std::string>{"10000042"});
}

TEST_F(KeyTableTest, SameMkiFromTwoEntriesAppendsCandidates) {
    KeyTable t(config("kt_shared"));
    const std::vector<uint8_t> mki = {0xaa, 0xbb};
    ASSERT_EQ(t.install(make_entry({make_spec("first", mki, 1)})), "");
    ASSERT_EQ(t.install(make_entry({make_spec("second", mki, 2)})), "");
    const MkiCandidates* c = lookup(t, mki);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->count, 2u);
    EXPECT_EQ(c->contexts[0]->key_name, "first");
    EXPECT_EQ(c->contexts[1]->key_name, "second");

    ASSERT_TRUE(t.revoke("first"));
    c = lookup(t, mki);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->count, 1u);
    EXPECT_EQ(c->contexts[0]->key_name, "second");
    EXPECT_EQ(t.mki_length_mask(), 1u << 2);
    ASSERT_TRUE(t.revoke("second"));
    EXPECT_EQ(lookup(t, mki), nullptr);
    t.synchronize();
}

TEST_F(KeyTableTest, ReinstallReplacesTheEntry) {
    KeyTable t(config("kt_replace"));
    const std::vector<uint8_t> old_mki = {1, 2, 3, 4}, new_mki = {5, 6, 7, 8, 9, 10};
    const std::vector<uint8_t> shared = {0x55};
    ASSERT_EQ(t.install(make_entry({make_spec("k", old_mki, 1), make_spec("k", shared, 1)})), "");
    ASSERT_EQ(t.install(make_entry({make_spec("other", shared, 9)})), "");
    const uint64_t old_id = lookup(t, old_mki)->contexts[0]->id;
    EXPECT_EQ(t.context_count(), 3u);

    // Same name, new MKIs: the old MKI disappears, the shared one keeps its position.
    ASSERT_EQ(t.install(make_entry({make_spec("k", new_mki, 2), make_spec("k", shared, 2)})), "");
    EXPECT_EQ(lookup(t, old_mki), nullptr);
    const MkiCandidates* c = lookup(t, new_mki);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->count, 1u);
    EXPECT_GT(c->contexts[0]->id, old_id);
    EXPECT_TRUE(salt_matches(*c->contexts[0], new_mki.data(), new_mki.size()));
    c = lookup(t, shared);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->count, 2u);
    EXPECT_EQ(c->contexts[0]->key_name, "k");
    EXPECT_EQ(c->contexts[0]->rtp.salt[11], 2);
    EXPECT_EQ(c->contexts[1]->key_name, "other");
    EXPECT_EQ(t.context_count(), 3u);
    EXPECT_EQ(t.mki_length_mask(), (1u << 1) | (1u << 6));
    EXPECT_EQ(t.list().size(), 2u);
    t.synchronize();
}

TEST_F(KeyTableTest, BadEntriesChangeNothing) {
    KeyTable t(config("kt_bad"));
    ASSERT_EQ(t.install(make_entry({make_spec("good", {7}, 1)})), "");

    EntryResult failed;
    failed.ok = false;
    failed.reason = "key: must be 16 octets";
    EXPECT_EQ(t.install(failed), "key: must be 16 octets");

    // An MKI longer than 16 octets cannot even be held by a ContextSpec (MkiBytes), and an
    // empty one is refused by install.
    EXPECT_THROW(make_spec("long", std::vector<uint8_t>(17, 1), 1), std::length_error);
    ContextSpec no_mki = make_spec("none", {11}, 1);
    no_mki.mki.clear();
    EXPECT_EQ(t.install(make_entry({no_mki})), "MKI length must be 1..16 octets");
    ContextSpec short_key = make_spec("short", {8}, 1);
    short_key.rtp_key = SecretBytes(std::vector<uint8_t>(15, 1));
    EXPECT_NE(t.install(make_entry({short_key})), "");
    ContextSpec big_profile = make_spec("profile", {9}, 1);  // 16-octet keys, 256-bit profile
    big_profile.profile = crypto::SrtpProfile::aead_aes_256_gcm;
    EXPECT_NE(t.install(make_entry({big_profile})), "");
    ContextSpec bad_salt = make_spec("salt", {10}, 1);
    bad_salt.rtcp_salt = SecretBytes(std::vector<uint8_t>(14, 1));
    EXPECT_NE(t.install(make_entry({bad_salt})), "");
    EXPECT_EQ(t.install(EntryResult{.ok = true}), "entry has no contexts");

    EXPECT_EQ(t.context_count(), 1u);
    EXPECT_EQ(t.mki_length_mask(), 1u << 1);
    EXPECT_EQ(t.list().size(), 1u);
}

TEST_F(KeyTableTest, Aes256Profile) {
    KeyTable t(config("kt_256"));
    ContextSpec s = make_spec("k256", {1, 2, 3}, 4);
    s.profile = crypto::SrtpProfile::aead_aes_256_gcm;
    s.rtp_key = SecretBytes(std::vector<uint8_t>(32, 0x11));
    s.rtcp_key = SecretBytes(std::vector<uint8_t>(32, 0x22));
    ASSERT_EQ(t.install(make_entry({s})), "");
    const MkiCandidates* c = lookup(t, std::vector<uint8_t>{1, 2, 3});
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->contexts[0]->rtp.key.profile, crypto::AeadProfile::aes_256_gcm);
}

TEST_F(KeyTableTest, CapacityIsEnforced) {
    KeyTable t(config("kt_cap", 8));
    for (uint32_t i = 0; i < 8; ++i)
        ASSERT_EQ(t.install(make_entry({make_spec("k" + std::to_string(i), be32(i), 1)})), "");
    EXPECT_EQ(t.install(make_entry({make_spec("k8", be32(8), 1)})), "key table full");
    EXPECT_EQ(lookup(t, be32(8)), nullptr);
    EXPECT_EQ(t.context_count(), 8u);
    // Replacing an entry needs no new slot.
    EXPECT_EQ(t.install(make_entry({make_spec("k3", be32(3), 2)})), "");
    EXPECT_EQ(lookup(t, be32(3))->contexts[0]->rtp.salt[11], 2);
}

TEST_F(KeyTableTest, ListNeverShowsKeyMaterial) {
    KeyTable t(config("kt_list"));
    ContextSpec s = make_spec("c0ffee", {0xc0, 0xff, 0xee}, 0x5a);
    s.not_before_us = 1;
    s.not_after_us = 2;
    ASSERT_EQ(t.install(make_entry({s})), "");
    const auto infos = t.list();
    ASSERT_EQ(infos.size(), 1u);
    EXPECT_EQ(infos[0].key_name, "c0ffee");
    EXPECT_EQ(infos[0].mkis_hex, std::vector<std::string>{"c0ffee"});
    EXPECT_EQ(infos[0].not_before_us, 1);
    EXPECT_EQ(infos[0].not_after_us, 2);
    EXPECT_EQ(infos[0].contexts, 1u);
    // Neither the session key nor the salt (hex, any 4-octet window) appears in any field.
    const std::string key_hex = to_hex(s.rtp_key.data(), s.rtp_key.size());
    const std::string salt_hex = to_hex(s.rtp_salt.data() + 4, 8);
    std::string all = infos[0].key_name;
    for (const auto& m : infos[0].mkis_hex) all += " " + m;
    for (size_t i = 0; i + 8 <= key_hex.size(); i += 2)
        EXPECT_EQ(all.find(key_hex.substr(i, 8)), std::string::npos);
    for (size_t i = 0; i + 8 <= salt_hex.size(); i += 2)
        EXPECT_EQ(all.find(salt_hex.substr(i, 8)), std::string::npos);
}

// The whole chain: a gmk entry (refs/specs.md 4.4, Streamwide unit_tests/test_guk.cc,
// "test_vector_etherstack"; GMK-ID 9bf9d37 left-padded) through derive_keys into the table.
TEST_F(KeyTableTest, DerivedGmkEntryFromPublishedVectors) {
    KeyTable t(config("kt_derived"));
    const std::string body = R"({"keys": [{"type": "gmk",
        "key": "fcfe65cd967c58d260b603ccb9a887a9", "key_id": "09bf9d37",
        "rand": "6819e679461120e10ac458cce67b8024",
        "members": ["sip:p25user01@etherstack.com", "sip:p25user02@etherstack.co.jp",
                    "sip:92100002447@att.com"]}]})";
    const auto results = derive_keys_text(body);
    ASSERT_EQ(results.size(), 1u);
    ASSERT_TRUE(results[0].ok) << results[0].reason;
    ASSERT_EQ(t.install(results[0]), "");
    EXPECT_EQ(t.context_count(), 3u);
    EXPECT_EQ(t.mki_length_mask(), (1u << 4) | (1u << 8));

    // refs 4.4 row 1: SRTP session salt (synthetic, computed from the published master salt).
    const MkiCandidates* c =
        lookup(t, std::vector<uint8_t>{0x09, 0xbf, 0x9d, 0x37, 0x01, 0xc8, 0xde, 0x7b});
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->count, 1u);
    const uint8_t salt[12] = {0x88, 0x86, 0x29, 0xf7, 0xce, 0x02,
                              0xcd, 0x9a, 0x9b, 0xf1, 0xc1, 0xe5};
    EXPECT_EQ(0, std::memcmp(c->contexts[0]->rtp.salt, salt, 12));
    const uint8_t rtcp_salt[12] = {0x5a, 0x17, 0xf1, 0xa3, 0x08, 0x8b,
                                   0x3d, 0x99, 0x91, 0xe7, 0xca, 0x61};
    EXPECT_EQ(0, std::memcmp(c->contexts[0]->rtcp.salt, rtcp_salt, 12));
    EXPECT_EQ(c->contexts[0]->csb_id, 0x01c8de7bu);  // GUK-ID of sip:p25user01@etherstack.com
    EXPECT_EQ(c->contexts[0]->roc_rate, 1u);         // design.md 3.3: gmk default R = 1
    EXPECT_EQ(c->contexts[0]->cs_id, 4);

    const MkiCandidates* shorts = lookup(t, std::vector<uint8_t>{0x09, 0xbf, 0x9d, 0x37});
    ASSERT_NE(shorts, nullptr);
    ASSERT_EQ(shorts->count, 3u);
    EXPECT_EQ(shorts->contexts[0]->csb_id, 0x01c8de7bu);
    EXPECT_EQ(shorts->contexts[1]->csb_id, 0x0abe69d0u);
    EXPECT_EQ(shorts->contexts[2]->csb_id, 0x0c449727u);
    ASSERT_TRUE(t.revoke(results[0].key_name));
    EXPECT_EQ(t.context_count(), 0u);
}

// Revoked contexts are zeroised only after every registered reader passed a quiescent state.
// Observation hook: the table carves contexts from key-memory slabs that stay mapped until the
// table is destroyed (documented in key_table.hpp), so the old context's bytes can be read back
// after reclaim without touching unmapped memory.
TEST_F(KeyTableTest, RevokedContextIsZeroedAfterGracePeriod) {
    KeyTable t(config("kt_zero"));
    const std::vector<uint8_t> mki = {0x31, 0x41, 0x59, 0x26};
    ContextSpec s = make_spec("pi", mki, 0x77);
    s.member = "sip:a-rather-long-member-identity@example.org";
    ASSERT_EQ(t.install(make_entry({s})), "");
    const SrtpContext* ctx = lookup(t, mki)->contexts[0];
    auto bytes = [&] {
        std::vector<uint8_t> out(sizeof(SrtpContext));
        const volatile uint8_t* p = reinterpret_cast<const volatile uint8_t*>(ctx);
        for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
        return out;
    };
    auto zero = [](const std::vector<uint8_t>& v) {
        return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
    };
    EXPECT_FALSE(zero(bytes()));

    t.register_reader(2);  // a worker that may still hold ctx
    ASSERT_TRUE(t.revoke("pi"));
    EXPECT_EQ(lookup(t, mki), nullptr);
    EXPECT_EQ(t.reclaim(), 0u);  // grace period not over: still intact for that reader
    EXPECT_EQ(ctx->rtp.salt[11], 0x77);
    EXPECT_EQ(ctx->key_name, "pi");

    t.quiescent(2);
    EXPECT_EQ(t.reclaim(), 1u);
    EXPECT_TRUE(zero(bytes()));
    t.unregister_reader(2);
}

TEST_F(KeyTableTest, SynchronizeReclaimsEverything) {
    KeyTable t(config("kt_sync"));
    for (uint32_t i = 0; i < 10; ++i)
        ASSERT_EQ(t.install(make_entry({make_spec("k" + std::to_string(i), be32(i), 1)})), "");
    for (uint32_t i = 0; i < 10; ++i) ASSERT_TRUE(t.revoke("k" + std::to_string(i)));
    t.synchronize();
    EXPECT_EQ(t.reclaim(), 0u);
    EXPECT_EQ(t.context_count(), 0u);
    EXPECT_TRUE(t.list().empty());
}

// One reader thread (RCU reader 0) looks up MKIs continuously while the main thread installs and
// revokes 100,000 keys. Every context the reader reaches must carry the salt of the MKI it looked
// up: a torn read or a context freed under the reader's feet would show another pattern or zero.
TEST_F(KeyTableTest, ConcurrentLookupsDuringAddAndRevoke) {
    constexpr uint32_t kKeys = 100000;
    constexpr uint32_t kLive = 32;
    KeyTable t(config("kt_concurrent", 1u << 17));
    std::atomic<uint32_t> newest{0};
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> lookups{0}, found{0}, bad{0};

    std::thread reader([&] {
        t.register_reader(0);
        uint32_t n = 0;
        while (!stop.load(std::memory_order_acquire)) {
            const uint32_t top = newest.load(std::memory_order_acquire);
            const uint32_t id = top - (n++ % (kLive + 8));  // live keys and recently revoked ones
            const auto mki = be32(id);
            const auto& probe = mki;
            const MkiCandidates* c = t.lookup(probe.data(), probe.size());
            lookups.fetch_add(1, std::memory_order_relaxed);
            if (c != nullptr) {
                found.fetch_add(1, std::memory_order_relaxed);
                // Check twice, a while apart: a context freed or recycled without waiting for
                // this reader's quiescent state would change under it in between.
                for (int round = 0; round < 2; ++round) {
                    if (c->count != 1 || !salt_matches(*c->contexts[0], probe.data(), probe.size()))
                        bad.fetch_add(1, std::memory_order_relaxed);
                    for (int spin = 0; spin < 256 && round == 0; ++spin) rte_pause();
                }
            }
            t.quiescent(0);
        }
        t.unregister_reader(0);
    });

    for (uint32_t i = 0; i < kKeys; ++i) {
        const std::string name = "k" + std::to_string(i);
        ASSERT_EQ(t.install(make_entry({make_spec(name, be32(i), uint8_t(i))})), "") << i;
        newest.store(i, std::memory_order_release);
        if (i >= kLive) {
            ASSERT_TRUE(t.revoke("k" + std::to_string(i - kLive)));
        }
        t.reclaim();
        // Make sure the reader has really run against the changing table at least once.
        while (i == 64 && found.load() == 0) std::this_thread::yield();
    }
    stop.store(true, std::memory_order_release);
    reader.join();
    t.synchronize();
    EXPECT_EQ(t.reclaim(), 0u);
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_GT(found.load(), 0u);
    EXPECT_GT(lookups.load(), found.load() / 2);
    EXPECT_EQ(t.context_count(), kLive);
    EXPECT_EQ(t.list().size(), kLive);
    // The newest keys are there, the revoked ones are gone.
    EXPECT_NE(lookup(t, be32(kKeys - 1)), nullptr);
    EXPECT_EQ(lookup(t, be32(kKeys - kLive - 1)), nullptr);
}

}  // namespace
}  // namespace liprobe::keys
