// X1 over real mutual TLS on loopback with curl as the ADMF: POST /X1/NE needs role x1 (a
// client with another role gets 403 with an empty body, audited; no certificate fails the
// handshake), and an ActivateTask travels end to end.
#include <gtest/gtest.h>

#include "liprobe/control/audit.hpp"
#include "liprobe/control/https_server.hpp"
#include "liprobe/x1/routes.hpp"
#include "liprobe/x1/service.hpp"
#include "pki.hpp"
#include "process.hpp"
#include "x1_messages.hpp"

namespace liprobe::x1 {
namespace {

using test::TestCa;

class X1HttpsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::make_temp_dir();
        ca_ = std::make_unique<TestCa>(dir_, "ca");
        server_ = ca_->issue("api", {{"O", "liprobe test"}, {"CN", "localhost"}}, true);
        admf_ = ca_->issue("admf", {{"O", "Operator"}, {"CN", "admf1"}}, false);
        mf_ = ca_->issue("mf", {{"O", "Operator"}, {"CN", "mf1"}}, false);
        control::ControlSection s;
        s.listen = {"127.0.0.1", 0};
        s.cert = server_.first;
        s.key = server_.second;
        s.client_ca = ca_->ca_pem();
        s.clients = {{"CN=admf1,O=Operator", control::kRoleX1},
                     {"CN=mf1,O=Operator", control::kRoleKeys | control::kRoleRead}};
        audit_path_ = dir_ + "/audit.jsonl";
        audit_ = std::make_unique<control::AuditLog>(audit_path_, "x1-https-salt-0123456789");
        ServiceOptions o;
        o.ne_identifier = "probe-1";
        o.state_path = dir_ + "/x1_state.json";
        service_ = std::make_unique<Service>(State{}, o, nullptr, audit_.get());
        http_ = std::make_unique<control::ControlServer>(s);
        http_->set_audit(audit_.get());
        register_routes(*service_, *http_);
        std::string error;
        ASSERT_TRUE(http_->start(error)) << error;
    }
    void TearDown() override {
        http_.reset();
        service_.reset();
        audit_.reset();
        test::remove_tree(dir_);
    }

    // POST /X1/NE as `client` ({"", ""}: no certificate); the HTTP status (0: curl failed).
    int post(const std::pair<std::string, std::string>& client, const std::string& xml,
             std::string& body) {
        std::vector<std::string> args = {"--cacert", ca_->ca_pem()};
        if (!client.first.empty())
            args.insert(args.end(), {"--cert", client.first, "--key", client.second});
        test::write_text(dir_ + "/request.xml", xml, 0600);
        args.insert(args.end(), {"-H", "Content-Type: application/xml", "--data-binary",
                                 "@" + dir_ + "/request.xml",
                                 "https://localhost:" + std::to_string(http_->port()) + "/X1/NE"});
        return test::run_curl(dir_, args, body);
    }

    std::string dir_, audit_path_;
    std::unique_ptr<TestCa> ca_;
    std::pair<std::string, std::string> server_, admf_, mf_;
    std::unique_ptr<control::AuditLog> audit_;
    std::unique_ptr<Service> service_;
    std::unique_ptr<control::ControlServer> http_;
};

TEST_F(X1HttpsTest, ActivateTaskOverMutualTls) {
    const std::string xml = test::x1_request(
        {test::message("CreateDestinationRequest",
                       test::destination_details(test::kDid1, "127.0.0.1", 4443)),
         test::message(
             "ActivateTaskRequest",
             test::task_details(test::kXidA, {test::target("sipUri", "sip:alice@example.org")},
                                test::kDid1, "LIID-HTTPS"))});
    std::string body;
    ASSERT_EQ(post(admf_, xml, body), 200) << test::slurp(dir_ + "/curl.err");
    EXPECT_NE(body.find("<X1Response"), std::string::npos) << body;
    EXPECT_NE(body.find("xsi:type=\"ActivateTaskResponse\""), std::string::npos) << body;
    EXPECT_NE(body.find("<oK>AcknowledgedAndCompleted</oK>"), std::string::npos);
    EXPECT_EQ(service_->state().tasks.size(), 1u);

    EXPECT_EQ(post(admf_, "<X1Request", body), 400);
    EXPECT_NE(body.find("X1TopLevelErrorResponse"), std::string::npos) << body;
}

TEST_F(X1HttpsTest, RoleX1IsRequired) {
    const std::string xml = test::x1_request({test::message("PingRequest", "")});
    std::string body = "unset";
    EXPECT_EQ(post(mf_, xml, body), 403);
    EXPECT_TRUE(body.empty());
    EXPECT_EQ(post({"", ""}, xml, body), 0);  // no client certificate: the handshake fails
    const auto lines = test::read_jsonl(audit_path_);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0]["result"], "refused");
    EXPECT_EQ(lines[0]["subject"], "CN=mf1,O=Operator");
    EXPECT_EQ(lines[0]["path"], "/X1/NE");
    EXPECT_TRUE(service_->state().tasks.empty());
}

}  // namespace
}  // namespace liprobe::x1
