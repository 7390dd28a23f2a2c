// Delivery engine against a small in-process TLS receiver (test_delivery_support): real mutual TLS
// on loopback, refusals, keep-alives, outage with memory buffer and spool, spool limit, drain.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <numeric>

#include "eal.hpp"
#include "liprobe/export/exporter.hpp"
#include "liprobe/export/spool.hpp"
#include "test_delivery_support.hpp"

using namespace liprobe::exporter;
using liprobe::test::eventually;
using liprobe::test::MiniReceiver;
using liprobe::test::StreamKey;

namespace {

const ProbeIdentity& kProbe = liprobe::test::test_probe();

class DeliveryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(liprobe::test::init_eal());
        liprobe::test::pki();
        spool_parent_ = liprobe::test::make_temp_dir("spool");
    }
    void TearDown() override { liprobe::test::remove_tree(spool_parent_); }

    DestinationConfig config(uint16_t port) { return liprobe::test::test_destination(port); }
    std::unique_ptr<Exporter> make(const DestinationConfig& c) {
        return liprobe::test::make_exporter(c);
    }

    // Submits records 0..count-1 of stream (cin, CC) starting at first.
    static void submit_cc(Exporter& exp, uint32_t cin, uint32_t first, uint32_t count) {
        for (uint32_t i = first; i < first + count; ++i)
            liprobe::test::submit_paced(exp, liprobe::test::make_record(exp, cin, false, i));
    }

    // Waits until every encoded PDU was confirmed by the receiver.
    static bool all_confirmed(const Exporter& exp, uint64_t expected) {
        return eventually([&] {
            auto s = exp.snapshot();
            return s.queued == 0 && s.confirmed_pdus + s.lost_spool_full >= expected &&
                   s.encoded_pdus == expected && s.buffered_bytes == 0 && s.spooled_bytes == 0;
        });
    }

    std::string spool_parent_;
};

// Sequence numbers seen (any number of times) in a stream, merged over receivers.
std::set<uint32_t> seen(const std::vector<const MiniReceiver*>& receivers, const StreamKey& key) {
    std::set<uint32_t> out;
    for (auto* r : receivers) {
        auto a = r->arrivals();
        auto it = a.find(key);
        if (it != a.end()) out.insert(it->second.begin(), it->second.end());
    }
    return out;
}

StreamKey cc_key(uint64_t cin) {
    return StreamKey{"LIID1", cin, "CC"};
}

std::vector<uint32_t> iota(uint32_t n) {
    std::vector<uint32_t> v(n);
    std::iota(v.begin(), v.end(), 0u);
    return v;
}

TEST_F(DeliveryTest, HundredThousandPdusInOrderWithContiguousSequenceNumbers) {
    MiniReceiver rx({});
    auto exp = make(config(rx.port()));
    ASSERT_TRUE(exp);
    exp->start();
    // Two dialogs, CC and IRI interleaved: four independent sequence-number streams.
    const uint32_t per_stream = 25000;
    for (uint32_t i = 0; i < per_stream; ++i) {
        for (uint32_t cin : {1u, 2u}) {
            liprobe::test::submit_paced(*exp, liprobe::test::make_record(*exp, cin, false, i));
            liprobe::test::submit_paced(*exp, liprobe::test::make_record(*exp, cin, true, i));
        }
    }
    ASSERT_TRUE(all_confirmed(*exp, 4 * per_stream));
    exp->stop();
    auto s = exp->snapshot();
    EXPECT_EQ(s.sent_pdus, 100000u);
    EXPECT_EQ(s.confirmed_pdus, 100000u);
    EXPECT_EQ(s.lost(), 0u);
    EXPECT_EQ(s.reconnects, 0u);
    EXPECT_EQ(s.resent_pdus, 0u);
    EXPECT_EQ(rx.pdus(), 100000u);
    EXPECT_EQ(rx.decode_errors(), 0u);
    auto arrivals = rx.arrivals();
    ASSERT_EQ(arrivals.size(), 4u);
    for (uint64_t cin : {1u, 2u}) {
        for (const char* stream : {"CC", "IRI"}) {
            StreamKey key{"LIID1", cin, stream};
            EXPECT_EQ(arrivals[key], iota(per_stream)) << "CIN " << cin << " " << stream;
        }
    }
}

TEST_F(DeliveryTest, X3FormatDeliversInOrder) {
    MiniReceiver::Options o;
    o.format = Format::x3;
    MiniReceiver rx(o);
    auto c = config(rx.port());
    c.format = Format::x3;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    exp->start();
    submit_cc(*exp, 7, 0, 5000);
    ASSERT_TRUE(all_confirmed(*exp, 5000));
    exp->stop();
    auto arrivals = rx.arrivals();
    ASSERT_EQ(arrivals.size(), 1u);
    EXPECT_EQ(arrivals.begin()->second, iota(5000));
    EXPECT_EQ(std::get<1>(arrivals.begin()->first), 7u);
    EXPECT_EQ(exp->snapshot().lost(), 0u);
}

// --- refusals: each must fail the connection with a clear reason, count, and deliver nothing.

void expect_refused(Exporter& exp, MiniReceiver& rx, const std::string& reason_part) {
    exp.start();
    ASSERT_TRUE(eventually([&] { return exp.snapshot().tls_failures >= 2; }))
        << "last error: " << exp.last_error();
    std::string error = exp.last_error();
    exp.stop();
    auto s = exp.snapshot();
    EXPECT_EQ(s.confirmed_pdus, 0u);
    EXPECT_EQ(rx.pdus(), 0u);
    EXPECT_NE(error.find(reason_part), std::string::npos) << "last error: " << error;
}

TEST_F(DeliveryTest, RefusesConfigWithoutClientCertificate) {
    auto c = config(4000);
    c.cert.clear();
    c.key.clear();
    std::string error;
    EXPECT_FALSE(Exporter::create(c, kProbe, error));
    EXPECT_EQ(error, "destination lemf1: TLS needs cert, key and ca");
}

// A receiver with options o, the test destination changed by tweak, 10 records: the connection
// must be refused with reason_part (see expect_refused). Returns the receiver's handshake
// failures.
uint64_t refused(const MiniReceiver::Options& o,
                 const std::function<void(DestinationConfig&)>& tweak,
                 const std::string& reason_part) {
    MiniReceiver rx(o);
    auto c = liprobe::test::test_destination(rx.port());
    tweak(c);
    auto exp = liprobe::test::make_exporter(c);
    if (!exp) return 0;
    for (uint32_t i = 0; i < 10; ++i)
        liprobe::test::submit_paced(*exp, liprobe::test::make_record(*exp, 1, false, i));
    expect_refused(*exp, rx, reason_part);
    return rx.handshake_failures();
}

TEST_F(DeliveryTest, RefusesServerCertificateFromAnotherCa) {
    refused(
        {}, [](DestinationConfig& c) { c.ca = liprobe::test::pki().other_ca; },
        "certificate verify failed");
}

TEST_F(DeliveryTest, IsRefusedWithClientCertificateFromAnotherCa) {
    // TLS 1.3: the server's alert arrives after the client finished its handshake.
    EXPECT_GE(refused(
                  {},
                  [](DestinationConfig& c) {
                      c.cert = liprobe::test::pki().other_client_cert;
                      c.key = liprobe::test::pki().other_client_key;
                  },
                  "alert unknown ca"),
              1u);
}

TEST_F(DeliveryTest, RefusesWrongServerName) {
    refused(
        {}, [](DestinationConfig& c) { c.server_name = "other.test"; }, "hostname mismatch");
}

// Issue 9: an expired certificate on either side fails the handshake, nothing is delivered.
TEST_F(DeliveryTest, RefusesExpiredServerCertificate) {
    MiniReceiver::Options o;
    o.server_cert = liprobe::test::pki().expired_server_cert;
    refused(
        o, [](DestinationConfig&) {}, "certificate has expired");
}

TEST_F(DeliveryTest, IsRefusedWithExpiredClientCertificate) {
    EXPECT_GE(
        refused(
            {}, [](DestinationConfig& c) { c.cert = liprobe::test::pki().expired_client_cert; },
            "alert certificate expired"),
        1u);
}

TEST_F(DeliveryTest, RefusesServerOfferingOnlyTls11) {
    MiniReceiver::Options o;
    o.max_version = TLS1_1_VERSION;
    refused(
        o, [](DestinationConfig&) {}, "alert protocol version");
}

TEST_F(DeliveryTest, Tls12OnlyWithEcdheAead) {
    // A TLS 1.2 server offering ECDHE with AES-GCM: accepted.
    MiniReceiver::Options good;
    good.max_version = TLS1_2_VERSION;
    good.tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    {
        MiniReceiver rx(good);
        auto exp = make(config(rx.port()));
        ASSERT_TRUE(exp);
        exp->start();
        submit_cc(*exp, 1, 0, 100);
        ASSERT_TRUE(all_confirmed(*exp, 100)) << exp->last_error();
        exp->stop();
        EXPECT_EQ(rx.arrivals()[cc_key(1)], iota(100));
    }
    // The same server offering only ECDHE with AES-CBC (no AEAD): refused.
    MiniReceiver::Options cbc = good;
    cbc.tls12_ciphers = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA";
    MiniReceiver rx(cbc);
    auto exp = make(config(rx.port()));
    ASSERT_TRUE(exp);
    submit_cc(*exp, 1, 0, 10);
    expect_refused(*exp, rx, "handshake failure");
}

TEST_F(DeliveryTest, PlainTcpOnlyOnLoopback) {
    auto c = config(4000);
    c.tls = false;
    c.address = "192.0.2.1:4000";
    std::string error;
    EXPECT_FALSE(Exporter::create(c, kProbe, error));
    EXPECT_EQ(error,
              "destination lemf1: tls = false is only allowed for a loopback address, not "
              "192.0.2.1");

    MiniReceiver::Options o;
    o.tls = false;
    MiniReceiver rx(o);
    c = config(rx.port());
    c.tls = false;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    exp->start();
    submit_cc(*exp, 3, 0, 1000);
    ASSERT_TRUE(all_confirmed(*exp, 1000));
    exp->stop();
    EXPECT_EQ(rx.arrivals()[cc_key(3)], iota(1000));
}

TEST_F(DeliveryTest, RingFullIsCountedNeverSilent) {
    auto c = config(liprobe::test::free_port());
    c.ring_size = 64;  // holds 63
    auto exp = make(c);
    ASSERT_TRUE(exp);
    unsigned accepted = 0;
    for (uint32_t i = 0; i < 100; ++i)
        accepted += exp->submit(liprobe::test::make_record(*exp, 1, false, i)) ? 1 : 0;
    EXPECT_EQ(accepted, 63u);
    auto s = exp->snapshot();
    EXPECT_EQ(s.queued, 63u);
    EXPECT_EQ(s.lost_ring_full, 37u);
}

size_t occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Losses are counted where they happen (a full ring and empty pools on the submitting thread)
// and logged by the exporter thread: the first at once, the rest (here: PDUs never sent when the
// drain gives up) at stop, with the total per cause.
TEST_F(DeliveryTest, LossIsLoggedByTheExporterThreadWithCountsPerCause) {
    auto c = config(liprobe::test::free_port());  // nobody listens: nothing is ever sent
    c.ring_size = 64;                             // holds 63
    c.loss_log_interval_s = 3600;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    for (uint32_t i = 0; i < 100; ++i) exp->submit(liprobe::test::make_record(*exp, 1, false, i));
    std::vector<Record*> held;
    while (Record* r = exp->get_record(200)) held.push_back(r);  // the last call finds none
    for (Record* r : held) Exporter::put_record(r);
    auto s = exp->snapshot();
    EXPECT_EQ(s.lost_ring_full, 37u);
    EXPECT_EQ(s.lost_no_record, 1u);
    EXPECT_EQ(s.lost(), 38u);

    ::testing::internal::CaptureStderr();
    exp->start();
    EXPECT_TRUE(eventually([&] { return exp->snapshot().encoded_pdus == 63; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    exp->stop();
    const std::string log = ::testing::internal::GetCapturedStderr();
    s = exp->snapshot();
    EXPECT_EQ(s.lost_spool_full, 63u);
    EXPECT_EQ(s.lost(), 101u);
    const std::string first =
        "liprobe exporter lemf1: losing records: 38 more lost (ring full 37, no record buffer 1, "
        "buffer/spool full or never sent 0, encoder refused 0), 38 in total\n";
    const std::string at_stop =
        "liprobe exporter lemf1: at stop: 63 more lost (ring full 0, no record buffer 0, "
        "buffer/spool full or never sent 63, encoder refused 0), 101 in total\n"
        "liprobe exporter lemf1: stopped: 101 records lost in total (ring full 37, no record "
        "buffer 1, buffer/spool full or never sent 63, encoder refused 0)\n";
    EXPECT_NE(log.find(first), std::string::npos) << log;
    EXPECT_NE(log.find("drain: no spool configured, 63 PDUs never sent are lost\n" + at_stop),
              std::string::npos)
        << log;
    EXPECT_EQ(occurrences(log, "losing records"), 1u) << log;
}

// While losses last, the exporter thread repeats the line at most once per interval.
TEST_F(DeliveryTest, OngoingLossIsLoggedAtMostOncePerInterval) {
    auto c = config(liprobe::test::free_port());
    c.loss_log_interval_s = 0.2;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    ::testing::internal::CaptureStderr();
    exp->start();
    std::vector<Record*> held;
    while (Record* r = exp->get_record(200)) held.push_back(r);  // 1 lost
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < 49; ++i) {
        EXPECT_EQ(exp->get_record(200), nullptr);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    for (Record* r : held) Exporter::put_record(r);
    exp->stop();
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(exp->snapshot().lost_no_record, 50u);
    EXPECT_EQ(occurrences(log, "liprobe exporter lemf1: losing records: "), 1u) << log;
    const size_t repeats = occurrences(log, "liprobe exporter lemf1: still losing records: ");
    EXPECT_GE(repeats, 1u) << log;
    EXPECT_LE(repeats, static_cast<size_t>(seconds / 0.2) + 2) << log;
    EXPECT_NE(log.find("stopped: 50 records lost in total (ring full 0, no record buffer 50, "),
              std::string::npos)
        << log;
}

TEST_F(DeliveryTest, UnknownWarrantIsCountedAndTakesNoSequenceNumber) {
    MiniReceiver rx({});
    auto exp = make(config(rx.port()));
    ASSERT_TRUE(exp);
    exp->start();
    submit_cc(*exp, 1, 0, 10);
    Record* bad = liprobe::test::make_record(*exp, 1, false, 99);
    bad->warrant = 5;
    exp->submit(bad);
    submit_cc(*exp, 1, 10, 10);
    ASSERT_TRUE(eventually([&] { return exp->snapshot().confirmed_pdus == 20; }));
    exp->stop();
    EXPECT_EQ(exp->snapshot().lost_encode, 1u);
    EXPECT_EQ(rx.arrivals()[cc_key(1)], iota(20));
}

// --- keep-alive

TEST_F(DeliveryTest, KeepalivesAreSentAndAnsweredWhenIdle) {
    MiniReceiver rx({});
    auto c = config(rx.port());
    c.keepalive_s = 1;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    exp->start();
    ASSERT_TRUE(eventually([&] { return exp->snapshot().keepalive_responses >= 2; }));
    exp->stop();
    auto s = exp->snapshot();
    EXPECT_GE(rx.keepalives(), 2u);
    EXPECT_EQ(s.keepalive_timeouts, 0u);
    EXPECT_EQ(s.reconnects, 0u);
    EXPECT_EQ(s.connects, 1u);
}

TEST_F(DeliveryTest, UnansweredKeepaliveForcesReconnect) {
    MiniReceiver::Options o;
    o.answer_keepalives = false;
    MiniReceiver rx(o);
    auto c = config(rx.port());
    c.keepalive_s = 1;
    c.drain_timeout_s = 0;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    exp->start();
    ASSERT_TRUE(eventually([&] { return exp->snapshot().connects >= 2; }));
    exp->stop();
    auto s = exp->snapshot();
    EXPECT_GE(s.keepalive_timeouts, 1u);
    EXPECT_GE(s.reconnects, 1u);
    EXPECT_EQ(s.keepalive_responses, 0u);
    EXPECT_NE(exp->last_error().find("no keep-alive answer"), std::string::npos)
        << exp->last_error();
}

// --- outage

// The receiver dies mid-stream (connections reset, its unread data gone) and comes back on
// the same port: every PDU arrives, some perhaps twice.
void outage_round(Exporter& exp, uint16_t port, MiniReceiver& first, uint32_t total,
                  bool expect_spool) {
    exp.start();
    const uint32_t before = total / 4;
    for (uint32_t i = 0; i < before; ++i)
        liprobe::test::submit_paced(exp, liprobe::test::make_record(exp, 1, false, i));
    ASSERT_TRUE(eventually([&] { return first.pdus() >= before / 2; }));
    first.kill();
    for (uint32_t i = before; i < total; ++i)
        liprobe::test::submit_paced(exp, liprobe::test::make_record(exp, 1, false, i));
    ASSERT_TRUE(eventually([&] { return exp.snapshot().encoded_pdus == total; }));
    if (expect_spool) {
        EXPECT_GT(exp.snapshot().spooled_pdus, 0u);
    } else {
        EXPECT_EQ(exp.snapshot().spooled_pdus, 0u);
        EXPECT_GT(exp.snapshot().buffered_bytes, 0u);
    }
    MiniReceiver::Options o;
    o.port = port;
    MiniReceiver second(o);
    ASSERT_TRUE(eventually([&] {
        auto s = exp.snapshot();
        return s.confirmed_pdus >= total && s.buffered_bytes == 0 && s.spooled_bytes == 0;
    })) << exp.last_error();
    exp.stop();
    auto s = exp.snapshot();
    EXPECT_EQ(s.lost(), 0u);
    EXPECT_GE(s.reconnects, 1u);
    StreamKey key{"LIID1", 1, "CC"};
    auto all = seen({&first, &second}, key);
    EXPECT_EQ(all.size(), total);
    EXPECT_EQ(*all.rbegin(), total - 1);
    // After the reconnect the new receiver sees one contiguous run up to the end.
    auto run = second.arrivals()[key];
    ASSERT_FALSE(run.empty());
    for (size_t i = 1; i < run.size(); ++i) ASSERT_EQ(run[i], run[i - 1] + 1) << i;
    EXPECT_EQ(run.back(), total - 1);
}

TEST_F(DeliveryTest, OutageIsAbsorbedByTheMemoryBuffer) {
    auto first = std::make_unique<MiniReceiver>(MiniReceiver::Options{});
    uint16_t port = first->port();
    auto c = config(port);
    c.spool_dir = spool_parent_;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    outage_round(*exp, port, *first, 20000, false);
}

TEST_F(DeliveryTest, OutageSpillsToTheSpoolAndEverythingArrives) {
    auto first = std::make_unique<MiniReceiver>(MiniReceiver::Options{});
    uint16_t port = first->port();
    auto c = config(port);
    c.spool_dir = spool_parent_;
    c.buffer_mb = 0.02;  // about 80 PDUs in memory, the rest on disk
    auto exp = make(c);
    ASSERT_TRUE(exp);
    outage_round(*exp, port, *first, 20000, true);
}

TEST_F(DeliveryTest, SpoolLimitDropsOldestAndLostCounterEqualsTheGap) {
    uint16_t port = liprobe::test::free_port();
    auto c = config(port);
    c.spool_dir = spool_parent_;
    c.buffer_mb = 0.02;
    c.spool_limit_mb = 0.25;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    exp->start();
    const uint32_t total = 10000;
    submit_cc(*exp, 1, 0, total);
    ASSERT_TRUE(eventually([&] { return exp->snapshot().encoded_pdus == total; }));
    auto during = exp->snapshot();
    EXPECT_GT(during.lost_spool_full, 0u);
    EXPECT_LE(during.spooled_bytes, 262144u);

    MiniReceiver::Options o;
    o.port = port;
    MiniReceiver rx(o);
    ASSERT_TRUE(eventually([&] {
        auto s = exp->snapshot();
        return s.buffered_bytes == 0 && s.spooled_bytes == 0 &&
               s.confirmed_pdus + s.lost_spool_full == total;
    })) << exp->last_error();
    exp->stop();
    auto s = exp->snapshot();
    auto got = seen({&rx}, StreamKey{"LIID1", 1, "CC"});
    EXPECT_EQ(total - got.size(), s.lost_spool_full);
    EXPECT_EQ(s.lost(), s.lost_spool_full);
    // The oldest were dropped: what arrived is the memory-buffered head plus the newest tail.
    EXPECT_EQ(*got.rbegin(), total - 1);
}

TEST_F(DeliveryTest, DrainSpoolsWhatIsLeftAndTheNextStartSendsItFirst) {
    uint16_t port = liprobe::test::free_port();
    auto c = config(port);
    c.spool_dir = spool_parent_;
    c.drain_timeout_s = 0.2;
    {
        auto exp = make(c);
        ASSERT_TRUE(exp);
        exp->start();
        submit_cc(*exp, 1, 0, 1000);
        ASSERT_TRUE(eventually([&] { return exp->snapshot().encoded_pdus == 1000; }));
        exp->stop();
        auto s = exp->snapshot();
        EXPECT_EQ(s.spooled_pdus, 1000u);
        EXPECT_EQ(s.buffered_bytes, 0u);
        EXPECT_EQ(s.lost(), 0u);
    }
    MiniReceiver::Options o;
    o.port = port;
    MiniReceiver rx(o);
    c.drain_timeout_s = 10;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    EXPECT_EQ(exp->snapshot().spooled_pdus, 1000u);
    exp->start();
    submit_cc(*exp, 2, 0, 1000);  // a new dialog after the restart
    ASSERT_TRUE(eventually([&] { return exp->snapshot().confirmed_pdus == 2000; }))
        << exp->last_error();
    exp->stop();
    EXPECT_EQ(rx.arrivals()[cc_key(1)], iota(1000));
    EXPECT_EQ(rx.arrivals()[cc_key(2)], iota(1000));
    // Spooled PDUs went out before anything submitted after the restart.
    auto order = rx.order();
    ASSERT_EQ(order.size(), 2000u);
    for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(std::get<1>(order[i]), 1u) << i;
}

}  // namespace

// Issue 9: a slow LEMF (4 KiB per read, 2 ms between reads: about 2 MB/s). The producer is not
// slowed down by it: every record is accepted and encoded while the LEMF has confirmed only a
// small part, the rest waits in the exporter's memory buffer (back-pressure goes there, not into
// the ring or the submitting thread), and in the end every record arrives, none lost.
TEST_F(DeliveryTest, SlowLemfBackPressureGoesIntoTheBufferNotTheProducer) {
    MiniReceiver::Options o;
    o.read_bytes = 4096;
    o.read_pause_us = 2000;
    MiniReceiver rx(o);
    auto exp = make(config(rx.port()));
    ASSERT_TRUE(exp);
    exp->start();
    constexpr uint32_t kCount = 12000;  // about 3 MB of PDUs
    for (uint32_t i = 0; i < kCount; ++i)
        ASSERT_TRUE(exp->submit(liprobe::test::make_record(*exp, 1, false, i))) << i;
    ASSERT_TRUE(eventually([&] { return exp->snapshot().encoded_pdus == kCount; }));
    const auto mid = exp->snapshot();
    EXPECT_EQ(mid.lost(), 0u);
    EXPECT_LT(mid.confirmed_pdus, kCount / 2) << "the LEMF was not slow enough to test anything";
    EXPECT_GT(mid.buffered_bytes, 0u);
    EXPECT_EQ(mid.spooled_bytes, 0u);
    ASSERT_TRUE(all_confirmed(*exp, kCount));
    exp->stop();
    const auto s = exp->snapshot();
    EXPECT_EQ(s.lost(), 0u);
    const auto all = iota(kCount);
    EXPECT_EQ(seen({&rx}, cc_key(1)), std::set<uint32_t>(all.begin(), all.end()));
}

// Issue 9: an exception escaping the exporter thread's loop does not end delivery: the loop is
// restarted on the same ring, memory buffer and spool, the connection reopened. Records submitted
// before and after the failure all arrive with contiguous sequence numbers (a PDU perhaps twice,
// as after any reconnect); the restart is counted and logged once.
TEST_F(DeliveryTest, ExporterThreadThatFailsIsRestartedWithoutLosingItsRing) {
    MiniReceiver rx({});
    auto exp = make(config(rx.port()));
    ASSERT_TRUE(exp);
    ::testing::internal::CaptureStderr();
    exp->start();
    submit_cc(*exp, 1, 0, 3000);
    ASSERT_TRUE(eventually([&] { return exp->snapshot().confirmed_pdus >= 1000; }));
    exp->fail_once_for_test();
    ASSERT_TRUE(eventually([&] { return exp->snapshot().thread_restarts == 1; }));
    submit_cc(*exp, 1, 3000, 3000);
    ASSERT_TRUE(all_confirmed(*exp, 6000));
    exp->stop();
    const std::string log = ::testing::internal::GetCapturedStderr();
    const auto s = exp->snapshot();
    EXPECT_EQ(s.thread_restarts, 1u);
    EXPECT_EQ(s.lost(), 0u);
    EXPECT_EQ(s.encoded_pdus, 6000u);
    EXPECT_GE(s.connects, 2u);  // the connection was reopened
    const auto all = iota(6000);
    EXPECT_EQ(seen({&rx}, cc_key(1)), std::set<uint32_t>(all.begin(), all.end()));
    EXPECT_EQ(occurrences(log,
                          "liprobe exporter lemf1: exporter thread failed (failure injected "
                          "by a test); restarting it on the same ring, memory buffer and "
                          "spool"),
              1u)
        << log;
}

// --- the spool on its own

namespace {

std::vector<uint8_t> pdu_of(uint8_t fill, size_t len) {
    return std::vector<uint8_t>(len, fill);
}

std::string only_segment(const std::string& dir) {
    std::string found;
    for (auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".spool") found = e.path();
    return found;
}

TEST(SpoolTest, TornRecordIsCutOnOpen) {
    std::string dir = liprobe::test::make_temp_dir("spool-unit");
    std::string error;
    {
        Spool spool;
        ASSERT_TRUE(spool.open(dir, Format::etsi102232, 1 << 20, 1 << 16, error)) << error;
        for (uint8_t i = 1; i <= 3; ++i) {
            auto pdu = pdu_of(i, 100);
            EXPECT_EQ(spool.append(pdu.data(), pdu.size(), error), 0u);
        }
        EXPECT_EQ(spool.pdus(), 3u);
        EXPECT_EQ(spool.bytes(), 16u + 3 * 104);
        spool.close();
    }
    std::string segment = only_segment(dir);
    ASSERT_FALSE(segment.empty());
    std::filesystem::resize_file(segment, 16 + 3 * 104 - 10);  // a crash mid-record
    Spool spool;
    ASSERT_TRUE(spool.open(dir, Format::etsi102232, 1 << 20, 1 << 16, error)) << error;
    EXPECT_EQ(spool.pdus(), 2u);
    EXPECT_EQ(std::filesystem::file_size(segment), 16u + 2 * 104);
    std::vector<uint8_t> data;
    std::vector<uint32_t> ends;
    ASSERT_TRUE(spool.take_oldest(data, ends, error));
    EXPECT_EQ(ends, (std::vector<uint32_t>{100, 200}));
    EXPECT_EQ(data[0], 1);
    EXPECT_EQ(data[199], 2);
    EXPECT_TRUE(spool.empty());
    EXPECT_FALSE(std::filesystem::exists(segment));
    liprobe::test::remove_tree(dir);
}

TEST(SpoolTest, SegmentOfAnotherFormatIsSetAside) {
    std::string dir = liprobe::test::make_temp_dir("spool-unit");
    std::string error;
    {
        Spool spool;
        ASSERT_TRUE(spool.open(dir, Format::etsi102232, 1 << 20, 1 << 16, error));
        auto pdu = pdu_of(7, 50);
        spool.append(pdu.data(), pdu.size(), error);
        spool.close();
    }
    std::string segment = only_segment(dir);
    Spool spool;
    error.clear();
    ASSERT_TRUE(spool.open(dir, Format::x3, 1 << 20, 1 << 16, error));
    EXPECT_TRUE(spool.empty());
    EXPECT_NE(error.find("is not a x3 spool segment"), std::string::npos) << error;
    EXPECT_TRUE(std::filesystem::exists(segment + ".stale"));
    liprobe::test::remove_tree(dir);
}

TEST(SpoolTest, LimitDropsOldestSegmentsAndCountsTheirPdus) {
    std::string dir = liprobe::test::make_temp_dir("spool-unit");
    std::string error;
    Spool spool;
    // Segments of 4096 octets hold 4 records of 1004; the limit holds two and a half segments.
    ASSERT_TRUE(spool.open(dir, Format::etsi102232, 10000, 4096, error));
    uint64_t dropped = 0;
    for (int i = 0; i < 20; ++i) {
        auto pdu = pdu_of(static_cast<uint8_t>(i), 1000);
        dropped += spool.append(pdu.data(), pdu.size(), error);
    }
    EXPECT_EQ(dropped + spool.pdus(), 20u);
    EXPECT_EQ(spool.pdus(), 8u);  // the two newest full segments
    EXPECT_LE(spool.bytes(), 10000u);
    std::vector<uint8_t> data;
    std::vector<uint32_t> ends;
    ASSERT_TRUE(spool.take_oldest(data, ends, error));
    EXPECT_EQ(data[0], 12);  // the oldest kept PDU
    // A PDU larger than the whole limit is refused and counted, the rest untouched.
    auto huge = pdu_of(0, 20000);
    EXPECT_EQ(spool.append(huge.data(), huge.size(), error), 1u);
    EXPECT_EQ(spool.pdus(), 4u);
    liprobe::test::remove_tree(dir);
}

TEST(SpoolTest, PrependGoesInFrontOfTheOldest) {
    std::string dir = liprobe::test::make_temp_dir("spool-unit");
    std::string error;
    Spool spool;
    ASSERT_TRUE(spool.open(dir, Format::etsi102232, 1 << 20, 1 << 16, error));
    auto newer = pdu_of(9, 10);
    spool.append(newer.data(), newer.size(), error);
    std::vector<uint8_t> older = {1, 1, 2, 2, 2};
    std::vector<uint32_t> older_ends = {2, 5};
    EXPECT_EQ(spool.prepend(older.data(), older_ends.data(), older_ends.size(), error), 0u);
    EXPECT_EQ(spool.pdus(), 3u);
    std::vector<uint8_t> data;
    std::vector<uint32_t> ends;
    ASSERT_TRUE(spool.take_oldest(data, ends, error));
    EXPECT_EQ(data, older);
    EXPECT_EQ(ends, older_ends);
    ASSERT_TRUE(spool.take_oldest(data, ends, error));
    EXPECT_EQ(data, newer);
    EXPECT_TRUE(spool.empty());
    liprobe::test::remove_tree(dir);
}

}  // namespace
