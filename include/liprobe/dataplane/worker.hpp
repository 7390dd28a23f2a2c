// One worker lcore: rx bursts from its (port, queue) pairs, L2-L4 parsing with IPv4/IPv6
// reassembly, SIP-over-TCP stream reassembly and GTP-U decapsulation (net::PacketPipeline), SIP
// detection, and the interception logic; every received packet ends in exactly one outcome
// counter.
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <memory>
#include <vector>

#include "liprobe/media/interception.hpp"
#include "liprobe/net/packet_pipeline.hpp"
#include "liprobe/net/parse.hpp"
#include "liprobe/sip/detector.hpp"

struct rte_mbuf;
struct rte_rcu_qsbr;

namespace liprobe::dataplane {

// Where a received packet ended. received == the sum of all of these (checked in the summary).
enum class Outcome : uint8_t {
    sip_intercepted = 0,  // SIP message(s) of an intercepted dialog (IRI)
    sip_other,            // SIP message(s) of nobody's warrant
    sip_malformed,        // on a SIP port or SIP by content, but not parseable
    media_intercepted,    // UDP on an intercepted media flow (CC)
    not_intercepted,      // UDP of nobody's interest: the common case
    held,                 // IP fragment or SIP-over-TCP bytes kept for reassembly
    dropped,              // by net::DropReason, see drops (malformed, unsupported, ...)
};
inline constexpr size_t kOutcomeCount = 7;
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
    // Offline with several workers: set once the feeder enqueued the whole capture (then a worker
    // ends when its queue is empty); nullptr for one net_pcap queue (ends at offline_expected).
    const std::atomic<bool>* feed_done = nullptr;
    // Hold-back of media that may overtake its SIP on another worker ([dpdk] holdback_ms); 0 off.
    int64_t holdback_us = 0;
    uint32_t holdback_packets = 512;
    const media::FlowTable* flows = nullptr;  // required when holdback_us > 0
    int timestamp_offset = -1;                // mbuf dynamic field (net_pcap), -1 none
    uint64_t timestamp_flag = 0;
    uint16_t burst = 32;
    net::PipelineConfig pipeline;  // bounds of the per-worker reassembly (sip_framer set here)
};

// The per-worker pipeline bounds from the config's [dpdk] and [sip] sections (documented in the
// .cpp). Control plane; the framer for SIP over TCP is set when max_tcp_streams > 0.
struct PipelineBounds {
    uint32_t max_fragments = 4096;    // [dpdk] max_fragments: fragments held per worker
    uint32_t max_tcp_streams = 4096;  // [sip] max_tcp_streams: connections, all workers
    uint32_t workers = 1;
    const uint16_t* sip_ports = nullptr;
    size_t sip_port_count = 0;
};
net::PipelineConfig pipeline_config(const PipelineBounds& bounds);

struct RxQueue {
    uint16_t port = 0, queue = 0;
};

struct WorkerCounters {
    media::Counter received;
    media::Counter outcome[kOutcomeCount];
    media::Counter drops[net::kDropReasonCount];  // Outcome::dropped by reason
    // Packets whose processing (and their records) is complete, stored after each burst with
    // release order: the offline feeder's barriers wait on it.
    std::atomic<uint64_t> consumed{0};
    // Hold-back: packets held, then found on an intercepted flow, released when their window
    // ended (not_intercepted), or released early because the queue was full.
    media::Counter holdback_held, holdback_intercepted, holdback_expired, holdback_overflow;
    std::atomic<bool> done{false};
};

class Worker {
  public:
    Worker(unsigned index, const WorkerShared& shared, std::unique_ptr<media::Interceptor> icpt);
    void add_queue(RxQueue q) { queues_.push_back(q); }
    // The lcore body (rte_eal_remote_launch). Returns when stop is set or offline input ended.
    int run();

    // Processes one received frame (tests and benchmarks drive this directly). The frame must
    // stay valid and writable until the interceptor's next flush() (SRTP decrypts in place).
    void process(uint8_t* frame, uint32_t len, int64_t time_us);
    // One received burst, as run() handles it: every mbuf is processed, then freed, except those
    // the hold-back keeps (freed when released). live_now_us stamps packets without a timestamp.
    void receive(rte_mbuf** mbufs, uint16_t n, int64_t live_now_us);
    // Releases held-back packets whose window ended by now_us (all of them when all is set),
    // each to its one outcome: media_intercepted when its flow is now known, else not_intercepted.
    void release_held_back(int64_t now_us, bool all);
    size_t held_back() const { return held_live_; }
    // Timeouts of the reassembly on packet time (called per burst; runs every 100 ms).
    void expire(int64_t now_us);
    // End of input: held fragments and TCP streams are discarded (counted in the pipeline
    // stats; their packets were counted as held when they arrived).
    void flush_reassembly();

    const WorkerCounters& counters() const { return counters_; }
    WorkerCounters& counters() { return counters_; }
    const media::Interceptor& interceptor() const { return *interceptor_; }
    media::Interceptor& interceptor() { return *interceptor_; }
    uint64_t outcome_sum() const;
    // Read only after the worker finished (its counters are plain integers).
    const net::PacketPipeline& pipeline() const { return *pipeline_; }

  private:
    // A packet held back, in its mbuf (single segment, parsed offsets relative to its data).
    struct HeldPacket {
        rte_mbuf* mbuf = nullptr;  // nullptr once released
        uint32_t frame_len = 0;
        uint32_t seen = 0;  // index in seen_
        uint32_t tag = 0;
        int64_t time_us = 0;
        net::ParsedPacket parsed;
    };
    // A UDP flow recently seen unknown: only the first holdback_us of a flow are held (an
    // established non-target flow is not a flow whose SIP is still on its way).
    struct SeenFlow {
        uint32_t tag = 0;  // 0: empty
        uint32_t held = 0;
        int64_t first_us = 0;
    };
    // At most this many packets are parsed and looked up ahead (receive() takes any burst).
    static constexpr unsigned kLookahead = 32;
    void count(Outcome o) { counters_.outcome[static_cast<size_t>(o)].add(); }
    // receive(), ahead of processing: parses the single-segment frames of mbufs[0..n) and looks
    // the flows of their UDP datagrams up in bulk (n <= kLookahead).
    void look_ahead(rte_mbuf* const* mbufs, unsigned n);
    // parsed: the frame's parse (nullptr: parse it); found: its flow lookups (nullptr: look up).
    void process_one(uint8_t* frame, uint32_t len, int64_t time_us, const net::ParsedPacket* parsed,
                     const media::FlowLookup* found);
    bool hold(const net::PacketResult& r, int64_t time_us);
    bool flow_is_held(const net::ParsedPacket& p);
    bool flow_known(const net::ParsedPacket& p) const;  // in the media flow table
    void free_released();
    void pop_released();  // drops released entries at the head of held_
    // Re-checks held packets against the flow table: all of them, or (expired_only) those whose
    // window ended by now_us; at_end releases everything.
    void release_held(int64_t now_us, bool expired_only, bool at_end = false);
    void release(HeldPacket& h, Outcome o);
    static media::UdpPacket packet_of(HeldPacket& h);
    Outcome handle_udp(const net::PacketResult& r, int64_t time_us, const uint8_t* frame,
                       const media::FlowLookup* found);
    Outcome handle_tcp_sip(const net::PacketResult& r, int64_t time_us);
    int64_t now_us();

    unsigned index_;
    WorkerShared shared_;
    std::unique_ptr<media::Interceptor> interceptor_;
    std::unique_ptr<net::PacketPipeline> pipeline_;
    int64_t next_expire_us_ = 0;
    std::vector<RxQueue> queues_;
    WorkerCounters counters_;
    int64_t packet_time_us_ = 0;
    std::vector<HeldPacket> held_;  // ring in arrival order, with holes once released
    size_t held_head_ = 0, held_count_ = 0, held_live_ = 0;
    std::vector<SeenFlow> seen_;  // direct-mapped by a hash of the 5-tuple
    uint32_t seen_mask_ = 0;
    std::vector<rte_mbuf*> released_;   // freed after the interceptor's flush
    rte_mbuf* current_mbuf_ = nullptr;  // the mbuf process() works on (run() only)
    bool current_held_ = false;
    uint64_t tsc_hz_ = 0, tsc_base_ = 0;
    int64_t wall_base_us_ = 0;
    // look_ahead()'s results for the packets of the current part of a burst. The lookups hold
    // until this worker hands a SIP message to the interceptor (which may install or remove
    // flows); other workers' changes race with the packet anyway, as for a lookup made later.
    net::ParsedPacket ahead_parsed_[kLookahead];
    media::FlowLookup ahead_found_[kLookahead];
    bool ahead_has_parsed_[kLookahead] = {};
    bool ahead_has_found_[kLookahead] = {};
    bool ahead_valid_ = false;
};

}  // namespace liprobe::dataplane
