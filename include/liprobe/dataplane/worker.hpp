// One worker lcore: rx bursts from its (port, queue) pairs, L2-L4 parsing, SIP detection, and the
// interception logic; every received packet ends in exactly one outcome counter.
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <memory>
#include <vector>

#include "liprobe/media/interception.hpp"
#include "liprobe/net/parse.hpp"
#include "liprobe/sip/detector.hpp"

struct rte_mbuf;
struct rte_rcu_qsbr;

namespace liprobe::dataplane {

// Where a received packet ended. received == the sum of all of these (checked in the summary).
enum class Outcome : uint8_t {
    sip_intercepted = 0,  // SIP message of an intercepted dialog (IRI)
    sip_other,            // SIP message of nobody's warrant
    sip_malformed,        // on a SIP port or SIP by content, but not parseable
    media_intercepted,    // UDP on an intercepted media flow (CC)
    not_intercepted,      // UDP of nobody's interest: the common case
    fragment,             // IPv4/IPv6 fragment: needs reassembly (not built yet)
    tcp,                  // TCP: needs stream reassembly (not built yet)
    other_l4,             // neither UDP nor TCP (ICMP, SCTP, ...)
    too_long,             // multi-segment packet longer than the linearisation buffer
    parse_error,          // by ParseStatus, see parse_errors
};
inline constexpr size_t kOutcomeCount = 10;
const char* outcome_name(Outcome o);

struct WorkerShared {
    const std::bitset<65536>* sip_ports = nullptr;
    const sip::SipDetector* detector = nullptr;
    std::atomic<const media::Policy*>* policy = nullptr;
    std::atomic<uint64_t>* key_generation = nullptr;
    std::atomic<bool>* stop = nullptr;
    rte_rcu_qsbr* flow_rcu = nullptr;
    const keys::KeyTable* keys = nullptr;
    net::LinkType link = net::LinkType::ethernet;
    bool offline = false;
    uint64_t offline_expected = 0;  // records in the capture (offline end detection)
    int timestamp_offset = -1;      // mbuf dynamic field (net_pcap), -1 none
    uint64_t timestamp_flag = 0;
    uint16_t burst = 32;
};

struct RxQueue {
    uint16_t port = 0, queue = 0;
};

struct WorkerCounters {
    media::Counter received;
    media::Counter outcome[kOutcomeCount];
    media::Counter parse_errors[net::kParseStatusCount];
    std::atomic<bool> done{false};
};

class Worker {
  public:
    Worker(unsigned index, const WorkerShared& shared, std::unique_ptr<media::Interceptor> icpt);
    void add_queue(RxQueue q) { queues_.push_back(q); }
    // The lcore body (rte_eal_remote_launch). Returns when stop is set or offline input ended.
    int run();

    // Processes one received frame (tests and benchmarks drive this directly).
    void process(uint8_t* frame, uint32_t len, int64_t time_us);

    const WorkerCounters& counters() const { return counters_; }
    const media::Interceptor& interceptor() const { return *interceptor_; }
    media::Interceptor& interceptor() { return *interceptor_; }
    uint64_t outcome_sum() const;

  private:
    void count(Outcome o) { counters_.outcome[static_cast<size_t>(o)].add(); }
    int64_t now_us();

    unsigned index_;
    WorkerShared shared_;
    std::unique_ptr<media::Interceptor> interceptor_;
    std::vector<RxQueue> queues_;
    WorkerCounters counters_;
    std::vector<uint8_t> linear_;  // multi-segment packets are copied here
    int64_t packet_time_us_ = 0;
    uint64_t tsc_hz_ = 0, tsc_base_ = 0;
    int64_t wall_base_us_ = 0;
};

}  // namespace liprobe::dataplane
