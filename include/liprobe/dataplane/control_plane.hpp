// The probe's control plane around the workers (issue 7): the audit log, the key service with
// its HTTPS API (ControlServer, when [control] listen is set), the Prometheus endpoint
// ([metrics] listen), the DPDK telemetry commands /liprobe/stats, /liprobe/dialogs and
// /liprobe/keys, and the periodic status line on stderr. Runs on control threads only: every
// number comes from the workers' relaxed per-lcore counters and the exporters' atomics, never
// from a lock the workers take. Live runs only for the listeners (an offline run ends by itself).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "liprobe/control/audit.hpp"
#include "liprobe/control/config.hpp"
#include "liprobe/control/https_server.hpp"
#include "liprobe/control/key_api.hpp"
#include "liprobe/control/metrics.hpp"
#include "liprobe/export/exporter.hpp"

namespace liprobe::keys {
class KeyTable;
}

namespace liprobe::dataplane {

class Worker;

struct DestinationStats {
    std::string id;
    exporter::ExporterSnapshot snapshot;
    const exporter::LatencyHistogram* latency = nullptr;  // may be null
};

// What the control plane observes; set before start().
struct ObservedRun {
    const std::vector<std::unique_ptr<Worker>>* workers = nullptr;
    std::vector<std::pair<uint16_t, std::string>> ports;  // DPDK port id, name
    std::function<std::vector<DestinationStats>()> destinations;
    size_t keys_preloaded = 0;
};

// The counters of all workers, summed once per scrape / status line / telemetry call.
struct ProbeTotals {
    uint64_t received = 0, dropped = 0;
    std::vector<std::pair<std::string, uint64_t>> outcomes, drops;  // by name
    uint64_t sip_messages = 0, sip_intercepted = 0, dialogs_created = 0, dialogs_ended = 0,
             dialogs_timed_out = 0, dialogs_active = 0, media_packets = 0, srtp_decrypted = 0,
             srtp_auth_failed = 0, srtp_unknown_mki = 0, srtp_malformed = 0, pending = 0,
             pending_queued = 0, pending_resolved = 0, pending_expired = 0, pending_overflow = 0,
             cc_decrypted = 0, cc_encrypted = 0, iri = 0, records_lost = 0;
    uint64_t sdes_decrypted = 0, sdes_lines_installed = 0, sdes_dialogs_refused = 0,
             sdes_contexts_exhausted = 0;
    std::vector<std::pair<std::string, uint64_t>> sdes_refused;  // by reason, nonzero only
};

class ControlPlane {
  public:
    // Opens the audit log ([control] audit_log; none when the API is off) and creates the
    // HTTPS server when the API is on and the run is live. Throws std::runtime_error naming the
    // file or setting and the problem.
    ControlPlane(const control::Config& cfg, bool offline, keys::KeyTable& keys,
                 std::atomic<uint64_t>& key_generation);
    ~ControlPlane();
    ControlPlane(const ControlPlane&) = delete;
    ControlPlane& operator=(const ControlPlane&) = delete;

    // The HTTPS server for further routes (X1) before start(); nullptr when the API is off.
    control::ControlServer* server() { return server_.get(); }
    control::AuditLog& audit() { return *audit_; }
    control::KeyService& key_service() { return *key_service_; }

    void observe(ObservedRun run) { run_ = std::move(run); }
    // Binds the HTTPS and metrics listeners (printing where they listen on stderr) and
    // registers the telemetry commands. False with error when a listener cannot bind.
    bool start(std::string& error);
    // From the control loop (every few tens of milliseconds): key expiry and reclamation once a
    // second, the status line every [metrics] status_interval_s.
    void tick();
    void stop();

    ProbeTotals totals() const;
    std::string render_metrics() const;
    std::string status_line(double seconds, uint64_t rx_before) const;

  private:
    bool start_listeners(std::string& error);

    const control::Config& cfg_;
    bool offline_;
    std::unique_ptr<control::AuditLog> audit_;
    std::unique_ptr<control::KeyService> key_service_;
    std::unique_ptr<control::ControlServer> server_;
    std::unique_ptr<control::MetricsServer> metrics_;
    keys::KeyTable& keys_;
    ObservedRun run_;
    std::chrono::steady_clock::time_point last_maintain_, last_status_;
    uint64_t last_rx_ = 0;
};

}  // namespace liprobe::dataplane
