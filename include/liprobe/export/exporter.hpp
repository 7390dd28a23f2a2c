// One exporter per destination (design.md 3.5): workers submit CC/IRI records into a lock-free
// ring (multi-producer, single consumer); the exporter's own thread assigns sequence numbers,
// encodes in batches and delivers over mutual TLS with keep-alives, reconnect with capped
// exponential backoff, a memory buffer that spills to a disk spool, and a graceful drain.
//
// Delivery and loss rules (the contract a LEMF can rely on):
// - Sequence numbers per (warrant, CIN, CC|IRI) start at 0 and are assigned when a record
//   leaves the ring, before any buffering: a LEMF sees a gap only where a loss was counted
//   (lost_ring_full: the ring was full at submit, the record never got a number, so no gap;
//   lost_spool_full: numbered PDUs dropped from the oldest end of a full spool, or, without a
//   spool, the newest PDU when memory is full and PDUs never written at the end of a drain;
//   lost_encode: a record the encoder refused, e.g. unknown warrant, and no number is used;
//   lost_no_record: get_record() found the record pools empty, the record was never made).
// - Loss is loud: the exporter thread (never a worker) logs the first loss of a destination at
//   once, then at most every loss_log_interval_s while losses continue (counts per cause, never
//   contents), and the total at stop. Workers only bump the counters above.
// - Order: memory buffer first, then spool; once anything is spooled, newer PDUs go behind it
//   (into the spool) until the spool is empty again. A drain writes the memory buffer in front
//   of the spool, so the next start sends everything in the original order.
// - Confirmation (why a LEMF may see a PDU twice, never zero times): a successful TLS write only
//   means the octets reached the local kernel, and a receiver that dies loses what sits in its
//   socket buffers. So the exporter keeps every sent PDU in memory until a keep-alive sent after
//   it is answered (keep-alive responses come back in stream order, so an answer proves that the
//   receiver has read everything before that keep-alive). Besides the keep-alive after
//   keepalive_s of silence, the exporter sends such a checkpoint keep-alive after each
//   checkpoint_bytes of traffic and checkpoint_ms after the last unconfirmed write. After a
//   reconnect it resends from the start of the oldest unconfirmed memory chunk (up to 256 KiB
//   before the first unconfirmed PDU may go out again). A partial TLS write never has a
//   keep-alive inserted mid-PDU. No write progress for keepalive_s also forces a reconnect.
//   An unanswered keep-alive (checkpoints included) older than keepalive_s forces a reconnect.
//   After each connect the exporter sends a keep-alive first and writes PDUs only once it is
//   answered (a TLS 1.3 server that refuses the client certificate says so only after the
//   handshake).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "liprobe/export/encoder.hpp"
#include "liprobe/export/record.hpp"

struct rte_ring;
struct rte_mempool;

namespace liprobe::exporter {

struct DestinationConfig {
    std::string id;       // unique name; also the spool subdirectory
    std::string address;  // host:port or [v6]:port
    Format format = Format::etsi102232;
    std::string cert, key, ca;     // PEM files (TLS)
    std::string server_name;       // verified name (and SNI); default: the address's host
    bool tls = true;               // false only accepted for loopback addresses (warned)
    double buffer_mb = 64;         // memory buffer, encoded octets (sent-unconfirmed included)
    std::string spool_dir;         // parent directory; the spool is spool_dir/<id>; "" = none
    double spool_limit_mb = 1024;  // beyond: oldest spooled PDUs dropped, counted lost
    double keepalive_s = 30;       // silence before a keep-alive; also the answer deadline
    double drain_timeout_s = 10;   // stop(): time to deliver what is queued
    double backoff_min_s = 0.1;    // reconnect backoff, doubled per failure up to backoff_max_s
    double backoff_max_s = 30;
    double connect_timeout_s = 10;         // TCP connect + TLS handshake
    uint64_t checkpoint_bytes = 4u << 20;  // see "Confirmation" above
    uint32_t checkpoint_ms = 200;
    // Input ring and record pools (DPDK objects on the EAL's memory).
    uint32_t ring_size = 65536;      // power of two
    uint32_t small_records = 16384;  // pool of records with small_capacity octets
    uint32_t small_capacity = 2048;
    uint32_t large_records = 128;     // pool of records with kMaxRecordBytes octets (SIP, jumbo)
    double loss_log_interval_s = 10;  // at most one "losing records" line per interval
};

// Packet-to-exporter latency: from the time of interception stamped on a record (the worker's
// capture time) to the exporter thread taking it from the ring. Records stamped more than an
// hour away from the wall clock (offline captures carry their pcap times) are not measured.
inline constexpr double kLatencyBucketsS[] = {10e-6, 50e-6, 100e-6, 500e-6, 1e-3, 5e-3,
                                              10e-3, 50e-3, 100e-3, 500e-3, 1,    5};
inline constexpr size_t kLatencyBuckets = sizeof kLatencyBucketsS / sizeof kLatencyBucketsS[0];
// Besides the /metrics buckets, a fine log-linear histogram for the summary's quantiles (the load
// test): 1 us steps below 16 us, then 8 steps per power of two (at most 12.5 % wide).
inline constexpr size_t kFineLatencyBuckets = 16 + 28 * 8;
inline size_t fine_latency_bucket(uint64_t us) {
    if (us < 16) return static_cast<size_t>(us);
    const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(us));
    const size_t b = 16 + size_t{msb - 4} * 8 + ((us >> (msb - 3)) & 7);
    return b < kFineLatencyBuckets ? b : kFineLatencyBuckets - 1;
}
// The largest latency in fine bucket b, microseconds.
inline uint64_t fine_latency_upper_us(size_t b) {
    if (b < 16) return b;
    const unsigned msb = static_cast<unsigned>((b - 16) / 8) + 4;
    return ((uint64_t{8} + (b - 16) % 8 + 1) << (msb - 3)) - 1;
}
struct LatencyHistogram {
    std::atomic<uint64_t> bucket[kLatencyBuckets + 1] = {};  // last: above the largest bound
    std::atomic<uint64_t> sum_us{0};
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> fine[kFineLatencyBuckets] = {};
};
inline void observe_latency(LatencyHistogram& h, int64_t us) {
    if (us < 0 || us > 3600LL * 1000000) return;
    size_t b = 0;
    while (b<kLatencyBuckets&& static_cast<double>(us)> kLatencyBucketsS[b] * 1e6) ++b;
    h.bucket[b].fetch_add(1, std::memory_order_relaxed);
    h.fine[fine_latency_bucket(static_cast<uint64_t>(us))].fetch_add(1, std::memory_order_relaxed);
    h.sum_us.fetch_add(static_cast<uint64_t>(us), std::memory_order_relaxed);
    h.count.fetch_add(1, std::memory_order_relaxed);
}
// The q-quantile (0 < q <= 1) over several histograms, as the upper bound of its fine bucket
// (microseconds); 0 when nothing was observed.
template <typename Histograms>
uint64_t latency_quantile_us(const Histograms& hs, double q) {
    uint64_t total = 0;
    uint64_t counts[kFineLatencyBuckets] = {};
    for (const LatencyHistogram* h : hs)
        for (size_t b = 0; b < kFineLatencyBuckets; ++b) {
            counts[b] += h->fine[b].load(std::memory_order_relaxed);
            total += h->fine[b].load(std::memory_order_relaxed);
        }
    if (total == 0) return 0;
    const double rank = q * static_cast<double>(total);
    uint64_t seen = 0;
    for (size_t b = 0; b < kFineLatencyBuckets; ++b) {
        seen += counts[b];
        if (static_cast<double>(seen) >= rank) return fine_latency_upper_us(b);
    }
    return fine_latency_upper_us(kFineLatencyBuckets - 1);
}

struct ExporterCounters {
    std::atomic<uint64_t> dequeued{0};      // records taken from the ring
    std::atomic<uint64_t> encoded_pdus{0};  // numbered and encoded
    std::atomic<uint64_t> sent_pdus{0};     // written to the connection (resends included)
    std::atomic<uint64_t> sent_bytes{0};
    std::atomic<uint64_t> confirmed_pdus{0};  // proven read by the receiver (checkpoints)
    std::atomic<uint64_t> resent_pdus{0};     // written again after a reconnect
    std::atomic<uint64_t> buffered_bytes{0};  // in memory now (unsent + sent-unconfirmed)
    std::atomic<uint64_t> spooled_bytes{0};   // on disk now
    std::atomic<uint64_t> spooled_pdus{0};
    std::atomic<uint64_t> lost_ring_full{0};
    std::atomic<uint64_t> lost_spool_full{0};  // also: no spool configured and memory full
    std::atomic<uint64_t> lost_encode{0};
    std::atomic<uint64_t> lost_no_record{0};  // get_record(): pools empty (or too large)
    std::atomic<uint64_t> connects{0};        // successful connections
    std::atomic<uint64_t> reconnects{0};      // connections lost or given up (then retried)
    std::atomic<uint64_t> tls_failures{0};
    std::atomic<uint64_t> keepalives_sent{0};  // silence keep-alives and checkpoints
    std::atomic<uint64_t> keepalive_responses{0};
    std::atomic<uint64_t> keepalive_timeouts{0};
    std::atomic<uint64_t> thread_restarts{0};  // the exporter loop failed and was restarted
    LatencyHistogram latency;                  // written by the exporter thread only
};

struct ExporterSnapshot {
    uint64_t queued = 0;  // records in the ring now
    uint64_t dequeued = 0, encoded_pdus = 0, sent_pdus = 0, sent_bytes = 0, confirmed_pdus = 0,
             resent_pdus = 0, buffered_bytes = 0, spooled_bytes = 0, spooled_pdus = 0,
             lost_ring_full = 0, lost_spool_full = 0, lost_encode = 0, lost_no_record = 0,
             connects = 0, reconnects = 0, tls_failures = 0, keepalives_sent = 0,
             keepalive_responses = 0, keepalive_timeouts = 0, thread_restarts = 0;
    bool connected = false;
    // Every record this destination lost, whatever the cause (each counted exactly once).
    uint64_t lost() const {
        return lost_ring_full + lost_spool_full + lost_encode + lost_no_record;
    }
};

class Exporter {
  public:
    // Validates the config, loads TLS material, creates ring and pools, opens the spool.
    // nullptr with a precise reason in error (file, key, problem).
    static std::unique_ptr<Exporter> create(const DestinationConfig& config,
                                            const ProbeIdentity& probe, std::string& error);
    ~Exporter();  // stop() with the configured drain timeout
    Exporter(const Exporter&) = delete;
    Exporter& operator=(const Exporter&) = delete;

    // Warrant table (record.warrant indexes it). Any thread; takes effect at the next batch.
    void set_warrants(std::vector<WarrantInfo> warrants);

    void start();
    // Stops taking records, delivers what is queued within drain_timeout_s, spools the rest
    // (when a spool is configured; otherwise it is counted lost), joins the thread.
    void stop();

    // --- fast path (any lcore or thread; no allocation, no lock) ---
    // A record buffer with at least `bytes` of capacity, or nullptr when the pools are empty
    // (counted in lost_no_record: the caller drops the record).
    Record* get_record(uint32_t bytes);
    // The same without counting, for a caller that waits and tries again (tests, benchmarks).
    Record* try_get_record(uint32_t bytes);
    // Hands a record to the exporter. False when the ring is full: the record is returned to
    // its pool and counted in lost_ring_full.
    bool submit(Record* record);
    // Gives back a record that will not be submitted.
    static void put_record(Record* record);

    // --- control plane ---
    // Queues the HI1 notification that `warrant` (its LIID) is deactivated, behind every record
    // already in the ring: called after the workers have passed an RCU grace period under a
    // policy without the warrant, it reaches the LEMF after that LIID's last CC and IRI.
    // ETSI 102 232 only (an HI1-Operation liDeactivated PS-PDU); for x3 nothing is queued and
    // false returned (TS 103 221-2 has no such PDU). A full ring or empty pool is counted
    // (lost_ring_full / lost_no_record) like a worker's record.
    bool notify_deactivated(uint32_t warrant, int64_t time_us);

    const DestinationConfig& config() const { return config_; }
    const ExporterCounters& counters() const { return counters_; }
    ExporterSnapshot snapshot() const;
    // CPU seconds the exporter thread has used (0 when not running): capacity metric.
    double thread_cpu_seconds() const;
    // The most recent problem the exporter logged ("" when none): for status pages and tests.
    std::string last_error() const;
    // Fault injection for tests: the exporter loop throws once, at its next iteration, as an
    // unexpected failure inside it would (the thread is then restarted, see run()).
    void fail_once_for_test() { fail_for_test_.store(true); }

    struct Impl;  // the exporter thread's state (exporter.cpp)

  private:
    explicit Exporter(const DestinationConfig& config);
    void run();
    // The loop of run(); returns when the drain is over, throws on an unexpected failure.
    // loss_watch: the thread's LossWatch (exporter.cpp), kept across restarts.
    void serve(void* loss_watch, bool& draining,
               std::chrono::steady_clock::time_point& drain_deadline);

    DestinationConfig config_;
    ExporterCounters counters_;
    rte_ring* ring_ = nullptr;
    rte_mempool* small_pool_ = nullptr;
    rte_mempool* large_pool_ = nullptr;
    std::unique_ptr<Impl> impl_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> connected_{false};
    std::atomic<bool> fail_for_test_{false};
    std::mutex warrants_mutex_;
    std::shared_ptr<const std::vector<WarrantInfo>> warrants_;
    std::atomic<uint64_t> warrants_generation_{0};
};

}  // namespace liprobe::exporter
