#include "liprobe/dataplane/offline_feed.hpp"

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_thash.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <thread>

#include "liprobe/media/flow_table.hpp"
#include "liprobe/net/gtpu.hpp"
#include "liprobe/net/pcap_file.hpp"
#include "liprobe/sip/detector.hpp"

namespace liprobe::dataplane {

namespace {

// The key of engine.cpp's port setup: 0x6d5a repeated (period 16 bits, hence symmetric).
struct SymmetricKey {
    uint8_t bytes[40];
    SymmetricKey() {
        for (size_t i = 0; i < sizeof bytes; i += 2) {
            bytes[i] = 0x6d;
            bytes[i + 1] = 0x5a;
        }
    }
};
const SymmetricKey g_key;

uint32_t word_of(const uint8_t* b) {
    return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

media::FlowKey key_of(const net::ParsedPacket& p, bool dst) {
    media::FlowKey k;
    k.family = p.ip_version == 6 ? 6 : 4;
    k.port = dst ? p.dst_port : p.src_port;
    std::memcpy(k.addr, (dst ? p.dst : p.src).bytes, 16);
    return k;
}

}  // namespace

unsigned rss_queue(const uint8_t* frame, const net::ParsedPacket& p, unsigned queues) {
    if (queues <= 1 || (p.ip_version != 4 && p.ip_version != 6)) return 0;
    uint32_t tuple[9];
    uint32_t n = 0;
    const unsigned addr_words = p.ip_version == 4 ? 1 : 4;
    for (unsigned i = 0; i < addr_words; ++i) tuple[n++] = word_of(p.src.bytes + 4 * i);
    for (unsigned i = 0; i < addr_words; ++i) tuple[n++] = word_of(p.dst.bytes + 4 * i);
    uint16_t sport = 0, dport = 0;
    bool ports = false;
    if (p.status == net::ParseStatus::ok) {
        sport = p.src_port;
        dport = p.dst_port;
        ports = true;
    } else if (p.status == net::ParseStatus::not_udp && p.protocol == net::kIpProtoTcp) {
        net::ParsedPacket copy = p;
        net::TcpSegment seg;
        if (net::parse_tcp(frame, copy, seg) == net::TcpStatus::ok) {
            sport = seg.src_port;
            dport = seg.dst_port;
            ports = true;
        }
    }
    if (ports) tuple[n++] = uint32_t{sport} << 16 | dport;
    const uint32_t hash = rte_softrss(tuple, n, g_key.bytes);
    return (hash & 127) % queues;
}

bool may_change_shared_state(const uint8_t* frame, const net::ParsedPacket& p,
                             const std::bitset<65536>& sip_ports) {
    switch (p.status) {
        case net::ParseStatus::ipv4_fragment:
        case net::ParseStatus::ipv6_fragment:
            return true;  // the datagram may be SIP
        case net::ParseStatus::not_udp:
            return p.protocol == net::kIpProtoTcp;  // TCP is only ever SIP here
        case net::ParseStatus::ok:
            if (p.dst_port == net::kGtpuPort) return true;  // the inner packet may be SIP
            if (sip_ports.test(p.src_port) || sip_ports.test(p.dst_port)) return true;
            return p.payload_len > 0 && sip::SipDetector::may_start_sip(frame[p.payload_offset]);
        default:
            return false;  // dropped by the parser on any worker
    }
}

unsigned OfflineFeed::steer(const uint8_t* frame, const net::ParsedPacket& p) const {
    const unsigned queues = static_cast<unsigned>(config_.rings.size());
    if (config_.capture_order && config_.flows != nullptr && p.status == net::ParseStatus::ok) {
        // As Interceptor::on_udp looks it up: destination endpoint first, then the source.
        const media::FlowInfo* info = config_.flows->lookup(key_of(p, true));
        if (info == nullptr) info = config_.flows->lookup(key_of(p, false));
        if (info != nullptr) {
            const unsigned owner = static_cast<unsigned>(info->owner_tag >> 56);
            if (owner < queues) return owner;
        }
    }
    return rss_queue(frame, p, queues);
}

bool OfflineFeed::wait_consumed(unsigned worker, uint64_t count) {
    while (config_.consumed[worker]->load(std::memory_order_acquire) < count) {
        if (config_.stop->load(std::memory_order_relaxed)) return false;
        rte_rcu_qsbr_quiescent(config_.flow_rcu, config_.rcu_thread);
        // Offline, the workers may share CPUs with the feeder: let them run.
        std::this_thread::yield();
    }
    return true;
}

bool OfflineFeed::send(unsigned queue, const uint8_t* frame, uint32_t len, int64_t time_us) {
    auto alloc = [&]() -> rte_mbuf* {
        for (;;) {
            rte_mbuf* m = rte_pktmbuf_alloc(config_.pool);
            if (m != nullptr) return m;
            // The workers free their bursts; wait for them.
            if (config_.stop->load(std::memory_order_relaxed)) return nullptr;
            rte_rcu_qsbr_quiescent(config_.flow_rcu, config_.rcu_thread);
            std::this_thread::yield();
        }
    };
    rte_mbuf* head = alloc();
    if (head == nullptr) return false;
    // Frames longer than one mbuf become a chain (the worker linearises it).
    rte_mbuf* seg = head;
    uint32_t off = 0;
    for (;;) {
        const uint32_t n = std::min<uint32_t>(len - off, rte_pktmbuf_tailroom(seg));
        std::memcpy(rte_pktmbuf_mtod(seg, uint8_t*), frame + off, n);
        seg->data_len = static_cast<uint16_t>(n);
        seg->pkt_len = n;
        if (seg != head && rte_pktmbuf_chain(head, seg) != 0) {
            rte_pktmbuf_free(seg);  // too many segments: the worker sees a short frame
            break;
        }
        off += n;
        if (off >= len) break;
        seg = alloc();
        if (seg == nullptr) {
            rte_pktmbuf_free(head);
            return false;
        }
    }
    if (config_.timestamp_offset >= 0) {
        *RTE_MBUF_DYNFIELD(head, config_.timestamp_offset, rte_mbuf_timestamp_t*) =
            static_cast<uint64_t>(time_us);
        head->ol_flags |= config_.timestamp_flag;
    }
    while (rte_ring_sp_enqueue(config_.rings[queue], head) != 0) {
        if (config_.stop->load(std::memory_order_relaxed)) {
            rte_pktmbuf_free(head);
            return false;
        }
        rte_rcu_qsbr_quiescent(config_.flow_rcu, config_.rcu_thread);
        std::this_thread::yield();
    }
    ++sent_[queue];
    ++sent_total_;
    return true;
}

void OfflineFeed::run() {
    const unsigned queues = static_cast<unsigned>(config_.rings.size());
    sent_.assign(queues, 0);
    rte_rcu_qsbr_thread_register(config_.flow_rcu, config_.rcu_thread);
    rte_rcu_qsbr_thread_online(config_.flow_rcu, config_.rcu_thread);
    try {
        net::PcapReader reader(config_.pcap);
        net::PcapRecord rec;
        while (reader.next(rec) && !config_.stop->load(std::memory_order_relaxed)) {
            net::ParsedPacket p;
            net::parse_frame(rec.data, rec.caplen, config_.link, p);
            const bool barrier =
                config_.capture_order && may_change_shared_state(rec.data, p, *config_.sip_ports);
            const unsigned q = steer(rec.data, p);
            if (barrier) {
                ++barriers_;
                bool ok = true;
                for (unsigned w = 0; w < queues && ok; ++w) ok = wait_consumed(w, sent_[w]);
                if (!ok) break;
            } else if (q != rss_queue(rec.data, p, queues)) {
                ++steered_;
            }
            if (!send(q, rec.data, rec.caplen, reader.time_us(rec))) break;
            if (barrier && !wait_consumed(q, sent_[q])) break;
            rte_rcu_qsbr_quiescent(config_.flow_rcu, config_.rcu_thread);
        }
    } catch (const std::exception& e) {
        // The capture was read once already (record count); a failure now is an I/O error.
        std::cerr << "liprobe: " << e.what() << "\n";
    }
    rte_rcu_qsbr_thread_offline(config_.flow_rcu, config_.rcu_thread);
    rte_rcu_qsbr_thread_unregister(config_.flow_rcu, config_.rcu_thread);
    config_.done->store(true, std::memory_order_release);
}

}  // namespace liprobe::dataplane
