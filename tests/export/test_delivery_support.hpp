// Test support for the delivery tests: throwaway PKI (openssl CLI into a temp dir), a small
// in-process TLS receiver that decodes PDUs, answers keep-alives and records sequence numbers,
// record builders and wait helpers. Test code only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "liprobe/export/exporter.hpp"

namespace liprobe::test {

struct Pki {
    std::string dir;
    std::string ca, ca_key;                           // the CA both sides trust
    std::string server_cert, server_key;              // CN/SAN lemf.test, SAN IP 127.0.0.1
    std::string client_cert, client_key;              // CN probe, from ca
    std::string other_ca;                             // an unrelated CA
    std::string other_client_cert, other_client_key;  // from other_ca
    std::string expired_server_cert;                  // from ca, server_key, expired
    std::string expired_client_cert;                  // from ca, client_key, expired
};
// Generated once per test program; the directory is removed at exit.
const Pki& pki();

// Creates a fresh temporary directory (removed by remove_tree).
std::string make_temp_dir(const std::string& tag);
void remove_tree(const std::string& dir);

// Stream key as a LEMF sees it: (LIID, CIN, "CC"|"IRI").
using StreamKey = std::tuple<std::string, uint64_t, std::string>;

class MiniReceiver {
  public:
    struct Options {
        exporter::Format format = exporter::Format::etsi102232;
        bool tls = true;
        int max_version = 0;        // e.g. TLS1_1_VERSION; 0 = OpenSSL default
        std::string tls12_ciphers;  // TLS <= 1.2 cipher list offered ("" = default)
        bool answer_keepalives = true;
        uint16_t port = 0;        // 0 = ephemeral
        std::string server_cert;  // "" = pki().server_cert (its key either way)
        // A slow LEMF: at most read_bytes per read (0 = as much as fits), then a pause.
        size_t read_bytes = 0;
        int read_pause_us = 0;
    };
    explicit MiniReceiver(const Options& options);
    ~MiniReceiver();  // kill()
    uint16_t port() const { return port_; }
    // Abrupt stop: connections reset (unread data is lost, as when a LEMF dies).
    void kill();

    // Arrival order of sequence numbers per stream.
    std::map<StreamKey, std::vector<uint32_t>> arrivals() const;
    // Stream of every PDU in arrival order.
    std::vector<StreamKey> order() const;
    uint64_t pdus() const { return pdus_.load(); }
    uint64_t keepalives() const { return keepalives_.load(); }
    uint64_t connections() const { return connections_.load(); }
    uint64_t handshake_failures() const { return handshake_failures_.load(); }
    uint64_t decode_errors() const { return decode_errors_.load(); }

  private:
    void run();
    void serve(int fd);

    Options options_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    void* ctx_ = nullptr;  // SSL_CTX*
    std::thread thread_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::map<StreamKey, std::vector<uint32_t>> arrivals_;
    std::vector<StreamKey> order_;
    std::atomic<uint64_t> pdus_{0}, keepalives_{0}, connections_{0}, handshake_failures_{0},
        decode_errors_{0};
};

// The destination both delivery suites use: mutual TLS with pki()'s client certificate to
// lemf.test at 127.0.0.1:port, fast reconnects (20..200 ms), keep-alive 5 s, no drain, rings
// and record pools sized for the tests.
exporter::DestinationConfig test_destination(uint16_t port);
// The probe identity of the delivery tests.
const exporter::ProbeIdentity& test_probe();
// Exporter::create(c) with one warrant (LIID1, an XID, a matched target); null when refused
// (recorded as a test failure with the reason).
std::unique_ptr<exporter::Exporter> make_exporter(const exporter::DestinationConfig& c);

// Builds a 200-octet RTP-like CC record (or a SIP IRI record) for warrant 0.
exporter::Record* make_record(exporter::Exporter& exp, uint32_t cin, bool iri, uint32_t index);
// Submits without overrunning the ring (waits for room): a test must not lose to ring_full.
void submit_paced(exporter::Exporter& exp, exporter::Record* record);

// Polls cond every few milliseconds until true or timeout_s passed. Not a timing assertion:
// the timeout only bounds a hung test.
template <class F>
bool eventually(F cond, double timeout_s = 30) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

// A loopback port that nothing listens on right now.
uint16_t free_port();

}  // namespace liprobe::test
