#include "liprobe/dataplane/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <ctime>

#include "liprobe/net/sip_stream_framer.hpp"
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
        case Outcome::held:
            return "held_for_reassembly";
        case Outcome::dropped:
            return "dropped";
    }
    return "?";
}

// Sizing choices (the config names entries, the pipeline needs per-worker bounds):
// - [dpdk] max_fragments counts fragments held per worker; with up to 16 fragments per datagram
//   that is max_fragments / 16 datagrams in flight (at least 4), each up to 65535 octets, so
//   the default 4096 reserves 256 datagram buffers (16 MiB) per worker. One source address
//   holds at most a quarter of them (at least 2): a single flooding sender cannot push out the
//   datagrams of others (ip_reassembly.hpp, issue 11).
// - [sip] max_tcp_streams counts connections over all workers; each has two directions, and
//   RSS spreads connections over the workers: 2 * ceil(max_tcp_streams / workers) directions
//   per worker. 0 turns SIP over TCP off (every TCP segment is a counted drop).
// - SIP over TCP is reassembled on the first 8 [sip] ports, and on any port by content.
net::PipelineConfig pipeline_config(const PipelineBounds& b) {
    net::PipelineConfig c;
    c.fragments.max_fragments = 16;
    c.fragments.max_datagrams = std::max<uint32_t>(4, b.max_fragments / 16);
    c.fragments.max_datagrams_per_source = std::max<uint32_t>(2, c.fragments.max_datagrams / 4);
    const uint32_t workers = std::max<uint32_t>(1, b.workers);
    if (b.max_tcp_streams > 0) {
        c.sip_framer = net::frame_sip_stream;
        c.tcp.max_connections = 2 * ((b.max_tcp_streams + workers - 1) / workers);
    } else {
        c.sip_framer = nullptr;
        c.tcp.max_connections = 8;  // unused: without a framer TCP is dropped at once
    }
    c.sip_tcp_port_count = 0;
    for (size_t i = 0; i < b.sip_port_count && c.sip_tcp_port_count < net::kMaxSipTcpPorts; ++i)
        c.sip_tcp_ports[c.sip_tcp_port_count++] = b.sip_ports[i];
    return c;
}

namespace {

constexpr int64_t kExpireIntervalUs = 100'000;

// The pipeline's views are const; the octets are the worker's (its mbuf, or the pipeline's own
// reassembly and scratch buffers), and SRTP decrypts them in place.
uint8_t* writable(const uint8_t* p) {
    return const_cast<uint8_t*>(p);
}

}  // namespace

Worker::Worker(unsigned index, const WorkerShared& shared, std::unique_ptr<media::Interceptor> icpt)
    : index_(index),
      shared_(shared),
      interceptor_(std::move(icpt)),
      pipeline_(std::make_unique<net::PacketPipeline>(shared.pipeline)) {
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

void Worker::expire(int64_t now_us) {
    if (now_us < next_expire_us_) return;
    next_expire_us_ = now_us + kExpireIntervalUs;
    pipeline_->expire(now_us);
}

void Worker::flush_reassembly() {
    pipeline_->flush();
}

Outcome Worker::handle_udp(const net::PacketResult& r, int64_t time_us) {
    const net::ParsedPacket& p = r.udp.parsed;
    media::UdpPacket pkt{writable(r.udp.base), r.udp.ip_packet_len + p.l3_offset, &p, time_us};
    const std::string_view payload(reinterpret_cast<const char*>(r.udp.payload), r.udp.payload_len);
    const bool sip_port =
        shared_.sip_ports->test(p.src_port) || shared_.sip_ports->test(p.dst_port);
    bool is_sip = sip_port;
    if (!is_sip) {
        if (interceptor_->on_udp(pkt)) return Outcome::media_intercepted;
        is_sip = p.payload_len > 0 && sip::SipDetector::may_start_sip(payload[0]) &&
                 shared_.detector->classify(payload, index_) != sip::StartLine::none;
        if (!is_sip) return Outcome::not_intercepted;
    }
    sip::SipMessage msg;
    if (sip::parse_message(payload, msg) != sip::ParseError::ok) {
        if (sip_port && interceptor_->on_udp(pkt)) return Outcome::media_intercepted;
        // On a SIP port: keep-alives (CRLF) and stray datagrams; by content: a damaged message.
        return sip_port ? Outcome::not_intercepted : Outcome::sip_malformed;
    }
    return interceptor_->on_sip(pkt, msg, net::kIpProtoUdp) ? Outcome::sip_intercepted
                                                            : Outcome::sip_other;
}

// The SIP messages one TCP segment completed: each goes to the dialog logic like a UDP one
// (IRI with ip_protocol 6). The segment's outcome is the best of its messages'.
Outcome Worker::handle_tcp_sip(const net::PacketResult& r, int64_t time_us) {
    net::ParsedPacket endpoints;
    endpoints.status = net::ParseStatus::ok;
    endpoints.ip_version = r.tuple.ip_version;
    endpoints.protocol = net::kIpProtoTcp;
    endpoints.src = r.tuple.src;
    endpoints.dst = r.tuple.dst;
    endpoints.src_port = r.tuple.src_port;
    endpoints.dst_port = r.tuple.dst_port;
    const media::UdpPacket pkt{nullptr, 0, &endpoints, time_us};
    bool intercepted = false, other = false;
    net::TcpStreamMessage m;
    while (pipeline_->next_sip_message(m)) {
        sip::SipMessage msg;
        const std::string_view text(reinterpret_cast<const char*>(m.data), m.len);
        if (sip::parse_message(text, msg) != sip::ParseError::ok) continue;
        if (interceptor_->on_sip(pkt, msg, net::kIpProtoTcp))
            intercepted = true;
        else
            other = true;
    }
    return intercepted ? Outcome::sip_intercepted
           : other     ? Outcome::sip_other
                       : Outcome::sip_malformed;
}

void Worker::process(uint8_t* frame, uint32_t len, int64_t time_us) {
    counters_.received.add();
    const net::PacketResult& r = pipeline_->process(frame, len, shared_.link, time_us);
    Outcome o = Outcome::dropped;
    switch (r.outcome) {
        case net::PacketOutcome::udp_datagram:
            o = handle_udp(r, time_us);
            // A reassembled datagram lives in the pipeline until its next call: a staged media
            // packet must be decrypted and delivered now.
            if (r.udp.base != frame) interceptor_->flush();
            break;
        case net::PacketOutcome::sip_messages:
            o = handle_tcp_sip(r, time_us);
            break;
        case net::PacketOutcome::held:
            o = Outcome::held;
            break;
        case net::PacketOutcome::dropped:
            counters_.drops[static_cast<size_t>(r.drop)].add();
            break;
    }
    count(o);
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
                    // A chain is copied into the pipeline's scratch buffer (decrypted there).
                    const void* linear = len <= pipeline_->scratch_size()
                                             ? rte_pktmbuf_read(m, 0, len, pipeline_->scratch())
                                             : nullptr;
                    if (linear == nullptr) {
                        counters_.received.add();
                        const net::PacketResult& r = pipeline_->drop_frame_too_long();
                        counters_.drops[static_cast<size_t>(r.drop)].add();
                        count(Outcome::dropped);
                        continue;
                    }
                    process(writable(static_cast<const uint8_t*>(linear)), len, t);
                    interceptor_->flush();  // the staged packet points into the scratch buffer
                    continue;
                }
                process(data, len, t);
            }
            interceptor_->flush();
            if (n > 0) rte_pktmbuf_free_bulk(mbufs, n);
        }
        const int64_t tick_time = shared_.offline ? packet_time_us_ : now_us();
        expire(tick_time);
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
    flush_reassembly();
    interceptor_->finish();
    rte_rcu_qsbr_thread_offline(shared_.flow_rcu, index_);
    rte_rcu_qsbr_thread_unregister(shared_.flow_rcu, index_);
    const_cast<keys::KeyTable*>(shared_.keys)->unregister_reader(index_);
    counters_.done.store(true, std::memory_order_release);
    return 0;
}

}  // namespace liprobe::dataplane
