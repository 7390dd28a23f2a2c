// Issue 8, the hold-back on live ports: two workers share the media flow table; the SIP of a call
// reaches one, its media the other. RTP that arrives before the SIP worker installed its flow
// waits (in its mbuf) instead of being counted not_intercepted, and is delivered first, in order,
// once its flow turns up; packets of a flow nobody announces are released when their window ends.
// Driven through Worker::receive with real mbufs, burst by burst, so the interleaving of the two
// workers is exact.
#include <gtest/gtest.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <bitset>
#include <cstring>
#include <functional>

#include "eal.hpp"
#include "liprobe/dataplane/worker.hpp"
#include "liprobe/keys/key_model.hpp"
#include "scenario.hpp"

namespace {

using liprobe::dataplane::Outcome;
using liprobe::dataplane::Worker;
using liprobe::exporter::Record;
using liprobe::exporter::RecordKind;

// Records are copied out at submit, so one buffer serves them all.
class CcSink : public liprobe::media::RecordSink {
  public:
    Record* get_record(uint16_t, uint32_t bytes) override {
        buffer_.assign(bytes, 0);
        record_ = Record{};
        record_.data = buffer_.data();
        record_.capacity = bytes;
        return &record_;
    }
    bool submit(uint16_t, Record* r) override {
        if (r->kind == RecordKind::cc_rtp) cc.emplace_back(r->data, r->data + r->len);
        if (r->kind == RecordKind::iri_sip) ++iri;
        return true;
    }
    std::vector<std::vector<uint8_t>> cc;  // decrypted RTP, in delivery order
    size_t iri = 0;

  private:
    std::vector<uint8_t> buffer_;
    Record record_;
};

uint64_t outcome(const Worker& w, Outcome o) {
    return w.counters().outcome[static_cast<size_t>(o)].get();
}

class HoldBack : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(liprobe::test::init_eal());
        static int n = 0;
        ++n;
        const std::string id = std::to_string(n);
        pool_ = rte_pktmbuf_pool_create(("t_hb_pool" + id).c_str(), 1023, 0, 0,
                                        RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        ASSERT_NE(pool_, nullptr);
        rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("t_hb_rcu", rte_rcu_qsbr_get_memsize(2), 64));
        rte_rcu_qsbr_init(rcu_, 2);
        for (unsigned t = 0; t < 2; ++t) {
            rte_rcu_qsbr_thread_register(rcu_, t);
            rte_rcu_qsbr_thread_online(rcu_, t);
        }
        liprobe::keys::KeyTableConfig kc;
        kc.name = "t_hb_keys" + id;
        kc.capacity = 64;
        keys_ = std::make_unique<liprobe::keys::KeyTable>(kc);
        for (unsigned t = 0; t < 2; ++t) keys_->register_reader(t);
        for (const auto& e : liprobe::keys::derive_keys_text(liprobe::test::keys_json()))
            ASSERT_EQ(keys_->install(e), "");
        liprobe::media::FlowTableConfig fc;
        fc.name = "t_hb_flows" + id;
        fc.capacity = 64;
        fc.rcu = rcu_;
        flows_ = std::make_unique<liprobe::media::FlowTable>(fc);
        std::string error;
        policy_.selectors = liprobe::targets::SelectorSet::build(
            {{"LIID-A", {"sip:alice@example.org"}, {"d"}}}, {}, error);
        ASSERT_TRUE(policy_.selectors) << error;
        policy_.global_id = {0};
        policy_.routes.resize(1);
        policy_.routes[0].active = true;
        policy_.routes[0].destination_count = 1;
        ASSERT_TRUE(detector_.init(2, error)) << error;
        sip_ports_.set(5060);
    }
    void TearDown() override {
        workers_.clear();
        flows_.reset();
        for (unsigned t = 0; t < 2; ++t) keys_->unregister_reader(t);
        keys_.reset();
        for (unsigned t = 0; t < 2; ++t) rte_rcu_qsbr_thread_offline(rcu_, t);
        rte_free(rcu_);
        rte_mempool_free(pool_);
    }

    // Worker 0 gets the SIP, worker 1 the media.
    void make_workers(int64_t holdback_us) {
        liprobe::dataplane::WorkerShared shared;
        shared.sip_ports = &sip_ports_;
        shared.detector = &detector_;
        shared.policy = &current_policy_;
        shared.key_generation = &key_generation_;
        shared.stop = &stop_;
        shared.flow_rcu = rcu_;
        shared.keys = keys_.get();
        shared.holdback_us = holdback_us;
        shared.holdback_packets = 16;
        shared.flows = flows_.get();
        liprobe::dataplane::PipelineBounds bounds;
        bounds.workers = 2;
        bounds.sip_ports = &sip_port_;
        bounds.sip_port_count = 1;
        shared.pipeline = liprobe::dataplane::pipeline_config(bounds);
        for (unsigned i = 0; i < 2; ++i) {
            liprobe::media::InterceptorConfig ic;
            ic.worker = i;
            ic.max_dialogs = 16;
            auto icpt =
                std::make_unique<liprobe::media::Interceptor>(ic, *flows_, *keys_, sink_, cins_);
            icpt->set_policy(&policy_);
            workers_.push_back(std::make_unique<Worker>(i, shared, std::move(icpt)));
        }
    }

    // One frame as a burst of one, stamped with its time (a live port's time of capture).
    void receive(unsigned worker, const liprobe::test::Frame& f) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        ASSERT_NE(m, nullptr);
        char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(f.bytes.size()));
        ASSERT_NE(data, nullptr);
        std::memcpy(data, f.bytes.data(), f.bytes.size());
        workers_[worker]->receive(&m, 1, f.time_us);
        for (unsigned t = 0; t < 2; ++t) {
            rte_rcu_qsbr_quiescent(rcu_, t);
            keys_->quiescent(t);
        }
    }

    void expect_balanced() {
        for (const auto& w : workers_) EXPECT_EQ(w->counters().received.get(), w->outcome_sum());
    }

    rte_mempool* pool_ = nullptr;
    rte_rcu_qsbr* rcu_ = nullptr;
    std::unique_ptr<liprobe::keys::KeyTable> keys_;
    std::unique_ptr<liprobe::media::FlowTable> flows_;
    liprobe::media::Policy policy_;
    std::atomic<const liprobe::media::Policy*> current_policy_{&policy_};
    std::atomic<uint64_t> key_generation_{1};
    std::atomic<bool> stop_{false};
    liprobe::sip::SipDetector detector_;
    std::bitset<65536> sip_ports_;
    uint16_t sip_port_ = 5060;
    CcSink sink_;
    std::atomic<uint32_t> cins_{1};
    std::vector<std::unique_ptr<Worker>> workers_;
};

// Frames of build_call: 0 INVITE, 1 200 OK, 2 ACK, 3..12 SRTP caller/callee alternating, 13 BYE,
// 14 its 200 OK. The first packet of each direction overtakes the SIP (another worker's queue).
class HoldBackCall : public HoldBack {
  protected:
    void run_call(const std::function<void()>& after_overtaking = [] {}) {
        receive(1, call_.frames[3]);
        receive(1, call_.frames[4]);
        after_overtaking();
        for (size_t i : {0, 1, 2}) receive(0, call_.frames[i]);
        // The next packet of a held flow finds it installed: the held ones go first.
        for (size_t i = 5; i <= 12; ++i) receive(1, call_.frames[i]);
        for (size_t i : {13, 14}) receive(0, call_.frames[i]);
    }
    const liprobe::test::Call call_ = liprobe::test::build_call(liprobe::test::CallSpec{});
};

TEST_F(HoldBackCall, MediaAheadOfItsSipWaitsAndIsDeliveredInOrder) {
    make_workers(20000);
    run_call([&] {
        // No flow is installed yet: both wait, uncounted until released.
        EXPECT_EQ(workers_[1]->held_back(), 2u);
        EXPECT_EQ(workers_[1]->outcome_sum(), 0u);
    });
    EXPECT_EQ(workers_[1]->held_back(), 0u);

    std::vector<std::vector<uint8_t>> want;
    for (size_t i = 0; i < call_.rtp_from_caller.size(); ++i) {
        want.push_back(call_.rtp_from_caller[i]);
        want.push_back(call_.rtp_from_callee[i]);
    }
    EXPECT_EQ(sink_.cc, want) << "every RTP packet, decrypted, in capture order";
    EXPECT_EQ(sink_.iri, 5u);
    EXPECT_EQ(outcome(*workers_[1], Outcome::media_intercepted), 10u);
    EXPECT_EQ(outcome(*workers_[1], Outcome::not_intercepted), 0u);
    EXPECT_EQ(workers_[1]->counters().holdback_held.get(), 2u);
    EXPECT_EQ(workers_[1]->counters().holdback_intercepted.get(), 2u);
    expect_balanced();
}

// What issue 8 reported: without the hold-back the two packets that overtook the SIP are lost.
TEST_F(HoldBackCall, WithoutHoldBackMediaAheadOfItsSipIsNotIntercepted) {
    make_workers(0);
    run_call();
    EXPECT_EQ(sink_.cc.size(), 8u);
    EXPECT_EQ(outcome(*workers_[1], Outcome::media_intercepted), 8u);
    EXPECT_EQ(outcome(*workers_[1], Outcome::not_intercepted), 2u);
    expect_balanced();
}

TEST_F(HoldBack, UnannouncedFlowIsReleasedWhenItsWindowEnds) {
    make_workers(20000);
    const int64_t t0 = 1700000000000000;
    liprobe::net::UdpFrameSpec s;
    s.src = liprobe::net::ipv4_address(192, 0, 2, 7);
    s.dst = liprobe::net::ipv4_address(192, 0, 2, 8);
    s.src_port = 30000;
    s.dst_port = 30002;
    auto rtp = [&](uint16_t seq) {
        return liprobe::net::build_udp_frame(s, liprobe::test::make_rtp(seq, 0, 0x5555, 20, 0));
    };
    receive(1, {t0, rtp(1)});
    receive(1, {t0 + 10000, rtp(2)});
    receive(1, {t0 + 10000, {0x45, 0x00}});  // not RTP-looking (and malformed): never held
    EXPECT_EQ(workers_[1]->held_back(), 2u);
    workers_[1]->release_held_back(t0 + 19999, false);
    EXPECT_EQ(workers_[1]->held_back(), 2u);
    workers_[1]->release_held_back(t0 + 20000, false);
    EXPECT_EQ(workers_[1]->held_back(), 1u);
    // Established by now (first seen more than the window ago): its packets pass at once.
    receive(1, {t0 + 25000, rtp(3)});
    EXPECT_EQ(workers_[1]->held_back(), 1u);
    workers_[1]->release_held_back(t0 + 25000, true);
    EXPECT_EQ(workers_[1]->held_back(), 0u);
    EXPECT_EQ(outcome(*workers_[1], Outcome::not_intercepted), 3u);
    EXPECT_EQ(workers_[1]->counters().holdback_expired.get(), 2u);
    EXPECT_TRUE(sink_.cc.empty());
    expect_balanced();
}

}  // namespace
