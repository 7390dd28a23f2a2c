#include "liprobe/dataplane/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>

#include <ctime>

#include "liprobe/sip/message.hpp"

namespace liprobe::dataplane {

const char* outcome_name(Outcome o) {
    switch (o) {
        case Outcome::sip_intercepted:
            return "sip_intercepted";
        case Outcome::sip_other:
            return "sip_not_intercepted";
        case Outcome::sip_malformed:
            return "sip_malformed";
        case Outcome::media_intercepted:
            return "media_intercepted";
        case Outcome::not_intercepted:
            return "not_intercepted";
        case Outcome::fragment:
            return "fragment_unsupported";
        case Outcome::tcp:
            return "tcp_unsupported";
        case Outcome::other_l4:
            return "other_l4";
        case Outcome::too_long:
            return "too_long";
        case Outcome::parse_error:
            return "parse_error";
    }
    return "?";
}

namespace {

enum class L4 : uint8_t { udp, tcp, fragment, other, error };

// The one place where a frame becomes "UDP payload + 5-tuple" (or why not). IPv4/IPv6 fragment
// reassembly, TCP stream reassembly (SIP over TCP) and GTP-U decapsulation plug in here: they
// turn the frame into a reassembled datagram/stream segment, or keep it and report "consumed".
L4 locate_l4(const uint8_t* frame, uint32_t len, net::LinkType link, net::ParsedPacket& p) {
    const net::ParseStatus st = net::parse_frame(frame, len, link, p);
    switch (st) {
        case net::ParseStatus::ok:
            return L4::udp;
        case net::ParseStatus::ipv4_fragment:
        case net::ParseStatus::ipv6_fragment:
            return L4::fragment;
        case net::ParseStatus::not_udp:
            return p.protocol == net::kIpProtoTcp ? L4::tcp : L4::other;
        default:
            return L4::error;
    }
}

}  // namespace

Worker::Worker(unsigned index, const WorkerShared& shared, std::unique_ptr<media::Interceptor> icpt)
    : index_(index), shared_(shared), interceptor_(std::move(icpt)), linear_(65536) {
    tsc_hz_ = rte_get_tsc_hz();
    tsc_base_ = rte_rdtsc();
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    wall_base_us_ = int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

int64_t Worker::now_us() {
    return wall_base_us_ + static_cast<int64_t>((rte_rdtsc() - tsc_base_) * 1000000.0 / tsc_hz_);
}

uint64_t Worker::outcome_sum() const {
    uint64_t s = 0;
    for (const auto& c : counters_.outcome) s += c.get();
    return s;
}

void Worker::process(uint8_t* frame, uint32_t len, int64_t time_us) {
    counters_.received.add();
    net::ParsedPacket p;
    switch (locate_l4(frame, len, shared_.link, p)) {
        case L4::udp:
            break;
        case L4::fragment:
            count(Outcome::fragment);
            return;
        case L4::tcp:
            count(Outcome::tcp);
            return;
        case L4::other:
            count(Outcome::other_l4);
            return;
        case L4::error:
            count(Outcome::parse_error);
            counters_.parse_errors[static_cast<size_t>(p.status)].add();
            return;
    }
    media::UdpPacket pkt{frame, len, &p, time_us};
    const std::string_view payload(reinterpret_cast<const char*>(frame + p.payload_offset),
                                   p.payload_len);
    const bool sip_port =
        shared_.sip_ports->test(p.src_port) || shared_.sip_ports->test(p.dst_port);
    bool is_sip = sip_port;
    if (!is_sip) {
        if (interceptor_->on_udp(pkt)) {
            count(Outcome::media_intercepted);
            return;
        }
        is_sip = p.payload_len > 0 && sip::SipDetector::may_start_sip(payload[0]) &&
                 shared_.detector->classify(payload, index_) != sip::StartLine::none;
        if (!is_sip) {
            count(Outcome::not_intercepted);
            return;
        }
    }
    // Keep-alives (CRLF) on a SIP port are not messages.
    sip::SipMessage msg;
    if (sip::parse_message(payload, msg) != sip::ParseError::ok) {
        if (sip_port && interceptor_->on_udp(pkt)) {  // media on a SIP port (unusual)
            count(Outcome::media_intercepted);
            return;
        }
        // On a SIP port: keep-alives and stray datagrams; by content: a damaged message.
        count(sip_port ? Outcome::not_intercepted : Outcome::sip_malformed);
        return;
    }
    count(interceptor_->on_sip(pkt, msg, 17) ? Outcome::sip_intercepted : Outcome::sip_other);
}

int Worker::run() {
    const unsigned burst = shared_.burst > 0 && shared_.burst <= 64 ? shared_.burst : 32;
    rte_mbuf* mbufs[64];
    rte_rcu_qsbr_thread_register(shared_.flow_rcu, index_);
    rte_rcu_qsbr_thread_online(shared_.flow_rcu, index_);
    const_cast<keys::KeyTable*>(shared_.keys)->register_reader(index_);
    uint64_t idle_since = 0;
    while (!shared_.stop->load(std::memory_order_relaxed)) {
        interceptor_->set_policy(shared_.policy->load(std::memory_order_acquire));
        unsigned got = 0;
        for (const RxQueue& q : queues_) {
            const uint16_t n = rte_eth_rx_burst(q.port, q.queue, mbufs, burst);
            got += n;
            const int64_t live_now = shared_.offline ? 0 : now_us();
            for (uint16_t i = 0; i < n; ++i) {
                rte_mbuf* m = mbufs[i];
                int64_t t = live_now;
                if (shared_.timestamp_offset >= 0 && (m->ol_flags & shared_.timestamp_flag)) {
                    const uint64_t ts =
                        *RTE_MBUF_DYNFIELD(m, shared_.timestamp_offset, rte_mbuf_timestamp_t*);
                    // net_pcap stores the record time; its unit is told apart by magnitude
                    // (microseconds since 1970 stay below 1e17 until the year 5138).
                    t = ts >= 100000000000000000ULL ? static_cast<int64_t>(ts / 1000)
                                                    : static_cast<int64_t>(ts);
                } else if (shared_.offline) {
                    t = packet_time_us_;  // no timestamp: keep the last packet time
                }
                if (t > packet_time_us_) packet_time_us_ = t;
                uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
                const uint32_t len = rte_pktmbuf_pkt_len(m);
                if (m->nb_segs > 1) {
                    if (len > linear_.size()) {
                        counters_.received.add();
                        count(Outcome::too_long);
                        continue;
                    }
                    data = static_cast<uint8_t*>(
                        const_cast<void*>(rte_pktmbuf_read(m, 0, len, linear_.data())));
                    process(data, len, t);
                    interceptor_->flush();  // the staged packet points into linear_
                    continue;
                }
                process(data, len, t);
            }
            interceptor_->flush();
            if (n > 0) rte_pktmbuf_free_bulk(mbufs, n);
        }
        const int64_t tick_time = shared_.offline ? packet_time_us_ : now_us();
        interceptor_->tick(tick_time, shared_.key_generation->load(std::memory_order_acquire));
        rte_rcu_qsbr_quiescent(shared_.flow_rcu, index_);
        shared_.keys->quiescent(index_);
        if (shared_.offline) {
            if (counters_.received.get() >= shared_.offline_expected) break;
            // Safety net when the PMD dropped records (counted in its stats): 2 s without input.
            if (got == 0) {
                if (idle_since == 0) idle_since = rte_rdtsc();
                if (rte_rdtsc() - idle_since > 2 * tsc_hz_) break;
            } else {
                idle_since = 0;
            }
        }
    }
    interceptor_->finish();
    rte_rcu_qsbr_thread_offline(shared_.flow_rcu, index_);
    rte_rcu_qsbr_thread_unregister(shared_.flow_rcu, index_);
    const_cast<keys::KeyTable*>(shared_.keys)->unregister_reader(index_);
    counters_.done.store(true, std::memory_order_release);
    return 0;
}

}  // namespace liprobe::dataplane
