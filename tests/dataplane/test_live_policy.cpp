// LivePolicy (dataplane/live_policy.hpp): the config's warrants and destinations merged with the
// X1 state into the policy the workers read and the destination slots they write to. Each
// change either publishes a whole new set or leaves the running one as it was.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "eal.hpp"
#include "liprobe/dataplane/live_policy.hpp"

namespace liprobe::dataplane {
namespace {

constexpr const char* kDid = "11111111-2222-4333-8444-555555555555";
constexpr const char* kXid = "0f8fad5b-d9cb-469f-a165-70867728950e";

control::Config base_config() {
    control::Config c;
    c.probe = {"ne", "op", "DE"};
    c.exporter.spool_dir = "";
    c.exporter.drain_timeout_s = 0;
    c.exporter.tls = false;  // X1 destinations on loopback, lab style
    c.exporter.buffer_mb = 1;
    control::Destination d;
    d.id = "lemf";
    d.address = {"127.0.0.1", 9};
    d.tls = false;
    d.buffer_mb = 1;
    c.destinations.push_back(d);
    control::Warrant w;
    w.liid = "LIID-CFG";
    w.targets = {"sip:carol@example.org"};
    w.destinations = {"lemf"};
    c.warrants.push_back(w);
    return c;
}

x1::State state_with_task(const std::string& host, x1::DeliveryType type) {
    x1::State s;
    x1::DestinationInfo d;
    d.did = kDid;
    d.address = {host, 9};
    s.destinations[kDid] = d;
    x1::Task t;
    t.xid = kXid;
    t.liid = "LIID-X1";
    t.targets = {{x1::TargetKind::sip_uri, "sip:alice@example.org"}};
    t.dids = {kDid};
    t.delivery = type;
    s.tasks[kXid] = t;
    return s;
}

class LivePolicyTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { ASSERT_TRUE(test::init_eal()); }
};

TEST_F(LivePolicyTest, TasksJoinTheConfigWarrantsAndLeaveInactiveRoutes) {
    LivePolicy live(base_config(), 1, {"op", "ne", "DE"}, nullptr);
    std::string error;
    ASSERT_TRUE(live.init({}, error)) << error;
    live.start();
    const media::Policy* first = live.policy().load();
    ASSERT_NE(first, nullptr);
    ASSERT_EQ(first->routes.size(), 1u);
    EXPECT_EQ(live.destination_stats().size(), 1u);

    // A task with an X1 destination: a second warrant, a second exporter, IRI only.
    ASSERT_FALSE(live.apply(state_with_task("127.0.0.1", x1::DeliveryType::x2_only)));
    const media::Policy* second = live.policy().load();
    ASSERT_NE(second, first);
    ASSERT_EQ(second->routes.size(), 2u);
    EXPECT_EQ(live.warrant_count(), 2u);
    const media::WarrantRoute& task_route = second->routes[1];
    EXPECT_TRUE(task_route.active);
    EXPECT_TRUE(task_route.deliver_iri);
    EXPECT_FALSE(task_route.deliver_cc);
    ASSERT_EQ(task_route.destination_count, 1);
    EXPECT_NE(task_route.destinations[0], second->routes[0].destinations[0]);
    EXPECT_EQ(live.destination_stats().size(), 2u);

    // Deactivated: the task's warrant id stays, inactive (its dialogs deliver nothing more);
    // the destination stays while X1 keeps it.
    x1::State no_task = state_with_task("127.0.0.1", x1::DeliveryType::x2_only);
    no_task.tasks.clear();
    ASSERT_FALSE(live.apply(no_task));
    const media::Policy* third = live.policy().load();
    ASSERT_EQ(third->routes.size(), 2u);
    EXPECT_TRUE(third->routes[0].active);
    EXPECT_FALSE(third->routes[1].active);
    EXPECT_EQ(live.destination_stats().size(), 2u);

    // Modified destination: a new exporter replaces the old one, which is retired.
    x1::State moved = no_task;
    moved.destinations[kDid].address.port = 10;
    ASSERT_FALSE(live.apply(moved));
    EXPECT_EQ(live.destination_stats().size(), 2u);
    live.stop();
    EXPECT_EQ(live.exporters().size(), 3u);  // lemf, the DID now and the retired one
}

TEST_F(LivePolicyTest, RefusedChangesKeepTheRunningSet) {
    LivePolicy live(base_config(), 1, {"op", "ne", "DE"}, nullptr);
    std::string error;
    ASSERT_TRUE(live.init({}, error)) << error;
    live.start();
    const media::Policy* running = live.policy().load();

    // tls = false towards a non-loopback address: the exporter refuses, nothing changes.
    auto e = live.apply(state_with_task("192.0.2.1", x1::DeliveryType::x2_and_x3));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, x1::kNotApplied);
    EXPECT_NE(e->description.find("loopback"), std::string::npos) << e->description;
    EXPECT_EQ(live.policy().load(), running);
    EXPECT_EQ(live.destination_stats().size(), 1u);

    // A task may not take a configured warrant's LIID, and a reload may not give a warrant a
    // task's LIID.
    x1::State clash = state_with_task("127.0.0.1", x1::DeliveryType::x2_and_x3);
    clash.tasks[kXid].liid = "LIID-CFG";
    e = live.apply(clash);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, x1::kLiidInUse);
    ASSERT_FALSE(live.apply(state_with_task("127.0.0.1", x1::DeliveryType::x2_and_x3)));
    control::Config next = base_config();
    next.warrants[0].liid = "LIID-X1";
    EXPECT_FALSE(live.reload(next, error));
    EXPECT_NE(error.find("same LIID"), std::string::npos) << error;

    // X1 destinations need [export] TLS credentials unless tls = false.
    control::Config tls_config = base_config();
    tls_config.exporter.tls = true;
    LivePolicy strict(tls_config, 1, {"op", "ne", "DE"}, nullptr);
    ASSERT_TRUE(strict.init({}, error)) << error;
    e = strict.apply(state_with_task("127.0.0.1", x1::DeliveryType::x2_and_x3));
    ASSERT_TRUE(e);
    EXPECT_NE(e->description.find("[export] cert"), std::string::npos) << e->description;
    live.stop();
    strict.stop();
}

TEST_F(LivePolicyTest, ReloadAddsReplacesAndRemovesConfigDestinations) {
    LivePolicy live(base_config(), 1, {"op", "ne", "DE"}, nullptr);
    std::string error;
    ASSERT_TRUE(live.init({}, error)) << error;
    live.start();
    control::Config next = base_config();
    control::Destination second = next.destinations[0];
    second.id = "lemf2";
    next.destinations.push_back(second);
    next.warrants[0].destinations = {"lemf2"};
    ASSERT_TRUE(live.reload(next, error)) << error;
    EXPECT_EQ(live.destination_stats().size(), 2u);
    // Back to one destination: lemf2 is drained and retired.
    ASSERT_TRUE(live.reload(base_config(), error)) << error;
    const auto stats = live.destination_stats();
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_EQ(stats[0].id, "lemf");
    // A broken warrant set (no target) is refused; the running policy stays.
    const media::Policy* running = live.policy().load();
    control::Config broken = base_config();
    broken.warrants[0].targets = {"not a uri"};
    EXPECT_FALSE(live.reload(broken, error));
    EXPECT_EQ(live.policy().load(), running);
    live.stop();
}

// What one destination's exporter has taken from its ring and encoded so far.
exporter::ExporterSnapshot snapshot_of(const LivePolicy& live, const std::string& id) {
    for (const DestinationStats& d : live.destination_stats())
        if (d.id == id) return d.snapshot;
    ADD_FAILURE() << "no destination " << id;
    return {};
}

// Waits (at most 5 s) until the destination has encoded `pdus` PDUs.
bool encoded_within(const LivePolicy& live, const std::string& id, uint64_t pdus) {
    for (int i = 0; i < 500; ++i) {
        if (snapshot_of(live, id).encoded_pdus == pdus) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TEST_F(LivePolicyTest, DroppedWarrantsQueueOneLiDeactivatedPerEtsiDestination) {
    LivePolicy live(base_config(), 1, {"op", "ne", "DE"}, nullptr);
    std::string error;
    ASSERT_TRUE(live.init({}, error)) << error;
    live.start();

    // An ETSI X1 destination: deactivating the task queues one notification there, none on the
    // config destination whose warrant stays.
    x1::State etsi = state_with_task("127.0.0.1", x1::DeliveryType::x2_and_x3);
    etsi.destinations[kDid].format = control::ExportFormat::etsi102232;
    ASSERT_FALSE(live.apply(etsi));
    x1::State deactivated = etsi;
    deactivated.tasks.clear();
    ASSERT_FALSE(live.apply(deactivated));
    EXPECT_TRUE(encoded_within(live, kDid, 1));
    // Applying the same state again drops nothing more.
    ASSERT_FALSE(live.apply(deactivated));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(snapshot_of(live, kDid).encoded_pdus, 1u);
    EXPECT_EQ(snapshot_of(live, "lemf").encoded_pdus, 0u);

    // An x3 destination: TS 103 221-2 has no such PDU, nothing is queued (nothing lost either).
    x1::State x3 = state_with_task("127.0.0.1", x1::DeliveryType::x2_and_x3);
    ASSERT_FALSE(live.apply(x3));
    x1::State x3_deactivated = x3;
    x3_deactivated.tasks.clear();
    ASSERT_FALSE(live.apply(x3_deactivated));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(snapshot_of(live, kDid).dequeued, 0u);
    EXPECT_EQ(snapshot_of(live, kDid).lost(), 0u);

    // SIGHUP without the config warrant: its destination gets the notification.
    control::Config next = base_config();
    next.warrants.clear();
    ASSERT_TRUE(live.reload(next, error)) << error;
    EXPECT_TRUE(encoded_within(live, "lemf", 1));
    live.stop();
}

}  // namespace
}  // namespace liprobe::dataplane
