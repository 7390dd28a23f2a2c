// export_bench: PDUs per second per exporter thread for 200-octet CC (issue 3).
//   BM_Encode/<format>:       PduEncoder::encode alone, back to back into a 1 MiB buffer.
//   BM_ExporterTls/<format>:  the whole exporter: records submitted into the ring by this
//                             thread, dequeued, numbered, encoded in batches and written over
//                             mutual TLS (TLS 1.3, AES-256-GCM) to an in-process sink on
//                             loopback that answers the exporter's checkpoint keep-alives.
//                             items_per_second is wall-clock (producer, exporter and sink share
//                             the machine); exporter_pdus_per_cpu_s divides by the exporter
//                             thread's own CPU time: the capacity of one exporter thread.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <rte_eal.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "liprobe/export/exporter.hpp"

using namespace liprobe::exporter;

namespace {

const ProbeIdentity kProbe{"OP1", "NE1", "NZ"};
std::string g_pki;  // directory with ca.pem, server.*, client.*

bool make_pki() {
    char tmpl[] = "/tmp/liprobe-export-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return false;
    g_pki = tmpl;
    const std::string script = R"(set -e
K="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $K -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-ca
echo "subjectAltName=DNS:lemf.test" > server.ext
openssl req $K -keyout server.key -out server.csr -subj /CN=lemf.test
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile server.ext
openssl req $K -keyout client.key -out client.csr -subj /CN=probe
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
)";
    FILE* f = std::fopen((g_pki + "/make.sh").c_str(), "w");
    if (f == nullptr) return false;
    std::fputs(script.c_str(), f);
    std::fclose(f);
    return std::system(("cd " + g_pki + " && sh make.sh >make.log 2>&1").c_str()) == 0;
}

// A TLS receiver that discards PDUs but frames them and answers keep-alives.
class Sink {
  public:
    explicit Sink(Format format) : format_(format) {
        ctx_ = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate_chain_file(ctx_, (g_pki + "/server.pem").c_str());
        SSL_CTX_use_PrivateKey_file(ctx_, (g_pki + "/server.key").c_str(), SSL_FILETYPE_PEM);
        SSL_CTX_load_verify_locations(ctx_, (g_pki + "/ca.pem").c_str(), nullptr);
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        listen(fd_, 4);
        socklen_t len = sizeof addr;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~Sink() {
        stop_ = true;
        thread_.join();
        close(fd_);
        SSL_CTX_free(ctx_);
    }
    uint16_t port() const { return port_; }

  private:
    void run() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        auto encoder = PduEncoder::create(format_, kProbe);
        std::vector<uint8_t> buf(1 << 20);
        uint8_t answer[512];
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 20) <= 0) continue;
            int c = accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            timeval tv{0, 20000};
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            SSL* ssl = SSL_new(ctx_);
            SSL_set_fd(ssl, c);
            size_t used = 0;
            bool ok = SSL_accept(ssl) == 1;
            while (ok && !stop_) {
                size_t got = 0;
                if (SSL_read_ex(ssl, buf.data() + used, buf.size() - used, &got) != 1) {
                    int err = SSL_get_error(ssl, 0);
                    ERR_clear_error();
                    if (err == SSL_ERROR_WANT_READ) continue;
                    break;
                }
                used += got;
                size_t off = 0;
                while (true) {
                    long n = frame_length(format_, buf.data() + off, used - off);
                    if (n <= 0) {
                        ok = n == 0;
                        break;
                    }
                    if (is_keepalive(format_, buf.data() + off, static_cast<size_t>(n))) {
                        size_t an = encoder->encode_keepalive_response(
                            buf.data() + off, static_cast<size_t>(n), answer, sizeof answer);
                        size_t written;
                        SSL_write_ex(ssl, answer, an, &written);
                    }
                    off += static_cast<size_t>(n);
                }
                std::memmove(buf.data(), buf.data() + off, used - off);
                used -= off;
            }
            ERR_clear_error();
            SSL_free(ssl);
            close(c);
        }
    }

    Format format_;
    SSL_CTX* ctx_ = nullptr;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

void fill_cc(Record& r, uint32_t i) {
    r.kind = RecordKind::cc_rtp;
    r.direction = Direction::from_target;
    r.warrant = 0;
    r.cin = 1 + (i & 7);  // eight dialogs
    r.time_us = 1700000000000000 + i;
    r.src.family = r.dst.family = 4;
    r.src.port = 40000;
    r.dst.port = 40002;
    r.len = 200;
    std::memset(r.data, 0xab, 200);
    r.data[0] = 0x80;
    r.data[1] = 0x60;
}

WarrantInfo warrant() {
    WarrantInfo w;
    w.liid = "LIID-BENCH-0001";
    for (int i = 0; i < 16; ++i) w.xid[i] = static_cast<uint8_t>(i);
    w.matched_target = "sip:alice@example.org";
    return w;
}

void BM_Encode(benchmark::State& state) {
    Format format = state.range(0) == 0 ? Format::etsi102232 : Format::x3;
    auto encoder = PduEncoder::create(format, kProbe);
    WarrantInfo w = warrant();
    std::vector<uint8_t> payload(512);
    Record r;
    r.data = payload.data();
    r.capacity = static_cast<uint32_t>(payload.size());
    std::vector<uint8_t> out(1 << 20);
    size_t off = 0;
    uint32_t seq = 0;
    uint64_t bytes = 0;
    for (auto _ : state) {
        fill_cc(r, seq);
        size_t n = encoder->encode(r, w, seq++, out.data() + off, out.size() - off);
        off += n;
        bytes += n;
        if (out.size() - off < 1024) off = 0;
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
    state.SetLabel(format_name(format));
}

void BM_ExporterTls(benchmark::State& state) {
    Format format = state.range(0) == 0 ? Format::etsi102232 : Format::x3;
    Sink sink(format);
    DestinationConfig c;
    c.id = "bench";
    c.address = "127.0.0.1:" + std::to_string(sink.port());
    c.format = format;
    c.cert = g_pki + "/client.pem";
    c.key = g_pki + "/client.key";
    c.ca = g_pki + "/ca.pem";
    c.server_name = "lemf.test";
    c.buffer_mb = 256;
    c.ring_size = 65536;
    c.small_records = 32768;
    c.small_capacity = 256;
    c.large_records = 0;
    std::string error;
    auto exp = Exporter::create(c, kProbe, error);
    if (!exp) {
        state.SkipWithError(error.c_str());
        return;
    }
    exp->set_warrants({warrant()});
    exp->start();
    while (exp->snapshot().keepalive_responses == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    constexpr uint64_t kPdus = 2000000;  // per iteration
    double cpu = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        double cpu_before = exp->thread_cpu_seconds();
        uint64_t sent_before = exp->snapshot().sent_pdus;
        auto t0 = std::chrono::steady_clock::now();
        for (uint64_t k = 0; k < kPdus; ++k) {
            Record* r;
            while ((r = exp->try_get_record(200)) == nullptr) std::this_thread::yield();
            fill_cc(*r, i++);
            exp->submit(r);
        }
        // The iteration ends once every PDU is written to TLS.
        while (exp->snapshot().sent_pdus - sent_before < kPdus) std::this_thread::yield();
        auto t1 = std::chrono::steady_clock::now();
        state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
        cpu += exp->thread_cpu_seconds() - cpu_before;
    }
    auto snap = exp->snapshot();
    exp->stop();
    const double pdus = static_cast<double>(kPdus) * static_cast<double>(state.iterations());
    state.SetItemsProcessed(static_cast<int64_t>(pdus));
    state.counters["exporter_pdus_per_cpu_s"] = cpu > 0 ? pdus / cpu : 0;
    state.counters["lost"] = static_cast<double>(snap.lost());
    state.counters["wire_bytes_per_pdu"] =
        static_cast<double>(snap.sent_bytes) / static_cast<double>(snap.sent_pdus);
    state.SetLabel(format_name(format));
}

BENCHMARK(BM_Encode)->Arg(0)->Arg(1);
BENCHMARK(BM_ExporterTls)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    std::string prefix = "--file-prefix=liprobe-export-bench-" + std::to_string(getpid());
    std::vector<std::string> args = {"export_bench",
                                     "--no-huge",
                                     "--no-pci",
                                     "-m",
                                     "512",
                                     "--no-shconf",
                                     "--log-level=lib.*:error",
                                     prefix};
    std::vector<char*> eal_argv;
    for (auto& a : args) eal_argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    if (!make_pki()) {
        std::fprintf(stderr, "cannot create the throwaway PKI with the openssl CLI\n");
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    std::filesystem::remove_all(g_pki);
    rte_eal_cleanup();
    return 0;
}
