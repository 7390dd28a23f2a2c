// The control API over real mutual TLS on loopback, with curl as the client: the TLS policy
// (no certificate, a certificate of another CA, TLS 1.1, a non-AEAD suite: handshake refused),
// roles (unknown subject, missing role: 403 without detail), and /v1/keys (batch with good and
// bad entries, malformed JSON, wrong purpose tag, expired keys, GET without key material, DELETE
// with the key memory zeroised after the grace period), and the audit log (hashed key ids only).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eal.hpp"
#include "liprobe/control/audit.hpp"
#include "liprobe/control/https_server.hpp"
#include "liprobe/control/key_api.hpp"
#include "liprobe/keys/key_table.hpp"
#include "pki.hpp"
#include "process.hpp"

namespace liprobe::control {
namespace {

using nlohmann::json;
using test::TestCa;

constexpr const char* kSalt = "test-salt-0123456789";

// A srtp entry; master key and salt are made of `seed` so that a test can grep for them.
json srtp_entry(const std::string& mki, uint8_t seed) {
    char key[33], salt[25];
    for (int i = 0; i < 16; ++i) std::snprintf(key + 2 * i, 3, "%02x", (seed + i) & 0xff);
    for (int i = 0; i < 12; ++i) std::snprintf(salt + 2 * i, 3, "%02x", (seed * 3 + i) & 0xff);
    return {{"type", "srtp"},
            {"mki", mki},
            {"master_key", key},
            {"master_salt", salt},
            {"profile", "aead_aes_128_gcm"}};
}

json gmk_entry(const std::string& key_id) {
    return {{"type", "gmk"},
            {"key", "fcfe65cd967c58d260b603ccb9a887a9"},
            {"key_id", key_id},
            {"rand", "6819e679461120e10ac458cce67b8024"},
            {"members", {"sip:p25user01@etherstack.com", "sip:p25user02@etherstack.co.jp"}},
            {"cs_ids", {4}}};
}

struct CurlResult {
    int exit_code = -1;
    int http = 0;
    std::string body;
};

class KeyApiTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { ASSERT_TRUE(test::init_eal()); }

    void SetUp() override {
        dir_ = test::make_temp_dir();
        ca_ = std::make_unique<TestCa>(dir_, "ca");
        other_ca_ = std::make_unique<TestCa>(dir_, "other_ca");
        server_ = ca_->issue("api", {{"O", "liprobe test"}, {"CN", "localhost"}}, true);
        mf_ = ca_->issue("mf", {{"O", "Operator"}, {"CN", "mf1"}}, false);
        reader_ = ca_->issue("reader", {{"O", "Operator"}, {"CN", "auditor"}}, false);
        stranger_ = ca_->issue("stranger", {{"O", "Operator"}, {"CN", "nobody"}}, false);
        rogue_ = other_ca_->issue("rogue", {{"O", "Operator"}, {"CN", "mf1"}}, false);

        ControlSection s;
        s.listen = {"127.0.0.1", 0};
        s.cert = server_.first;
        s.key = server_.second;
        s.client_ca = ca_->ca_pem();
        s.clients = {{"CN=mf1,O=Operator", kRoleKeys | kRoleRead},
                     {"CN=auditor,O=Operator", kRoleRead}};
        audit_path_ = dir_ + "/audit.jsonl";
        audit_ = std::make_unique<AuditLog>(audit_path_, kSalt);
        keys::KeyTableConfig kc;
        kc.name = "kapi_" + std::to_string(++instance_);
        kc.capacity = 4096;
        kc.max_readers = 2;
        table_ = std::make_unique<keys::KeyTable>(kc);
        service_ = std::make_unique<KeyService>(*table_, generation_, *audit_,
                                                [this] { return now_us_.load(); });
        http_ = std::make_unique<ControlServer>(s);
        http_->set_audit(audit_.get());
        service_->register_routes(*http_);
        std::string error;
        ASSERT_TRUE(http_->start(error)) << error;
        ASSERT_NE(http_->port(), 0);
    }

    void TearDown() override {
        http_.reset();
        service_.reset();
        table_.reset();
        audit_.reset();
        test::remove_tree(dir_);
    }

    // curl with the given client certificate ({"", ""}: none) and extra arguments.
    CurlResult curl(const std::pair<std::string, std::string>& client, const std::string& method,
                    const std::string& path, const std::string& body = "",
                    std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"curl",     "-sS",          "--max-time", "10",
                                         "-o",       dir_ + "/body", "-w",         "%{http_code}",
                                         "--cacert", ca_->ca_pem(),  "-X",         method};
        if (!client.first.empty()) {
            args.insert(args.end(), {"--cert", client.first, "--key", client.second});
        }
        if (!body.empty()) {
            test::write_text(dir_ + "/request.json", body, 0600);
            args.insert(args.end(), {"-H", "Content-Type: application/json", "--data-binary",
                                     "@" + dir_ + "/request.json"});
        }
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back("https://localhost:" + std::to_string(http_->port()) + path);
        std::remove((dir_ + "/body").c_str());
        const pid_t pid = test::spawn(args, dir_ + "/curl.out", dir_ + "/curl.err");
        CurlResult r;
        if (pid < 0) return r;
        r.exit_code = test::wait_exit_within(pid, 15);
        r.http = std::atoi(test::slurp(dir_ + "/curl.out").c_str());
        r.body = test::slurp(dir_ + "/body");
        return r;
    }

    std::vector<json> audit_lines() { return test::read_jsonl(audit_path_); }

    static inline int instance_ = 0;
    std::string dir_, audit_path_;
    std::unique_ptr<TestCa> ca_, other_ca_;
    std::pair<std::string, std::string> server_, mf_, reader_, stranger_, rogue_;
    std::unique_ptr<AuditLog> audit_;
    std::unique_ptr<keys::KeyTable> table_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int64_t> now_us_{1767225600000000};  // 2026-01-01T00:00:00Z
    std::unique_ptr<KeyService> service_;
    std::unique_ptr<ControlServer> http_;
};

TEST_F(KeyApiTest, HappyPathPostGetDelete) {
    const json batch = {
        {"keys",
         {srtp_entry("a1b2c3d4", 0x10), gmk_entry("09bf9d37"), srtp_entry("A1B2C3D5", 0x20)}}};
    CurlResult r = curl(mf_, "POST", "/v1/keys", batch.dump());
    ASSERT_EQ(r.exit_code, 0);
    ASSERT_EQ(r.http, 200) << r.body;
    const json reply = json::parse(r.body);
    EXPECT_EQ(reply["installed"], 3);
    EXPECT_EQ(reply["refused"], 0);
    ASSERT_EQ(reply["results"].size(), 3u);
    EXPECT_EQ(reply["results"][0],
              json({{"index", 0}, {"key_id", "a1b2c3d4"}, {"type", "srtp"}, {"status", "ok"}}));
    EXPECT_EQ(reply["results"][1]["key_id"], "09bf9d37");
    EXPECT_EQ(reply["results"][1]["status"], "ok");
    EXPECT_EQ(generation_.load(), 1u);  // one bump per batch wakes the pending queues

    r = curl(reader_, "GET", "/v1/keys");
    ASSERT_EQ(r.http, 200) << r.body;
    const json list = json::parse(r.body)["keys"];
    ASSERT_EQ(list.size(), 3u);
    const auto gmk = std::find_if(list.begin(), list.end(),
                                  [](const json& k) { return k["key_id"] == "09bf9d37"; });
    ASSERT_NE(gmk, list.end());
    EXPECT_EQ((*gmk)["type"], "gmk");
    EXPECT_EQ((*gmk)["contexts"], 2);      // two members, CS-ID 4
    EXPECT_EQ((*gmk)["mkis"].size(), 3u);  // two long MKIs, one short
    EXPECT_TRUE((*gmk)["not_after"].is_null());
    // Never key material: neither the GMK nor any master key or salt.
    EXPECT_EQ(r.body.find("fcfe65cd967c58d260b603ccb9a887a9"), std::string::npos);
    EXPECT_EQ(r.body.find(srtp_entry("a1b2c3d4", 0x10)["master_key"].get<std::string>()),
              std::string::npos);

    r = curl(mf_, "DELETE", "/v1/keys/A1B2C3D4");  // hex ids are case-insensitive
    EXPECT_EQ(r.http, 200) << r.body;
    r = curl(mf_, "DELETE", "/v1/keys/a1b2c3d4");
    EXPECT_EQ(r.http, 404);
    EXPECT_EQ(json::parse(r.body), json({{"error", "unknown key_id"}}));
    r = curl(mf_, "GET", "/v1/keys");
    EXPECT_EQ(json::parse(r.body)["keys"].size(), 2u);
    EXPECT_EQ(service_->counters().installed.load(), 3u);
    EXPECT_EQ(service_->counters().revoked.load(), 1u);
}

TEST_F(KeyApiTest, BadEntriesNeverAffectTheOthers) {
    json bad_hex = srtp_entry("a1b2c3d4", 1);
    bad_hex["master_key"] = "zz";
    json wrong_tag = gmk_entry("19bf9d37");  // purpose tag 1 = PCK
    json unknown_field = srtp_entry("0badcaff", 2);
    unknown_field["not_afterr"] = "2030-01-01T00:00:00Z";
    const json batch = {{"keys",
                         {bad_hex, srtp_entry("0badcafe", 3), wrong_tag, unknown_field,
                          json::array(), gmk_entry("09bf9d37")}}};
    const CurlResult r = curl(mf_, "POST", "/v1/keys", batch.dump());
    ASSERT_EQ(r.http, 200) << r.body;
    const json reply = json::parse(r.body);
    const json& res = reply["results"];
    ASSERT_EQ(res.size(), 6u);
    EXPECT_EQ(res[0]["status"], "refused");
    EXPECT_EQ(res[0]["reason"].get<std::string>().rfind("master_key:", 0), 0u) << res[0];
    EXPECT_EQ(res[1]["status"], "ok");
    EXPECT_EQ(res[2]["status"], "refused");
    EXPECT_EQ(res[2]["reason"], "key_id: purpose tag 1 does not match type gmk (expected 0)")
        << res[2];
    EXPECT_EQ(res[3]["status"], "refused") << res[3];  // a misspelt field is not ignored
    EXPECT_EQ(res[4]["status"], "refused");
    EXPECT_EQ(res[4]["reason"], "entry: expected a JSON object");
    EXPECT_EQ(res[5]["status"], "ok");
    EXPECT_EQ(reply["installed"], 2);
    EXPECT_EQ(reply["refused"], 4);
    EXPECT_EQ(table_->list().size(), 2u);
    // Reasons never quote the value.
    EXPECT_EQ(r.body.find("zz"), std::string::npos);
}

TEST_F(KeyApiTest, MalformedJsonIs400) {
    for (const std::string& body : {std::string("{\"keys\": [ {\"type\": "), std::string("[1,"),
                                    std::string("{\"no_keys\": 1}")}) {
        SCOPED_TRACE(body);
        const CurlResult r = curl(mf_, "POST", "/v1/keys", body);
        EXPECT_EQ(r.http, 400);
        const json reply = json::parse(r.body);
        EXPECT_TRUE(reply.contains("error"));
    }
    EXPECT_EQ(table_->list().size(), 0u);
    EXPECT_EQ(service_->counters().bad_requests.load(), 3u);
    EXPECT_EQ(generation_.load(), 0u);
}

TEST_F(KeyApiTest, ExpiredKeysAreRefusedAndRetire) {
    json expired = srtp_entry("00000001", 1);
    expired["not_after"] = "2025-12-31T23:59:59Z";  // before the test clock
    json soon = srtp_entry("00000002", 2);
    soon["not_after"] = "2026-01-01T00:00:10Z";
    json later = srtp_entry("00000003", 3);
    later["not_before"] = "2026-01-01T00:00:00Z";
    later["not_after"] = "2026-01-02T00:00:00Z";
    const CurlResult r =
        curl(mf_, "POST", "/v1/keys", json({{"keys", {expired, soon, later}}}).dump());
    ASSERT_EQ(r.http, 200) << r.body;
    const json res = json::parse(r.body)["results"];
    EXPECT_EQ(res[0]["status"], "refused");
    EXPECT_EQ(res[0]["reason"], "not_after: already passed");
    EXPECT_EQ(res[1]["status"], "ok");
    EXPECT_EQ(res[2]["status"], "ok");

    EXPECT_EQ(service_->maintain(), 0u);
    now_us_ += 11 * 1000000LL;  // past "soon"
    EXPECT_EQ(service_->maintain(), 1u);
    const auto left = table_->list();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].key_name, "00000003");
    EXPECT_EQ(service_->counters().expired.load(), 1u);
    const auto lines = audit_lines();
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back()["action"], "keys.expire");
    EXPECT_EQ(lines.back()["key_id_sha256"], audit_->hash("00000002"));
}

TEST_F(KeyApiTest, RevokedKeyMemoryIsZeroised) {
    const json entry = srtp_entry("5eed5eed", 0x42);
    ASSERT_EQ(curl(mf_, "POST", "/v1/keys", json({{"keys", {entry}}}).dump()).http, 200);
    const uint8_t mki[] = {0x5e, 0xed, 0x5e, 0xed};
    const keys::MkiCandidates* cands = table_->lookup(mki, sizeof mki);
    ASSERT_NE(cands, nullptr);
    const keys::SrtpContext* ctx = cands->contexts[0];
    auto key_bytes = [&] {
        std::vector<uint8_t> out(sizeof(ctx->rtp) + sizeof(ctx->rtcp));
        const volatile uint8_t* p = reinterpret_cast<const volatile uint8_t*>(&ctx->rtp);
        for (size_t i = 0; i < sizeof(ctx->rtp); ++i) out[i] = p[i];
        p = reinterpret_cast<const volatile uint8_t*>(&ctx->rtcp);
        for (size_t i = 0; i < sizeof(ctx->rtcp); ++i) out[sizeof(ctx->rtp) + i] = p[i];
        return out;
    };
    auto nonzero = [](const std::vector<uint8_t>& v) {
        return std::count_if(v.begin(), v.end(), [](uint8_t b) { return b != 0; });
    };
    EXPECT_GT(nonzero(key_bytes()), 32);

    table_->register_reader(1);  // a worker that may still hold the context
    ASSERT_EQ(curl(mf_, "DELETE", "/v1/keys/5eed5eed").http, 200);
    EXPECT_EQ(table_->lookup(mki, sizeof mki), nullptr);  // the next packet misses
    service_->maintain();
    EXPECT_GT(nonzero(key_bytes()), 32);  // grace period not over: the reader may still use it
    table_->quiescent(1);
    service_->maintain();
    EXPECT_EQ(nonzero(key_bytes()), 0);
    table_->unregister_reader(1);
}

TEST_F(KeyApiTest, TlsPolicyRefusesTheHandshake) {
    const std::string body = json({{"keys", {srtp_entry("01010101", 1)}}}).dump();
    // No client certificate.
    CurlResult r = curl({"", ""}, "GET", "/v1/keys");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.http, 0);
    // A certificate of another CA with a configured subject.
    r = curl(rogue_, "POST", "/v1/keys", body);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.http, 0);
    // TLS 1.1 and a TLS 1.2 suite without forward secrecy (RFC 9325).
    r = curl(mf_, "GET", "/v1/keys", "", {"--tlsv1.1", "--tls-max", "1.1"});
    EXPECT_NE(r.exit_code, 0);
    r = curl(mf_, "GET", "/v1/keys", "", {"--tls-max", "1.2", "--ciphers", "AES128-GCM-SHA256"});
    EXPECT_NE(r.exit_code, 0);
    // TLS 1.2 with an RFC 9325 suite is accepted.
    r = curl(mf_, "GET", "/v1/keys", "",
             {"--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.http, 200);
    EXPECT_EQ(table_->list().size(), 0u);
}

TEST_F(KeyApiTest, UnknownSubjectAndMissingRoleGet403WithoutDetail) {
    const std::string body = json({{"keys", {srtp_entry("02020202", 2)}}}).dump();
    CurlResult r = curl(stranger_, "GET", "/v1/keys");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.http, 403);
    EXPECT_EQ(r.body, "");
    r = curl(stranger_, "GET", "/no/such/path");
    EXPECT_EQ(r.http, 403);
    r = curl(reader_, "POST", "/v1/keys", body);  // read only
    EXPECT_EQ(r.http, 403);
    EXPECT_EQ(r.body, "");
    r = curl(reader_, "DELETE", "/v1/keys/02020202");
    EXPECT_EQ(r.http, 403);
    EXPECT_EQ(table_->list().size(), 0u);

    const auto lines = audit_lines();
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0]["subject"], "CN=nobody,O=Operator");
    EXPECT_EQ(lines[0]["result"], "refused");
    EXPECT_EQ(lines[0]["reason"], "unknown subject");
    EXPECT_EQ(lines[2]["subject"], "CN=auditor,O=Operator");
    EXPECT_EQ(lines[2]["reason"], "role missing");
    EXPECT_EQ(lines[2]["method"], "POST");
}

// The audit trail of a whole session names clients and outcomes but never a key id, an MKI, a
// member identity or key material in the clear.
TEST_F(KeyApiTest, AuditLogHoldsOnlyHashes) {
    json wrong = gmk_entry("19bf9d37");
    ASSERT_EQ(
        curl(mf_, "POST", "/v1/keys",
             json({{"keys", {gmk_entry("09bf9d37"), srtp_entry("7a7a7a7a", 9), wrong}}}).dump())
            .http,
        200);
    ASSERT_EQ(curl(mf_, "DELETE", "/v1/keys/09bf9d37").http, 200);
    ASSERT_EQ(curl(mf_, "POST", "/v1/keys", "{bad json").http, 400);
    const std::string text = test::slurp(audit_path_);
    for (const std::string& secret :
         {std::string("09bf9d37"), std::string("19bf9d37"), std::string("7a7a7a7a"),
          std::string("fcfe65cd967c58d260b603ccb9a887a9"), std::string("p25user01"),
          std::string("etherstack"), srtp_entry("7a7a7a7a", 9)["master_key"].get<std::string>(),
          std::string(kSalt)})
        EXPECT_EQ(text.find(secret), std::string::npos) << secret;
    const auto lines = audit_lines();
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["action"], "keys.post");
    EXPECT_EQ(lines[0]["result"], "partial");
    EXPECT_EQ(lines[0]["subject"], "CN=mf1,O=Operator");
    EXPECT_EQ(lines[0]["entries"][0]["key_id_sha256"], audit_->hash("09bf9d37"));
    EXPECT_EQ(lines[0]["entries"][2]["result"], "refused");
    EXPECT_EQ(lines[1]["action"], "keys.delete");
    EXPECT_EQ(lines[1]["key_id_sha256"], audit_->hash("09bf9d37"));
    EXPECT_EQ(lines[2]["result"], "refused");
    // salted SHA-256: sha256("test-salt-0123456789" || "09bf9d37"), and another salt differs
    EXPECT_EQ(audit_->hash("09bf9d37"),
              "577217dfef8e25635ef6ff0e983125e60bb60bb9dfaf0aa7aeb8fac30e028776");
    EXPECT_NE(AuditLog("", "another-salt-000000").hash("09bf9d37"), audit_->hash("09bf9d37"));
}

}  // namespace
}  // namespace liprobe::control
