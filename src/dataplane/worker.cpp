#include "liprobe/dataplane/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <ctime>
#include <thread>

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
    if (shared_.holdback_us > 0) {
        held_.resize(std::max<uint32_t>(16, shared_.holdback_packets));
        // One slot per recently seen unknown flow (1 MiB): a busy probe has many, and a flow
        // that loses its slot looks new again and is held for one more window.
        uint32_t slots = 65536;
        while (slots < 4 * held_.size()) slots <<= 1;
        seen_.resize(slots);
        seen_mask_ = slots - 1;
        // Between two flushes: every held packet, plus the bursts held and released meanwhile.
        released_.reserve(2 * held_.size() + 512);
    }
}

namespace {

// The 5-tuple hash of the hold-back's flow filter (never 0: 0 marks an empty slot).
uint32_t tuple_hash(const net::ParsedPacket& p) {
    alignas(8) uint8_t key[40] = {};
    std::memcpy(key, p.src.bytes, 16);
    std::memcpy(key + 16, p.dst.bytes, 16);
    std::memcpy(key + 32, &p.src_port, 2);
    std::memcpy(key + 34, &p.dst_port, 2);
    return rte_hash_crc(key, sizeof key, 0x6d5a) | 1;
}

}  // namespace

// Issue 8: with several workers, the SIP that installs a flow may still be in another worker's
// RX queue when the flow's first media arrive here. Such packets (RTP-looking: version 2, at
// least an RTCP header; not in the flow table; of a flow first seen less than holdback_us ago)
// wait in the mbuf they came in, bounded in number, and are re-checked when their window ends
// or when a later packet of their flow turns out to be intercepted (so the flow keeps its order).
bool Worker::hold(const net::PacketResult& r, int64_t time_us) {
    if (held_.empty() || current_mbuf_ == nullptr || current_mbuf_->nb_segs != 1 ||
        r.udp.base != rte_pktmbuf_mtod(current_mbuf_, const uint8_t*))
        return false;  // reassembled or linearised: the bytes do not outlive this call
    const net::ParsedPacket& p = r.udp.parsed;
    if (p.payload_len < 8 || (r.udp.payload[0] & 0xC0) != 0x80) return false;
    const uint32_t tag = tuple_hash(p);
    SeenFlow& f = seen_[tag & seen_mask_];
    if (f.tag != tag) {
        f = SeenFlow{tag, 0, time_us};
    } else if (time_us - f.first_us > shared_.holdback_us) {
        return false;
    }
    if (held_count_ == held_.size()) pop_released();
    if (held_count_ == held_.size()) {  // full of live packets: the oldest goes now
        counters_.holdback_overflow.add();
        HeldPacket& oldest = held_[held_head_];
        release(oldest, interceptor_->on_udp(packet_of(oldest)) ? Outcome::media_intercepted
                                                                : Outcome::not_intercepted);
        pop_released();
    }
    HeldPacket& h = held_[(held_head_ + held_count_) % held_.size()];
    h.mbuf = current_mbuf_;
    h.frame_len = r.udp.ip_packet_len + p.l3_offset;
    h.seen = tag & seen_mask_;
    h.tag = tag;
    h.time_us = time_us;
    h.parsed = p;
    ++held_count_;
    ++held_live_;
    ++f.held;
    counters_.holdback_held.add();
    current_held_ = true;
    return true;
}

media::UdpPacket Worker::packet_of(HeldPacket& h) {
    return media::UdpPacket{rte_pktmbuf_mtod(h.mbuf, uint8_t*), h.frame_len, &h.parsed, h.time_us};
}

void Worker::release(HeldPacket& h, Outcome o) {
    count(o);
    if (o == Outcome::media_intercepted) counters_.holdback_intercepted.add();
    SeenFlow& f = seen_[h.seen];
    if (f.tag == h.tag && f.held > 0) --f.held;
    released_.push_back(h.mbuf);  // its bytes may be staged: freed after the next flush
    h.mbuf = nullptr;
    --held_live_;
}

void Worker::free_released() {
    if (released_.empty()) return;
    rte_pktmbuf_free_bulk(released_.data(), static_cast<unsigned>(released_.size()));
    released_.clear();
}

bool Worker::flow_known(const net::ParsedPacket& p) const {
    media::FlowKey k;
    k.family = p.ip_version == 6 ? 6 : 4;
    k.port = p.dst_port;
    std::memcpy(k.addr, p.dst.bytes, 16);
    if (shared_.flows->lookup(k) != nullptr) return true;
    k.port = p.src_port;
    std::memcpy(k.addr, p.src.bytes, 16);
    return shared_.flows->lookup(k) != nullptr;
}

bool Worker::flow_is_held(const net::ParsedPacket& p) {
    const uint32_t tag = tuple_hash(p);
    const SeenFlow& f = seen_[tag & seen_mask_];
    return f.tag == tag && f.held > 0;
}

void Worker::release_held(int64_t now_us, bool expired_only, bool at_end) {
    for (size_t i = 0; i < held_count_ && held_live_ > 0; ++i) {
        HeldPacket& h = held_[(held_head_ + i) % held_.size()];
        if (h.mbuf == nullptr) continue;
        const bool expired = at_end || now_us - h.time_us >= shared_.holdback_us;
        if (expired_only && !expired) break;  // arrival order: the rest are younger
        if (interceptor_->on_udp(packet_of(h))) {
            release(h, Outcome::media_intercepted);
        } else if (expired) {
            counters_.holdback_expired.add();
            release(h, Outcome::not_intercepted);
        }
    }
    pop_released();
}

void Worker::pop_released() {
    while (held_count_ > 0 && held_[held_head_].mbuf == nullptr) {
        held_head_ = (held_head_ + 1) % held_.size();
        --held_count_;
    }
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

Outcome Worker::handle_udp(const net::PacketResult& r, int64_t time_us, const uint8_t* frame,
                           const media::FlowLookup* found) {
    const net::ParsedPacket& p = r.udp.parsed;
    media::UdpPacket pkt{writable(r.udp.base), r.udp.ip_packet_len + p.l3_offset, &p, time_us};
    const std::string_view payload(reinterpret_cast<const char*>(r.udp.payload), r.udp.payload_len);
    const bool sip_port =
        shared_.sip_ports->test(p.src_port) || shared_.sip_ports->test(p.dst_port);
    bool is_sip = sip_port;
    if (!is_sip) {
        // A flow with packets held back keeps its order: once installed, they go first (and the
        // packet itself is then looked up now, like them).
        bool fresh = false;
        if (held_live_ > 0 && flow_is_held(p)) {
            fresh = true;
            if (flow_known(p)) release_held(time_us, false);
        }
        // The lookups made ahead describe the frame's own datagram (not a GTP-U inner packet or a
        // reassembled one) while no SIP was handed over since.
        const bool ahead =
            !fresh && found != nullptr && ahead_valid_ && r.udp.base == frame && !r.gtpu;
        if (ahead ? interceptor_->on_udp(pkt, *found) : interceptor_->on_udp(pkt))
            return Outcome::media_intercepted;
        is_sip = p.payload_len > 0 && sip::SipDetector::may_start_sip(payload[0]) &&
                 shared_.detector->classify(payload, index_) != sip::StartLine::none;
        if (!is_sip) {
            hold(r, time_us);  // when held, its outcome is counted on release
            return Outcome::not_intercepted;
        }
    }
    sip::SipMessage msg;
    if (sip::parse_message(payload, msg) != sip::ParseError::ok) {
        if (sip_port && interceptor_->on_udp(pkt)) return Outcome::media_intercepted;
        // On a SIP port: keep-alives (CRLF) and stray datagrams; by content: a damaged message.
        return sip_port ? Outcome::not_intercepted : Outcome::sip_malformed;
    }
    ahead_valid_ = false;  // the dialog logic may install or remove flows
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
    ahead_valid_ = false;  // the dialog logic may install or remove flows
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
    process_one(frame, len, time_us, nullptr, nullptr);
}

void Worker::process_one(uint8_t* frame, uint32_t len, int64_t time_us,
                         const net::ParsedPacket* parsed, const media::FlowLookup* found) {
    counters_.received.add();
    const net::PacketResult& r = parsed != nullptr
                                     ? pipeline_->process(frame, *parsed, time_us)
                                     : pipeline_->process(frame, len, shared_.link, time_us);
    Outcome o = Outcome::dropped;
    switch (r.outcome) {
        case net::PacketOutcome::udp_datagram:
            o = handle_udp(r, time_us, frame, found);
            // A reassembled datagram lives in the pipeline until its next call: a staged media
            // packet must be decrypted and delivered now.
            if (r.udp.base != frame) interceptor_->flush();
            if (current_held_) return;  // counted when released
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

// Issue 8: the two flow-table lookups per UDP datagram (destination endpoint, then source) were
// the largest cost of the common, not intercepted, case after the parse. Done here for up to 32
// packets at once, rte_hash's bulk lookup overlaps their bucket and key misses instead of paying
// them one after the other; the parse moves here too (once per packet, as before).
void Worker::look_ahead(rte_mbuf* const* mbufs, unsigned n) {
    const media::FlowKey* keys[2 * kLookahead];
    media::FlowKey key_store[2 * kLookahead];
    const media::FlowInfo* found[2 * kLookahead];
    uint8_t slot[kLookahead];
    unsigned k = 0;
    for (unsigned i = 0; i < n; ++i) {
        if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(mbufs[i + 2], const void*));
        ahead_has_found_[i] = false;
        const rte_mbuf* m = mbufs[i];
        ahead_has_parsed_[i] = m->nb_segs == 1;
        if (!ahead_has_parsed_[i]) continue;
        net::ParsedPacket& p = ahead_parsed_[i];
        net::parse_frame(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_pkt_len(m), shared_.link,
                         p);
        // Only datagrams that reach Interceptor::on_udp as they are: not GTP-U, not SIP ports.
        if (p.status != net::ParseStatus::ok ||
            (shared_.pipeline.gtpu && p.dst_port == net::kGtpuPort) ||
            shared_.sip_ports->test(p.src_port) || shared_.sip_ports->test(p.dst_port))
            continue;
        // Destination keys in [0, k), source keys in [kLookahead, kLookahead + k).
        for (unsigned side = 0; side < 2; ++side) {
            media::FlowKey& key = key_store[side * kLookahead + k];
            key = media::FlowKey{};
            key.family = p.ip_version == 6 ? 6 : 4;
            key.port = side == 0 ? p.dst_port : p.src_port;
            std::memcpy(key.addr, (side == 0 ? p.dst : p.src).bytes, 16);
        }
        keys[k] = &key_store[k];
        slot[k++] = static_cast<uint8_t>(i);
    }
    // As on_udp looks up: the source endpoint only where the destination is not installed (an
    // intercepted packet pays one lookup, not two).
    const media::FlowTable& table = interceptor_->flow_table();
    if (k > 0) table.lookup_bulk(keys, k, found);
    uint8_t missed[kLookahead];
    unsigned m = 0;
    for (unsigned j = 0; j < k; ++j) {
        media::FlowLookup& f = ahead_found_[slot[j]];
        f.dst = found[j];
        f.src = nullptr;
        ahead_has_found_[slot[j]] = true;
        if (f.dst == nullptr) {
            keys[kLookahead + m] = &key_store[kLookahead + j];
            missed[m++] = static_cast<uint8_t>(j);
        }
    }
    if (m > 0) table.lookup_bulk(keys + kLookahead, m, found + kLookahead);
    for (unsigned q = 0; q < m; ++q) ahead_found_[slot[missed[q]]].src = found[kLookahead + q];
    ahead_valid_ = true;
}

void Worker::receive(rte_mbuf** mbufs, uint16_t n, int64_t live_now) {
    for (uint16_t i = 0; i < n; ++i) {
        if (i % kLookahead == 0) look_ahead(mbufs + i, std::min<unsigned>(kLookahead, n - i));
        const unsigned a = i % kLookahead;
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
        current_mbuf_ = m;
        process_one(data, len, t, ahead_has_parsed_[a] ? &ahead_parsed_[a] : nullptr,
                    ahead_has_found_[a] ? &ahead_found_[a] : nullptr);
        current_mbuf_ = nullptr;
        if (current_held_) {
            mbufs[i] = nullptr;  // the hold-back owns it now
            current_held_ = false;
        }
    }
    ahead_valid_ = false;
    interceptor_->flush();
    free_released();
    if (n > 0) {
        rte_pktmbuf_free_bulk(mbufs, n);
        counters_.consumed.store(counters_.received.get(), std::memory_order_release);
    }
}

void Worker::release_held_back(int64_t now_us, bool all) {
    if (held_live_ == 0) return;
    release_held(now_us, !all, all);
    interceptor_->flush();
    free_released();
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
        // Read before polling: when the feed had ended and the queues are empty, nothing follows.
        const bool feed_ended =
            shared_.feed_done != nullptr && shared_.feed_done->load(std::memory_order_acquire);
        unsigned got = 0;
        for (const RxQueue& q : queues_) {
            const uint16_t n = rte_eth_rx_burst(q.port, q.queue, mbufs, burst);
            got += n;
            receive(mbufs, n, shared_.offline ? 0 : now_us());
        }
        const int64_t tick_time = shared_.offline ? packet_time_us_ : now_us();
        release_held_back(tick_time, false);
        expire(tick_time);
        interceptor_->tick(tick_time, shared_.key_generation->load(std::memory_order_acquire));
        rte_rcu_qsbr_quiescent(shared_.flow_rcu, index_);
        shared_.keys->quiescent(index_);
        if (shared_.feed_done != nullptr) {
            if (feed_ended && got == 0) break;
            // Offline with a feeder thread, workers may outnumber the CPUs: an idle worker gives
            // its CPU to the feeder or to the worker a barrier waits for.
            if (got == 0) std::this_thread::yield();
        } else if (shared_.offline) {
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
    release_held_back(packet_time_us_, true);
    flush_reassembly();
    interceptor_->finish();
    rte_rcu_qsbr_thread_offline(shared_.flow_rcu, index_);
    rte_rcu_qsbr_thread_unregister(shared_.flow_rcu, index_);
    const_cast<keys::KeyTable*>(shared_.keys)->unregister_reader(index_);
    counters_.done.store(true, std::memory_order_release);
    return 0;
}

}  // namespace liprobe::dataplane
