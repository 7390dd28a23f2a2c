// Offline runs with several workers (--pcap with [dpdk] workers > 1): instead of one net_pcap
// queue, a feeder thread reads the capture and spreads its frames over one net_ring queue per
// worker, by the symmetric Toeplitz hash a NIC with liprobe's RSS key would use.
//
// With offline_order = "capture" (the default) the outcome does not depend on the worker count:
// - A frame that can change what other workers see (SIP by port or content, TCP, IP fragments,
//   GTP-U: whatever may install or remove media flows or take a CIN) is a barrier: the feeder
//   waits until every worker has processed everything before it, and sends nothing after it
//   until it has been processed. Flows are therefore installed, and CINs taken, in capture
//   order, and no media packet can overtake the SIP that installs its flow.
// - A media frame on an installed flow goes to the worker of the dialog that installed it, so
//   all CC of one (LIID, CIN) leaves one worker in capture order (same sequence numbers).
// Everything else (the common case) runs in parallel. With "arrival" the workers run free, as
// on a live port: faster, but media may overtake their SIP (counted not_intercepted).
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "liprobe/net/parse.hpp"

struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_ring;

namespace liprobe::media {
class FlowTable;
}

namespace liprobe::dataplane {

// The RSS queue of a parsed frame among `queues`: Toeplitz hash with the 0x6d5a key over the
// addresses and ports (addresses only for fragments and other protocols; 0 for non-IP), through
// a default 128-entry redirection table (entry i -> queue i % queues). Symmetric: both
// directions of a flow get the same queue. TCP ports are read when p stopped at TCP.
unsigned rss_queue(const uint8_t* frame, const net::ParsedPacket& p, unsigned queues);

// Whether processing the frame may change state other workers read (see above).
bool may_change_shared_state(const uint8_t* frame, const net::ParsedPacket& p,
                             const std::bitset<65536>& sip_ports);

// What a thread that feeds the workers' RX rings in place of a NIC needs (the offline feeder
// and the load generator): the rings, the mbufs, where the packet time goes, and the run's flags.
struct RingFeedTarget {
    net::LinkType link = net::LinkType::ethernet;
    std::vector<rte_ring*> rings;  // one per worker, single producer (the feeding thread)
    rte_mempool* pool = nullptr;
    int timestamp_offset = -1;  // mbuf dynamic field for the record time (microseconds)
    uint64_t timestamp_flag = 0;
    const std::bitset<65536>* sip_ports = nullptr;
    const std::atomic<bool>* stop = nullptr;
    // Set (release) once every frame was enqueued: a worker whose queue is then empty is done.
    std::atomic<bool>* done = nullptr;
};

struct OfflineFeedConfig : RingFeedTarget {
    std::string pcap;
    bool capture_order = true;
    const media::FlowTable* flows = nullptr;  // steering media to the worker of its dialog
    rte_rcu_qsbr* flow_rcu = nullptr;
    unsigned rcu_thread = 0;  // the feeder's reader id on flow_rcu
    // Packets each worker has fully processed (Worker counters), for the barriers.
    std::vector<const std::atomic<uint64_t>*> consumed;
};

class OfflineFeed {
  public:
    explicit OfflineFeed(OfflineFeedConfig config) : config_(std::move(config)) {}
    // The feeder thread's body: returns when the capture was sent (then sets done) or on stop.
    void run();
    uint64_t frames_sent() const { return sent_total_; }
    uint64_t barriers() const { return barriers_; }
    uint64_t steered() const { return steered_; }

  private:
    unsigned steer(const uint8_t* frame, const net::ParsedPacket& p) const;
    bool wait_consumed(unsigned worker, uint64_t count);
    bool send(unsigned queue, const uint8_t* frame, uint32_t len, int64_t time_us);

    OfflineFeedConfig config_;
    std::vector<uint64_t> sent_;
    uint64_t sent_total_ = 0, barriers_ = 0, steered_ = 0;
};

}  // namespace liprobe::dataplane
