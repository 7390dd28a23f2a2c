// Key API throughput end to end (issue 7): GMK entries with 10 members each (CS-ID 4), batches of
// 100 entries, POSTed over HTTPS with mutual TLS (keep-alive connections, cpp-httplib client with
// a P-256 client certificate) to the real ControlServer + KeyService + KeyTable in this process:
// JSON parsing, TS 33.180 / MIKEY / RFC 3711 derivation of every member, AES-GCM key expansion,
// install into the rte_hash key table under RCU, the audit line, the JSON reply.
//
// BM_KeysApi/<clients>/<dataplane>: `clients` connections post concurrently (the server derives
// their batches on as many HTTPS threads); with dataplane = 1 a reader thread plays a worker
// lcore, looking up the installed MKIs in bursts of 32 and reporting quiescent states, as the
// workers do, for the whole run. items_per_second = key entries installed per wall-clock second.
// Every reply is checked (HTTP 200, 100 installed): a failing batch aborts the benchmark.
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <rte_eal.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "../tests/control/pki.hpp"
#include "liprobe/control/audit.hpp"
#include "liprobe/control/https_server.hpp"
#include "liprobe/control/key_api.hpp"
#include "liprobe/keys/key_model.hpp"
#include "liprobe/keys/key_table.hpp"

namespace {

using nlohmann::json;
using namespace liprobe;

constexpr int kEntriesPerBatch = 100;
constexpr int kMembers = 10;
constexpr int kBatchPool = 40;  // distinct batches, cycled: re-posting replaces (steady table)

std::string hex(const uint8_t* p, size_t n) {
    return keys::to_hex(p, n);
}

std::string random_hex(size_t n) {
    std::vector<uint8_t> b(n);
    RAND_bytes(b.data(), static_cast<int>(n));
    return hex(b.data(), n);
}

// Batch b: GMK-IDs with purpose tag 0, unique over the pool.
std::string make_batch(int b) {
    json entries = json::array();
    for (int e = 0; e < kEntriesPerBatch; ++e) {
        const uint32_t id = static_cast<uint32_t>(b * kEntriesPerBatch + e + 1) & 0x0fffffff;
        const uint8_t id_bytes[4] = {uint8_t(id >> 24), uint8_t(id >> 16), uint8_t(id >> 8),
                                     uint8_t(id)};
        json members = json::array();
        for (int m = 0; m < kMembers; ++m)
            members.push_back("sip:user" + std::to_string(m) + "-" + std::to_string(id) +
                              "@mcptt.example.org");
        entries.push_back({{"type", "gmk"},
                           {"key", random_hex(16)},
                           {"key_id", hex(id_bytes, 4)},
                           {"rand", random_hex(16)},
                           {"members", members},
                           {"cs_ids", {4}}});
    }
    return json({{"keys", entries}}).dump();
}

struct Fixture {
    std::string dir;
    std::unique_ptr<test::TestCa> ca;
    std::pair<std::string, std::string> server_cert, client_cert;
    std::unique_ptr<control::AuditLog> audit;
    std::unique_ptr<keys::KeyTable> table;
    std::atomic<uint64_t> generation{0};
    std::unique_ptr<control::KeyService> service;
    std::unique_ptr<control::ControlServer> server;
    std::vector<std::string> batches;
    std::vector<std::vector<uint8_t>> mkis;  // the long MKIs of the pool, for the reader

    Fixture() {
        dir = test::make_temp_dir();
        ca = std::make_unique<test::TestCa>(dir, "ca");
        server_cert = ca->issue("api", {{"CN", "localhost"}}, true);
        client_cert = ca->issue("mf", {{"O", "Operator"}, {"CN", "mf1"}}, false);
        audit = std::make_unique<control::AuditLog>(dir + "/audit.jsonl", "bench-salt-0123456789");
        keys::KeyTableConfig kc;
        kc.name = "bench_keys";
        kc.capacity = 1u << 20;
        kc.max_readers = 2;
        table = std::make_unique<keys::KeyTable>(kc);
        service = std::make_unique<control::KeyService>(*table, generation, *audit);
        control::ControlSection s;
        s.listen = {"127.0.0.1", 0};
        s.cert = server_cert.first;
        s.key = server_cert.second;
        s.client_ca = ca->ca_pem();
        s.clients = {{"CN=mf1,O=Operator", control::kRoleKeys | control::kRoleRead}};
        server = std::make_unique<control::ControlServer>(s);
        service->register_routes(*server);
        std::string error;
        if (!server->start(error)) throw std::runtime_error(error);
        for (int b = 0; b < kBatchPool; ++b) batches.push_back(make_batch(b));
        // The MKIs a worker would look up: derive the first batch once here.
        for (const auto& r : keys::derive_keys_text(batches[0]))
            for (const auto& c : r.contexts) mkis.push_back(c.mki.to_vector());
    }
    ~Fixture() {
        server.reset();
        test::remove_tree(dir);
    }
};

// Built on first use, destroyed before rte_eal_cleanup (the key table lives in EAL memory).
std::unique_ptr<Fixture> g_fixture;
Fixture& fixture() {
    if (!g_fixture) g_fixture = std::make_unique<Fixture>();
    return *g_fixture;
}

double thread_cpu_seconds(pthread_t t) {
    clockid_t id;
    timespec ts{};
    if (pthread_getcpuclockid(t, &id) != 0 || clock_gettime(id, &ts) != 0) return 0;
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void BM_KeysApi(benchmark::State& state) {
    Fixture& f = fixture();
    const int clients = static_cast<int>(state.range(0));
    const bool dataplane = state.range(1) != 0;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> lookups{0};
    std::atomic<double> reader_cpu{0};
    std::thread reader;
    if (dataplane) {
        reader = std::thread([&] {
            f.table->register_reader(1);
            const uint8_t* ptrs[32];
            uint8_t lens[32];
            const keys::MkiCandidates* out[32];
            size_t next = 0;
            uint64_t n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                for (int i = 0; i < 32; ++i) {
                    const auto& m = f.mkis[next++ % f.mkis.size()];
                    ptrs[i] = m.data();
                    lens[i] = static_cast<uint8_t>(m.size());
                }
                f.table->lookup_bulk(ptrs, lens, 32, out);
                benchmark::DoNotOptimize(out);
                f.table->quiescent(1);
                n += 32;
            }
            lookups.store(n);
            reader_cpu.store(thread_cpu_seconds(pthread_self()));
            f.table->unregister_reader(1);
        });
    }
    const int batches_per_iteration = 20;
    std::atomic<int> failures{0};
    int cursor = 0;
    // One keep-alive connection per client for the whole run, as a mediation function keeps
    // its connections: loading the client certificate and the TLS handshake are not part of a
    // key POST (made once here, they were ~10 % of the run's CPU when every iteration
    // reconnected).
    std::vector<std::unique_ptr<httplib::SSLClient>> connections;
    for (int c = 0; c < clients; ++c) {
        auto cli = std::make_unique<httplib::SSLClient>("localhost", f.server->port(),
                                                        f.client_cert.first, f.client_cert.second);
        cli->set_ca_cert_path(f.ca->ca_pem().c_str());
        cli->enable_server_certificate_verification(true);
        cli->set_keep_alive(true);
        cli->set_tcp_nodelay(true);
        cli->set_read_timeout(60, 0);
        connections.push_back(std::move(cli));
    }
    const double cpu_start = process_cpu_seconds();
    for (auto _ : state) {
        std::vector<std::thread> threads;
        std::atomic<int> taken{0};
        const int base = cursor;
        for (int c = 0; c < clients; ++c)
            threads.emplace_back([&, c] {
                httplib::SSLClient& cli = *connections[static_cast<size_t>(c)];
                for (int i; (i = taken.fetch_add(1)) < batches_per_iteration;) {
                    const std::string& body = f.batches[(base + i) % kBatchPool];
                    auto res = cli.Post("/v1/keys", body, "application/json");
                    // The reply's summary comes first (keys sorted): no need to parse it all.
                    if (!res || res->status != 200 ||
                        res->body.rfind("{\"installed\":" + std::to_string(kEntriesPerBatch) +
                                            ",\"refused\":0,",
                                        0) != 0)
                        failures.fetch_add(1);
                }
            });
        for (auto& t : threads) t.join();
        cursor += batches_per_iteration;
        if (failures.load() != 0) {
            state.SkipWithError("a batch failed");
            break;
        }
        f.service->maintain();  // reclaim replaced contexts, as the control loop does
    }
    stop.store(true);
    if (reader.joinable()) reader.join();
    const double entries =
        static_cast<double>(state.iterations() * batches_per_iteration * kEntriesPerBatch);
    // CPU of everything but the reader: HTTPS server threads, derivation, install, and the
    // benchmark's own clients (TLS, JSON): a lower bound on one core's capacity.
    const double control_cpu = process_cpu_seconds() - cpu_start - reader_cpu.load();
    if (control_cpu > 0) state.counters["entries_per_cpu_second"] = entries / control_cpu;
    state.SetItemsProcessed(state.iterations() * batches_per_iteration * kEntriesPerBatch);
    state.counters["members_per_second"] =
        benchmark::Counter(static_cast<double>(state.iterations() * batches_per_iteration *
                                               kEntriesPerBatch * kMembers),
                           benchmark::Counter::kIsRate);
    if (dataplane)
        state.counters["dataplane_lookups_per_second"] =
            benchmark::Counter(static_cast<double>(lookups.load()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_KeysApi)
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({2, 1})
    ->Args({4, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

// The server side of POST /v1/keys alone, without HTTPS: KeyService::post_keys on this thread
// (JSON parsing, derivation, install, audit line, reply). Timed by this thread's CPU time, so
// items_per_second is entries per CPU second of the key service itself: steadier than the end to
// end figures on a shared machine.
void BM_KeyServicePost(benchmark::State& state) {
    Fixture& f = fixture();
    control::HttpRequest request;
    request.method = "POST";
    request.path = "/v1/keys";
    request.client_subject = "CN=mf1,O=Operator";
    int cursor = 0;
    for (auto _ : state) {
        request.body = f.batches[cursor++ % kBatchPool];
        const control::HttpResponse r = f.service->post_keys(request);
        if (r.status != 200) {
            state.SkipWithError("a batch failed");
            break;
        }
        if (cursor % 20 == 0) f.service->maintain();
    }
    state.SetItemsProcessed(state.iterations() * kEntriesPerBatch);
}
BENCHMARK(BM_KeyServicePost)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> eal = {"keys_api_bench",
                                    "--no-huge",
                                    "--no-pci",
                                    "-m",
                                    "512",
                                    "--no-shconf",
                                    "--file-prefix=keys_api_bench_" + std::to_string(getpid()),
                                    "--log-level=warning"};
    std::vector<char*> eal_argv;
    for (auto& a : eal) eal_argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "keys_api_bench: EAL initialisation failed\n");
        return 1;
    }
    // EAL pinned this thread to the main lcore's CPU; the server and client threads created
    // from it would inherit that single CPU (liprobe itself starts them on the CPUs of no
    // worker lcore, dataplane/control_plane.cpp).
    cpu_set_t all;
    CPU_ZERO(&all);
    for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    g_fixture.reset();
    rte_eal_cleanup();
    return 0;
}
