// The end-to-end load test (issue 8, scripts/loadtest.sh): liprobe live on net_ring ports fed by
// a generator thread at a set rate, instead of the configured ports (liprobe --load-test).
//
// The generator replays a capture (liprobe-gen calls: target SRTP calls and background). Its
// frames that may change what the workers share (SIP, TCP, fragments, GTP-U) form the set-up: they
// are sent once, first and slowly, without the requests and responses that end a dialog (BYE,
// CANCEL), so the calls stay up; then the other frames (RTP/SRTP/RTCP and other UDP) are sent in
// a loop at the offered rate for the set duration. SRTP has no replay window in the probe (RCC
// carries the ROC), so a looped packet decrypts like the first time.
//
// As a NIC: frames come in bursts of 32 on the rate's schedule; each goes to the RX ring (one per
// worker, [dpdk] rx_descriptors deep) of its symmetric Toeplitz hash, stamped with the wall-clock
// time it was offered (the mbuf timestamp the worker uses as packet time, so the export latency
// runs from the offer). A full ring drops the frame (missed, the NIC's imissed); an empty mbuf pool
// too (no mbuf). When the generator thread itself falls behind its schedule (it shares the CPUs),
// it catches up with at most one RX ring's depth of frames (what a NIC would have buffered); the
// rest are skipped and counted (lagged): the offered rate is what was really offered, sent +
// missed + no mbuf over the elapsed time.
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "liprobe/dataplane/offline_feed.hpp"
#include "liprobe/net/parse.hpp"

struct rte_mempool;
struct rte_ring;

namespace liprobe::dataplane {

struct LoadTestOptions {
    std::string pcap;       // the capture to replay; empty: no load test
    double rate_pps = 1e6;  // offered packets per second (the loop)
    double seconds = 5;     // duration of the loop
    double setup_ms = 300;  // after the set-up frames, before the loop
};

// done is set when the loop ended and the rings are empty.
struct LoadGenConfig : RingFeedTarget {
    LoadTestOptions options;
};

struct LoadGenStats {
    uint64_t setup_frames = 0, skipped_setup = 0, loop_frames = 0;
    uint64_t sent = 0, missed = 0, no_mbuf = 0, lagged = 0;
    double elapsed_s = 0;
    double offered_pps() const {
        return elapsed_s > 0 ? static_cast<double>(sent + missed + no_mbuf) / elapsed_s : 0;
    }
};

class LoadGenerator {
  public:
    explicit LoadGenerator(LoadGenConfig config) : config_(std::move(config)) {}
    // Reads the capture into memory (before the run). False with error set.
    bool load(std::string& error);
    // The generator thread's body: set-up, the timed loop, then waits until the rings are empty.
    void run();
    const LoadGenStats& stats() const { return stats_; }

  private:
    struct Frame {
        uint32_t offset = 0, len = 0;
        uint16_t queue = 0;
    };
    bool stopping() const { return config_.stop->load(std::memory_order_relaxed); }
    void send_setup();
    void send_loop();
    LoadGenConfig config_;
    std::vector<uint8_t> bytes_;
    std::vector<Frame> setup_, loop_;
    LoadGenStats stats_;
};

}  // namespace liprobe::dataplane
