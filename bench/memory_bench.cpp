// memory_bench: resident memory of liprobe's per-worker and shared tables (issue 8, "Memory").
// Not a Google Benchmark: it builds each table at full size, fills it, and reports the growth of
// the process's resident set (/proc/self/statm) per entry, next to sizeof of the entry types.
//
//   flows        media::FlowTable (rte_hash + value pool), N endpoints installed
//   dialogs      media::Interceptor with max_dialogs N against one with 16 (the pools it sizes;
//                both kept alive so that freed heap is not reused in between)
//   key contexts keys::KeyTable, N "srtp" entries (8-octet MKI, AEAD_AES_128_GCM) installed
//   tcp streams  net::TcpReassembler with the default [sip] max_tcp_streams (4096 connections,
//                8192 directions on one worker): at construction, then with every direction
//                holding a 1 KiB partial message, then a quarter of them holding 12 KiB
//
// Run: build/bench/memory_bench [N]   (N defaults to 1,000,000)
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "liprobe/keys/key_table.hpp"
#include "liprobe/media/flow_table.hpp"
#include "liprobe/media/interception.hpp"
#include "liprobe/net/sip_stream_framer.hpp"
#include "liprobe/net/tcp_reassembly.hpp"

namespace {

using namespace liprobe;

size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    size_t pages_total = 0, pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

double mib(size_t b) {
    return double(b) / (1024.0 * 1024.0);
}

void line(const char* what, size_t bytes, size_t entries) {
    std::printf("%-44s %10.1f MiB %10.0f B/entry\n", what, mib(bytes),
                entries ? double(bytes) / double(entries) : 0.0);
}

class NullSink : public media::RecordSink {
  public:
    exporter::Record* get_record(uint16_t, uint32_t) override { return nullptr; }
    bool submit(uint16_t, exporter::Record*) override { return false; }
};

keys::EntryResult srtp_entry(size_t i, std::mt19937_64& rng) {
    keys::EntryResult e;
    e.ok = true;
    e.type = "srtp";
    e.key_name = "k" + std::to_string(i);
    keys::ContextSpec c;
    c.type = keys::KeyType::srtp;
    c.key_name = e.key_name;
    const uint64_t v = 0x0000000100000000ull + i * 0x9E3779B1ull;
    for (size_t b = 0; b < 8; ++b) c.mki.push_back(static_cast<uint8_t>(v >> (56 - 8 * b)));
    c.roc_rate = 1;
    std::vector<uint8_t> key(16), salt(12);
    for (auto& x : key) x = static_cast<uint8_t>(rng());
    for (auto& x : salt) x = static_cast<uint8_t>(rng());
    c.rtp_key = keys::SecretBytes(key);
    c.rtp_salt = keys::SecretBytes(salt);
    c.rtcp_key = c.rtp_key;
    c.rtcp_salt = c.rtp_salt;
    c.master_key = c.rtp_key;
    c.master_salt = c.rtp_salt;
    e.contexts.push_back(std::move(c));
    return e;
}

}  // namespace

int main(int argc, char** argv) {
    const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000000;
    const std::string prefix = "--file-prefix=liprobe-mbench-" + std::to_string(getpid());
    const char* eal[] = {"memory_bench",   "--no-huge", "--no-pci", "--no-shconf",
                         "--no-telemetry", "-m",        "2048",     "--log-level=lib.*:error",
                         prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "EAL init failed\n");
        return 1;
    }
    std::printf("entries N = %zu; sizeof FlowInfo %zu, FlowKey %zu, SrtpContext %zu\n", n,
                sizeof(media::FlowInfo), sizeof(media::FlowKey), sizeof(keys::SrtpContext));
    const size_t start = resident_bytes();
    std::printf("%-44s %10.1f MiB\n", "resident after EAL init", mib(start));

    // ---- flows ----
    const size_t rcu_bytes = rte_rcu_qsbr_get_memsize(2);
    auto* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("mbench_rcu", rcu_bytes, 64));
    rte_rcu_qsbr_init(rcu, 2);
    size_t before = resident_bytes();
    media::FlowTableConfig fc;
    fc.name = "mbench_flows";
    fc.capacity = static_cast<uint32_t>(n);
    fc.rcu = rcu;
    auto flows = std::make_unique<media::FlowTable>(fc);
    const size_t flows_empty = resident_bytes() - before;
    {
        media::FlowWriter writer(*flows);
        size_t installed = 0;
        for (size_t i = 0; i < n; ++i) {
            media::FlowInfo* f = writer.allocate();
            if (f == nullptr) break;
            f->key.family = 4;
            f->key.port = static_cast<uint16_t>(i);
            const uint32_t a = static_cast<uint32_t>(i >> 16);
            std::memcpy(f->key.addr, &a, 4);
            f->warrant_count = 1;
            installed += writer.install(f);
        }
        line("flow table, empty (capacity N)", flows_empty, n);
        line("flow table, N flows installed", resident_bytes() - before, installed);
        if (installed != n)
            std::printf("  (only %zu of %zu flows fitted the hash)\n", installed, n);
    }
    const size_t with_flows = resident_bytes();

    // ---- key contexts ----
    before = resident_bytes();
    keys::KeyTableConfig kc;
    kc.name = "mbench_mki";
    kc.capacity = static_cast<uint32_t>(n + n / 4);
    auto key_table = std::make_unique<keys::KeyTable>(kc);
    std::mt19937_64 rng(1);
    for (size_t i = 0; i < n; ++i) {
        const std::string err = key_table->install(srtp_entry(i, rng));
        if (!err.empty()) {
            std::fprintf(stderr, "install: %s\n", err.c_str());
            return 1;
        }
    }
    line("key table, N srtp contexts (1 MKI each)", resident_bytes() - before, n);
    std::printf("%-44s %10.1f MiB\n", "resident with N flows and N MKIs", mib(resident_bytes()));
    (void)with_flows;

    // ---- TCP streams ----
    net::TcpReassemblyConfig tc;
    tc.max_connections = 2 * 4096;  // default [sip] max_tcp_streams on one worker: directions
    before = resident_bytes();
    net::TcpReassembler tcp(tc, net::frame_sip_stream);
    const size_t tcp_idle = resident_bytes() - before;
    line("tcp: 8192 directions, idle", tcp_idle, tc.max_connections);
    std::string partial = "INVITE sip:bob@example.org SIP/2.0\r\nContent-Length: 12000\r\n\r\n";
    partial.resize(1024, 'x');
    const auto* bytes = reinterpret_cast<const uint8_t*>(partial.data());
    uint32_t open = 0;
    for (uint32_t i = 0; i < tc.max_connections; ++i) {
        net::FiveTuple t;
        t.ip_version = 4;
        t.protocol = 6;
        std::memcpy(t.src.bytes, &i, 4);
        t.src_port = 5060;
        t.dst_port = 5060;
        net::TcpSegment s;
        s.seq = 1;
        s.flags = net::kTcpAck;
        s.payload_len = 1024;
        open += tcp.add(t, s, bytes, 1) == net::TcpResult::held;
    }
    tcp.release();
    line("tcp: every direction holding 1 KiB", resident_bytes() - before, open);
    std::string more(11 * 1024, 'y');
    for (uint32_t i = 0; i < tc.max_connections; i += 4) {
        net::FiveTuple t;
        t.ip_version = 4;
        t.protocol = 6;
        std::memcpy(t.src.bytes, &i, 4);
        t.src_port = 5060;
        t.dst_port = 5060;
        net::TcpSegment s;
        s.seq = 1 + 1024;
        s.flags = net::kTcpAck;
        s.payload_len = static_cast<uint32_t>(more.size());
        tcp.add(t, s, reinterpret_cast<const uint8_t*>(more.data()), 2);
        tcp.release();
    }
    line("tcp: ... and a quarter holding 12 KiB", resident_bytes() - before, open);
    tcp.flush();
    std::printf("%-44s %10.1f MiB reserved, %.1f MiB carved, %llu refused\n", "tcp: buffer arena",
                mib(tcp.buffer_bytes_reserved()), mib(tcp.buffer_bytes_carved()),
                static_cast<unsigned long long>(tcp.stats().buffer_exhausted));
    // ---- dialogs ----
    NullSink sink;
    std::atomic<uint32_t> cins{1};
    media::InterceptorConfig small;
    small.max_dialogs = 16;
    before = resident_bytes();
    auto base = std::make_unique<media::Interceptor>(small, *flows, *key_table, sink, cins);
    const size_t interceptor_base = resident_bytes() - before;
    media::InterceptorConfig big = small;
    big.max_dialogs = static_cast<uint32_t>(n);
    before = resident_bytes();
    auto large = std::make_unique<media::Interceptor>(big, *flows, *key_table, sink, cins);
    const size_t interceptor_big = resident_bytes() - before;
    line("interceptor with 16 dialogs (pending, streams)", interceptor_base, 0);
    line("dialogs: max_dialogs N minus 16", interceptor_big - interceptor_base, n - 16);

    std::printf("%-44s %10.1f MiB\n", "resident at the end", mib(resident_bytes()));
    return 0;
}
