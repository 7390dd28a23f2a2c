// The X1 protocol and task store without a network: every message, every error code, the exact
// response fields, the audit lines (hashed identities only) and the state file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <pugixml.hpp>

#include "liprobe/control/audit.hpp"
#include "liprobe/x1/service.hpp"
#include "pki.hpp"
#include "process.hpp"
#include "x1_messages.hpp"

namespace liprobe::x1 {
namespace {

using test::destination_details;
using test::kDid1;
using test::kDid2;
using test::kXidA;
using test::kXidB;
using test::message;
using test::target;
using test::task_details;
using test::x1_request;

constexpr const char* kSalt = "x1-test-salt-0123456789";
constexpr const char* kAlice = "sip:alice@example.org";

// A backend that records what it was given and refuses when told to.
struct FakeBackend : Backend {
    std::vector<State> applied;
    std::optional<Error> refuse;
    std::optional<Error> apply(const State& next) override {
        if (refuse) return refuse;
        applied.push_back(next);
        return std::nullopt;
    }
};

struct Response {
    int http = 0;
    pugi::xml_document doc;
    std::vector<pugi::xml_node> messages;
    std::string text;
};

std::string text_at(pugi::xml_node n, const char* path) {
    return n.first_element_by_path(path).text().get();
}

class X1ServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::make_temp_dir();
        audit_path_ = dir_ + "/audit.jsonl";
        audit_ = std::make_unique<control::AuditLog>(audit_path_, kSalt);
        reset_service();
    }
    void TearDown() override {
        service_.reset();
        audit_.reset();
        test::remove_tree(dir_);
    }
    void reset_service(State initial = {}) {
        ServiceOptions o;
        o.ne_identifier = "probe-1";
        o.state_path = dir_ + "/x1_state.json";
        service_ = std::make_unique<Service>(std::move(initial), o, &backend_, audit_.get());
    }

    std::unique_ptr<Response> send(const std::string& xml) {
        auto r = std::make_unique<Response>();
        const Reply reply = service_->handle(xml, "CN=admf,O=Operator");
        r->http = reply.http_status;
        r->text = reply.xml;
        EXPECT_TRUE(r->doc.load_string(reply.xml.c_str())) << reply.xml;
        for (pugi::xml_node m : r->doc.document_element().children("x1ResponseMessage"))
            r->messages.push_back(m);
        return r;
    }
    std::unique_ptr<Response> one(const std::string& type, const std::string& body) {
        auto r = send(x1_request({message(type, body)}));
        EXPECT_EQ(r->http, 200);
        EXPECT_EQ(r->messages.size(), 1u) << r->text;
        return r;
    }
    void expect_ok(const std::string& type, const std::string& body) {
        auto r = one(type + "Request", body);
        ASSERT_EQ(r->messages.size(), 1u);
        pugi::xml_node m = r->messages[0];
        EXPECT_STREQ(m.attribute("xsi:type").value(), (type + "Response").c_str()) << r->text;
        EXPECT_EQ(text_at(m, "oK"), "AcknowledgedAndCompleted") << r->text;
    }
    void expect_error(const std::string& type, const std::string& body, int code,
                      const std::string& description_part = "") {
        auto r = one(type + "Request", body);
        ASSERT_EQ(r->messages.size(), 1u);
        pugi::xml_node m = r->messages[0];
        EXPECT_STREQ(m.attribute("xsi:type").value(), "ErrorResponse") << r->text;
        EXPECT_EQ(text_at(m, "requestMessageType"), type);
        EXPECT_EQ(text_at(m, "errorInformation/errorCode"), std::to_string(code)) << r->text;
        EXPECT_NE(text_at(m, "errorInformation/errorDescription").find(description_part),
                  std::string::npos)
            << r->text;
    }
    void create_destination(const char* did) {
        expect_ok("CreateDestination", destination_details(did, "127.0.0.1", 4443));
    }
    void activate(const char* xid, const char* liid, const std::string& targets = "") {
        expect_ok(
            "ActivateTask",
            task_details(xid, {targets.empty() ? target("sipUri", kAlice) : targets}, kDid1, liid));
    }

    std::string dir_, audit_path_;
    FakeBackend backend_;
    std::unique_ptr<control::AuditLog> audit_;
    std::unique_ptr<Service> service_;
};

TEST_F(X1ServiceTest, ResponseHeaderEchoesTheRequest) {
    auto r = send(x1_request({message("PingRequest", "", "5e1d5a5c-0000-4000-8000-000000000001")}));
    ASSERT_EQ(r->http, 200);
    pugi::xml_node root = r->doc.document_element();
    EXPECT_STREQ(root.name(), "X1Response");
    EXPECT_STREQ(root.attribute("xmlns").value(), kX1Namespace);
    ASSERT_EQ(r->messages.size(), 1u);
    pugi::xml_node m = r->messages[0];
    EXPECT_STREQ(m.attribute("xsi:type").value(), "PingResponse");
    EXPECT_EQ(text_at(m, "admfIdentifier"), "admf-1");
    EXPECT_EQ(text_at(m, "neIdentifier"), "probe-1");
    EXPECT_EQ(text_at(m, "version"), kX1Version);
    EXPECT_EQ(text_at(m, "x1TransactionId"), "5e1d5a5c-0000-4000-8000-000000000001");
    EXPECT_FALSE(text_at(m, "messageTimestamp").empty());
    EXPECT_EQ(text_at(m, "oK"), "AcknowledgedAndCompleted");
    expect_ok("Keepalive", "");
}

TEST_F(X1ServiceTest, TaskLifecycle) {
    create_destination(kDid1);
    activate(kXidA, "LIID-A",
             target("sipUri", kAlice) + target("telUri", "tel:+491701234567") +
                 target("e164Number", "491709999999") +
                 target("mcpttId", "sip:officer1@mcptt.example.org") +
                 target("mcpttGroupId", "sip:group7@mcptt.example.org"));
    State s = service_->state();
    ASSERT_EQ(s.tasks.size(), 1u);
    const Task& t = s.tasks.at(kXidA);
    EXPECT_EQ(t.liid, "LIID-A");
    ASSERT_EQ(t.targets.size(), 5u);
    EXPECT_EQ(t.targets[2].uri(), "tel:+491709999999");
    EXPECT_EQ(t.targets[3].kind, TargetKind::mcptt_id);
    EXPECT_EQ(t.targets[4].kind, TargetKind::mcptt_group_id);
    EXPECT_EQ(backend_.applied.back(), s);

    auto r = one("GetTaskDetailsRequest", std::string("<xId>") + kXidA + "</xId>");
    pugi::xml_node m = r->messages[0];
    EXPECT_STREQ(m.attribute("xsi:type").value(), "GetTaskDetailsResponse") << r->text;
    EXPECT_EQ(text_at(m, "taskResponseDetails/taskDetails/xId"), kXidA);
    EXPECT_EQ(text_at(m, "taskResponseDetails/taskDetails/deliveryType"), "X2andX3");
    EXPECT_EQ(text_at(m, "taskResponseDetails/taskDetails/listOfDIDs/dId"), kDid1);
    EXPECT_EQ(text_at(m, "taskResponseDetails/taskDetails/taskDetailsExtensions/liprobe:liid"),
              "LIID-A");
    EXPECT_EQ(
        text_at(m, "taskResponseDetails/taskDetails/targetIdentifiers/targetIdentifier/sipUri"),
        kAlice);
    EXPECT_EQ(text_at(m, "taskResponseDetails/taskStatus/provisioningStatus"), "complete");

    // Modify: new target, X3 only. The answer of a GetTaskDetails follows.
    expect_ok("ModifyTask", task_details(kXidA, {target("sipUri", "sip:bob@example.org")}, kDid1,
                                         "LIID-A", "X3Only"));
    EXPECT_EQ(service_->state().tasks.at(kXidA).delivery, DeliveryType::x3_only);
    ASSERT_EQ(service_->state().tasks.at(kXidA).targets.size(), 1u);

    expect_ok("DeactivateTask", std::string("<xId>") + kXidA + "</xId>");
    EXPECT_TRUE(service_->state().tasks.empty());
    EXPECT_TRUE(backend_.applied.back().tasks.empty());
}

TEST_F(X1ServiceTest, DeactivateAllAndGetAll) {
    create_destination(kDid1);
    create_destination(kDid2);
    activate(kXidA, "LIID-A");
    activate(kXidB, "LIID-B");
    auto r = one("GetAllDetailsRequest", "");
    pugi::xml_node m = r->messages[0];
    EXPECT_STREQ(m.attribute("xsi:type").value(), "GetAllDetailsResponse");
    size_t tasks = 0, dests = 0;
    for ([[maybe_unused]] auto n : m.child("listOfTaskResponseDetails").children()) ++tasks;
    for ([[maybe_unused]] auto n : m.child("listOfDestinationResponseDetails").children()) ++dests;
    EXPECT_EQ(tasks, 2u);
    EXPECT_EQ(dests, 2u);
    expect_ok("DeactivateAllTasks", "");
    EXPECT_TRUE(service_->state().tasks.empty());
    EXPECT_EQ(service_->state().destinations.size(), 2u);
}

TEST_F(X1ServiceTest, DestinationLifecycle) {
    create_destination(kDid1);
    auto r = one("GetDestinationDetailsRequest", std::string("<dId>") + kDid1 + "</dId>");
    pugi::xml_node d =
        r->messages[0].first_element_by_path("destinationResponseDetails/destinationDetails");
    EXPECT_EQ(text_at(d, "dId"), kDid1);
    EXPECT_EQ(text_at(d, "friendlyName"), "LEMF 1");
    EXPECT_EQ(text_at(d, "deliveryAddress/ipAddressAndPort/address/etsi280:IPv4Address"),
              "127.0.0.1");
    EXPECT_EQ(text_at(d, "deliveryAddress/ipAddressAndPort/port/etsi280:TCPPort"), "4443");
    EXPECT_EQ(text_at(d, "destinationDetailsExtensions/liprobe:format"), "x3");

    expect_ok("ModifyDestination", destination_details(kDid1, "::1", 5000, "etsi102232"));
    const DestinationInfo info = service_->state().destinations.at(kDid1);
    EXPECT_EQ(info.address.host, "::1");
    EXPECT_EQ(info.address.port, 5000);
    EXPECT_EQ(info.format, control::ExportFormat::etsi102232);

    // In use by a task: refused; free again after the deactivation.
    activate(kXidA, "LIID-A");
    expect_error("RemoveDestination", std::string("<dId>") + kDid1 + "</dId>", kDestinationInUse,
                 "still used by task");
    expect_ok("DeactivateTask", std::string("<xId>") + kXidA + "</xId>");
    expect_ok("RemoveDestination", std::string("<dId>") + kDid1 + "</dId>");
    EXPECT_TRUE(service_->state().destinations.empty());
}

TEST_F(X1ServiceTest, EveryErrorCode) {
    create_destination(kDid1);
    activate(kXidA, "LIID-A");
    const std::string xid_b = std::string("<xId>") + kXidB + "</xId>";
    expect_error("DeactivateTask", xid_b, kUnknownXid, kXidB);
    expect_error("GetTaskDetails", xid_b, kUnknownXid);
    expect_error("ModifyTask", task_details(kXidB, {target("sipUri", kAlice)}, kDid1, "L"),
                 kUnknownXid);
    expect_error("ActivateTask", task_details(kXidA, {target("sipUri", kAlice)}, kDid1, "LIID-X"),
                 kDuplicateXid);
    expect_error("ActivateTask", task_details(kXidB, {target("sipUri", kAlice)}, kDid1, "LIID-A"),
                 kLiidInUse);
    expect_error("ActivateTask",
                 task_details(kXidB, {target("imsi", "262011234567890")}, kDid1, "B"),
                 kUnsupportedTargetType, "imsi");
    expect_error("ActivateTask",
                 task_details(kXidB,
                              {"<targetIdentifier><targetIdentifierExtension><x:other>1"
                               "</x:other></targetIdentifierExtension></targetIdentifier>"},
                              kDid1, "B"),
                 kUnsupportedTargetType);
    expect_error("ActivateTask", task_details(kXidB, {target("sipUri", "mailto:x@y")}, kDid1, "B"),
                 kInvalidTarget);
    expect_error("ActivateTask", task_details(kXidB, {target("e164Number", "+49-170")}, kDid1, "B"),
                 kInvalidTarget);
    expect_error("ActivateTask", task_details(kXidB, {target("sipUri", kAlice)}, kDid2, "B"),
                 kUnknownDid);
    expect_error("ActivateTask", task_details("not-a-uuid", {target("sipUri", kAlice)}, kDid1, "B"),
                 kMalformedRequest, "xId");
    expect_error("ActivateTask", "", kMalformedRequest, "taskDetails");
    expect_error("ActivateTask",
                 "<taskDetails><xId>" + std::string(kXidB) + "</xId><targetIdentifiers>" +
                     target("sipUri", kAlice) +
                     "</targetIdentifiers><deliveryType>X2andX3</deliveryType><listOfDIDs><dId>" +
                     kDid1 + "</dId></listOfDIDs></taskDetails>",
                 kMalformedRequest, "liid");
    expect_error("ActivateTask",
                 task_details(kXidB, {target("sipUri", kAlice)}, kDid1, "B", "X4Only"),
                 kMalformedRequest, "deliveryType");
    expect_error("GetDestinationDetails", std::string("<dId>") + kDid2 + "</dId>", kUnknownDid);
    expect_error("ModifyDestination", destination_details(kDid2, "127.0.0.1", 1), kUnknownDid);
    expect_error("RemoveDestination", std::string("<dId>") + kDid2 + "</dId>", kUnknownDid);
    expect_error("CreateDestination", destination_details(kDid1, "127.0.0.1", 1), kDuplicateDid);
    expect_error("CreateDestination", destination_details(kDid2, "not.an.ip", 1), kMalformedRequest,
                 "address");
    expect_error("CreateDestination", destination_details(kDid2, "127.0.0.1", 70000),
                 kMalformedRequest, "TCPPort");
    expect_error("CreateDestination", destination_details(kDid2, "127.0.0.1", 1, "pcap"),
                 kMalformedRequest, "format");
    expect_error("FrobnicateTask", "", kUnsupportedMessage, "FrobnicateTaskRequest");
    // A request for another network element.
    auto r = send(x1_request({message("PingRequest", "", "t-1", "probe-2")}));
    EXPECT_EQ(text_at(r->messages[0], "errorInformation/errorCode"),
              std::to_string(kWrongNeIdentifier));
    // The refusals changed nothing.
    EXPECT_EQ(service_->state().tasks.size(), 1u);
    EXPECT_EQ(service_->state().destinations.size(), 1u);
}

TEST_F(X1ServiceTest, TopLevelErrorForUnparseableDocuments) {
    for (const std::string& body :
         {std::string("<X1Request><unclosed>"), std::string("not xml at all"),
          std::string("<Other xmlns=\"http://uri.etsi.org/03221/X1/2017/10\"/>"),
          std::string("<X1Request xmlns=\"urn:wrong\"/>")}) {
        auto r = send(body);
        EXPECT_EQ(r->http, 400) << body;
        pugi::xml_node root = r->doc.document_element();
        EXPECT_STREQ(root.name(), "X1TopLevelErrorResponse") << body;
        EXPECT_EQ(text_at(root, "errorInformation/errorCode"), std::to_string(kMalformedRequest));
        EXPECT_EQ(text_at(root, "neIdentifier"), "probe-1");
    }
}

TEST_F(X1ServiceTest, SeveralMessagesAnsweredInOrder) {
    auto r = send(x1_request(
        {message("CreateDestinationRequest", destination_details(kDid1, "127.0.0.1", 4443), "t-1"),
         message("ActivateTaskRequest", task_details(kXidA, {target("sipUri", kAlice)}, kDid1, "L"),
                 "t-2"),
         message("RemoveDestinationRequest", std::string("<dId>") + kDid1 + "</dId>", "t-3")}));
    ASSERT_EQ(r->messages.size(), 3u);
    EXPECT_STREQ(r->messages[0].attribute("xsi:type").value(), "CreateDestinationResponse");
    EXPECT_STREQ(r->messages[1].attribute("xsi:type").value(), "ActivateTaskResponse");
    EXPECT_STREQ(r->messages[2].attribute("xsi:type").value(), "ErrorResponse");
    EXPECT_EQ(text_at(r->messages[2], "x1TransactionId"), "t-3");
}

TEST_F(X1ServiceTest, BackendRefusalChangesNothing) {
    create_destination(kDid1);
    backend_.refuse = Error{kNotApplied, "exporter could not be created"};
    expect_error("ActivateTask", task_details(kXidA, {target("sipUri", kAlice)}, kDid1, "L"),
                 kNotApplied, "exporter");
    EXPECT_TRUE(service_->state().tasks.empty());
}

TEST_F(X1ServiceTest, AuditHasHashesNeverIdentities) {
    create_destination(kDid1);
    activate(kXidA, "LIID-SECRET");
    expect_error("ActivateTask",
                 task_details(kXidB, {target("sipUri", "sip:carol@example.org")}, test::kDid2, "Z"),
                 kUnknownDid);
    const std::string audit = test::slurp(audit_path_);
    EXPECT_EQ(audit.find("alice"), std::string::npos);
    EXPECT_EQ(audit.find("carol"), std::string::npos);
    EXPECT_EQ(audit.find("LIID-SECRET"), std::string::npos);
    EXPECT_NE(audit.find(audit_->hash(kAlice)), std::string::npos);
    EXPECT_NE(audit.find(audit_->hash("LIID-SECRET")), std::string::npos);
    const auto lines = test::read_jsonl(audit_path_);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["action"], "x1.CreateDestination");
    EXPECT_EQ(lines[1]["action"], "x1.ActivateTask");
    EXPECT_EQ(lines[1]["result"], "ok");
    EXPECT_EQ(lines[1]["subject"], "CN=admf,O=Operator");
    EXPECT_EQ(lines[2]["result"], "refused");
    EXPECT_EQ(lines[2]["error_code"], kUnknownDid);
}

TEST_F(X1ServiceTest, StateSurvivesARestart) {
    create_destination(kDid1);
    activate(kXidA, "LIID-A",
             target("sipUri", kAlice) + target("mcpttGroupId", "sip:group7@mcptt.example.org"));
    const State before = service_->state();
    const std::string path = dir_ + "/x1_state.json";
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_NE(stat((path + ".tmp").c_str(), &st), 0);  // renamed away

    std::string error;
    auto loaded = load_state(path, error);
    ASSERT_TRUE(loaded) << error;
    EXPECT_EQ(*loaded, before);
    reset_service(*loaded);
    auto r = one("GetTaskDetailsRequest", std::string("<xId>") + kXidA + "</xId>");
    EXPECT_EQ(text_at(r->messages[0],
                      "taskResponseDetails/taskDetails/taskDetailsExtensions/liprobe:liid"),
              "LIID-A");

    chmod(path.c_str(), 0640);
    EXPECT_FALSE(load_state(path, error));
    EXPECT_NE(error.find("group or others"), std::string::npos);
    EXPECT_EQ(error.find("alice"), std::string::npos);
    chmod(path.c_str(), 0600);
    test::write_text(path, "{\"version\":1,\"tasks\":[{\"xid\":\"sip:alice@example.org\"", 0600);
    EXPECT_FALSE(load_state(path, error));
    EXPECT_EQ(error.find("alice"), std::string::npos);
    // No file yet: an empty state.
    auto empty = load_state(dir_ + "/none.json", error);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->tasks.empty());
}

TEST_F(X1ServiceTest, StateNotSavedChangesNothing) {
    ServiceOptions o;
    o.ne_identifier = "probe-1";
    o.state_path = dir_ + "/missing-dir/x1_state.json";
    service_ = std::make_unique<Service>(State{}, o, &backend_, audit_.get());
    expect_error("CreateDestination", destination_details(kDid1, "127.0.0.1", 4443),
                 kStateNotSaved);
    EXPECT_TRUE(service_->state().destinations.empty());
    // The backend was put back to the saved state.
    ASSERT_FALSE(backend_.applied.empty());
    EXPECT_TRUE(backend_.applied.back().destinations.empty());
}

}  // namespace
}  // namespace liprobe::x1
