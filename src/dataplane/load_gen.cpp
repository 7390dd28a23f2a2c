#include "liprobe/dataplane/load_gen.hpp"

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <exception>
#include <string_view>
#include <thread>

#include "liprobe/dataplane/offline_feed.hpp"
#include "liprobe/net/pcap_file.hpp"

namespace liprobe::dataplane {

namespace {

constexpr unsigned kBurst = 32;

int64_t wall_us() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

// A SIP message that ends a dialog or its attempt (the request or its response: the CSeq line
// names the method). Not replayed, so the calls stay up for the whole loop.
bool ends_dialog(const uint8_t* frame, uint32_t len) {
    const std::string_view text(reinterpret_cast<const char*>(frame), len);
    size_t pos = text.find("\r\nCSeq:");
    if (pos == std::string_view::npos) return false;
    const size_t eol = text.find("\r\n", pos + 2);
    const std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    return line.find(" BYE") != std::string_view::npos ||
           line.find(" CANCEL") != std::string_view::npos;
}

void stamp(rte_mbuf* m, const LoadGenConfig& c, int64_t time_us) {
    if (c.timestamp_offset < 0) return;
    *RTE_MBUF_DYNFIELD(m, c.timestamp_offset, rte_mbuf_timestamp_t*) =
        static_cast<uint64_t>(time_us);
    m->ol_flags |= c.timestamp_flag;
}

}  // namespace

bool LoadGenerator::load(std::string& error) {
    const unsigned queues = static_cast<unsigned>(config_.rings.size());
    try {
        net::PcapReader reader(config_.options.pcap);
        net::PcapRecord rec;
        while (reader.next(rec)) {
            if (rec.caplen == 0 || rec.caplen > 1900) {  // one mbuf's data room
                ++stats_.skipped_setup;
                continue;
            }
            net::ParsedPacket p;
            net::parse_frame(rec.data, rec.caplen, config_.link, p);
            Frame f;
            f.offset = static_cast<uint32_t>(bytes_.size());
            f.len = rec.caplen;
            f.queue = static_cast<uint16_t>(rss_queue(rec.data, p, queues));
            if (may_change_shared_state(rec.data, p, *config_.sip_ports)) {
                if (ends_dialog(rec.data, rec.caplen)) {
                    ++stats_.skipped_setup;
                    continue;
                }
                setup_.push_back(f);
            } else {
                loop_.push_back(f);
            }
            bytes_.insert(bytes_.end(), rec.data, rec.data + rec.caplen);
        }
    } catch (const std::exception& e) {
        error = e.what();
        return false;
    }
    if (loop_.empty()) {
        error = config_.options.pcap + ": no media or other UDP frames to replay";
        return false;
    }
    stats_.setup_frames = setup_.size();
    stats_.loop_frames = loop_.size();
    return true;
}

void LoadGenerator::send_setup() {
    for (const Frame& f : setup_) {
        rte_mbuf* m = nullptr;
        while ((m = rte_pktmbuf_alloc(config_.pool)) == nullptr) {
            if (stopping()) return;
            std::this_thread::yield();
        }
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), bytes_.data() + f.offset, f.len);
        m->data_len = static_cast<uint16_t>(f.len);
        m->pkt_len = f.len;
        stamp(m, config_, wall_us());
        while (rte_ring_sp_enqueue(config_.rings[f.queue], m) != 0) {
            if (stopping()) {
                rte_pktmbuf_free(m);
                return;
            }
            std::this_thread::yield();
        }
    }
}

void LoadGenerator::send_loop() {
    const unsigned queues = static_cast<unsigned>(config_.rings.size());
    const uint64_t hz = rte_get_tsc_hz();
    const double cycles_per_packet = static_cast<double>(hz) / config_.options.rate_pps;
    std::vector<rte_mbuf*> per_queue(size_t{queues} * kBurst);
    std::vector<unsigned> counts(queues);
    // Behind schedule by more than one RX ring (the generator thread was descheduled), the
    // packets it could not offer in time are skipped and counted (lagged), not offered late:
    // a backlog up to one ring's depth is what a NIC would have buffered meanwhile.
    const uint64_t max_backlog =
        std::max<uint64_t>(kBurst, rte_ring_get_capacity(config_.rings.front()));
    rte_mbuf* mbufs[kBurst];
    size_t next = 0;
    uint64_t offered = 0;
    const uint64_t start = rte_rdtsc();
    const uint64_t end = start + static_cast<uint64_t>(config_.options.seconds * hz);
    uint64_t now = start;
    while (!stopping()) {
        now = rte_rdtsc();
        if (now >= end) break;
        const uint64_t due = static_cast<uint64_t>((now - start) / cycles_per_packet);
        if (due < offered + kBurst) {
            // Frames are offered in bursts of 32 (as a NIC fills its ring between two polls).
            // Far from the next burst (a low rate), the CPU goes to the probe meanwhile (the
            // machine may have fewer CPUs than busy threads).
            const double wait_s = (static_cast<double>(offered + kBurst) * cycles_per_packet -
                                   static_cast<double>(now - start)) /
                                  static_cast<double>(hz);
            if (wait_s > 100e-6)
                std::this_thread::sleep_for(std::chrono::microseconds(
                    static_cast<int64_t>(std::min(wait_s * 1e6 - 50, 1000.0))));
            else
                rte_pause();
            continue;
        }
        uint64_t behind = due - offered;
        if (behind > max_backlog) {
            stats_.lagged += behind - kBurst;
            offered += behind - kBurst;
            behind = kBurst;
        }
        const unsigned k = static_cast<unsigned>(std::min<uint64_t>(behind, kBurst));
        offered += k;
        if (rte_pktmbuf_alloc_bulk(config_.pool, mbufs, k) != 0) {
            stats_.no_mbuf += k;
            next = (next + k) % loop_.size();
            continue;
        }
        const int64_t t = wall_us();
        std::fill(counts.begin(), counts.end(), 0u);
        for (unsigned j = 0; j < k; ++j) {
            const Frame& f = loop_[next];
            next = next + 1 == loop_.size() ? 0 : next + 1;
            rte_mbuf* m = mbufs[j];
            std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), bytes_.data() + f.offset, f.len);
            m->data_len = static_cast<uint16_t>(f.len);
            m->pkt_len = f.len;
            stamp(m, config_, t);
            per_queue[size_t{f.queue} * kBurst + counts[f.queue]++] = m;
        }
        for (unsigned q = 0; q < queues; ++q) {
            if (counts[q] == 0) continue;
            rte_mbuf** batch = per_queue.data() + size_t{q} * kBurst;
            const unsigned n = rte_ring_sp_enqueue_burst(
                config_.rings[q], reinterpret_cast<void* const*>(batch), counts[q], nullptr);
            stats_.sent += n;
            if (n < counts[q]) {
                stats_.missed += counts[q] - n;
                rte_pktmbuf_free_bulk(batch + n, counts[q] - n);
            }
        }
    }
    stats_.elapsed_s = static_cast<double>(std::min(now, end) - start) / static_cast<double>(hz);
}

void LoadGenerator::run() {
    send_setup();
    const auto settle =
        std::chrono::microseconds(static_cast<int64_t>(config_.options.setup_ms * 1000));
    std::this_thread::sleep_for(settle);
    if (!stopping()) send_loop();
    // Drained: every ring empty (the workers took everything), then time for the exporters.
    for (;;) {
        bool empty = true;
        for (rte_ring* r : config_.rings) empty = empty && rte_ring_count(r) == 0;
        if (empty || stopping()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    config_.done->store(true, std::memory_order_release);
}

}  // namespace liprobe::dataplane
