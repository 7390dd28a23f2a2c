// pipeline_bench: the whole worker path per packet (issue 8), with anchors measured in the same
// run on the same packets. Every variant runs the loop of Worker::run() except rte_eth_rx_burst:
// per burst of 32, mbufs are taken from the worker's own mempool, the frame is copied in and its
// packet time stamped (what a NIC does), then Worker::receive() as run() calls it (per packet:
// parse, reassembly checks, SIP detection and parsing, dialog logic, flow lookup; then
// Interceptor::flush(): SRTP burst decryption, CC records; rte_pktmbuf_free_bulk), the
// housekeeping of Worker::run() (expire, tick, RCU quiescent states)
// and the exporter ring drained (every record is dequeued and returned to its pool, so the ring
// never fills; the exporter's encoding is bench/export_bench's business).
//
// Mixes (frames built with liprobe's frame builder and liprobe-gen's SIP builder, SRTP with
// liprobe's encryptor; AEAD_AES_128_GCM, 160-octet payload, 8-octet MKI + 4-octet RCC ROC):
//   srtp_intercepted   10,000 concurrent intercepted streams, 4 packets each per pass, MKI table
//                      of 1,000,000 entries (LIPROBE_BENCH_MKIS overrides)
//   not_intercepted    RTP of nobody's warrant and other UDP (the common case)
//   one_percent        1 intercepted SRTP packet in every 100
//   sip_dialogs        INVITE / 180 / 200 / ACK / BYE / 200 with 10,000 warrants' selectors loaded,
//                      half of the calls to targets (IRI, flows installed and removed)
// Anchors (same harness: the same mbuf allocation, copy and free):
//   anchor/rx_and_free/<mix>   the packets received and freed, nothing else
//   anchor/ipsecmb_gcm         raw IPsec-MB GCM on the srtp_intercepted packets, keys at hand
//   anchor/libsrtp2_hash       libsrtp2 srtp_unprotect_mki as a libsrtp2 user would run it: one
//                              srtp_t per stream found in a hash table by SSRC (same keys, MKI 8,
//                              no RCC: libsrtp2 has no RCCm3)
//
// Figures are per worker thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so another process on the
// core does not count: Mpps_per_worker, cycles_per_pkt (TSC cycles), and for the SIP mix
// dialogs_per_s_per_worker. threads:N runs N workers (LIPROBE_BENCH_WORKERS, default "1,2"),
// each with its own Worker, mempool and exporter ring over its own share of the streams/calls
// (shared flow and key tables, as in the product). The target ratios and a scaling table are
// printed at the end.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <srtp2/srtp.h>
#include <unistd.h>

#include <atomic>
#include <bitset>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "../src/tools/gen/sip_builder.hpp"
#include "libsrtp_session.hpp"
#include "liprobe/crypto/gcm.hpp"
#include "liprobe/crypto/srtp.hpp"
#include "liprobe/dataplane/worker.hpp"
#include "liprobe/keys/key_table.hpp"
#include "liprobe/net/frame_builder.hpp"

namespace {

using namespace liprobe;

// Worker counts to run (LIPROBE_BENCH_WORKERS, e.g. "1,2,4,8,16" in scripts/scale.sh).
std::vector<int> g_worker_counts = {1, 2};
unsigned g_max_workers = 2;
constexpr uint32_t kBurst = 32;
constexpr size_t kStreams = 10000;
constexpr size_t kPacketsPerStream = 4;
constexpr size_t kPayload = 160;
constexpr size_t kMkiLen = 8;
constexpr size_t kRtpHeader = 12;
constexpr size_t kSelectors = 10000;
constexpr size_t kCalls = 4000;        // per pass of the SIP mix, half to targets
constexpr size_t kCallsInFlight = 64;  // calls interleaved message by message
constexpr size_t kSipMessagesPerCall = 6;
constexpr int64_t kStartUs = 1714557600LL * 1000000;
constexpr int64_t kPassUs = 60LL * 1000000;  // > dialog linger: last pass's dialogs are gone

enum Mix : int { srtp_intercepted = 0, not_intercepted, one_percent, sip_dialogs, kMixCount };
const char* const kMixNames[kMixCount] = {"srtp_intercepted", "not_intercepted", "one_percent",
                                          "sip_dialogs"};

struct Frame {
    std::vector<uint8_t> bytes;
    uint32_t shard = 0;   // stream or call: which worker gets it when there are several
    int32_t stream = -1;  // srtp_intercepted stream index, else -1
};

struct Stream {
    uint32_t ssrc = 0;
    uint8_t mki[kMkiLen];
    uint8_t key[16], salt[12];
    crypto::SrtpSessionKeys keys;  // raw GCM anchor
};

// One worker's own parts: exporter ring + record pool (drained per burst), rx mempool.
class RingSink : public media::RecordSink {
  public:
    static constexpr uint32_t kRecordBytes = 2048;
    RingSink(unsigned index) {
        const std::string n = std::to_string(index);
        ring_ = rte_ring_create(("bench_export_" + n).c_str(), 4096, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
        pool_ = rte_mempool_create(("bench_records_" + n).c_str(), 4095,
                                   sizeof(exporter::Record) + kRecordBytes, 0, 0, nullptr, nullptr,
                                   init_record, nullptr, SOCKET_ID_ANY, 0);
        if (ring_ == nullptr || pool_ == nullptr) std::abort();
    }
    exporter::Record* get_record(uint16_t, uint32_t bytes) override {
        void* obj = nullptr;
        if (bytes > kRecordBytes || rte_mempool_get(pool_, &obj) != 0) return nullptr;
        return static_cast<exporter::Record*>(obj);
    }
    bool submit(uint16_t, exporter::Record* r) override {
        if (rte_ring_sp_enqueue(ring_, r) == 0) return true;
        rte_mempool_put(pool_, r);
        return false;
    }
    // What the exporter thread does before encoding: dequeue, and give the record back.
    uint64_t drain() {
        void* objs[64];
        uint64_t total = 0;
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst(ring_, objs, 64, nullptr)) > 0) {
            rte_mempool_put_bulk(pool_, objs, n);
            total += n;
        }
        return total;
    }

  private:
    static void init_record(rte_mempool*, void*, void* obj, unsigned) {
        auto* r = new (obj) exporter::Record;
        r->data = static_cast<uint8_t*>(obj) + sizeof(exporter::Record);
        r->capacity = kRecordBytes;
    }
    rte_ring* ring_ = nullptr;
    rte_mempool* pool_ = nullptr;
};

struct World {
    std::vector<Stream> streams;
    std::vector<Frame> mixes[kMixCount];
    std::vector<Frame> libsrtp_frames;  // the srtp_intercepted packets, protected by libsrtp2
    size_t table_mkis = 0;
    crypto::GcmEngine gcm;
    std::unique_ptr<keys::KeyTable> keys;
    rte_rcu_qsbr* flow_rcu = nullptr;
    std::unique_ptr<media::FlowTable> flows;
    int ts_offset = -1;  // mbuf timestamp dynamic field (packet time)
    uint64_t ts_flag = 0;
    std::unique_ptr<media::FlowWriter> flow_writer;
    media::Policy policy;
    std::atomic<const media::Policy*> current_policy{nullptr};
    std::atomic<uint64_t> key_generation{0};
    std::atomic<bool> stop{false};
    std::atomic<uint32_t> cins{1};
    sip::SipDetector detector;
    std::bitset<65536> sip_ports;
    std::vector<std::unique_ptr<RingSink>> sinks;
    std::vector<std::unique_ptr<dataplane::Worker>> workers;
    std::vector<rte_mempool*> rx_pools;
    std::vector<int64_t> pass;  // packet-time passes so far per worker
};

World* g_world = nullptr;

void fill(std::mt19937_64& rng, uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng());
}

keys::EntryResult srtp_entry(const std::string& name, const uint8_t* mki, const uint8_t* key,
                             const uint8_t* salt) {
    keys::EntryResult e;
    e.ok = true;
    e.type = "srtp";
    e.key_name = name;
    keys::ContextSpec c;
    c.type = keys::KeyType::srtp;
    c.key_name = name;
    c.mki.assign(mki, mki + kMkiLen);
    c.roc_rate = 1;
    c.rtp_key = keys::SecretBytes({key, key + 16});
    c.rtp_salt = keys::SecretBytes({salt, salt + 12});
    c.rtcp_key = c.rtp_key;
    c.rtcp_salt = c.rtp_salt;
    c.master_key = c.rtp_key;
    c.master_salt = c.rtp_salt;
    e.contexts.push_back(std::move(c));
    return e;
}

std::vector<uint8_t> rtp_packet(uint32_t ssrc, uint16_t seq, std::mt19937_64& rng) {
    std::vector<uint8_t> p(kRtpHeader + kPayload);
    p[0] = 0x80;
    p[1] = 0x60;
    p[2] = seq >> 8, p[3] = seq & 0xff;
    const uint32_t ts = seq * 160u;
    p[4] = ts >> 24, p[5] = ts >> 16, p[6] = ts >> 8, p[7] = ts;
    p[8] = ssrc >> 24, p[9] = ssrc >> 16, p[10] = ssrc >> 8, p[11] = ssrc;
    fill(rng, p.data() + kRtpHeader, kPayload);
    return p;
}

net::UdpFrameSpec spec(net::IpAddress src, uint16_t sport, net::IpAddress dst, uint16_t dport) {
    net::UdpFrameSpec s;
    s.src = src;
    s.dst = dst;
    s.src_port = sport;
    s.dst_port = dport;
    return s;
}

// Stream s: 10.1.x.y:port (the target) sends to 10.2.x.y:port (intercepted by its receive end).
net::IpAddress stream_addr(uint8_t net_octet, size_t s) {
    return net::ipv4_address(10, net_octet, static_cast<uint8_t>(s >> 8),
                             static_cast<uint8_t>(s & 0xff));
}
uint16_t stream_port(size_t s) {
    return static_cast<uint16_t>(20000 + 2 * (s % 20000));
}

void install_keys_and_flows(World& w, std::mt19937_64& rng) {
    keys::KeyTableConfig kc;
    kc.name = "bench_pipeline_mki";
    kc.capacity = static_cast<uint32_t>(w.table_mkis + w.table_mkis / 4);
    w.keys = std::make_unique<keys::KeyTable>(kc);
    w.streams.resize(kStreams);
    uint8_t mki[kMkiLen], key[16], salt[12];
    for (size_t i = 0; i < w.table_mkis; ++i) {
        const uint64_t v = 0x0000000100000000ull + i * 0x9E3779B1ull;  // distinct
        for (size_t b = 0; b < kMkiLen; ++b) mki[b] = static_cast<uint8_t>(v >> (56 - 8 * b));
        fill(rng, key, 16);
        fill(rng, salt, 12);
        if (i < kStreams) {
            Stream& s = w.streams[i];
            s.ssrc = static_cast<uint32_t>(rng());
            std::memcpy(s.mki, mki, kMkiLen);
            std::memcpy(s.key, key, 16);
            std::memcpy(s.salt, salt, 12);
            w.gcm.expand_key({key, 16}, s.keys.key);
            std::memcpy(s.keys.salt, salt, 12);
        }
        const std::string err =
            w.keys->install(srtp_entry("k" + std::to_string(i), mki, key, salt));
        if (!err.empty()) {
            std::fprintf(stderr, "key install failed: %s\n", err.c_str());
            std::abort();
        }
    }
    // One intercepted flow per stream, as a target's SDP would have installed it (warrant s).
    for (size_t s = 0; s < kStreams; ++s) {
        media::FlowInfo* f = w.flow_writer->allocate();
        if (f == nullptr) std::abort();
        f->key.family = 4;
        f->key.port = stream_port(s);
        std::memcpy(f->key.addr, stream_addr(2, s).bytes, 16);
        f->owner = media::Side::receiver;
        f->kind = media::FlowKind::rtp;
        f->secure = true;
        f->warrant_count = 1;
        f->warrants[0] = {static_cast<uint32_t>(s), static_cast<uint32_t>(s + 1),
                          media::Side::initiator};
        f->owner_tag = ~0ull;  // no dialog of any worker
        if (!w.flow_writer->install(f)) std::abort();
    }
}

void build_srtp_frames(World& w, std::mt19937_64& rng) {
    auto& out = w.mixes[srtp_intercepted];
    for (size_t i = 0; i < kStreams * kPacketsPerStream; ++i) {
        const size_t s = i % kStreams;
        const Stream& st = w.streams[s];
        const uint16_t seq = static_cast<uint16_t>(i / kStreams + 1);
        const uint32_t roc = 3;
        const auto plain = rtp_packet(st.ssrc, seq, rng);
        std::vector<uint8_t> srtp(plain.size() + 16 + kMkiLen + 4);
        const size_t n =
            crypto::srtp_encrypt(w.gcm, st.keys, plain.data(), plain.size(), roc, srtp.data());
        std::memcpy(&srtp[n], st.mki, kMkiLen);
        srtp[n + kMkiLen + 3] = static_cast<uint8_t>(roc);  // RCC: ROC in the last 4 octets
        auto sp = spec(stream_addr(1, s), stream_port(s), stream_addr(2, s), stream_port(s));
        out.push_back(
            {net::build_udp_frame(sp, srtp), static_cast<uint32_t>(s), static_cast<int32_t>(s)});
    }
}

// Nobody's media (RTP to endpoints no SDP named) and other UDP (DNS-sized, random payload).
void build_other_frames(World& w, std::mt19937_64& rng) {
    auto& out = w.mixes[not_intercepted];
    for (size_t i = 0; i < kStreams * kPacketsPerStream; ++i) {
        const size_t s = i % kStreams;
        std::vector<uint8_t> payload;
        net::UdpFrameSpec sp;
        if (i % 4 != 3) {  // 3 in 4: RTP (plain or SRTP-sized, content does not matter here)
            payload = rtp_packet(static_cast<uint32_t>(rng()), static_cast<uint16_t>(i), rng);
            payload.resize(payload.size() + 28);
            sp = spec(stream_addr(3, s), stream_port(s), stream_addr(4, s), stream_port(s));
        } else {
            payload.resize(60 + rng() % 200);
            fill(rng, payload.data(), payload.size());
            payload[0] = 0x12;  // not a SIP start octet
            sp = spec(stream_addr(5, s), static_cast<uint16_t>(1024 + s), stream_addr(6, s), 53);
        }
        out.push_back({net::build_udp_frame(sp, payload), static_cast<uint32_t>(s), -1});
    }
    auto& mixed = w.mixes[one_percent];
    for (size_t i = 0; i < out.size(); ++i)
        // Alternate the stream parity so that either worker of two gets its share.
        mixed.push_back(i % 100 == 0 ? w.mixes[srtp_intercepted][i + (i / 100) % 2] : out[i]);
}

std::string sip_user(size_t call) {
    char b[64];
    // Even calls: to a target (one of the 10,000 warrants); odd: to nobody's target.
    if (call % 2 == 0)
        std::snprintf(b, sizeof b, "sip:user%05zu@mcptt.example.org", (call / 2) % kSelectors);
    else
        std::snprintf(b, sizeof b, "sip:other%05zu@mcptt.example.org", call);
    return b;
}

// INVITE (SDP offer) / 180 / 200 (SDP answer) / ACK / BYE / 200, calls interleaved in groups.
void build_sip_frames(World& w) {
    auto& out = w.mixes[sip_dialogs];
    gen::Random rng(9);
    for (size_t g = 0; g < kCalls; g += kCallsInFlight) {
        for (size_t m = 0; m < kSipMessagesPerCall; ++m) {
            for (size_t c = g; c < g + kCallsInFlight && c < kCalls; ++c) {
                const std::string callee = sip_user(c);
                const std::string caller = "sip:caller" + std::to_string(c) + "@mcptt.example.org";
                const auto a = net::ipv4_address(10, 7, static_cast<uint8_t>(c >> 8),
                                                 static_cast<uint8_t>(c & 0xff));
                const auto b = net::ipv4_address(10, 8, static_cast<uint8_t>(c >> 8),
                                                 static_cast<uint8_t>(c & 0xff));
                const std::string call_id = "bench-" + std::to_string(c) + "@mcptt.example.org";
                const bool from_caller = m == 0 || m == 3 || m == 4;
                gen::SipText t;
                static const char* const kStart[] = {"INVITE", "180", "200", "ACK", "BYE", "200"};
                const bool request = m == 0 || m == 3 || m == 4;
                t.start_line = request  ? std::string(kStart[m]) + " " + callee + " SIP/2.0"
                               : m == 1 ? "SIP/2.0 180 Ringing"
                                        : "SIP/2.0 200 OK";
                const int cseq = m >= 4 ? 2 : 1;
                const char* method = m == 3 ? "ACK" : m >= 4 ? "BYE" : "INVITE";
                t.headers = {
                    {"Via", "SIP/2.0/UDP 10.7.0.1:5060;branch=z9hG4bK" + std::to_string(c) + "-" +
                                std::to_string(cseq)},
                    {"Max-Forwards", "70"},
                    {"From", "<" + caller + ">;tag=f" + std::to_string(c)},
                    {"To", "<" + callee + ">" + (m == 0 ? "" : ";tag=t" + std::to_string(c))},
                    {"Call-ID", call_id},
                    {"CSeq", std::to_string(cseq) + " " + method},
                    {"Contact", "<sip:10.7.0.1:5060>"}};
                if (m == 0 || m == 2) {
                    gen::SdpMedia sdp;
                    sdp.address =
                        m == 0 ? "10.7." + std::to_string(c >> 8) + "." + std::to_string(c & 0xff)
                               : "10.8." + std::to_string(c >> 8) + "." + std::to_string(c & 0xff);
                    sdp.port = static_cast<uint16_t>(30000 + 2 * (c % 10000));
                    sdp.srtp = true;
                    t.parts.push_back({"application/sdp", gen::sdp(sdp, 1000 + c)});
                }
                const std::string text = t.render();
                auto sp = from_caller ? spec(a, 5060, b, 5060) : spec(b, 5060, a, 5060);
                out.push_back(
                    {net::build_udp_frame(
                         sp, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}),
                     static_cast<uint32_t>(c), -1});
            }
        }
    }
    (void)rng;
}

void build_libsrtp_frames(World& w) {
    std::mt19937_64 rng(7);
    srtp_init();
    std::vector<srtp_t> senders(kStreams);
    for (size_t s = 0; s < kStreams; ++s) {
        Stream& st = w.streams[s];
        uint8_t master[28];
        std::memcpy(master, st.key, 16);
        std::memcpy(master + 16, st.salt, 12);
        srtp_master_key_t mk{master, st.mki, kMkiLen};
        srtp_master_key_t* keys[1] = {&mk};
        srtp_policy_t policy{};
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        policy.ssrc.type = ssrc_specific;
        policy.ssrc.value = st.ssrc;
        policy.keys = keys;
        policy.num_master_keys = 1;
        policy.window_size = 1024;
        if (srtp_create(&senders[s], &policy) != srtp_err_status_ok) std::abort();
    }
    for (size_t i = 0; i < kStreams * kPacketsPerStream; ++i) {
        const size_t s = i % kStreams;
        auto p = rtp_packet(w.streams[s].ssrc, static_cast<uint16_t>(i / kStreams + 1), rng);
        int len = static_cast<int>(p.size());
        p.resize(p.size() + 64);
        if (srtp_protect_mki(senders[s], p.data(), &len, 1, 0) != srtp_err_status_ok) std::abort();
        p.resize(static_cast<size_t>(len));
        auto sp = spec(stream_addr(1, s), stream_port(s), stream_addr(2, s), stream_port(s));
        w.libsrtp_frames.push_back(
            {net::build_udp_frame(sp, p), static_cast<uint32_t>(s), static_cast<int32_t>(s)});
    }
    for (auto s : senders) srtp_dealloc(s);
}

World* build_world() {
    auto* w = new World;
    const char* env = std::getenv("LIPROBE_BENCH_MKIS");
    w->table_mkis = std::max<size_t>(env ? std::strtoul(env, nullptr, 10) : 1000000, kStreams);
    std::mt19937_64 rng(42);

    const size_t rcu_bytes = rte_rcu_qsbr_get_memsize(g_max_workers + 1);
    w->flow_rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("bench_flow_rcu", rcu_bytes, 64));
    rte_rcu_qsbr_init(w->flow_rcu, g_max_workers + 1);
    media::FlowTableConfig fc;
    fc.name = "bench_flows";
    fc.capacity = 1 << 16;
    fc.rcu = w->flow_rcu;
    w->flows = std::make_unique<media::FlowTable>(fc);
    w->flow_writer = std::make_unique<media::FlowWriter>(*w->flows);
    install_keys_and_flows(*w, rng);

    std::vector<targets::Warrant> warrants;
    for (size_t i = 0; i < kSelectors; ++i) {
        char uri[64];
        std::snprintf(uri, sizeof uri, "sip:user%05zu@mcptt.example.org", i);
        warrants.push_back({"LIID-" + std::to_string(i), {uri}, {"lemf"}});
    }
    std::string error;
    w->policy.selectors = targets::SelectorSet::build(std::move(warrants), {g_max_workers}, error);
    if (!w->policy.selectors || !w->detector.init(g_max_workers, error)) {
        std::fprintf(stderr, "%s\n", error.c_str());
        std::abort();
    }
    w->policy.routes.resize(kSelectors);
    for (size_t i = 0; i < kSelectors; ++i) {
        w->policy.global_id.push_back(static_cast<uint32_t>(i));
        w->policy.routes[i].active = true;
        w->policy.routes[i].destination_count = 1;
    }
    w->current_policy.store(&w->policy);
    w->sip_ports.set(5060);

    build_srtp_frames(*w, rng);
    build_other_frames(*w, rng);
    build_sip_frames(*w);

    dataplane::WorkerShared shared;
    // Packet time comes with the mbuf, as from net_pcap or the load generator.
    if (rte_mbuf_dyn_rx_timestamp_register(&w->ts_offset, &w->ts_flag) != 0) std::abort();
    shared.timestamp_offset = w->ts_offset;
    shared.timestamp_flag = w->ts_flag;
    shared.flows = w->flows.get();
    shared.sip_ports = &w->sip_ports;
    shared.detector = &w->detector;
    shared.policy = &w->current_policy;
    shared.key_generation = &w->key_generation;
    shared.stop = &w->stop;
    shared.flow_rcu = w->flow_rcu;
    shared.keys = w->keys.get();
    dataplane::PipelineBounds bounds;  // the config defaults ([dpdk], [sip])
    const uint16_t sip_port = 5060;
    bounds.workers = g_max_workers;
    bounds.sip_ports = &sip_port;
    bounds.sip_port_count = 1;
    shared.pipeline = dataplane::pipeline_config(bounds);
    w->sinks.resize(g_max_workers);
    w->workers.resize(g_max_workers);
    w->rx_pools.resize(g_max_workers);
    w->pass.resize(g_max_workers);
    for (unsigned i = 0; i < g_max_workers; ++i) {
        w->sinks[i] = std::make_unique<RingSink>(i);
        media::InterceptorConfig ic;
        ic.worker = i;
        ic.max_dialogs = 8192;
        auto icpt =
            std::make_unique<media::Interceptor>(ic, *w->flows, *w->keys, *w->sinks[i], w->cins);
        icpt->set_policy(&w->policy);
        w->workers[i] = std::make_unique<dataplane::Worker>(i, shared, std::move(icpt));
        w->rx_pools[i] = rte_pktmbuf_pool_create(("bench_rx_" + std::to_string(i)).c_str(), 4095,
                                                 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        if (w->rx_pools[i] == nullptr) std::abort();
    }
    return w;
}

uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// One benchmark thread = one worker: an lcore id (mempool cache), RCU and key-table reader.
struct WorkerThread {
    World& w;
    unsigned index;
    bool registered = false;
    std::vector<const Frame*> frames;  // this worker's share of the mix
    WorkerThread(World& world, benchmark::State& state, const std::vector<Frame>& mix)
        : w(world), index(static_cast<unsigned>(state.thread_index())) {
        if (rte_lcore_id() == LCORE_ID_ANY) registered = rte_thread_register() == 0;
        const auto threads = static_cast<uint32_t>(state.threads());
        for (const Frame& f : mix)
            if (f.shard % threads == index) frames.push_back(&f);
        // Whole bursts per pass: a pass (and its packet time) ends on a burst boundary.
        frames.resize(frames.size() / kBurst * kBurst);
        rte_rcu_qsbr_thread_register(w.flow_rcu, index);
        rte_rcu_qsbr_thread_online(w.flow_rcu, index);
        w.keys->register_reader(index);
    }
    ~WorkerThread() {
        rte_rcu_qsbr_thread_offline(w.flow_rcu, index);
        rte_rcu_qsbr_thread_unregister(w.flow_rcu, index);
        w.keys->unregister_reader(index);
        if (registered) rte_thread_unregister();
    }
    // The NIC's part: mbufs from the pool, the frames written into them.
    void receive(rte_mbuf** m, size_t& next, uint32_t n) {
        if (rte_pktmbuf_alloc_bulk(w.rx_pools[index], m, n) != 0) std::abort();
        for (uint32_t i = 0; i < n; ++i) {
            const Frame& f = *frames[next];
            if (++next == frames.size()) next = 0;
            char* d = rte_pktmbuf_append(m[i], static_cast<uint16_t>(f.bytes.size()));
            std::memcpy(d, f.bytes.data(), f.bytes.size());
        }
    }
};

void report(benchmark::State& state, uint64_t packets, uint64_t cpu_ns, double items_per_pkt = 0) {
    const double s = double(cpu_ns) * 1e-9;
    state.counters["Mpps_per_worker"] =
        benchmark::Counter(double(packets) / s * 1e-6, benchmark::Counter::kAvgThreads);
    state.counters["cycles_per_pkt"] =
        benchmark::Counter(double(cpu_ns) * double(rte_get_tsc_hz()) * 1e-9 / double(packets),
                           benchmark::Counter::kAvgThreads);
    if (items_per_pkt > 0)
        state.counters["dialogs_per_s_per_worker"] = benchmark::Counter(
            double(packets) * items_per_pkt / s, benchmark::Counter::kAvgThreads);
    state.SetItemsProcessed(static_cast<int64_t>(packets));
}

// The worker loop of Worker::run() on in-memory mbufs.
void pipeline(benchmark::State& state, Mix mix) {
    World& w = *g_world;
    WorkerThread t(w, state, w.mixes[mix]);
    dataplane::Worker& worker = *w.workers[t.index];
    RingSink& sink = *w.sinks[t.index];
    const auto& before = worker.counters();
    const uint64_t media0 = before.outcome[size_t(dataplane::Outcome::media_intercepted)].get();
    const uint64_t decrypted0 = worker.interceptor().counters().srtp_decrypted.get();
    const uint64_t lost0 = worker.interceptor().counters().records_lost.get();
    rte_mbuf* m[kBurst];
    size_t next = 0;
    uint64_t packets = 0, records = 0;
    int64_t& pass = w.pass[t.index];
    int64_t in_pass = 0;
    const uint64_t t0 = thread_cpu_ns();
    for (auto _ : state) {
        t.receive(m, next, kBurst);
        for (uint32_t i = 0; i < kBurst; ++i) {
            const int64_t time = kStartUs + pass * kPassUs + in_pass++;
            *RTE_MBUF_DYNFIELD(m[i], w.ts_offset, rte_mbuf_timestamp_t*) =
                static_cast<uint64_t>(time);
            m[i]->ol_flags |= w.ts_flag;
        }
        worker.receive(m, kBurst, 0);  // processes, flushes the interceptor, frees the burst
        const int64_t now = kStartUs + pass * kPassUs + in_pass;
        worker.expire(now);
        worker.interceptor().tick(now, w.key_generation.load(std::memory_order_acquire));
        rte_rcu_qsbr_quiescent(w.flow_rcu, t.index);
        w.keys->quiescent(t.index);
        records += sink.drain();
        if (next == 0) ++pass, in_pass = 0;
        packets += kBurst;
    }
    const uint64_t cpu = thread_cpu_ns() - t0;
    const auto& ic = worker.interceptor().counters();
    const uint64_t media =
        before.outcome[size_t(dataplane::Outcome::media_intercepted)].get() - media0;
    const uint64_t decrypted = ic.srtp_decrypted.get() - decrypted0;
    if (ic.records_lost.get() != lost0) state.SkipWithError("records lost");
    if ((mix == srtp_intercepted && decrypted != packets) ||
        (mix == not_intercepted && media != 0) || (mix == one_percent && decrypted == 0))
        state.SkipWithError("unexpected outcomes");
    state.counters["records_per_pkt"] =
        benchmark::Counter(double(records) / double(packets), benchmark::Counter::kAvgThreads);
    report(state, packets, cpu, mix == sip_dialogs ? 1.0 / kSipMessagesPerCall : 0);
}

// Anchor: the same mbufs received, their first line read (the Ethernet type), and freed.
void rx_and_free(benchmark::State& state, Mix mix) {
    World& w = *g_world;
    WorkerThread t(w, state, w.mixes[mix]);
    rte_mbuf* m[kBurst];
    size_t next = 0;
    uint64_t packets = 0, sum = 0;
    const uint64_t t0 = thread_cpu_ns();
    for (auto _ : state) {
        t.receive(m, next, kBurst);
        for (uint32_t i = 0; i < kBurst; ++i) sum += rte_pktmbuf_mtod(m[i], const uint8_t*)[12];
        rte_pktmbuf_free_bulk(m, kBurst);
        rte_rcu_qsbr_quiescent(w.flow_rcu, t.index);
        packets += kBurst;
    }
    benchmark::DoNotOptimize(sum);
    report(state, packets, thread_cpu_ns() - t0);
}

// Anchor: raw IPsec-MB GCM on the intercepted packets in the same mbufs, keys at hand.
void ipsecmb_gcm(benchmark::State& state) {
    World& w = *g_world;
    WorkerThread t(w, state, w.mixes[srtp_intercepted]);
    rte_mbuf* m[kBurst];
    size_t next = 0;
    uint64_t packets = 0, ok = 0;
    const uint64_t t0 = thread_cpu_ns();
    for (auto _ : state) {
        const size_t first = next;
        t.receive(m, next, kBurst);
        for (uint32_t i = 0; i < kBurst; ++i) {
            const Frame& f = *t.frames[(first + i) % t.frames.size()];
            const Stream& st = w.streams[size_t(f.stream)];
            uint8_t* p = rte_pktmbuf_mtod(m[i], uint8_t*) + 42;  // Ethernet + IPv4 + UDP
            const uint32_t len = rte_pktmbuf_pkt_len(m[i]) - 42;
            const uint8_t* roc = p + len - 4;
            uint8_t iv[12] = {0,      0,      p[8],   p[9],   p[10], p[11],
                              roc[0], roc[1], roc[2], roc[3], p[2],  p[3]};
            for (int b = 0; b < 12; ++b) iv[b] ^= st.keys.salt[b];
            ok += w.gcm.decrypt(st.keys.key, iv, p, kRtpHeader, p + kRtpHeader, p + kRtpHeader,
                                kPayload, p + kRtpHeader + kPayload);
        }
        rte_pktmbuf_free_bulk(m, kBurst);
        packets += kBurst;
    }
    const uint64_t cpu = thread_cpu_ns() - t0;
    if (ok != packets) state.SkipWithError("tag mismatch");
    report(state, packets, cpu);
}

// Anchor: libsrtp2 as its users run it, one srtp_t per stream in a hash table keyed by SSRC.
// libsrtp2 refuses replays, so each pass over the packets starts on fresh sessions (created
// outside the measured time).
void libsrtp2_hash(benchmark::State& state) {
    World& w = *g_world;
    static std::once_flag built;
    std::call_once(built, [&] { build_libsrtp_frames(w); });
    WorkerThread t(w, state, w.libsrtp_frames);
    std::unordered_map<uint32_t, srtp_t> sessions;
    std::vector<uint8_t> master(kStreams * 28);
    auto make_sessions = [&] {
        for (auto& [ssrc, s] : sessions) srtp_dealloc(s);
        sessions.clear();
        for (size_t s = 0; s < kStreams; ++s) {
            if (s % static_cast<size_t>(state.threads()) != t.index) continue;
            const Stream& st = w.streams[s];
            const srtp_t session = bench::libsrtp_session(st.ssrc, st.key, st.salt, 12, st.mki,
                                                          kMkiLen, &master[s * 28]);
            sessions.emplace(st.ssrc, session);
        }
    };
    make_sessions();
    rte_mbuf* m[kBurst];
    size_t next = 0;
    uint64_t packets = 0, ok = 0, cpu = 0;
    uint64_t t0 = thread_cpu_ns();
    for (auto _ : state) {
        t.receive(m, next, kBurst);
        for (uint32_t i = 0; i < kBurst; ++i) {
            uint8_t* p = rte_pktmbuf_mtod(m[i], uint8_t*) + 42;
            int len = static_cast<int>(rte_pktmbuf_pkt_len(m[i]) - 42);
            const uint32_t ssrc =
                uint32_t(p[8]) << 24 | uint32_t(p[9]) << 16 | uint32_t(p[10]) << 8 | p[11];
            const auto it = sessions.find(ssrc);
            ok += it != sessions.end() &&
                  srtp_unprotect_mki(it->second, p, &len, 1) == srtp_err_status_ok;
        }
        rte_pktmbuf_free_bulk(m, kBurst);
        packets += kBurst;
        if (next == 0) {  // wrapped: a new pass needs fresh replay state
            cpu += thread_cpu_ns() - t0;
            make_sessions();
            t0 = thread_cpu_ns();
        }
    }
    cpu += thread_cpu_ns() - t0;
    for (auto& [ssrc, s] : sessions) srtp_dealloc(s);
    if (ok != packets) state.SkipWithError("unprotect failed");
    report(state, packets, cpu);
}

void worker_counts(benchmark::internal::Benchmark* b) {
    for (int n : g_worker_counts) b->Threads(n);
    b->UseRealTime();
}

void register_all() {
    for (int mix = 0; mix < kMixCount; ++mix) {
        const Mix mx = static_cast<Mix>(mix);
        benchmark::RegisterBenchmark((std::string("pipeline/") + kMixNames[mix]).c_str(),
                                     [mx](benchmark::State& s) { pipeline(s, mx); })
            ->Apply(worker_counts);
        benchmark::RegisterBenchmark((std::string("anchor/rx_and_free/") + kMixNames[mix]).c_str(),
                                     [mx](benchmark::State& s) { rx_and_free(s, mx); })
            ->Apply(worker_counts);
    }
    benchmark::RegisterBenchmark("anchor/ipsecmb_gcm", ipsecmb_gcm)->Apply(worker_counts);
    benchmark::RegisterBenchmark("anchor/libsrtp2_hash", libsrtp2_hash)->Apply(worker_counts);
}

// Keeps Mpps_per_worker of every run (the median aggregate when --benchmark_repetitions is
// used) and prints the target ratios after the run.
class RatioReporter : public benchmark::ConsoleReporter {
  public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& r : runs) {
            if (r.error_occurred) continue;
            const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
            if (r.run_type == Run::RT_Aggregate && !median) continue;
            std::string name = r.run_name.str();
            if (const auto rt = name.find("/real_time"); rt != std::string::npos)
                name.erase(rt, 10);
            for (const char* c : {"Mpps_per_worker", "dialogs_per_s_per_worker", "cycles_per_pkt",
                                  "items_per_second"}) {
                auto it = r.counters.find(c);
                if (it == r.counters.end()) continue;
                if (median || !median_seen_.count(name)) value_[name + " " + c] = it->second.value;
            }
            if (median) median_seen_[name] = true;
        }
    }
    void Finalize() override {
        ConsoleReporter::Finalize();
        auto get = [&](const std::string& n, const char* c = "Mpps_per_worker") {
            auto it = value_.find(n + " " + c);
            return it == value_.end() ? 0.0 : it->second;
        };
        for (int workers : g_worker_counts) {
            const std::string th = "threads:" + std::to_string(workers);
            const std::string t = "/" + th;
            std::printf("\n%s (per worker, CPU time)\n", th.c_str());
            std::printf("%-44s %10s %12s\n", "", "Mpps", "cycles/pkt");
            for (const auto& [k, v] : value_) {
                const auto sp = k.find(' ');
                if (k.compare(sp + 1, std::string::npos, "Mpps_per_worker") != 0) continue;
                const std::string name = k.substr(0, sp);
                if (name.size() < t.size() || name.compare(name.size() - t.size(), t.size(), t))
                    continue;
                std::printf("%-44s %10.3f %12.0f\n", name.c_str(), v, get(name, "cycles_per_pkt"));
            }
            const double srtp = get("pipeline/srtp_intercepted" + t);
            const double gcm = get("anchor/ipsecmb_gcm" + t);
            const double lib = get("anchor/libsrtp2_hash" + t);
            const double other = get("pipeline/not_intercepted" + t);
            const double rx = get("anchor/rx_and_free/not_intercepted" + t);
            const double dialogs = get("pipeline/sip_dialogs" + t, "dialogs_per_s_per_worker");
            if (srtp > 0 && gcm > 0)
                std::printf("intercepted SRTP / raw GCM        = %.2f x (target >= 0.5)\n",
                            srtp / gcm);
            if (srtp > 0 && lib > 0)
                std::printf("intercepted SRTP / libsrtp2       = %.2f x (target >= 10)\n",
                            srtp / lib);
            if (other > 0 && rx > 0)
                std::printf("not intercepted / rx-and-free     = %.2f x (target >= 0.75)\n",
                            other / rx);
            if (dialogs > 0)
                std::printf("SIP dialogs per second per worker = %.0f (target >= 300,000)\n",
                            dialogs);
        }
        // Scaling: per-worker rate (its CPU time) at N workers against 1 worker, and the
        // wall-clock total (meaningful only with a free core per worker).
        std::printf("\nscaling%29s %8s %12s %12s %10s\n", "", "workers", "Mpps/worker",
                    "efficiency", "wall Mpps");
        for (int mix = 0; mix < kMixCount; ++mix) {
            const std::string base = std::string("pipeline/") + kMixNames[mix] + "/threads:";
            const double one = get(base + "1");
            for (int workers : g_worker_counts) {
                const std::string n = base + std::to_string(workers);
                const double v = get(n);
                if (v == 0) continue;
                std::printf("%-36s %8d %12.3f %12.2f %10.3f\n", kMixNames[mix], workers, v,
                            one > 0 ? v / one : 0.0, get(n, "items_per_second") * 1e-6);
            }
        }
    }

  private:
    std::map<std::string, double> value_;
    std::map<std::string, bool> median_seen_;
};

}  // namespace

int main(int argc, char** argv) {
    const std::string prefix = "--file-prefix=liprobe-pbench-" + std::to_string(getpid());
    const char* eal[] = {"pipeline_bench", "--no-huge", "--no-pci", "--no-shconf",
                         "--no-telemetry", "-m",        "3072",     "--log-level=lib.*:error",
                         prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "EAL init failed\n");
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    if (const char* env = std::getenv("LIPROBE_BENCH_WORKERS")) {
        g_worker_counts.clear();
        for (const char* p = env; *p;) {
            char* end = nullptr;
            const long v = std::strtol(p, &end, 10);
            if (end == p || v < 1 || v > 64) {
                std::fprintf(stderr, "LIPROBE_BENCH_WORKERS: a list like 1,2,4\n");
                return 1;
            }
            g_worker_counts.push_back(static_cast<int>(v));
            p = *end == ',' ? end + 1 : end;
        }
    }
    g_max_workers = 1;
    for (int v : g_worker_counts) g_max_workers = std::max(g_max_workers, unsigned(v));
    std::fprintf(stderr, "building key table, flows and packets...\n");
    g_world = build_world();
    std::printf(
        "IPsec-MB %s; MKI table %zu; %zu intercepted streams; %zu selectors; TSC %.2f GHz\n",
        g_world->gcm.architecture(), g_world->table_mkis, kStreams, kSelectors,
        double(rte_get_tsc_hz()) * 1e-9);
    register_all();
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
